//! Reseeding through every door, against real SoftHSM2 tokens.

use std::time::Duration;

use engine::auth::tokens::Scope;
use engine::config::EntropySourceKind;
use engine::hsm::UserType;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{fixture, Options, TestApp};

/// Token 1 is only used under `exclusive()` (its calls are asserted on).
const TRACED: usize = 0;

#[tokio::test]
async fn rest_reseed_lands_in_history_and_the_hsm_gets_32_bytes() {
    let f = fixture();
    let mut spy = f.exclusive().await;
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    let t = f.token(TRACED);
    app.configure("HSM1", t, UserType::User).await;
    let token = app.token("automation", Scope::Seed).await;
    spy.restart();

    let r = app.api_reseed(&token, "HSM1").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["name"], "HSM1");
    assert_eq!(body["slot"], t.slot);
    assert_eq!(body["bits"], 256);
    assert_eq!(body["trigger"], "api");
    assert_eq!(body["outcome"], "ok");
    assert!(body["durationMs"].as_f64().unwrap() >= 0.0);
    assert!(body["at"].as_str().unwrap().contains('T'));

    let seeds = spy.calls_of("C_SeedRandom");
    if f.spy.is_some() {
        assert_eq!(seeds.len(), 1, "{seeds:?}");
        assert_eq!(seeds[0].data_len, Some(32));
        assert_eq!(seeds[0].slot, Some(t.slot));
        assert_eq!(seeds[0].rv.as_deref(), Some("CKR_OK"));
    }
    let rows = app.history("HSM1").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].trigger, "api");
    assert_eq!(rows[0].outcome, "ok");
    assert_eq!(rows[0].slot, Some(t.slot as i64));
    assert_eq!(rows[0].token_serial.as_deref(), Some(t.serial.as_str()));
    assert_eq!(rows[0].bits, 256);
    assert_eq!(rows[0].source, "os");
}

