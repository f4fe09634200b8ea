//! `GET /api/2.0/status`: readiness, entropy source health and the schedule.

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
    let r = state.engine.readiness().await;
    let schedule = state.engine.schedule().status().await?;
    Ok(Json(StatusBody {
        version: env!("CARGO_PKG_VERSION").to_string(),
        ready: r.ready,
        database: r.database,
        entropy: state.engine.entropy().status(),
        schedule,
    }))
}

/// `GET /api/2.0/status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    pub version: String,
    /// The database answers and the entropy source is healthy.
    pub ready: bool,
    pub database: String,
    pub entropy: engine::entropy::EntropyStatus,
    pub schedule: engine::schedule::ScheduleStatus,
}
