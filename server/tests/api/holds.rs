//! Never lock out or zeroize a partition: a failed login holds the
//! credential, through every door, across processes and restarts. Counted
//! in OpenSC's PKCS#11 spy log: the HSM's own view.

use engine::audit::Actor;
use engine::auth::tokens::Scope;
use engine::hsm::UserType;
use engine::partitions::ConfigEdit;
use reqwest::StatusCode;
use serde_json::Value;

use engine::hsm::testing::{SpyCapture, TestToken};

use crate::helpers::{fixture, Options, TestApp};

/// Token 1 is only used under `exclusive()` (its calls are asserted on).
const TRACED: usize = 0;

/// An app on the traced token with configurations `wrong`, each with
/// the password `<user PIN><suffix>`, and the spy log from here on.
async fn wrong_passwords(
    opts: Options,
    wrong: &[(&str, &str)],
) -> (SpyCapture, TestApp, &'static TestToken) {
    let f = fixture();
    let mut spy = f.exclusive().await;
    assert!(f.spy.is_some(), "pkcs11-spy.so is needed for this test");
    let app = TestApp::spawn_with(opts).await;
    let t = f.token(TRACED);
    for (name, suffix) in wrong {
        app.configure(name, t, UserType::User).await;
        let edit = ConfigEdit {
            partition_pwd: Some(format!("{}{suffix}", t.user_pin).into()),
            ..Default::default()
        };
        app.edit(name, edit).await;
    }
    spy.restart();
    (spy, app, t)
}

#[tokio::test]
async fn a_wrong_password_is_tried_once_by_every_door_then_held() {
    let (spy, app, t) = wrong_passwords(Options::with_hsm(), &[("BAD", "-wrong")]).await;
    let token = app.token("automation", Scope::Seed).await;

    // The first REST call logs in and is refused by the HSM.
    let r = app.api_reseed(&token, "BAD").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ckr"], "CKR_PIN_INCORRECT");

    // The 19 others are held: 409, nothing reaches the HSM.
    for _ in 0..19 {
        let r = app.api_reseed(&token, "BAD").await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "login_held", "{body}");
        assert_eq!(body["ckr"], "CKR_PIN_INCORRECT", "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("edited"),
            "{body}"
        );
    }
    // Three scheduled rounds skip it; the first records one `held` row.
    for _ in 0..3 {
        app.engine.schedule().round().await;
        let last = app.engine.schedule().status().await.unwrap().last_round;
        assert_eq!(last.map(|r| (r.ok, r.failed, r.held)), Some((0, 0, 1)));
    }
    // The console (another process) and the page button are held too.
    let out = app.cli(&["hsm-seed", "--name=BAD"]).await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("login held"), "{}", out.stderr);
    app.login_as_admin().await;
    let r = app.server_fn("reseed_hsm", &[("name", "BAD")]).await;
    assert!(r.text().await.unwrap().contains("login held"));
    let r = app.server_fn("test_login_hsm", &[("name", "BAD")]).await;
    assert!(r.text().await.unwrap().contains("login held"));

    let logins = spy.calls_of("C_Login");
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0].rv.as_deref(), Some("CKR_PIN_INCORRECT"));
    assert!(spy.calls_of("C_SeedRandom").is_empty());

    let rows = app.history("BAD").await;
    let rows: Vec<(&str, &str, Option<&str>)> = rows
        .iter()
        .map(|r| {
            (
                r.trigger.as_str(),
                r.outcome.as_str(),
                r.error_code.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("schedule", "held", Some("CKR_PIN_INCORRECT")),
            ("api", "error", Some("CKR_PIN_INCORRECT")),
        ]
    );

    // Every interface shows it, with the fix.
    let c = app.config("BAD").await;
    assert_eq!(
        c.held.as_ref().map(|h| h.ckr.as_str()),
        Some("CKR_PIN_INCORRECT")
    );
    let page = app.get("/hsms").await.text().await.unwrap();
    assert!(page.contains("login held: CKR_PIN_INCORRECT"), "{page}");
    assert!(page.contains("Fix: Edit"));
    let page = app.get("/").await.text().await.unwrap();
    assert!(
        page.contains("held-banner") && page.contains("BAD"),
        "{page}"
    );
    let page = app.get("/hsms/BAD").await.text().await.unwrap();
    assert!(page.contains("Retry login") && page.contains("zeroizes the partition"));
    let out = app.cli(&["hsm-conf-show", "--name=BAD"]).await;
    assert!(
        out.stdout.contains("loginHeld=CKR_PIN_INCORRECT"),
        "{}",
        out.stdout
    );

    // A new password is a new credential: tried again, and it works.
    app.edit(
        "BAD",
        engine::partitions::ConfigEdit::for_token(t, UserType::User),
    )
    .await;
    assert!(app
        .engine
        .partitions()
        .get_config("BAD")
        .await
        .unwrap()
        .held
        .is_none());
    let r = app.api_reseed(&token, "BAD").await;
    assert_eq!(r.status(), StatusCode::OK);
    let logins = spy.calls_of("C_Login");
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert_eq!(logins[1].rv.as_deref(), Some("CKR_OK"));
}

#[tokio::test]
async fn a_hold_survives_a_restart_and_binds_other_processes() {
    let (spy, app, _) = wrong_passwords(Options::with_hsm(), &[("BAD", "-wrong")]).await;

    // Held by the console, in its own process.
    let out = app.cli(&["hsm-seed", "--name=BAD"]).await;
    assert!(out.stderr.contains("CKR_PIN_INCORRECT"), "{}", out.stderr);
    // The server sees it (and logs in no more).
    let token = app.token("automation", Scope::Seed).await;
    let r = app.api_reseed(&token, "BAD").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // A fresh engine on the same data directory (a restart) too.
    let settings = app.engine.settings().clone();
    let again = engine::Engine::open(settings).await.unwrap();
    let err = again
        .partitions()
        .reseed("BAD", engine::partitions::Trigger::Cli, &Actor::cli())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "login_held");
    assert_eq!(spy.calls_of("C_Login").len(), 1);
}

