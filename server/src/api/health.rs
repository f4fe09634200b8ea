//! The probes: `/healthz` (the process is up) and `/readyz` (it can work).

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
