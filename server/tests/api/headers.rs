use reqwest::StatusCode;

use crate::helpers::{header, Options, TestApp};

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let app = TestApp::spawn().await;
    let r = app.get("/login").await;
    assert_eq!(r.status(), StatusCode::OK);
    let csp = header(&r, "content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'self' 'nonce-",
        "'wasm-unsafe-eval'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(header(&r, "referrer-policy"), "same-origin");
    assert_eq!(header(&r, "x-frame-options"), "DENY");
    assert_eq!(header(&r, "strict-transport-security"), "max-age=63072000");
    assert_eq!(header(&r, "cache-control"), "no-store");

    // Every inline script carries this response's nonce.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    let body = r.text().await.unwrap();
    let scripts = body.matches("<script").count();
    assert!(scripts >= 1);
    assert_eq!(
        body.matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
            .count()
            + body.matches(&format!("<script nonce=\"{nonce}\"")).count(),
        scripts
    );
}

#[tokio::test]
async fn each_response_gets_a_fresh_nonce() {
    let app = TestApp::spawn().await;
    let a = header(&app.get("/login").await, "content-security-policy");
    let b = header(&app.get("/login").await, "content-security-policy");
    assert_ne!(a, b);
}

#[tokio::test]
async fn no_hsts_over_plain_http() {
    let app = TestApp::spawn_with(Options {
        tls: false,
        ..Options::default()
    })
    .await;
    let r = app.get("/healthz").await;
    assert_eq!(header(&r, "strict-transport-security"), "");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
}
