//! `GET /api/2.0/status`: the appliance's state, readiness, entropy source
//! health, the configurations by state and the schedule.

use axum::extract::State;
use axum::Json;

use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Reader;
use crate::error::ApiError;
use crate::AppState;

/// `GET /api/2.0/status`: readiness, entropy source health and the
/// schedule (read scope).
#[utoipa::path(
    get,
    path = "/api/2.0/status",
    tag = "operations",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The appliance's state", body = StatusBody),
        (status = 401, description = "No valid token or session", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `read`", body = app::ssr::ErrorBody),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    _: Reader,
) -> Result<Json<StatusBody>, ApiError> {
    let health = state.engine.health().await?;
    let schedule = state.engine.schedule().status().await?;
    Ok(Json(StatusBody {
        version: env!("CARGO_PKG_VERSION").to_string(),
        state: health.state,
        configurations: health.counts,
        ready: health.readiness.ready,
        database: health.readiness.database,
        entropy: state.engine.entropy().status(),
        entropy_sources: state.engine.entropy().sources(),
        entropy_mix: state.engine.entropy().mix().as_str(),
        schedule,
    }))
}

/// `GET /api/2.0/status`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusBody {
    pub version: String,
    /// `ok`; `degraded` when an enabled configuration is failing, held or
    /// on a token that does not accept seeds (the others are still seeded, and `/readyz` answers 200);
    /// `not_ready` when the database or the entropy source is down.
    pub state: types::status::ApplianceState,
    /// How many configurations are in each state.
    pub configurations: types::status::ConfigCounts,
    /// The database answers and the entropy source is healthy.
    pub ready: bool,
    pub database: String,
    /// The sources together (with one source, that source).
    pub entropy: engine::entropy::EntropyStatus,
    /// Each source: state, bytes, failures, and for a remote one its
    /// fetcher (state, latency, last error).
    pub entropy_sources: Vec<engine::entropy::EntropyStatus>,
    /// `all` or `any` (the `entropy_mix` setting).
    pub entropy_mix: &'static str,
    pub schedule: engine::schedule::ScheduleStatus,
}
