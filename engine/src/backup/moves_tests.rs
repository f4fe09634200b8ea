//! One backup format for both stores, with real parts (a private
//! PostgreSQL cluster, SoftHSM2 tokens): a fleet's database backed up
//! while an appliance uses it, restored into a single appliance's SQLite
//! file, that appliance's backup restored into a new fleet's database and
//! over the first fleet's rows; every refusal changes nothing. And the
//! backup file a fleet's database gets before a migration.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::{restore, REPLACED_ROWS};
use crate::audit::Actor;
use crate::config::Settings;
use crate::history::HistoryFilter;
use crate::hsm::testing::SoftHsmFixture;
use crate::hsm::UserType;
use crate::partitions::{ConfigEdit, Trigger};
use crate::store::db;
use crate::store::testing::PgCluster;
use crate::{Engine, Error};

fn sqlite_settings(dir: &Path, f: &SoftHsmFixture) -> Settings {
    let mut s = Settings::for_data_dir(dir);
    s.pkcs11_module = Some(f.module_to_load().to_path_buf());
    s
}

fn fleet_settings(dir: &Path, url: &str, f: &SoftHsmFixture) -> Settings {
    let mut s = sqlite_settings(dir, f);
    s.database_url = Some(SecretString::from(url.to_string()));
    s
}

async fn ok_reseeds(engine: &Engine) -> i64 {
    let filter = HistoryFilter::from_fields(Some("MOVE1"), None, Some("ok")).unwrap();
    engine.history().page(&filter, 1, 50).await.unwrap().total
}

async fn count(engine: &Engine, table: &str) -> i64 {
    db::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(engine.store().pool())
        .await
        .unwrap()
}

/// The details of the audit log's `backup.restore` lines, oldest first.
async fn restore_lines(engine: &Engine) -> Vec<String> {
    db::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'backup.restore' AND actor = 'cli' ORDER BY id",
    )
    .fetch_all(engine.store().pool())
    .await
    .unwrap()
}

async fn backup_of(engine: &Engine, dir: &Path, name: &str, with_key: bool) -> PathBuf {
    let path = dir.join(name);
    let out = std::fs::File::create_new(&path).unwrap();
    engine.backup(out, with_key).await.unwrap();
    path
}

async fn restore_from(settings: &Settings, file: &Path) -> crate::Result<super::RestoreReport> {
    restore(settings, std::fs::File::open(file).unwrap(), "the backup").await
}

async fn reseed(engine: &Engine) {
    engine
        .partitions()
        .reseed("MOVE1", Trigger::Cli, &Actor::cli())
        .await
        .unwrap();
}

