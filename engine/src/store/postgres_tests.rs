//! An engine whose `database_url` is PostgreSQL (a private cluster, see
//! `testing.rs`) and whose tokens are SoftHSM2's: the reseed, its history
//! row and the configuration's health (the history writer's PostgreSQL
//! sink), a failed login held and released (the login ledger's), the
//! dashboard's data seeing both at once (the change feed) and which of its
//! versions a reseed moves, the master key check and an unreachable
//! database. (Backups on PostgreSQL: `backup/moves_tests.rs`.)

use secrecy::SecretString;

use super::testing::PgCluster;
use crate::audit::Actor;
use crate::config::Settings;
use crate::history::HistoryFilter;
use crate::hsm::testing::SoftHsmFixture;
use crate::hsm::UserType;
use crate::partitions::{ConfigEdit, Trigger};
use crate::store::Store;
use crate::{Engine, Error};

fn settings(dir: &std::path::Path, url: &str, f: &SoftHsmFixture) -> Settings {
    let mut s = Settings::for_data_dir(dir);
    s.pkcs11_module = Some(f.module_to_load().to_path_buf());
    s.database_url = Some(SecretString::from(url.to_string()));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_on_postgresql_reseeds_holds_and_keeps_its_data_there() {
    let f = SoftHsmFixture::shared();
    let _access = f.shared_access().await;
    let url = PgCluster::shared().database().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(settings(dir.path(), &url, f)).await.unwrap();
    assert!(engine.store().sqlite_pool().is_none());
    assert!(!dir.path().join(super::DB_FILE).exists(), "no SQLite file");
    let actor = Actor::cli();
    let p = engine.partitions();
    let t = f.token(2);

    p.create_config_with("PG1", ConfigEdit::for_token(t, UserType::User), &actor)
        .await
        .unwrap();
    let seen = engine.overview().await.unwrap();
    assert_eq!(seen.configs.len(), 1);

    let record = p.reseed("PG1", Trigger::Api, &actor).await.unwrap();
    assert_eq!(record.token_serial, t.serial);
    let filter = HistoryFilter {
        config: Some("PG1".into()),
        ..HistoryFilter::default()
    };
    let page = engine.history().page(&filter, 1, 10).await.unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].outcome.as_str(), "ok");
    assert_eq!(page.rows[0].appliance.as_deref(), Some("test"));
    // The dashboard's data moved with the commit, without waiting for the
    // change feed's notification.
    let now = engine.overview().await.unwrap();
    assert_eq!(now.configs[0].last_outcome.as_deref(), Some("ok"));

    // A wrong password: the login is held (in PostgreSQL), and not tried
    // again until the password is edited.
    let wrong = ConfigEdit {
        partition_pwd: Some(SecretString::from("not-the-pin".to_string())),
        ..ConfigEdit::default()
    };
    p.edit_config("PG1", wrong, &actor).await.unwrap();
    let err = p.reseed("PG1", Trigger::Api, &actor).await.unwrap_err();
    assert!(matches!(err, Error::Hsm { .. }), "{err}");
    let held = p.get_config("PG1").await.unwrap();
    assert!(held.held.is_some(), "{held:?}");
    let err = p.reseed("PG1", Trigger::Api, &actor).await.unwrap_err();
    assert!(matches!(err, Error::LoginHeld { .. }), "{err}");
    p.edit_config("PG1", ConfigEdit::for_token(t, UserType::User), &actor)
        .await
        .unwrap();
    p.reseed("PG1", Trigger::Api, &actor).await.unwrap();
    let free = p.get_config("PG1").await.unwrap();
    assert!(free.held.is_none() && free.failures_in_row == 0, "{free:?}");
    let page = engine.history().page(&filter, 1, 10).await.unwrap();
    // (A refused, held reseed asked for by hand writes no row.)
    let outcomes: Vec<&str> = page.rows.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["ok", "error", "ok"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appliance_with_another_master_key_refuses_to_start_on_the_database() {
    let f = SoftHsmFixture::shared();
    let url = PgCluster::shared().database().await;
    let first = tempfile::tempdir().unwrap();
    let engine = Engine::open(settings(first.path(), &url, f)).await.unwrap();
    drop(engine);
    // Another data directory: a master key of its own.
    let second = tempfile::tempdir().unwrap();
    let err = Engine::open(settings(second.path(), &url, f))
        .await
        .map(drop)
        .unwrap_err();
    assert!(err.to_string().contains("master key"), "{err}");
    // The same key file: it starts.
    let mut same = settings(second.path(), &url, f);
    same.master_key_file = Some(first.path().join(crate::secrets::DEFAULT_FILE));
    Engine::open(same).await.unwrap();
}

#[tokio::test]
async fn database_url_takes_postgresql_urls_and_never_quotes_one_back() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = (
        "HSMSEED_DATA_DIR".to_string(),
        dir.path().display().to_string(),
    );
    for (value, postgres) in [
        ("", false),
        ("sqlite://", false),
        ("postgres://u:secret@localhost/db", true),
        ("postgresql://localhost/db?host=/run/postgresql", true),
    ] {
        let (s, _) = Settings::load_str(
            "",
            [
                data_dir.clone(),
                ("HSMSEED_DATABASE_URL".into(), value.into()),
            ],
        )
        .unwrap();
        assert_eq!(s.database_url.is_some(), postgres, "{value}");
        assert!(!format!("{s:?}").contains("secret"));
    }
    let err = Settings::load_str(
        "",
        [
            data_dir,
            (
                "HSMSEED_DATABASE_URL".into(),
                "mysql://u:secret@h/db".into(),
            ),
        ],
    )
    .map(drop)
    .unwrap_err();
    assert!(err.to_string().contains("PostgreSQL URL"), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[tokio::test]
async fn a_database_that_cannot_be_reached_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("no-server-here");
    let url = format!(
        "postgresql://hsmseed:s3cret-pw@localhost/hsmseed?host={}",
        gone.display()
    );
    let err = Store::open_postgres(&url, dir.path())
        .await
        .map(drop)
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("cannot connect to database_url"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
}

/// A reseed's commit moves the history's version (and the audit's), not
/// the configurations' change version: that would have every cache of
/// configurations read the whole table again (with ten thousand of them,
/// what a scheduled round waited for: 24.5 s instead of 3.9 s in `make
/// bench`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseed_moves_the_history_version_not_the_change_version() {
    let f = SoftHsmFixture::shared();
    let _access = f.shared_access().await;
    let url = PgCluster::shared().database().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(settings(dir.path(), &url, f)).await.unwrap();
    let actor = Actor::cli();
    let p = engine.partitions();
    p.create_config_with(
        "PG1",
        ConfigEdit::for_token(f.token(2), UserType::User),
        &actor,
    )
    .await
    .unwrap();
    p.reseed("PG1", Trigger::Api, &actor).await.unwrap();
    // What the change feed still has to deliver of those commits.
    let settle = || async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        engine.core().poll_changes().await.unwrap();
    };
    settle().await;
    let versions = engine.store().versions().unwrap();
    let (before, change) = (versions.now(), engine.core().change_version());

    p.reseed("PG1", Trigger::Api, &actor).await.unwrap();
    settle().await;
    let after = versions.now();
    assert!(after.0 > before.0, "the audit's: {before:?} -> {after:?}");
    assert!(after.1 > before.1, "the history's: {before:?} -> {after:?}");
    assert_eq!(after.2, before.2, "the changes': {before:?} -> {after:?}");
    assert_eq!(engine.core().change_version(), change);
}
