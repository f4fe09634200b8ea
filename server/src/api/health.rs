use app::ssr::RequireAdmin;
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

/// `GET /api/2.0/status`: readiness and version, for a signed-in client.
pub async fn status(State(state): State<AppState>, RequireAdmin(_): RequireAdmin) -> Response {
    let r = state.engine.readiness().await;
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "ready": r.ready,
        "database": r.database,
        "entropy": r.entropy,
    }))
    .into_response()
}
