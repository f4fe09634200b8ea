//! The QRNG Open API (`/v1/`): capabilities, entropy blocks in base64, the
//! SP 800-90B result; 422 for a bad parameter, 503 when the source is
//! unavailable; the token as Bearer or X-API-KEY.

use base64::Engine as _;
use engine::auth::tokens::Scope;
use engine::config::EntropySourceKind;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{anonymous_client, Options, TestApp};

async fn post(app: &TestApp, key: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.at("/v1/entropy"))
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn entropy_blocks_capabilities_and_the_health_test() {
    let app = TestApp::spawn().await;
    let key = app.token("qrng-client", Scope::Entropy).await;

    let caps: Value = app
        .get_with_token("/v1/capabilities", &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(caps["entropy"]["entropy_types"], json!(["full"]));
    assert_eq!(caps["entropy"]["min_block_size"], 1);
    assert_eq!(caps["entropy"]["max_block_size"], 1024);
    assert_eq!(caps["healthtest"]["test_types"], json!(["nist_90b"]));
    assert_eq!(caps["source_count"], 1);

    for body in [
        r#"{"block_size": 32, "block_count": 3}"#,
        r#"{"block_size": 32, "block_count": 3, "entropy_type": "full"}"#,
    ] {
        let r = post(&app, &key, body).await;
        assert_eq!(r.status(), StatusCode::OK, "{body}");
        let v: Value = r.json().await.unwrap();
        let blocks = v["entropy"].as_array().unwrap();
        assert_eq!(blocks.len(), 3);
        let decoded: Vec<Vec<u8>> = blocks
            .iter()
            .map(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.as_str().unwrap())
                    .unwrap()
            })
            .collect();
        assert!(decoded.iter().all(|b| b.len() == 32));
        assert_ne!(decoded[0], decoded[1]);
    }

    let health: Value = app
        .get_with_token("/v1/healthtest", &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(health["test_type"], "nist_90b");
    assert_eq!(health["test_result"], "passed");
    assert!(
        health["time_stamp"].as_str().unwrap().ends_with('Z'),
        "{health}"
    );
}

#[tokio::test]
async fn a_bad_parameter_is_422_and_a_wrong_key_is_refused() {
    let app = TestApp::spawn().await;
    let key = app.token("qrng-client", Scope::Entropy).await;
    for (body, says) in [
        (
            r#"{"block_size": 0, "block_count": 1}"#,
            "block_size must be 1 to 1024",
        ),
        (
            r#"{"block_size": 2000, "block_count": 1}"#,
            "block_size must be 1 to 1024",
        ),
        (
            r#"{"block_size": 8, "block_count": 0}"#,
            "block_count must be 1 to",
        ),
        (r#"{"block_size": 1024, "block_count": 2000}"#, "above the"),
        (
            r#"{"block_size": 8, "block_count": 1, "entropy_type": "raw"}"#,
            "entropy_type `raw` is not served",
        ),
        (r#"{"block_size": 8}"#, "not an entropy request"),
        (
            r#"{"block_size": 8, "block_count": 1, "extra": 1}"#,
            "not an entropy request",
        ),
        ("not json", "not an entropy request"),
    ] {
        let r = post(&app, &key, body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_input", "{body}");
        assert!(v["message"].as_str().unwrap().contains(says), "{body}: {v}");
    }
    let read = app.token("reader", Scope::Read).await;
    let r = post(&app, &read, r#"{"block_size": 8, "block_count": 1}"#).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(
        &app,
        "hss_not-a-key",
        r#"{"block_size": 8, "block_count": 1}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let anonymous = anonymous_client();
    let r = anonymous
        .get(app.at("/v1/capabilities"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn an_unavailable_source_is_503_and_its_health_test_failed() {
    let dir = tempfile::tempdir().unwrap();
    let stuck = dir.path().join("stuck");
    std::fs::write(&stuck, vec![0xaau8; 1 << 16]).unwrap();
    let app = TestApp::spawn_with(Options {
        entropy: Some(EntropySourceKind::Device(stuck)),
        settings: Some(|s| s.entropy_public = true),
        ..Options::default()
    })
    .await;
    // Anonymous, as entropy_public allows.
    let anonymous = anonymous_client();
    let r = anonymous
        .post(app.at("/v1/entropy"))
        .json(&json!({"block_size": 16, "block_count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "entropy_failed");
    let health: Value = anonymous
        .get(app.at("/v1/healthtest"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["test_result"], "failed");
}