fn kept_rows(data_dir: &Path) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(data_dir.join(super::BACKUP_DIR)) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(REPLACED_ROWS))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_moves_between_sqlite_and_a_fleet_both_ways() {
    let f = SoftHsmFixture::shared();
    let _access = f.shared_access().await;
    let cluster = PgCluster::shared();
    let files = tempfile::tempdir().unwrap();

    // A fleet's appliance with a configuration (a sealed password), a
    // reseed in the history and the audit rows of both.
    let fleet_url = cluster.database().await;
    let fleet_dir = tempfile::tempdir().unwrap();
    let fleet = Engine::open(fleet_settings(fleet_dir.path(), &fleet_url, f))
        .await
        .unwrap();
    fleet
        .partitions()
        .create_config_with(
            "MOVE1",
            ConfigEdit::for_token(f.token(2), UserType::User),
            &Actor::cli(),
        )
        .await
        .unwrap();
    reseed(&fleet).await;
    let audit_rows = count(&fleet, "audit_log").await;
    assert!(audit_rows >= 2, "{audit_rows}");
    let key_file = fleet_dir.path().join(crate::secrets::DEFAULT_FILE);

    // Backed up while it runs.
    let from_fleet = backup_of(&fleet, files.path(), "fleet.tar", false).await;

    // Restored over the fleet while an appliance is connected: refused,
    // nothing changed.
    let err = restore_from(
        &fleet_settings(fleet_dir.path(), &fleet_url, f),
        &from_fleet,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::InUse(_)), "{err:?}");
    assert!(err.to_string().contains("stop every appliance"), "{err}");
    assert_eq!(count(&fleet, "audit_log").await, audit_rows);
    assert!(kept_rows(fleet_dir.path()).is_empty());
    fleet.store().pool().close().await;
    drop(fleet);

    // Into a single appliance (a SQLite file) holding the same key.
    let single_dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        &key_file,
        single_dir.path().join(crate::secrets::DEFAULT_FILE),
    )
    .unwrap();
    let report = restore_from(&sqlite_settings(single_dir.path(), f), &from_fleet)
        .await
        .unwrap();
    assert!(!report.fleet);
    let single = Engine::open(sqlite_settings(single_dir.path(), f))
        .await
        .unwrap();
    assert!(single.store().sqlite_pool().is_some());
    assert_eq!(ok_reseeds(&single).await, 1);
    // The fleet's audit log, and the restore's own line in it.
    assert_eq!(count(&single, "audit_log").await, audit_rows + 1);
    assert_eq!(restore_lines(&single).await.len(), 1);
    // Its sealed password opens: the reseed logs in.
    reseed(&single).await;
    assert_eq!(ok_reseeds(&single).await, 2);
    let from_single = backup_of(&single, files.path(), "single.tar", true).await;
    let single_audit = count(&single, "audit_log").await;
    drop(single);

    // Into a new fleet's empty database: migrated, then filled.
    let new_url = cluster.database().await;
    let new_dir = tempfile::tempdir().unwrap();
    let report = restore_from(&fleet_settings(new_dir.path(), &new_url, f), &from_single)
        .await
        .unwrap();
    assert!(report.fleet && report.master_key_restored);
    let moved = Engine::open(fleet_settings(new_dir.path(), &new_url, f))
        .await
        .unwrap();
    assert_eq!(ok_reseeds(&moved).await, 2);
    assert_eq!(count(&moved, "audit_log").await, single_audit + 1);
    let lines = restore_lines(&moved).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(!lines[1].contains("kept in"), "a new database: {lines:?}");
    assert_eq!(count(&moved, "sessions").await, 0);
    reseed(&moved).await;
    assert_eq!(ok_reseeds(&moved).await, 3);
    // Its identities go on past the restored rows, and the audit log is
    // append-only again.
    let newest: i64 = db::query_scalar("SELECT MAX(id) FROM audit_log")
        .fetch_one(moved.store().pool())
        .await
        .unwrap();
    assert!(newest > single_audit, "{newest} after {single_audit} rows");
    let refused = db::query("DELETE FROM audit_log")
        .execute(moved.store().pool())
        .await;
    assert!(refused.is_err());
    let refused = db::query("TRUNCATE audit_log")
        .execute(moved.store().pool())
        .await;
    assert!(refused.is_err());
    moved.store().pool().close().await;
    drop(moved);

    // Over the first fleet's rows: replaced, and what was there is kept as
    // a backup of its own, which restores in turn. Another program's table
    // in the same database is left alone.
    {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&fleet_url).await.unwrap();
        for sql in [
            "CREATE TABLE other_program (note TEXT)",
            "INSERT INTO other_program VALUES ('mine')",
        ] {
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        c.close().await.unwrap();
    }
    let report = restore_from(
        &fleet_settings(fleet_dir.path(), &fleet_url, f),
        &from_single,
    )
    .await
    .unwrap();
    let previous = report.previous.expect("the replaced rows are kept");
    assert!(previous.join(REPLACED_ROWS).is_file());
    assert_eq!(kept_rows(fleet_dir.path()).len(), 1);
    let replaced = Engine::open(fleet_settings(fleet_dir.path(), &fleet_url, f))
        .await
        .unwrap();
    assert_eq!(ok_reseeds(&replaced).await, 2);
    assert_eq!(count(&replaced, "other_program").await, 1);
    replaced.store().pool().close().await;
    drop(replaced);
    let back = previous.join(REPLACED_ROWS);
    restore_from(&fleet_settings(fleet_dir.path(), &fleet_url, f), &back)
        .await
        .unwrap();
    let back = Engine::open(fleet_settings(fleet_dir.path(), &fleet_url, f))
        .await
        .unwrap();
    assert_eq!(ok_reseeds(&back).await, 1);
    assert_eq!(count(&back, "audit_log").await, audit_rows + 1);
    let lines = restore_lines(&back).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("backup made ")
            && lines[0].contains("the database it replaced is kept in"),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_restore_without_the_key_its_secrets_need_changes_nothing() {
    let f = SoftHsmFixture::shared();
    let cluster = PgCluster::shared();
    let files = tempfile::tempdir().unwrap();
    let url = cluster.database().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(fleet_settings(dir.path(), &url, f))
        .await
        .unwrap();
    let from = backup_of(&engine, files.path(), "plain.tar", false).await;
    engine.store().pool().close().await;
    drop(engine);

    // Another fleet, another key: refused before its database is touched.
    let other_url = cluster.database().await;
    let other_dir = tempfile::tempdir().unwrap();
    let other = Engine::open(fleet_settings(other_dir.path(), &other_url, f))
        .await
        .unwrap();
    let checks = count(&other, "key_check").await;
    other.store().pool().close().await;
    drop(other);
    let err = restore_from(&fleet_settings(other_dir.path(), &other_url, f), &from)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("holds another one"), "{err}");
    assert!(kept_rows(other_dir.path()).is_empty());
    let again = Engine::open(fleet_settings(other_dir.path(), &other_url, f))
        .await
        .unwrap();
    assert_eq!(count(&again, "key_check").await, checks);
}

