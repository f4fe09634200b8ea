//! `reseed_anonymous_from`: the guide's reseed URL called without
//! credentials by existing scripts, from allowed addresses only,
//! rate-limited, audited as anonymous with the address; nothing else opens.

use engine::hsm::UserType;
use reqwest::StatusCode;

use crate::helpers::{anonymous_client, fixture, Options, TestApp};

#[tokio::test]
async fn an_allowed_address_reseeds_without_a_token_and_nothing_more() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| {
            s.reseed_anonymous_from = vec!["127.0.0.0/8".parse().unwrap()];
            s.reseed_anonymous_per_minute = 3;
        }),
        ..Options::with_hsm()
    })
    .await;
    app.configure("HSM1", f.token(3), UserType::User).await;
    let client = anonymous_client();
    // The guide's URL, as its scripts call it.
    let r = client
        .get(app.at("/api/2.0/hsmseed?name=HSM1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let record: serde_json::Value = r.json().await.unwrap();
    assert_eq!(record["outcome"], "ok");
    assert_eq!(record["trigger"], "api");
    let r = client
        .post(app.at("/api/2.0/hsmseed?name=HSM1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Audited as anonymous, with the address.
    let audit = app
        .engine
        .audit_log()
        .page(&Default::default(), 1, 100)
        .await
        .unwrap();
    let reseeds: Vec<_> = audit
        .rows
        .iter()
        .filter(|r| r.action == "hsm.reseed")
        .collect();
    assert_eq!(reseeds.len(), 2, "{:?}", audit.rows);
    for r in reseeds {
        assert_eq!(r.actor_kind, "anonymous");
        assert_eq!(r.address.as_deref(), Some("127.0.0.1"));
    }

    // Nothing else opens.
    for path in [
        "/api/2.0/status",
        "/api/2.0/hsms",
        "/api/2.0/int",
        "/metrics",
    ] {
        let r = client.get(app.at(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = client.get(app.at("/hsms")).send().await.unwrap();
    assert_eq!(r.url().path(), "/login", "a page sends it to sign in");

    // Three a minute.
    let r = client
        .get(app.at("/api/2.0/hsmseed?name=HSM1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client
        .get(app.at("/api/2.0/hsmseed?name=HSM1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn another_address_still_needs_a_token() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| s.reseed_anonymous_from = vec!["10.0.0.0/8".parse().unwrap()]),
        ..Options::with_hsm()
    })
    .await;
    app.configure("HSM1", f.token(3), UserType::User).await;
    let r = anonymous_client()
        .get(app.at("/api/2.0/hsmseed?name=HSM1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let audit = app
        .engine
        .audit_log()
        .page(&Default::default(), 1, 100)
        .await
        .unwrap();
    assert!(audit.rows.iter().all(|r| r.action != "hsm.reseed"));
}
