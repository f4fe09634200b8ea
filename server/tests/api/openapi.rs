//! The OpenAPI document: generated from the code, served, committed, and
//! true to what the API answers.

use engine::auth::tokens::Scope;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

const COMMITTED: &str = include_str!("../../../docs/openapi.json");

#[test]
fn the_committed_copy_is_the_generated_document() {
    let generated = server::api::openapi::document();
    assert!(
        generated == COMMITTED,
        "docs/openapi.json is stale: run `hsmseed openapi > docs/openapi.json` (cargo run -p server -- openapi)"
    );
}

fn required(doc: &Value, schema: &str) -> Vec<String> {
    doc["components"]["schemas"][schema]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn it_is_served_describes_every_endpoint_and_matches_the_answers() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/2.0/openapi.json").await;
    assert_eq!(r.status(), StatusCode::OK, "public: it holds no secret");
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc, serde_json::from_str::<Value>(COMMITTED).unwrap());
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/2.0/hsmseed",
        "/api/2.0/hsms",
        "/api/2.0/history",
        "/api/2.0/status",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is described");
    }
    assert!(
        doc["paths"]["/api/2.0/hsmseed"]["post"].is_object()
            && doc["paths"]["/api/2.0/hsmseed"]["get"].is_object()
    );
    for code in ["200", "400", "401", "403", "404", "409", "502", "503"] {
        assert!(
            doc["paths"]["/api/2.0/hsmseed"]["post"]["responses"][code].is_object(),
            "{code}"
        );
    }

    // Real answers carry what the schemas require.
    app.engine
        .partitions()
        .create_config("HSM1", &engine::audit::Actor::cli())
        .await
        .unwrap();
    let read = app.token("reader", Scope::Read).await;
    let seed = app.token("seeder", Scope::Seed).await;
    let get = |path: &'static str, token: String| {
        let c = app.client.clone();
        let url = app.at(path);
        async move {
            c.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let hsms = get("/api/2.0/hsms", read.clone()).await;
    for f in required(&doc, "HsmConfig") {
        assert!(hsms[0].get(&f).is_some(), "HsmConfig.{f}");
    }
    let status = get("/api/2.0/status", read.clone()).await;
    for f in required(&doc, "StatusBody") {
        assert!(status.get(&f).is_some(), "StatusBody.{f}");
    }
    let history = get("/api/2.0/history", read).await;
    for f in required(&doc, "HistoryPage") {
        assert!(history.get(&f).is_some(), "HistoryPage.{f}");
    }
    let err = app
        .api_reseed(&seed, "NOPE")
        .await
        .json::<Value>()
        .await
        .unwrap();
    for f in required(&doc, "ErrorBody") {
        assert!(err.get(&f).is_some(), "ErrorBody.{f}");
    }
}

#[test]
fn every_field_of_every_schema_is_camel_case() {
    let doc: Value = serde_json::from_str(&server::api::openapi::document()).unwrap();
    let camel = |name: &str| {
        name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_alphanumeric())
    };
    // The QRNG Open API's bodies (`/v1/`) keep its spec's snake_case names:
    // its clients parse exactly those.
    let qrng_spec = [
        "Capabilities",
        "EntropyCapabilities",
        "EntropyRequest",
        "EntropyAnswer",
        "Healthtest",
        "HealthtestCapabilities",
    ];
    let mut wrong = Vec::new();
    for (schema, body) in doc["components"]["schemas"].as_object().unwrap() {
        if qrng_spec.contains(&schema.as_str()) {
            continue;
        }
        for field in body["properties"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.keys())
        {
            if !camel(field) {
                wrong.push(format!("{schema}.{field}"));
            }
        }
    }
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                if !camel(name) {
                    wrong.push(format!("{method} {path} ?{name}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "not camelCase: {wrong:?}");
}