#[tokio::test]
async fn the_same_wrong_password_on_one_token_is_tried_once_for_all_configurations() {
    let (spy, app, _) =
        wrong_passwords(Options::with_hsm(), &[("A", "-wrong"), ("B", "-wrong")]).await;
    let token = app.token("automation", Scope::Seed).await;

    let r = app.api_reseed(&token, "A").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    // B holds the same credential on the same token: held at once.
    let r = app.api_reseed(&token, "B").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "login_held");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("configuration A"),
        "{body}"
    );
    assert_eq!(spy.calls_of("C_Login").len(), 1);
    let b = app.config("B").await;
    assert!(b.held.is_some(), "B is shown held too");
    // B's own history says it never reached the HSM.
    let rows = app.history("B").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, "held");
}

#[tokio::test]
async fn a_token_with_failures_in_a_row_takes_only_a_retried_or_proven_password() {
    let opts = Options {
        login_failures_per_token: Some(2),
        ..Options::with_hsm()
    };
    let (spy, app, t) = wrong_passwords(opts, &[("W1", "-one"), ("W2", "-two")]).await;
    app.configure("GOOD", t, UserType::User).await;

    for name in ["W1", "W2"] {
        let e = app
            .engine
            .partitions()
            .reseed(name, engine::partitions::Trigger::Cli, &Actor::cli())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, engine::Error::Hsm { ckr, .. } if ckr == "CKR_PIN_INCORRECT"),
            "{e}"
        );
    }
    // Two failures in a row on the token: a password that never worked
    // there is not tried, even a right one.
    let e = app
        .engine
        .partitions()
        .reseed("GOOD", engine::partitions::Trigger::Cli, &Actor::cli())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "login_held", "{e}");
    assert!(e.to_string().contains("2 failed logins in a row"), "{e}");
    assert_eq!(spy.calls_of("C_Login").len(), 2);

    // The console's retry needs --confirm and shows the warning first.
    let out = app.cli(&["hsm-login-retry", "--name=GOOD"]).await;
    assert_ne!(out.code, 0);
    assert!(
        out.stdout.contains("zeroizes the partition"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("--confirm"), "{}", out.stderr);
    assert_eq!(spy.calls_of("C_Login").len(), 2, "nothing tried");
    let out = app
        .cli(&["hsm-login-retry", "--name=GOOD", "--confirm"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("no longer held"), "{}", out.stdout);
    // Released, and the token's count starts again.
    app.engine.poll_changes().await.unwrap();
    app.engine
        .partitions()
        .reseed("GOOD", engine::partitions::Trigger::Cli, &Actor::cli())
        .await
        .unwrap();
    let logins = spy.calls_of("C_Login");
    assert_eq!(logins.len(), 4, "{logins:?}");
    // A retry with a still-wrong password stays held.
    app.login_as_admin().await;
    let r = app
        .server_fn("retry_login_hsm", &[("name", "W1"), ("confirm", "yes")])
        .await;
    assert!(r.text().await.unwrap().contains("CKR_PIN_INCORRECT"));
    assert!(app
        .engine
        .partitions()
        .get_config("W1")
        .await
        .unwrap()
        .held
        .is_some());
    let r = app.server_fn("retry_login_hsm", &[("name", "W1")]).await;
    assert!(r.text().await.unwrap().contains("Nothing was tried"));
    assert_eq!(spy.calls_of("C_Login").len(), 5);
    let audit = app
        .engine
        .audit_log()
        .page(
            &engine::audit::AuditFilter {
                action: Some("hsm.login_retry".into()),
                ..Default::default()
            },
            1,
            10,
        )
        .await
        .unwrap();
    assert_eq!(audit.total, 2, "{:?}", audit.rows);
}

#[tokio::test]
async fn cku_so_needs_an_explicit_confirmation_at_every_door() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    app.cli(&["hsm-conf-new", "--name=SO1"]).await;
    let out = app
        .cli(&["hsm-conf-edit", "--name=SO1", "--userType=CKU_SO"])
        .await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("zeroize the partition"),
        "{}",
        out.stderr
    );
    assert_eq!(app.config("SO1").await.user_type, "CKU_USER");
    let out = app
        .cli(&[
            "hsm-conf-edit",
            "--name=SO1",
            "--userType=CKU_SO",
            "--confirmSO",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(app.config("SO1").await.user_type, "CKU_SO");

    app.login_as_admin().await;
    let r = app
        .server_fn("create_hsm", &[("name", "SO2"), ("user_type", "CKU_SO")])
        .await;
    assert!(r.text().await.unwrap().contains("zeroize"));
    assert_eq!(
        app.engine
            .partitions()
            .get_config("SO2")
            .await
            .unwrap_err()
            .code(),
        "not_found",
        "nothing was created"
    );
    let r = app
        .server_fn(
            "create_hsm",
            &[
                ("name", "SO2"),
                ("user_type", "CKU_SO"),
                ("confirm_so", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.config("SO2").await.user_type, "CKU_SO");
    // Editing other fields of an SO configuration asks nothing more.
    let r = app
        .server_fn(
            "edit_hsm",
            &[
                ("name", "SO2"),
                ("user_type", "CKU_SO"),
                ("partition_name", "P2"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}
