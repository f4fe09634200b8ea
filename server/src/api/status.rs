//! `GET /api/2.0/status`: readiness, entropy source health and the schedule.

use axum::extract::State;
use axum::Json;

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
        (status = 200, description = "The appliance's state", body = super::openapi::StatusBody),
        (status = 401, description = "No valid token or session", body = app::ssr::ErrorBody),
        (status = 403, description = "The token's scope is not `read`", body = app::ssr::ErrorBody),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    _: Reader,
) -> Result<Json<super::openapi::StatusBody>, ApiError> {
    let r = state.engine.readiness().await;
    let schedule = state.engine.schedule_status().await?;
    Ok(Json(super::openapi::StatusBody {
        version: env!("CARGO_PKG_VERSION").to_string(),
        ready: r.ready,
        database: r.database,
        entropy: state.engine.entropy_status(),
        schedule,
    }))
}
