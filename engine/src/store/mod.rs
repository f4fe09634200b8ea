//! The database: a SQLite file in the data directory (the default: one
//! pool, WAL mode) or a PostgreSQL database shared by the appliances of a
//! fleet (`database_url`); the same migrations, in each dialect, run at
//! open. The capabilities' statements go through [`db`], which runs each
//! on the pool's own driver.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub mod db;
#[cfg(test)]
mod dialects_tests;
pub(crate) mod inline;
pub mod lock;
pub(crate) mod notify;
#[cfg(test)]
mod postgres_tests;
pub(crate) mod shared;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::error::{Error, Result};

/// The embedded migrations (`migrations/` at the workspace root).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The same migrations in PostgreSQL's dialect (`migrations/postgres/`:
/// one file per version beside each SQLite one, the same schema; a test
/// applies both and compares them).
pub static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The `application_name` of the appliances' PostgreSQL connections: a
/// restore into a fleet's database refuses while any is connected.
pub const APPLICATION_NAME: &str = "hsmseed";

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "hsmseed.db";

#[derive(Debug, Clone)]
pub struct Store {
    pool: db::Pool,
    /// SQLite's own parts: the history writer and the login ledger
    /// (rusqlite on the same file), the inline reads, backups.
    sqlite: Option<SqliteParts>,
    /// PostgreSQL's change feed (LISTEN/NOTIFY): what other connections,
    /// and other appliances, committed.
    versions: Option<std::sync::Arc<notify::Versions>>,
}

#[derive(Debug, Clone)]
struct SqliteParts {
    pool: SqlitePool,
    path: PathBuf,
    inline: std::sync::Arc<inline::InlineReads>,
}

/// How long a write waits for another connection's lock (the pool's
/// connections and the history writer's).
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Opens (creating when missing) the database in `data_dir` and applies
    /// every pending migration. A failed migration is an error: the caller
    /// must not start.
    pub async fn open(data_dir: &Path) -> Result<Store> {
        ensure_private_dir(data_dir)?;
        let path = data_dir.join(DB_FILE);
        // Created 0600 before SQLite opens it: SQLite gives the WAL and
        // shared-memory files the database file's mode.
        create_private_file(&path)?;
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&path)
            .create_if_missing(true)
            // Small pages: most writes append a few rows to the history and
            // audit b-trees, and every commit writes each page it touched
            // to the WAL whole (new databases only; SQLite keeps an
            // existing file's page size).
            .page_size(1024)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A connection to a local file cannot go stale (there is no
            // peer to lose): the ping sqlx makes by default before every
            // acquire is one more round trip to the connection's worker
            // thread for nothing (the dashboard under load: a few percent,
            // within this VM's noise, in interleaved runs).
            .test_before_acquire(false)
            .connect_with(opts)
            .await?;
        // An existing database about to be migrated is copied first.
        crate::backup::before_migration(&pool, data_dir).await?;
        MIGRATOR.run(&pool).await?;
        for file in [DB_FILE, "hsmseed.db-wal", "hsmseed.db-shm"] {
            let p = data_dir.join(file);
            if p.exists() {
                restrict_file(&p)?;
            }
        }
        Ok(Store {
            pool: db::Pool::Sqlite(pool.clone()),
            sqlite: Some(SqliteParts {
                pool,
                inline: std::sync::Arc::new(inline::InlineReads::new(&path)),
                path,
            }),
            versions: None,
        })
    }

    /// Connects to the PostgreSQL database at `url` (shared by the
    /// appliances of a fleet) and applies every pending migration (under
    /// PostgreSQL's advisory lock: appliances starting together migrate
    /// once; an existing database is first copied into a backup file in
    /// `data_dir/backups/`); then listens for what the others commit.
    pub async fn open_postgres(url: &str, data_dir: &Path) -> Result<Store> {
        let opts = sqlx::postgres::PgConnectOptions::from_str(url)
            .map_err(|e| {
                Error::Config(format!(
                    "database_url cannot be read as a PostgreSQL URL: {e}"
                ))
            })?
            .application_name(APPLICATION_NAME);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(opts)
            .await
            .map_err(|e| Error::Config(format!("cannot connect to database_url: {e}")))?;
        crate::backup::before_postgres_migration(&pool, data_dir).await?;
        PG_MIGRATOR.run(&pool).await?;
        let versions = notify::Versions::listen(&pool).await?;
        Ok(Store {
            pool: db::Pool::Postgres(pool),
            sqlite: None,
            versions: Some(versions),
        })
    }

    /// Where the capabilities' statements run.
    pub fn pool(&self) -> &db::Pool {
        &self.pool
    }

    /// The SQLite pool itself; none on PostgreSQL.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        self.sqlite.as_ref().map(|s| &s.pool)
    }

    /// The SQLite database file; none on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.sqlite.as_ref().map(|s| s.path.as_path())
    }

    /// The SQLite pool, for tests that look into the file.
    ///
    /// # Panics
    ///
    /// On a PostgreSQL store.
    #[cfg(any(test, feature = "test-support"))]
    #[allow(clippy::expect_used)] // test support
    pub fn sqlite(&self) -> &SqlitePool {
        self.sqlite_pool().expect("a SQLite store")
    }

    /// Reads on the calling thread (see [`inline`]); none on PostgreSQL
    /// (its reads go to the pool).
    pub(crate) fn inline(&self) -> Option<&inline::InlineReads> {
        self.sqlite.as_ref().map(|s| &*s.inline)
    }

    /// PostgreSQL's change feed; none on SQLite.
    pub(crate) fn versions(&self) -> Option<&notify::Versions> {
        self.versions.as_deref()
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<()> {
        db::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// A synchronous connection to the database at `path` (rusqlite, on the
/// same SQLite library as the pool), set up as the pool's are (keep these
/// pragmas in step with [`Store::open`]); for threads that are not on the
/// runtime: the history writer, the PKCS#11 slots' login guard. The
/// database must exist and be in WAL mode already (the pool made it so).
pub(crate) fn open_sync(path: &Path) -> std::result::Result<rusqlite::Connection, String> {
    use rusqlite::{Connection, OpenFlags};
    let setup = || -> rusqlite::Result<(Connection, String)> {
        let c = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(BUSY_TIMEOUT)?;
        c.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        Ok((c, mode))
    };
    let (c, mode) = setup().map_err(|e| e.to_string())?;
    // Never write the database in another mode than the pool's.
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("the database is in journal mode {mode}, not WAL"));
    }
    Ok(c)
}

