//! Refuses cross-site state-changing requests: a browser says where a request
//! comes from in `Sec-Fetch-Site` and `Origin`; a POST (PUT, PATCH, DELETE)
//! from another site is answered 403 before it reaches any handler. Clients
//! that send neither header (curl, scripts with API tokens) are not browsers
//! carrying a victim's cookies, and pass.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The authority (`host[:port]`) the client addressed.
fn request_authority(req: &Request) -> Option<String> {
    req.uri()
        .authority()
        .map(|a| a.as_str().to_ascii_lowercase())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_ascii_lowercase)
        })
}

/// Why the request must be refused, if it must.
fn cross_site_reason(headers: &HeaderMap, authority: Option<&str>) -> Option<&'static str> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return Some("Sec-Fetch-Site is not same-origin");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("").to_ascii_lowercase();
        let host = origin.split_once("://").map(|(_, rest)| rest);
        match (host, authority) {
            (Some(h), Some(a)) if h == a => {}
            _ => return Some("Origin does not match the host"),
        }
    }
    None
}

pub async fn same_origin(req: Request, next: Next) -> Response {
    if !is_safe(req.method()) {
        let authority = request_authority(&req);
        if let Some(reason) = cross_site_reason(req.headers(), authority.as_deref()) {
            tracing::warn!(reason, "cross-site request refused");
            return (StatusCode::FORBIDDEN, "Cross-site request refused.\n").into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_passes() {
        let h = headers(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://127.0.0.1:8443"),
        ]);
        assert_eq!(cross_site_reason(&h, Some("127.0.0.1:8443")), None);
    }

    #[test]
    fn no_browser_headers_pass() {
        assert_eq!(
            cross_site_reason(&HeaderMap::new(), Some("127.0.0.1:8443")),
            None
        );
    }

    #[test]
    fn cross_site_is_refused() {
        let h = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(cross_site_reason(&h, Some("127.0.0.1:8443")).is_some());
        let h = headers(&[("sec-fetch-site", "same-site")]);
        assert!(cross_site_reason(&h, Some("127.0.0.1:8443")).is_some());
    }

    #[test]
    fn foreign_or_null_origin_is_refused() {
        let h = headers(&[("origin", "https://evil.example")]);
        assert!(cross_site_reason(&h, Some("127.0.0.1:8443")).is_some());
        let h = headers(&[("origin", "null")]);
        assert!(cross_site_reason(&h, Some("127.0.0.1:8443")).is_some());
        let h = headers(&[("origin", "https://127.0.0.1:9999")]);
        assert!(cross_site_reason(&h, Some("127.0.0.1:8443")).is_some());
    }
}
