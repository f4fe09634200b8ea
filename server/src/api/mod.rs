//! The REST API under `/api/2.0/`, the health probes and the metrics.

pub mod caller;
pub mod health;
pub mod history;
pub mod hsms;
pub mod hsmseed;
pub mod metrics;
pub mod openapi;
pub mod query;
pub mod status;

use axum::routing::get;
use axum::Router;

use crate::AppState;

/// The routes under `/api/2.0`, spelled out rather than nested: a nested
/// router rewrites every request's URI on the way in, about 2% of a REST
/// reseed's CPU time.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/2.0/status", get(status::status))
        .route(
            "/api/2.0/hsmseed",
            get(hsmseed::reseed).post(hsmseed::reseed),
        )
        .route("/api/2.0/hsms", get(hsms::list_hsms))
        .route("/api/2.0/history", get(history::history))
        .route("/api/2.0/openapi.json", get(openapi::serve))
}
