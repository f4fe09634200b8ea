use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The signed-in administrator's name.
#[server(prefix = "/sfn", endpoint = "current_user")]
pub async fn current_user() -> Result<String, AppError> {
    Ok(crate::ssr::require_admin().await?.name)
}

/// What the dashboard shows about the appliance itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub ready: bool,
    pub database: String,
    pub entropy: String,
    pub version: String,
    /// Server time of the check, `HH:MM:SS UTC`.
    pub checked_at: String,
}

#[server(prefix = "/sfn", endpoint = "system_status")]
pub async fn system_status() -> Result<StatusReport, AppError> {
    crate::ssr::require_admin().await?;
    let engine = crate::ssr::engine()?;
    let r = engine.readiness().await;
    let now = engine.now();
    Ok(StatusReport {
        ready: r.ready,
        database: r.database,
        entropy: r.entropy,
        version: env!("CARGO_PKG_VERSION").to_string(),
        checked_at: format!(
            "{:02}:{:02}:{:02} UTC",
            now.hour(),
            now.minute(),
            now.second()
        ),
    })
}