#[tokio::test]
async fn the_page_button_the_cli_and_the_scheduler_reseed_with_their_trigger() {
    let f = fixture();
    let mut spy = f.exclusive().await;
    let app = TestApp::spawn_with(Options {
        schedule_unit: Some(Duration::from_millis(700)),
        ..Options::with_hsm()
    })
    .await;
    let t = f.token(TRACED);
    app.configure("HSM1", t, UserType::User).await;
    app.login_as_admin().await;
    spy.restart();

    // "Reseed now" on the HSMs page (the server function the button posts).
    let r = app.server_fn("reseed_hsm", &[("name", "HSM1")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let msg: String = r.json().await.unwrap();
    assert!(msg.starts_with("HSM1 reseeded with 256 bits"), "{msg}");

    // The console, in its own process on the same data directory.
    let out = app.cli(&["hsm-seed", "--name=HSM1"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("HSM HSM1 reseeded successfully with 256 bits"),
        "{}",
        out.stdout
    );

    // The scheduler: a period of 1 (a "minute" is 0.7 s here).
    app.engine
        .schedule()
        .set_seed_period(
            engine::schedule::SeedPeriod::new(1).unwrap(),
            &engine::audit::Actor::cli(),
        )
        .await
        .unwrap();
    let mut scheduled = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The test's wall clock keeps up (rounds claim what is due by it).
        app.clock.advance(time::Duration::milliseconds(100));
        scheduled = app
            .history("HSM1")
            .await
            .iter()
            .filter(|r| r.trigger == "schedule")
            .count();
        if scheduled >= 2 {
            break;
        }
    }
    assert!(scheduled >= 2, "two scheduled rounds ran");
    app.engine
        .schedule()
        .set_seed_period(
            engine::schedule::SeedPeriod::OFF,
            &engine::audit::Actor::cli(),
        )
        .await
        .unwrap();

    let rows = app.history("HSM1").await;
    for trigger in ["ui", "cli", "schedule"] {
        assert!(
            rows.iter()
                .any(|r| r.trigger == trigger && r.outcome == "ok"),
            "a {trigger} row"
        );
    }
    if f.spy.is_some() {
        let seeds = spy.calls_of("C_SeedRandom");
        assert!(seeds.len() >= 4, "{}", seeds.len());
        assert!(seeds
            .iter()
            .all(|c| c.data_len == Some(32) && c.rv.as_deref() == Some("CKR_OK")));
    }
}

#[tokio::test]
async fn wrong_password_reports_ckr_pin_incorrect_everywhere_and_the_server_carries_on() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    let t = f.token(1);
    app.configure("BAD", t, UserType::User).await;
    app.edit(
        "BAD",
        engine::partitions::ConfigEdit {
            partition_pwd: Some(t.wrong_pin_target().pin),
            ..Default::default()
        },
    )
    .await;
    let token = app.token("automation", Scope::Seed).await;

    let r = app.api_reseed(&token, "BAD").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "hsm_error");
    assert_eq!(body["ckr"], "CKR_PIN_INCORRECT");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("CKR_PIN_INCORRECT"));

    // The page button is refused without a login: the first failure held
    // the credential (see holds.rs), and says what held it.
    app.login_as_admin().await;
    let r = app.server_fn("reseed_hsm", &[("name", "BAD")]).await;
    assert!(r.status().is_server_error() || r.status().is_client_error());
    let text = r.text().await.unwrap();
    assert!(text.contains("CKR_PIN_INCORRECT"), "{text}");

    let rows = app.history("BAD").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, "error");
    assert_eq!(rows[0].error_code.as_deref(), Some("CKR_PIN_INCORRECT"));

    // The HSMs page shows the failure.
    let page = app.get("/hsms").await.text().await.unwrap();
    assert!(page.contains("CKR_PIN_INCORRECT"));
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_reseeds_on_one_token_never_race_a_login() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options {
        schedule_unit: Some(Duration::from_millis(50)),
        ..Options::with_hsm()
    })
    .await;
    let t = f.token(2);
    app.configure("A", t, UserType::User).await;
    app.configure("B", t, UserType::So).await;
    let token = app.token("automation", Scope::Seed).await;
    // The scheduler reseeds both every 50 ms while the API hammers them.
    app.engine
        .schedule()
        .set_seed_period(
            engine::schedule::SeedPeriod::new(1).unwrap(),
            &engine::audit::Actor::cli(),
        )
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = app.client.clone();
        let url = app.at(&format!(
            "/api/2.0/hsmseed?name={}",
            if i % 2 == 0 { "A" } else { "B" }
        ));
        let token = token.clone();
        tasks.spawn(async move {
            let r = client.post(url).bearer_auth(token).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        });
    }
    while let Some(r) = tasks.join_next().await {
        let (status, body) = r.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app.engine
        .schedule()
        .set_seed_period(
            engine::schedule::SeedPeriod::OFF,
            &engine::audit::Actor::cli(),
        )
        .await
        .unwrap();
    let mut rows = app.history("A").await;
    rows.extend(app.history("B").await);
    assert!(rows.len() >= 200);
    let failed: Vec<_> = rows.iter().filter(|r| r.outcome != "ok").collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(
        rows.iter().any(|r| r.trigger == "schedule"),
        "the scheduler ran meanwhile"
    );
}

fn write_source(dir: &std::path::Path, name: &str, bytes: &[u8]) -> EntropySourceKind {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    EntropySourceKind::Device(p)
}

async fn failed_source_delivers_nothing(bytes: Vec<u8>, test_name: &str) {
    let f = fixture();
    let mut spy = f.exclusive().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(Options {
        entropy: Some(write_source(dir.path(), "qrng", &bytes)),
        ..Options::with_hsm()
    })
    .await;
    app.configure("HSM1", f.token(TRACED), UserType::User).await;
    let token = app.token("automation", Scope::Seed).await;
    spy.restart();

    let r = app.api_reseed(&token, "HSM1").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "entropy_failed");

    let r = app.get("/readyz").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    let entropy = body["entropy"].as_str().unwrap();
    assert!(
        entropy.contains("failed") && entropy.contains(test_name),
        "{entropy}"
    );

    assert!(
        spy.calls_of("C_SeedRandom").is_empty(),
        "no seed ever reached the HSM"
    );
    let rows = app.history("HSM1").await;
    assert_eq!(rows[0].error_code.as_deref(), Some("entropy_failed"));

    // The dashboard shows it.
    app.login_as_admin().await;
    let page = crate::helpers::html(app.get("/").await).await;
    let at = page
        .find(r#"data-testid="entropy-state""#)
        .expect("the entropy badge");
    let badge = &page[at..at + page[at..].find("</span>").unwrap()];
    assert!(
        badge.ends_with(">failed"),
        "dashboard shows the failure: {badge}"
    );
    assert!(page.contains("card alarm"), "the entropy card is marked");
}

#[tokio::test]
async fn a_stuck_device_source_fails_closed() {
    failed_source_delivers_nothing(vec![0x41; 64 * 1024], "repetition count").await;
}

