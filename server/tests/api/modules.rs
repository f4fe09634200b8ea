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
    sqlx::query("UPDATE hsm_configs SET module = 'gone' WHERE name = 'KRY'")
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
