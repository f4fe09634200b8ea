//! Security headers on every answer. The Content-Security-Policy allows only
//! the appliance's own scripts (plus the inline hydration scripts that carry
//! this request's nonce) and its own WASM.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;

/// The nonce of this request's inline scripts.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

fn new_nonce() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub fn csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `tls`: whether the server speaks HTTPS (then HSTS is sent).
pub async fn security_headers(State(tls): State<bool>, mut req: Request, next: Next) -> Response {
    let nonce = new_nonce();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let is_asset = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp(&nonce)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Same-origin only: form posts without JavaScript return to the page they
    // came from by their Referer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), usb=(), payment=()"),
    );
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        let cc = if is_asset { "no-cache" } else { "no-store" };
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cc));
    }
    res
}
