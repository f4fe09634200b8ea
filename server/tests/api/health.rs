use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn healthz_answers_200_without_a_session() {
    let app = TestApp::spawn().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "ok\n");
}

#[tokio::test]
async fn readyz_reports_database_and_entropy() {
    let app = TestApp::spawn().await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["ready"], true);
    assert_eq!(body["database"], "ok");
    assert!(body["entropy"].as_str().unwrap().starts_with("os"));
}

#[tokio::test]
async fn readyz_answers_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.engine.store().pool().close().await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(body["database"], "unavailable");
}

#[tokio::test]
async fn unknown_page_is_404_with_an_operation_id() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let op = crate::helpers::header(&r, "x-operation-id");
    assert_eq!(op.len(), 16);
    let body = r.text().await.unwrap();
    assert!(body.contains("Page not found"));
    assert!(body.contains(&op), "the page shows the operation id {op}");
}

#[tokio::test]
async fn unknown_api_path_is_404_and_known_ones_still_answer() {
    let app = TestApp::spawn().await;
    let read = app.token("reader", engine::auth::tokens::Scope::Read).await;
    for path in ["/api/2.0/nope", "/api/2.0/hsms/extra", "/api/2.0"] {
        let r = app.get_with_token(path, &read).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = app.get_with_token("/api/2.0/hsms", &read).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.get_with_token("/api/2.0/status", &read).await;
    assert_eq!(r.status(), StatusCode::OK);
}