/// Creates `dir` (and parents) with mode 0700 when missing; an existing
/// one that others may enter is tightened to 0700 (and the log says so).
pub fn ensure_private_dir(dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.is_dir() {
        match std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            Ok(()) => {}
            // Another process made it meanwhile.
            Err(_) if dir.is_dir() => {}
            Err(e) => return Err(Error::io("creating directory", dir, e)),
        }
    }
    tighten(dir, 0o700)?;
    Ok(dir.to_path_buf())
}

/// Takes away every permission of `path` beyond `mode` (never adds any);
/// logs when it had to.
pub fn tighten(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| Error::io("reading permissions of", path, e))?;
    let had = meta.permissions().mode() & 0o777;
    if had & !mode != 0 {
        let now = had & mode;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(now))
            .map_err(|e| Error::io("setting permissions of", path, e))?;
        tracing::warn!(
            path = %path.display(),
            "permissions tightened from {had:04o} to {now:04o}: only the appliance's user may read it"
        );
    }
    Ok(())
}

/// Sets mode 0600 (or less) on a file holding something private.
pub fn restrict_file(path: &Path) -> Result<()> {
    tighten(path, 0o600)
}

/// Creates an empty file `path` with mode 0600 unless it exists.
fn create_private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("creating", path, e)),
    }
}

/// Writes `contents` to a new temporary file beside `path` (a name of its
/// own, never shared with another writer), mode 0600, synced; returns its
/// path.
fn write_temp(path: &Path, contents: &[u8]) -> Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut suffix = [0u8; 8];
    crate::random::fill_random(&mut suffix);
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        hex::encode(suffix)
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io("creating", &tmp, e))?;
    let written = f
        .write_all(contents)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io("writing", &tmp, e));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|()| tmp)
}

