//! Gives each request an operation id: in its tracing span, in the
//! `x-operation-id` response header, and to the pages (error pages show it).

use std::time::Instant;

use app::ssr::OperationId;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use tracing::Instrument;

pub const HEADER: &str = "x-operation-id";

fn new_id() -> String {
    let mut b = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub async fn operation_id(mut req: Request, next: Next) -> Response {
    let id = new_id();
    req.extensions_mut().insert(OperationId(id.clone()));
    // The route pattern, not the path: paths may carry names, never the query.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let span =
        tracing::info_span!("request", operation_id = %id, method = %req.method(), route = %route);
    let started = Instant::now();
    // The id is also the request's task-local, for error bodies.
    let mut res = crate::error::OPERATION_ID
        .scope(id.clone(), next.run(req).instrument(span.clone()))
        .await;
    let status = res.status().as_u16();
    // Every request at debug; a server failure at warn, where the default
    // log shows it (the error itself is logged where it happened).
    let elapsed_ms = started.elapsed().as_millis() as u64;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, elapsed_ms, "request failed");
        } else {
            tracing::debug!(status, elapsed_ms, "request served");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}
