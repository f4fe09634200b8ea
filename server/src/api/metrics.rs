//! `GET /metrics`: the engine's Prometheus text and the server's
//! connection counts.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::caller::Reader;
use crate::AppState;

/// `GET /metrics`: Prometheus text (read-scope token or a session).
pub async fn metrics(State(state): State<AppState>, _: Reader) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.engine.metrics_text().await + &state.connections.metrics_text(),
    )
        .into_response()
}