/// Makes a rename or link in `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("syncing directory", dir, e))
}

/// Writes `contents` to `path` atomically (a temporary file of its own,
/// then rename) with mode 0600.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = write_temp(path, contents)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("renaming to", path, e));
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Writes `contents` to `path` only if no file is there, atomically and
/// whole (written and synced aside, then linked in: the link fails if
/// another process got there first). Returns whether this call wrote it.
pub fn create_private_file_once(path: &Path, contents: &[u8]) -> Result<bool> {
    let tmp = write_temp(path, contents)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(path.parent().unwrap_or(Path::new(".")))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io("creating", path, e)),
    }
}

/// Whether a file can be read by group or others (worth a warning for keys).
pub fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o077 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn open_creates_a_private_database_and_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = Store::open(&data).await.unwrap();
        store.ping().await.unwrap();
        let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let mode = std::fs::metadata(data.join(DB_FILE))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(store.sqlite())
            .await
            .unwrap();
        assert_eq!(n, 0);
        // Opening again is harmless.
        drop(store);
        Store::open(&data).await.unwrap();
    }

    /// A database in `dir` as the migrations before `version` left it.
    async fn database_before(dir: &Path, version: i64) -> SqlitePool {
        let opts = SqliteConnectOptions::from_str("sqlite://")
            .unwrap()
            .filename(dir.join(DB_FILE))
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(opts).await.unwrap();
        let at = MIGRATOR
            .migrations
            .iter()
            .position(|m| m.version == version)
            .unwrap();
        let before = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Borrowed(&MIGRATOR.migrations[..at]),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        before.run(&pool).await.unwrap();
        pool
    }

    #[tokio::test]
    async fn the_entropy_scope_migration_keeps_every_token() {
        let dir = tempfile::tempdir().unwrap();
        let pool = database_before(dir.path(), 20261130000012).await;
        let insert = "INSERT INTO api_tokens (id, name, scope, token_hash, prefix, created_at, \
                      created_by, last_used_at, revoked_at) VALUES (?, ?, ?, ?, 'hss_ab', 1, 'cli', ?, NULL)";
        for (id, name, scope, used) in [(7, "ci", "seed", Some(5)), (9, "dash", "read", None)] {
            sqlx::query(insert)
                .bind(id)
                .bind(name)
                .bind(scope)
                .bind(format!("hash-{name}"))
                .bind(used)
                .execute(&pool)
                .await
                .unwrap();
        }
        // Not allowed yet.
        assert!(sqlx::query(insert)
            .bind(10)
            .bind("lab")
            .bind("entropy")
            .bind("hash-lab")
            .bind(None::<i64>)
            .execute(&pool)
            .await
            .is_err());
        pool.close().await;

        let store = Store::open(dir.path()).await.unwrap();
        let rows: Vec<(i64, String, String, Option<i64>)> =
            sqlx::query_as("SELECT id, name, scope, last_used_at FROM api_tokens ORDER BY id")
                .fetch_all(store.sqlite())
                .await
                .unwrap();
        assert_eq!(
            rows,
            [
                (7, "ci".to_string(), "seed".to_string(), Some(5)),
                (9, "dash".to_string(), "read".to_string(), None)
            ]
        );
        sqlx::query(insert)
            .bind(10)
            .bind("lab")
            .bind("entropy")
            .bind("hash-lab")
            .bind(None::<i64>)
            .execute(store.sqlite())
            .await
            .unwrap();
        assert!(sqlx::query(insert)
            .bind(11)
            .bind("bad")
            .bind("admin")
            .bind("hash-bad")
            .bind(None::<i64>)
            .execute(store.sqlite())
            .await
            .is_err());
    }

    #[tokio::test]
    async fn rebuilding_the_history_and_audit_tables_keeps_rows_and_rules() {
        // A database as migration 6 left it, with rows in both tables.
        let dir = tempfile::tempdir().unwrap();
        let pool = database_before(dir.path(), 20261128000007).await;
        sqlx::query(
            "INSERT INTO seed_history (id, at_ms, config_name, slot, token_serial, trigger, \
             source, bits, duration_us, outcome, error_code, message) \
             VALUES (41, 1000, 'HSM1', 3, 'SER1', 'cli', 'os', 256, 120, 'error', \
             'CKR_PIN_INCORRECT', 'wrong PIN')",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO audit_log (id, at_ms, actor_kind, actor, address, action, target, \
             outcome, detail) VALUES (7, 2000, 'scheduler', 'scheduler', NULL, 'hsm.reseed', \
             'HSM1', 'ok', 'trigger schedule, 256 bits')",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = Store::open(dir.path()).await.unwrap();
        let history: (i64, i64, String, String, String, Option<String>) = sqlx::query_as(
            "SELECT id, at_ms, config_name, trigger, outcome, error_code FROM seed_history",
        )
        .fetch_one(store.sqlite())
        .await
        .unwrap();
        assert_eq!(
            history,
            (
                41,
                1000,
                "HSM1".into(),
                "cli".into(),
                "error".into(),
                Some("CKR_PIN_INCORRECT".into())
            )
        );
        let audit: (i64, String, String) =
            sqlx::query_as("SELECT id, actor_kind, detail FROM audit_log")
                .fetch_one(store.sqlite())
                .await
                .unwrap();
        assert_eq!(
            audit,
            (7, "scheduler".into(), "trigger schedule, 256 bits".into())
        );
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_schema WHERE tbl_name = 'seed_history' AND type = 'index' \
             ORDER BY name",
        )
        .fetch_all(store.sqlite())
        .await
        .unwrap();
        assert_eq!(indexes, ["seed_history_at", "seed_history_config"]);

        // The rules still hold: unknown values are refused, the audit log
        // stays append-only.
        let refused = [
            "INSERT INTO seed_history (at_ms, config_name, trigger, source, bits, duration_us, \
             outcome) VALUES (1, 'HSM1', 'nightly', 'os', 256, 1, 'ok')",
            "INSERT INTO seed_history (at_ms, config_name, trigger, source, bits, duration_us, \
             outcome) VALUES (1, 'HSM1', 'api', 'os', 256, 1, 'maybe')",
            "INSERT INTO audit_log (at_ms, actor_kind, actor, action, target, outcome, detail) \
             VALUES (1, 'robot', 'r', 'a', 't', 'ok', 'd')",
            "UPDATE audit_log SET detail = 'rewritten'",
            "DELETE FROM audit_log",
        ];
        for sql in refused {
            let e = sqlx::query(sql).execute(store.sqlite()).await.unwrap_err();
            let e = e.to_string();
            assert!(
                e.contains("CHECK constraint failed") || e.contains("append-only"),
                "{sql}: {e}"
            );
        }
        let rows: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM seed_history) + (SELECT count(*) FROM audit_log)",
        )
        .fetch_one(store.sqlite())
        .await
        .unwrap();
        assert_eq!(rows, 2);
    }

    #[test]
    fn an_open_data_directory_and_its_files_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&data).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        let f = data.join("x");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        restrict_file(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        // Never loosened.
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o400)).unwrap();
        restrict_file(&f).unwrap();
        assert_eq!(mode(&f), 0o400);
    }

    #[tokio::test]
    async fn the_database_and_its_wal_are_0600_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        sqlx::query("INSERT INTO app_settings (key, value, updated_at) VALUES ('k', 'v', 1)")
            .execute(store.sqlite())
            .await
            .unwrap();
        for f in [DB_FILE, "hsmseed.db-wal", "hsmseed.db-shm"] {
            let m = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(m & 0o777, 0o600, "{f}");
        }
    }

    #[test]
    fn a_file_created_once_is_never_overwritten_and_never_seen_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let mut writers = Vec::new();
        for i in 0..16u8 {
            let p = p.clone();
            writers.push(std::thread::spawn(move || {
                create_private_file_once(&p, &[b'a' + i; 64]).unwrap()
            }));
        }
        let won: Vec<bool> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(won.iter().filter(|w| **w).count(), 1);
        let text = std::fs::read(&p).unwrap();
        assert_eq!(text.len(), 64);
        assert!(text.iter().all(|b| *b == text[0]));
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn private_file_is_0600_and_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pem");
        write_private_file(&p, b"one").unwrap();
        write_private_file(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert!(!readable_by_others(&p));
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