#[tokio::test]
async fn a_heavily_biased_device_source_fails_closed() {
    // One value in three, never twice in a row: the proportion test trips,
    // not the repetition test.
    let mut bytes = Vec::with_capacity(64 * 1024);
    let mut x: u32 = 12345;
    for i in 0..64 * 1024 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        bytes.push(if i % 3 == 0 {
            0x55
        } else {
            ((x >> 16) as u8) | 1
        });
    }
    failed_source_delivers_nothing(bytes, "adaptive proportion").await;
}

#[tokio::test]
async fn a_missing_module_gives_a_clear_error_and_nothing_crashes() {
    let app = TestApp::spawn_with(Options {
        pkcs11_module: Some("/nonexistent/libpkcs11.so".into()),
        ..Options::default()
    })
    .await;
    app.engine
        .partitions()
        .create_config("HSM1", &engine::audit::Actor::cli())
        .await
        .unwrap();
    app.edit(
        "HSM1",
        engine::partitions::ConfigEdit {
            partition_pwd: Some(secrecy::SecretString::from("x".to_string())),
            slot: Some(engine::partitions::SlotId(1)),
            ..Default::default()
        },
    )
    .await;
    let token = app.token("automation", Scope::Seed).await;
    let r = app.api_reseed(&token, "HSM1").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ckr"], "MODULE_LOAD");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/libpkcs11.so"));
    // The HSMs page still renders and says why the slots are unknown.
    app.login_as_admin().await;
    let page = app.get("/hsms").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("/nonexistent/libpkcs11.so"));
}

