use leptos::prelude::*;

use crate::error::AppError;
use crate::model::ScheduleStatus;

#[server(prefix = "/sfn", endpoint = "get_schedule")]
pub async fn get_schedule() -> Result<ScheduleStatus, AppError> {
    crate::ssr::require_admin().await?;
    Ok(crate::ssr::engine()?.schedule().status().await?)
}

/// `hsm-conf-seed --period N` from the schedule page.
#[server(prefix = "/sfn", endpoint = "set_period")]
pub async fn set_period(period: String) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let p = engine::schedule::SeedPeriod::parse(&period)?;
        crate::ssr::engine()?
            .schedule()
            .set_seed_period(p, &actor)
            .await?;
        Ok("Seed period configured successfully.".to_string())
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}
