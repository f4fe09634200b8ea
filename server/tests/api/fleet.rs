//! Two appliances on one database (SQLite here: a second `hsmseed serve`
//! process on the same data directory, its own appliance id): each records
//! its heartbeat and its reseeds, and the dashboard lists both.

use std::time::{Duration, Instant};

use engine::hsm::UserType;
use reqwest::StatusCode;

use crate::helpers::{fixture, html, serving_url, Options, TestApp};

/// `hsmseed serve` on the app's data directory as appliance `id`, plain
/// HTTP on a free port; its address once it serves (the process ends with
/// the returned handle).
async fn second_appliance(app: &TestApp, id: &str) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .arg("serve")
        .env_remove("HSMSEED_CONFIG")
        .envs(app.cli_env())
        .env("HSMSEED_APPLIANCE_ID", id)
        .env("HSMSEED_LISTEN", "127.0.0.1:0")
        .env("HSMSEED_TLS", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = serving_url(&mut child, Duration::from_secs(30)).await;
    (child, url)
}

#[tokio::test]
async fn the_dashboard_lists_the_appliances_sharing_the_database() {
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    app.configure("HSM1", fixture().token(2), UserType::User)
        .await;
    let token = app.token("seeder", engine::auth::tokens::Scope::Seed).await;
    let (_second, url) = second_appliance(&app, "second").await;

    // One reseed through each; the token is the fleet's, not one appliance's.
    assert_eq!(
        app.api_reseed(&token, "HSM1").await.status(),
        StatusCode::OK
    );
    let r = reqwest::Client::new()
        .post(format!("{url}/api/2.0/hsmseed?name=HSM1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Both heard from (each beats at its start, then every 5 s).
    let started = Instant::now();
    let fleet = loop {
        let fleet = app.engine.fleet().list().await.unwrap();
        if fleet.len() == 2 || started.elapsed() > Duration::from_secs(15) {
            break fleet;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let seen: Vec<(&str, i64)> = fleet
        .iter()
        .map(|a| (a.id.as_str(), a.reseeds_this_hour))
        .collect();
    assert_eq!(seen, [("second", 1), ("test", 1)]);
    let now = app.engine.now();
    assert!(fleet.iter().all(|a| !a.is_silent(now)));

    // The dashboard lists them (the overview reads them again every 5 s).
    app.login_as_admin().await;
    let started = Instant::now();
    let page = loop {
        let page = html(app.get("/").await).await;
        if page.contains(r#"data-appliance="second""#)
            || started.elapsed() > Duration::from_secs(15)
        {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(page.contains(r#"data-testid="fleet""#), "{page}");
    assert!(
        page.contains(r#"data-appliance="second" data-silent="false""#),
        "{page}"
    );
    assert!(page.contains("(this one)"), "{page}");
}