#[tokio::test]
async fn an_unknown_slot_and_a_changed_token_are_refused() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    let t = f.token(1);
    let token = app.token("automation", Scope::Seed).await;

    app.configure("GONE", t, UserType::User).await;
    app.edit(
        "GONE",
        engine::partitions::ConfigEdit {
            slot: Some(engine::partitions::SlotId(987_654)),
            ..Default::default()
        },
    )
    .await;
    let body: Value = app.api_reseed(&token, "GONE").await.json().await.unwrap();
    assert_eq!(body["ckr"], "CKR_SLOT_ID_INVALID");

    app.configure("PINNED", t, UserType::User).await;
    app.edit(
        "PINNED",
        engine::partitions::ConfigEdit {
            token_serial: Some(engine::partitions::SerialPin::Set(
                "0000000000000000".into(),
            )),
            ..Default::default()
        },
    )
    .await;
    let r = app.api_reseed(&token, "PINNED").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ckr"], "TOKEN_MISMATCH");
    assert!(body["message"].as_str().unwrap().contains(&t.serial));

    // Pinning the token the slot holds now works.
    app.edit(
        "PINNED",
        engine::partitions::ConfigEdit {
            token_serial: Some(engine::partitions::SerialPin::FromSlot),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        app.config("PINNED").await.token_serial.as_deref(),
        Some(t.serial.as_str())
    );
    assert_eq!(
        app.api_reseed(&token, "PINNED").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_rest_call_answers_each_refusal_with_its_status() {
    let app = TestApp::spawn().await;
    let seed = app.token("seed-token", Scope::Seed).await;
    let read = app.token("read-token", Scope::Read).await;
    app.engine
        .partitions()
        .create_config("EMPTY", &engine::audit::Actor::cli())
        .await
        .unwrap();
    app.engine
        .partitions()
        .create_config("OFF", &engine::audit::Actor::cli())
        .await
        .unwrap();
    app.edit(
        "OFF",
        engine::partitions::ConfigEdit {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await;

    let r = app
        .client
        .post(app.at("/api/2.0/hsmseed?name=EMPTY"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no token");
    let r = app
        .api_reseed(
            "hss_0000000000000000000000000000000000000000000000000000000000000000",
            "EMPTY",
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "unknown token");
    assert_eq!(
        app.api_reseed(&read, "EMPTY").await.status(),
        StatusCode::FORBIDDEN,
        "read scope"
    );
    let r = app
        .client
        .post(app.at("/api/2.0/hsmseed"))
        .bearer_auth(&seed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no name");
    assert_eq!(
        app.api_reseed(&seed, "NOPE").await.status(),
        StatusCode::NOT_FOUND
    );
    let r = app.api_reseed(&seed, "OFF").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "disabled");
    let r = app.api_reseed(&seed, "EMPTY").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "not_configured");
    // GET works too, as in the guide's URL.
    let r = app
        .get_with_token("/api/2.0/hsmseed?name=NOPE", &seed)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // None of these reached the history.
    assert!(app
        .engine
        .history()
        .page(&Default::default(), 1, 10)
        .await
        .unwrap()
        .rows
        .is_empty());

    // A revoked token stops working at once.
    app.engine
        .auth()
        .revoke_token("seed-token", &engine::audit::Actor::cli())
        .await
        .unwrap();
    assert_eq!(
        app.api_reseed(&seed, "EMPTY").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn read_endpoints_never_show_a_password() {
    let app = TestApp::spawn().await;
    let read = app.token("reader", Scope::Read).await;
    let seed = app.token("seeder", Scope::Seed).await;
    app.engine
        .partitions()
        .create_config("HSM1", &engine::audit::Actor::cli())
        .await
        .unwrap();
    app.edit(
        "HSM1",
        engine::partitions::ConfigEdit {
            partition_name: Some("Partition1".into()),
            partition_pwd: Some(secrecy::SecretString::from("myPassword".to_string())),
            slot: Some(engine::partitions::SlotId(1)),
            ..Default::default()
        },
    )
    .await;
    let r = app.get_with_token("/api/2.0/hsms", &read).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(!text.contains("myPassword"));
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list[0]["name"], "HSM1");
    assert_eq!(list[0]["partitionName"], "Partition1");
    assert_eq!(list[0]["passwordSet"], true);
    assert_eq!(list[0]["slot"], 1);
    assert_eq!(list[0]["userType"], "CKU_USER");
    let r = app.get_with_token("/api/2.0/hsms", &seed).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .get_with_token("/api/2.0/history?trigger=api", &read)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .get_with_token("/api/2.0/history?trigger=bogus", &read)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Not in the database either (PostgreSQL: in no row of any table).
    if crate::helpers::on_postgres() {
        for table in [
            "hsm_configs",
            "audit_log",
            "seed_history",
            "changes",
            "app_settings",
        ] {
            let n = crate::helpers::sqlx_count(
                &app.engine,
                &format!(
                    "SELECT count(*) FROM {table} t WHERE position('myPassword' in t::text) > 0"
                ),
            )
            .await;
            assert_eq!(n, 0, "{table}");
        }
        return;
    }
    let db = std::fs::read(app.engine.settings().data_dir.join("hsmseed.db")).unwrap();
    assert!(!db.windows(10).any(|w| w == b"myPassword"));
}

#[tokio::test]
async fn history_is_paged_filtered_and_exported() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    app.configure("HSM1", f.token(3), UserType::User).await;
    app.configure("HSM2", f.token(3), UserType::User).await;
    for _ in 0..3 {
        app.engine
            .partitions()
            .reseed(
                "HSM1",
                engine::partitions::Trigger::Cli,
                &engine::audit::Actor::cli(),
            )
            .await
            .unwrap();
    }
    app.engine
        .partitions()
        .reseed(
            "HSM2",
            engine::partitions::Trigger::Api,
            &engine::audit::Actor::cli(),
        )
        .await
        .unwrap();
    app.login_as_admin().await;

    let page = app.get("/history?config=HSM1").await.text().await.unwrap();
    assert!(page.contains("3 reseeds"), "filtered count");
    let page = app.get("/history?trigger=api").await.text().await.unwrap();
    assert!(page.contains("1 reseed<"), "filtered by trigger");

    let r = app.get("/history.csv?config=HSM1").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(crate::helpers::header(&r, "content-type").starts_with("text/csv"));
    assert!(crate::helpers::header(&r, "content-disposition").contains("hsmseed-history.csv"));
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time,configuration,slot,token_serial,trigger,source,bits,duration_ms,outcome,error,message,appliance");
    assert_eq!(lines.len(), 4);
    assert!(lines[1..]
        .iter()
        .all(|l| l.contains(",HSM1,") && l.contains(",cli,os,256,") && l.contains(",ok,")));

    // Pages of 25 for the page; the API takes perPage.
    let read = app.token("reader", Scope::Read).await;
    let r: Value = app
        .get_with_token("/api/2.0/history?perPage=2&page=2", &read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 4);
    assert_eq!(r["page"], 2);
    assert_eq!(r["rows"].as_array().unwrap().len(), 2);

    // The CSV needs a session.
    let (other, _) = app.new_client();
    let r = other.get(app.at("/history.csv")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
