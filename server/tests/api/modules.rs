//! Named PKCS#11 modules in the browser: each module's slots on the HSMs
//! page, and the forms that choose a configuration's module (kryoptic
//! beside SoftHSM2).

use engine::config::{ModuleSpec, Settings};
use engine::hsm::testing::KryopticFixture;
use reqwest::StatusCode;

use crate::helpers::{html, Options, TestApp};

fn with_kryoptic(s: &mut Settings) {
    let k = KryopticFixture::shared();
    s.pkcs11_modules
        .insert("kry".into(), ModuleSpec::path(&k.module));
}

#[tokio::test]
async fn the_hsms_page_lists_each_modules_slots_and_its_forms_choose_a_module() {
    let app = TestApp::spawn_with(Options {
        hsm: true,
        settings: Some(with_kryoptic),
        ..Default::default()
    })
    .await;
    app.login_as_admin().await;
    let k = KryopticFixture::shared().token.clone();

    let page = html(app.get("/hsms").await).await;
    assert!(page.contains("Slots module kry sees"), "{page}");
    assert!(page.contains(&k.serial), "{page}");
    assert!(page.contains(r#"id="new-module""#), "{page}");

    let slot = k.slot.to_string();
    let r = app
        .server_fn(
            "create_hsm",
            &[
                ("name", "KRY"),
                ("partition_name", &k.label),
                ("partition_pwd", &k.user_pin),
                ("slot", &slot),
                ("user_type", "CKU_USER"),
                ("module", "kry"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    assert_eq!(app.config("KRY").await.module.as_deref(), Some("kry"));

    // The table names the module and the token its slot holds there.
    let page = html(app.get("/hsms").await).await;
    assert!(
        page.contains(&format!("slot {slot} · module kry")),
        "{page}"
    );
    assert!(
        page.contains(&format!("{} ({})", k.label, k.serial)),
        "{page}"
    );
    // The configuration's page offers the module, chosen.
    let page = html(app.get("/hsms/KRY").await).await;
    let chosen = page
        .split("<option")
        .find(|o| o.contains(r#"value="kry""#))
        .unwrap_or_default();
    assert!(chosen.contains("selected"), "{page}");

    // A module the settings do not name: refused, nothing changed.
    let edit = |module: &'static str| [("name", "KRY"), ("module", module), ("enabled", "yes")];
    let r = app.server_fn("edit_hsm", &edit("nope")).await;
    let text = r.text().await.unwrap();
    assert!(text.contains("no PKCS#11 module named `nope`"), "{text}");
    assert_eq!(app.config("KRY").await.module.as_deref(), Some("kry"));
    // A module the settings no longer name stays chosen on the page (a
    // save must not move the configuration elsewhere unasked).
    engine::store::db::query("UPDATE hsm_configs SET module = 'gone' WHERE name = 'KRY'")
        .execute(app.engine.store().pool())
        .await
        .unwrap();
    let page = html(app.get("/hsms/KRY").await).await;
    let chosen = page
        .split("<option")
        .find(|o| o.contains(r#"value="gone""#))
        .unwrap_or_default();
    assert!(
        chosen.contains("selected") && chosen.contains("gone (not in the settings)"),
        "{page}"
    );
    let r = app.server_fn("edit_hsm", &edit("gone")).await;
    let text = r.text().await.unwrap();
    assert!(text.contains("no PKCS#11 module named `gone`"), "{text}");

    // The default one, as the select posts it.
    let r = app.server_fn("edit_hsm", &edit("default")).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    assert_eq!(app.config("KRY").await.module, None);
}

fn with_trust(s: &mut Settings) {
    s.pkcs11_modules.insert(
        "trust".into(),
        ModuleSpec::path(engine::hsm::testing::p11_kit_trust()),
    );
}

/// A token that takes no seed material (p11-kit's trust module: a real
/// PKCS#11 token without an RNG) is one clear outcome: no password goes to
/// it, the history and every page say so, scheduled rounds skip it, and an
/// edit of its token makes it seeded again.
#[tokio::test]
async fn a_token_that_takes_no_seeds_is_said_once_and_not_tried_again_on_a_schedule() {
    use engine::partitions::{ConfigEdit, ConfigState, ModuleChoice};
    use serde_json::Value;
    let app = TestApp::spawn_with(Options {
        hsm: true,
        settings: Some(with_trust),
        ..Default::default()
    })
    .await;
    app.login_as_admin().await;
    let trust = app
        .engine
        .partitions()
        .slots_of(Some("trust"))
        .await
        .unwrap()
        .into_iter()
        .find(|s| !s.flags.iter().any(|f| f == "rng"))
        .expect("p11-kit's trust module has a token without an RNG");
    let slot = trust.slot_id.to_string();
    let r = app
        .server_fn(
            "create_hsm",
            &[
                ("name", "TRUST"),
                ("partition_name", "trust"),
                ("partition_pwd", "never-sent-anywhere"),
                ("slot", &slot),
                ("user_type", "CKU_USER"),
                ("module", "trust"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    let token = app
        .token("automation", engine::auth::tokens::Scope::Seed)
        .await;
    let r = app.api_reseed(&token, "TRUST").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ckr"], "SEED_NOT_ACCEPTED", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("has no random number generator (CKF_RNG is not set)")
            && message.contains("this token does not accept seed material"),
        "{message}"
    );
    // Refused before any login: the login ledger never heard of it.
    let logins = crate::helpers::sqlx_count(
        &app.engine,
        "SELECT COUNT(*) FROM config_logins WHERE config_name = 'TRUST'",
    )
    .await;
    assert_eq!(logins, 0);
    let c = app.config("TRUST").await;
    assert_eq!((c.state, c.seed_refused), (ConfigState::Unsupported, true));

    // Two scheduled rounds skip it: no second row, nothing asked.
    for _ in 0..2 {
        app.engine.schedule().round().await;
        let last = app.engine.schedule().status().await.unwrap().last_round;
        assert_eq!(
            last.map(|r| (r.ok, r.failed, r.held, r.unsupported)),
            Some((0, 0, 0, 1))
        );
    }
    let rows = app.history("TRUST").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].error_code.as_deref(), Some("SEED_NOT_ACCEPTED"));
    assert!(
        rows[0]
            .message
            .as_deref()
            .is_some_and(|m| m.contains("does not accept seed material")),
        "{:?}",
        rows[0]
    );

    // Every interface says it.
    let page = html(app.get("/hsms").await).await;
    assert!(
        page.contains(r#"data-testid="unsupported""#)
            && page.contains("this token does not accept seed material"),
        "{page}"
    );
    let page = html(app.get("/").await).await;
    assert!(
        page.contains("degraded-banner") && page.contains("token does not accept seeds"),
        "{page}"
    );
    let reader = app
        .token("monitor", engine::auth::tokens::Scope::Read)
        .await;
    let status: Value = app
        .get_with_token("/api/2.0/status", &reader)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "degraded", "{status}");
    assert_eq!(status["configurations"]["unsupported"], 1, "{status}");
    let out = app.cli(&["hsm-conf-show", "--name=TRUST"]).await;
    assert!(
        out.stdout
            .contains("state=unsupported (SEED_NOT_ACCEPTED: this token does not accept"),
        "{}",
        out.stdout
    );

    // An edit that is not another token keeps it.
    app.edit(
        "TRUST",
        ConfigEdit {
            partition_pwd: Some("another-password".to_string().into()),
            enabled: Some(true),
            ..Default::default()
        },
    )
    .await;
    assert!(app.config("TRUST").await.seed_refused);

    // Moved to a token that takes seeds: seeded again on the next round.
    let t = crate::helpers::fixture().token(2);
    let mut edit = ConfigEdit::for_token(t, engine::hsm::UserType::User);
    edit.module = Some(ModuleChoice::Default);
    app.edit("TRUST", edit).await;
    assert!(!app.config("TRUST").await.seed_refused);
    app.engine.schedule().round().await;
    let last = app.engine.schedule().status().await.unwrap().last_round;
    assert_eq!(
        last.map(|r| (r.ok, r.failed, r.held, r.unsupported)),
        Some((1, 0, 0, 0))
    );
    assert_eq!(app.config("TRUST").await.state, ConfigState::Ok);
}
