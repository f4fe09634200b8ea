//! The REST API under `/api/2.0/`, the health probes and the metrics.

pub mod caller;
pub mod health;
pub mod history;
pub mod hsms;
pub mod hsmseed;
pub mod metrics;
pub mod openapi;
pub mod qrng;
pub mod query;
pub mod random;
pub mod status;

use axum::http::{Method, StatusCode, Uri};
use axum::routing::{any, get, post};
use axum::{Json, Router};

use crate::AppState;

/// Any other path under `/api/2.0`: a JSON 404 like every API error (not
/// the HTML page), once the caller is known (else 401).
async fn not_found(
    _caller: caller::Caller,
    method: Method,
    uri: Uri,
) -> (StatusCode, Json<app::ssr::ErrorBody>) {
    let body = app::ssr::ErrorBody {
        error: "not_found".into(),
        message: format!(
            "No endpoint {method} {}; the endpoints are listed in /api/2.0/openapi.json.",
            uri.path()
        ),
        operation_id: crate::error::operation_id(),
        ckr: None,
    };
    (StatusCode::NOT_FOUND, Json(body))
}

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
        .route("/api/2.0/streambytes", get(random::streambytes))
        .route("/api/2.0/hexbytes", get(random::hexbytes))
        .route("/api/2.0/short", get(random::short))
        .route("/api/2.0/int", get(random::int))
        .route("/api/2.0/float", get(random::float))
        .route("/api/2.0/double", get(random::double))
        .route("/api/2.0/firmwareinfo", get(random::firmwareinfo))
        .route("/api/2.0/softwareinfo", get(random::softwareinfo))
        .route("/api/2.0/systeminfo", get(random::systeminfo))
        .route("/api/2.0/performance", get(random::performance))
        .route("/api/2.0/openapi.json", get(openapi::serve))
        .route("/v1/capabilities", get(qrng::capabilities))
        .route("/v1/entropy", post(qrng::entropy))
        .route("/v1/healthtest", get(qrng::healthtest))
        .route("/api/2.0", any(not_found))
        .route("/api/2.0/", any(not_found))
        .route("/api/2.0/{*rest}", any(not_found))
}
