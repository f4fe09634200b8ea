use super::caller::Reader;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::AppState;

/// 200 while the process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when the database answers and the entropy source is healthy; 503
/// with the reason otherwise.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let r = state.engine.readiness().await;
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r)).into_response()
}

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

/// `GET /metrics`: Prometheus text (read-scope token or a session).
pub async fn metrics(State(state): State<AppState>, _: Reader) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.engine.metrics_text() + &state.connections.metrics_text(),
    )
        .into_response()
}
