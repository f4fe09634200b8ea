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
    for path in [
        "/api/2.0/nope",
        "/api/2.0/hsms/extra",
        "/api/2.0",
        "/api/2.0/",
    ] {
        let r = app.get_with_token(path, &read).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let op = crate::helpers::header(&r, "x-operation-id");
        assert_eq!(
            crate::helpers::header(&r, "content-type"),
            "application/json",
            "{path}"
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "{path}");
        assert_eq!(body["operationId"], op.as_str(), "{path}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("/api/2.0/openapi.json"),
            "{body}"
        );
    }
    // Without a session or with a bad token: JSON 401 with the operation id.
    let anonymous = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    for (path, token) in [
        ("/api/2.0/status", None),
        ("/api/2.0/nope", None),
        ("/api/2.0/hsms", Some("hss_wrong")),
    ] {
        let mut req = anonymous.get(format!("{}{path}", app.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        let op = crate::helpers::header(&r, "x-operation-id");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized", "{path}: {body}");
        assert_eq!(body["operationId"], op.as_str(), "{path}");
    }
    let r = app.get_with_token("/api/2.0/hsms", &read).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.get_with_token("/api/2.0/status", &read).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// A configuration that fails degrades the appliance (status and metrics,
/// while `/readyz` stays 200); disabling it, or a success, clears that.
#[tokio::test]
async fn a_failing_configuration_degrades_the_appliance_and_readyz_stays_200() {
    let app = TestApp::spawn().await;
    let read = app.token("reader", engine::auth::tokens::Scope::Read).await;
    let status = || async {
        let r = app.get_with_token("/api/2.0/status", &read).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<serde_json::Value>().await.unwrap()
    };
    let body = status().await;
    assert_eq!(body["state"], "ok");
    assert_eq!(body["configurations"]["total"], 0);

    let cli = engine::audit::Actor::cli();
    let p = app.engine.partitions();
    p.create_config("BAD", &cli).await.unwrap();
    let edit = engine::partitions::ConfigEdit {
        slot: Some(engine::partitions::SlotId(99_999)),
        partition_pwd: Some("any password".to_string().into()),
        ..Default::default()
    };
    p.edit_config("BAD", edit, &cli).await.unwrap();
    assert_eq!(app.config("BAD").await.state, "never");
    for _ in 0..2 {
        p.reseed("BAD", engine::partitions::Trigger::Cli, &cli)
            .await
            .unwrap_err();
    }
    let c = app.config("BAD").await;
    assert_eq!((c.state.as_str(), c.failures_in_row), ("failing", 2));
    assert_eq!(c.last_ok_at, None);

    // The console says so too, beyond the guide's four lines.
    let out = app.cli(&["hsm-conf-show", "--name=BAD"]).await;
    assert!(
        out.stdout
            .contains("\nstate=failing (2 failed reseeds in a row, last "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("; last good never)\n"),
        "{}",
        out.stdout
    );

    let body = status().await;
    assert_eq!(body["state"], "degraded");
    assert_eq!(body["configurations"]["failing"], 1);
    assert_eq!(body["configurations"]["total"], 1);
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    let metrics = app
        .get_with_token("/metrics", &read)
        .await
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("\nhsmseed_degraded 1\n"), "{metrics}");
    assert!(metrics.contains("\nhsmseed_configurations{state=\"failing\"} 1\n"));

    let off = engine::partitions::ConfigEdit {
        enabled: Some(false),
        ..Default::default()
    };
    p.edit_config("BAD", off, &cli).await.unwrap();
    let body = status().await;
    assert_eq!(body["state"], "ok");
    assert_eq!(body["configurations"]["disabled"], 1);
}
