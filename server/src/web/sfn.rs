//! The server functions' door. Leptos answers every error of a server
//! function 500; here a client's error gets its 4xx (bad or missing
//! arguments 400, an unknown item 404, ...), and a body over
//! [`BODY_LIMIT`] is refused 413 before it is read. The body stays the
//! error's JSON, which is what the page decodes.

use app::error::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The largest server-function request (forms, a pasted certificate).
pub const BODY_LIMIT: usize = 256 * 1024;
/// The largest error answer read back to set its status.
const ERROR_LIMIT: usize = 64 * 1024;

/// Middleware: for a server function's request (`/sfn/...`), the body
/// limit, and the status of its error answer. (Leptos routes each server
/// function itself, so this wraps them all from outside.)
pub async fn status(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/sfn/") {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return too_large();
    }
    // A body without a length is cut at the limit (reading it then fails:
    // a 400 below).
    let req = req.map(|body| Body::new(http_body_util::Limited::new(body, BODY_LIMIT)));
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_LIMIT).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(e) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn too_large() -> Response {
    let e = AppError::Invalid(format!(
        "The request is larger than {} KiB.",
        BODY_LIMIT / 1024
    ));
    let body = serde_json::to_vec(&e).unwrap_or_default();
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
