//! The REST API under `/api/2.0/` and the health probes.

pub mod health;

use axum::routing::get;
use axum::Router;

use crate::AppState;

/// Routes under `/api/2.0`.
pub fn router() -> Router<AppState> {
    Router::new().route("/status", get(health::status))
}
