//! Every client error is a 4xx with a JSON body the client can read; only
//! the server's own failures are 5xx.

use engine::auth::tokens::Scope;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{header, TestApp};

#[tokio::test]
async fn server_functions_answer_client_errors_with_4xx() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    // A value the engine refuses.
    let r = app.server_fn("set_period", &[("period", "-1")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["Invalid"].as_str().unwrap().contains("period"),
        "{body}"
    );
    // A missing argument, and arguments that do not parse.
    let r = app.server_fn("set_period", &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .server_fn("delete_hsm", &[("name", "NOPE"), ("confirm", "yes")])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // An oversize body is refused before it is read.
    let huge = "x".repeat(300 * 1024);
    let r = app.server_fn("set_period", &[("period", &huge)]).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["Invalid"].as_str().unwrap().contains("larger"),
        "{body}"
    );
}

#[tokio::test]
async fn a_bad_query_string_gets_the_json_error_body() {
    let app = TestApp::spawn().await;
    let token = app.token("reader", Scope::Read).await;
    let r = app
        .get_with_token("/api/2.0/history?page=minus-one", &token)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let op = header(&r, "x-operation-id");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_input");
    assert!(
        body["message"].as_str().unwrap().contains("query string"),
        "{body}"
    );
    assert_eq!(body["operationId"], op.as_str());
    app.login_as_admin().await;
    let r = app.get("/history.csv?perPage=many").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&r, "content-type"), "application/json");
}

#[tokio::test]
async fn a_session_reseeds_with_post_only_a_token_with_get_too() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let r = app.get("/api/2.0/hsmseed?name=HSM1").await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&r, "allow"), "POST");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    let audit = app
        .engine
        .audit_log()
        .page(&Default::default(), 1, 50)
        .await
        .unwrap();
    assert!(
        audit.rows.iter().all(|r| r.action != "hsm.reseed"),
        "nothing was tried"
    );
    // The guide's URL keeps working for automation.
    let token = app.token("automation", Scope::Seed).await;
    let (bare, _) = app.new_client();
    let r = bare
        .get(app.at("/api/2.0/hsmseed?name=HSM1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a GET with a token reaches the reseed"
    );
}

#[tokio::test]
async fn every_error_answer_has_one_shape_with_its_operation_id() {
    let app = TestApp::spawn().await;
    let reader = app.token("reader", Scope::Read).await;
    let (anon, _) = app.new_client();
    let answers = [
        // No session, no token.
        anon.get(app.at("/api/2.0/status")).send().await.unwrap(),
        // A token that does not exist.
        anon.get(app.at("/api/2.0/status"))
            .bearer_auth("hss_nope")
            .send()
            .await
            .unwrap(),
        // A read token where a seed token is needed.
        anon.post(app.at("/api/2.0/hsmseed?name=X"))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap(),
        // A server function without a session.
        app.post_as(&anon, "/sfn/list_hsms", &[]).await,
        // A form post without a session.
        app.post_as(&anon, "/trust/servers", &[]).await,
    ];
    let mut statuses = Vec::new();
    for r in answers {
        statuses.push(r.status().as_u16());
        let op = header(&r, "x-operation-id");
        let body: Value = r.json().await.unwrap();
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["ckr", "error", "message", "operationId"], "{body}");
        assert_eq!(body["operationId"], op.as_str(), "{body}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(statuses, [401, 401, 403, 401, 401]);
}