#[tokio::test]
async fn a_fleet_database_about_to_be_migrated_is_backed_up_first() {
    use crate::store::{Store, PG_MIGRATOR};
    let url = PgCluster::shared().database().await;
    // A database as the migrations before the newest left it, with a row.
    let pg = sqlx::PgPool::connect(&url).await.unwrap();
    let n = PG_MIGRATOR.migrations.len();
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Borrowed(&PG_MIGRATOR.migrations[..n - 1]),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&pg).await.unwrap();
    let old = PG_MIGRATOR.migrations[n - 2].version;
    sqlx::query(
        "INSERT INTO audit_log (at_ms, actor_kind, actor, action, target, outcome, detail) \
         VALUES (1, 'cli', 'cli', 'test', 'x', 'ok', 'before the upgrade')",
    )
    .execute(&pg)
    .await
    .unwrap();
    pg.close().await;

    let dir = tempfile::tempdir().unwrap();
    let copies = || -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir.path().join(super::BACKUP_DIR))
            .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        v.retain(|p| p.extension().is_some_and(|x| x == "tar"));
        v
    };
    let store = Store::open_postgres(&url, dir.path()).await.unwrap();
    let found = copies();
    assert_eq!(found.len(), 1, "{found:?}");
    let name = found[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(&format!("-schema-{old}.tar")), "{name}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&found[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // It is a backup of the database before the migration, row included.
    let unpacked = super::unpack(std::fs::File::open(&found[0]).unwrap(), &name).unwrap();
    assert_eq!(unpacked.manifest.schema_version, old);
    let (_, db) = unpacked
        .files
        .iter()
        .find(|(n, _)| n == crate::store::DB_FILE)
        .unwrap();
    let copy = dir.path().join("copy.db");
    std::fs::write(&copy, db.as_slice()).unwrap();
    let copy = super::open_file_db(&copy).await.unwrap();
    assert_eq!(super::schema_version(&copy).await.unwrap(), old);
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_log")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(detail, "before the upgrade");
    copy.close().await;
    store.pool().close().await;
    drop(store);
    // Nothing left to migrate: no other copy.
    drop(Store::open_postgres(&url, dir.path()).await.unwrap());
    assert_eq!(copies().len(), 1);
}
