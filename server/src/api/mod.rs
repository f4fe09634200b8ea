//! The REST API under `/api/2.0/` and the health probes.

pub mod caller;
pub mod health;
pub mod hsmseed;
pub mod openapi;

use axum::routing::get;
use axum::Router;

use crate::AppState;

/// Routes under `/api/2.0`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status", get(health::status))
        .route("/hsmseed", get(hsmseed::reseed).post(hsmseed::reseed))
        .route("/hsms", get(hsmseed::list_hsms))
        .route("/history", get(hsmseed::history))
        .route("/openapi.json", get(openapi::serve))
}
