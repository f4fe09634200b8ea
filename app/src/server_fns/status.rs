use leptos::prelude::*;

use crate::error::AppError;
use crate::model::DashboardData;

/// The signed-in administrator's name.
#[server(prefix = "/sfn", endpoint = "current_user")]
pub async fn current_user() -> Result<String, AppError> {
    Ok(crate::ssr::require_admin().await?.name)
}

/// Everything the dashboard shows.
#[server(prefix = "/sfn", endpoint = "dashboard")]
pub async fn dashboard() -> Result<DashboardData, AppError> {
    crate::ssr::require_admin().await?;
    let engine = crate::ssr::engine()?;
    let health = engine.health().await?;
    let schedule = engine.schedule().status().await?;
    let overview = &health.overview;
    let stats = &overview.stats;
    Ok(DashboardData {
        state: health.state,
        ready: health.readiness.ready,
        database: health.readiness.database,
        version: env!("CARGO_PKG_VERSION").to_string(),
        checked_at: engine.now(),
        entropy: engine.entropy().status(),
        entropy_sources: engine.entropy().sources(),
        entropy_mix: engine.entropy().mix().as_str().to_string(),
        schedule,
        configs: dashboard_rows(&overview.configs),
        counts: health.counts,
        certificates: overview.certificates.clone().map_err(AppError::Invalid)?,
        total_24h: stats.total_24h,
        failures_24h: stats.failures_24h,
        last: stats.last.clone(),
        hourly: stats.hourly.clone(),
        fleet: engine.fleet().seen().await?,
        this_appliance: engine.fleet().this().to_string(),
    })
}

/// Configurations the dashboard lists at most; the HSMs page has them all.
pub const DASHBOARD_ROWS: usize = 25;

/// The dashboard's rows: those in trouble first (failing, held, on a token
/// that takes no seeds), then the others, each by name; at most
/// [`DASHBOARD_ROWS`] (the counts cover the rest).
#[cfg(feature = "ssr")]
fn dashboard_rows(all: &[crate::model::HsmConfig]) -> Vec<crate::model::HsmConfig> {
    let (trouble, rest): (Vec<_>, Vec<_>) = all.iter().partition(|c| c.state.is_trouble());
    trouble
        .into_iter()
        .chain(rest)
        .take(DASHBOARD_ROWS)
        .cloned()
        .collect()
}

/// Runs a fresh start-up test of the entropy source (how a failed source
/// comes back).
#[server(prefix = "/sfn", endpoint = "restart_entropy")]
pub async fn restart_entropy() -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        crate::ssr::engine()?.entropy().restart(&actor).await?;
        Ok("The entropy source passed its start-up test and is back in service.".to_string())
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}
