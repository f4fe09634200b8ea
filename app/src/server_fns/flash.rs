use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Flash;

/// The message a plain form post left for this page (shown once).
#[server(prefix = "/sfn", endpoint = "take_flash")]
pub async fn take_flash() -> Result<Option<Flash>, AppError> {
    crate::ssr::require_admin().await?;
    Ok(crate::ssr::take_flash().await)
}
