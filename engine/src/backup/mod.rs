//! Moving an appliance: `hsmseed backup` and `hsmseed restore`, and the
//! copy of the database kept before every migration.
//!
//! A backup is a tar file (mode 0600) of:
//! - `hsmseed-backup.json`: what it holds, the schema version, and the id
//!   of the master key its sealed secrets need (a keyed hash, not the key);
//! - `hsmseed.db`: an online copy of the database, whole and consistent
//!   while the servers run, without sign-in sessions: `VACUUM INTO` of the
//!   SQLite file, or a fleet's PostgreSQL rows in a SQLite file of the same
//!   schema ([`logical`]), so either store restores into either; partition
//!   passwords and private keys in it stay sealed by the master key;
//! - `tls/server.pem`, `tls/server.key`: the generated HTTPS identity;
//! - `master.key` only when asked: whoever holds such a file can open every
//!   sealed secret in it.
//!
//! A restore refuses while a server runs on the data directory (on
//! PostgreSQL: while any appliance is connected to the fleet's database),
//! checks the whole file first (known names only, a database that passes
//! SQLite's integrity check and is not from a newer hsmseed, a master key
//! that opens its secrets) and then swaps the files in (on PostgreSQL: the
//! rows, in one transaction); what it replaced is kept in
//! `data_dir/backups/before-restore-<time>/` (a fleet's rows as a backup
//! file there, [`REPLACED_ROWS`]).

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::SqlitePool;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::secrets::{MasterKey, DEFAULT_FILE as MASTER_KEY_FILE};
use crate::store::lock::FileLock;
use crate::store::{ensure_private_dir, DB_FILE, MIGRATOR};

mod logical;
#[cfg(test)]
mod moves_tests;

const MANIFEST: &str = "hsmseed-backup.json";
const FORMAT: u32 = 1;
const TLS_FILES: [&str; 2] = ["tls/server.pem", "tls/server.key"];
/// Copies of the database taken before migrations, newest kept.
pub const KEPT_MIGRATION_BACKUPS: usize = 5;
/// The directory of the copies taken before migrations and restores.
pub const BACKUP_DIR: &str = "backups";
/// Held (shared) by every server while it serves; a restore needs it alone.
pub const SERVE_LOCK: &str = "serve.lock";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    hsmseed_version: String,
    created_at: String,
    /// The newest migration applied to the database.
    schema_version: i64,
    /// Identifies the master key that opens the sealed secrets.
    master_key_id: String,
    master_key_included: bool,
}

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupReport {
    pub bytes: u64,
    pub master_key_included: bool,
    pub files: Vec<String>,
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreReport {
    pub created_at: String,
    pub hsmseed_version: String,
    pub master_key_restored: bool,
    /// Where the files it replaced were moved, when there were any (on
    /// PostgreSQL with a backup of the rows it replaced).
    pub previous: Option<PathBuf>,
    /// Restored into a fleet's PostgreSQL database.
    pub fleet: bool,
}

/// The id of a master key: a keyed hash under the key itself, the same for
/// the same key, telling nothing about it.
fn key_id(key: &MasterKey) -> String {
    key.check_value()
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}

/// Copies the database into `to` (which must not exist) while others use it.
async fn vacuum_into(pool: &SqlitePool, to: &Path) -> Result<()> {
    let to = to
        .to_str()
        .ok_or_else(|| invalid(format!("{} is not a UTF-8 path", to.display())))?;
    sqlx::query("VACUUM INTO ?").bind(to).execute(pool).await?;
    Ok(())
}

async fn open_file_db(path: &Path) -> Result<SqlitePool> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false);
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?)
}

async fn schema_version(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
    )
    .fetch_one(pool)
    .await?
    .unwrap_or(0))
}

fn now_text() -> String {
    crate::clock::rfc3339(crate::clock::unix_ms(time::OffsetDateTime::now_utc()))
}

/// A name for this moment, safe in a file name: `20261130T221500Z`.
fn stamp() -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "0".into())
}

/// `dir/name`, or `dir/name-2`, `-3`… when that is taken (two restores in
/// one second must not put what they replaced in one place).
fn unused(dir: &Path, name: &str) -> PathBuf {
    let mut path = dir.join(name);
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{name}-{n}"));
    }
    path
}

/// A new private directory `data_dir/backups/.<what>-<time>-<random>` for
/// one backup's or restore's files (two at once never share one).
fn work_dir(data_dir: &Path, what: &str) -> Result<PathBuf> {
    let mut suffix = [0u8; 4];
    crate::random::fill_random(&mut suffix);
    let dir = ensure_private_dir(&data_dir.join(BACKUP_DIR))?.join(format!(
        ".{what}-{}-{}",
        stamp(),
        hex::encode(suffix)
    ));
    ensure_private_dir(&dir)
}

/// Appends the entry `name` of `size` bytes read from `data`.
fn append(
    tar: &mut tar::Builder<std::fs::File>,
    name: &str,
    size: u64,
    data: impl Read,
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64);
    header.set_cksum();
    tar.append_data(&mut header, name, data)
        .map_err(|e| Error::io("writing the backup entry", name, e))
}

/// Appends the file at `path` as `name`, streamed (the database may be
/// large; key files pass through the kernel's buffers only).
fn append_file(tar: &mut tar::Builder<std::fs::File>, name: &str, path: &Path) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("reading", path, e))?;
    let size = file
        .metadata()
        .map_err(|e| Error::io("reading", path, e))?
        .len();
    append(tar, name, size, file)
}

/// Renames `from` to `to`, making `to`'s directory (0700) when missing.
fn move_file(from: &Path, to: &Path, action: &'static str) -> Result<()> {
    if let Some(parent) = to.parent() {
        ensure_private_dir(parent)?;
    }
    std::fs::rename(from, to).map_err(|e| Error::io(action, from, e))
}

impl crate::Engine {
    /// `hsmseed backup --out=FILE`: writes a backup into `out`, a new file
    /// the caller created (mode 0600, perhaps as another user than the one
    /// running this) and removes again when this fails.
    pub async fn backup(&self, out: std::fs::File, with_master_key: bool) -> Result<BackupReport> {
        let data_dir = self.settings().data_dir.clone();
        let work = work_dir(&data_dir, "backup")?;
        let result = async {
            let copy = work.join(DB_FILE);
            let schema = self.copy_database(&copy).await?;
            let key = self.core().master_key();
            let mut extra = Vec::new();
            if self.settings().tls_cert.is_none() {
                for name in TLS_FILES {
                    let p = data_dir.join(name);
                    if p.is_file() {
                        extra.push((name, p));
                    }
                }
            }
            if with_master_key {
                extra.push((MASTER_KEY_FILE, key.path.clone()));
            }
            write_backup(out, &copy, schema, key_id(key), &extra)
        }
        .await;
        let _ = std::fs::remove_dir_all(&work);
        if let Ok(r) = &result {
            tracing::info!(bytes = r.bytes, with_master_key, "backup written");
        }
        result
    }

    /// Copies the database into the SQLite file `to` (which must not
    /// exist) while others use it, without sign-in sessions; answers its
    /// schema version.
    async fn copy_database(&self, to: &Path) -> Result<i64> {
        let pool = match self.store().pool() {
            crate::store::db::Pool::Postgres(pg) => return logical::export(pg, to).await,
            crate::store::db::Pool::Sqlite(pool) => pool,
        };
        vacuum_into(pool, to).await?;
        // Sessions are bearer secrets of this machine's browsers: not moved.
        let db = open_file_db(to).await?;
        sqlx::query("DELETE FROM sessions").execute(&db).await.ok();
        let schema = schema_version(&db).await?;
        sqlx::query("VACUUM").execute(&db).await?;
        db.close().await;
        Ok(schema)
    }
}

/// Writes a backup file into `out`: its manifest, the database copy `db`
/// (at schema `schema`, its secrets sealed by the key `master_key_id`
/// names) and the `extra` files (entry name, path).
fn write_backup(
    out: std::fs::File,
    db: &Path,
    schema: i64,
    master_key_id: String,
    extra: &[(&str, PathBuf)],
) -> Result<BackupReport> {
    let master_key_included = extra.iter().any(|(n, _)| *n == MASTER_KEY_FILE);
    let manifest = Manifest {
        format: FORMAT,
        hsmseed_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now_text(),
        schema_version: schema,
        master_key_id,
        master_key_included,
    };
    let mut files = vec![MANIFEST.to_string(), DB_FILE.to_string()];
    let mut tar = tar::Builder::new(out);
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("backup manifest: {e}")))?;
    append(
        &mut tar,
        MANIFEST,
        manifest_json.len() as u64,
        manifest_json.as_slice(),
    )?;
    append_file(&mut tar, DB_FILE, db)?;
    for (name, path) in extra {
        append_file(&mut tar, name, path)?;
        files.push(name.to_string());
    }
    let out = tar
        .into_inner()
        .map_err(|e| Error::io("writing", "the backup file", e))?;
    out.sync_all()
        .map_err(|e| Error::io("syncing", "the backup file", e))?;
    let bytes = out.metadata().map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport {
        bytes,
        master_key_included,
        files,
    })
}

/// The contents of a backup file, read and checked.
struct Unpacked {
    manifest: Manifest,
    files: Vec<(String, zeroize::Zeroizing<Vec<u8>>)>,
}

fn unpack(input: std::fs::File, shown: &str) -> Result<Unpacked> {
    let mut archive = tar::Archive::new(input);
    let known = [
        MANIFEST,
        DB_FILE,
        TLS_FILES[0],
        TLS_FILES[1],
        MASTER_KEY_FILE,
    ];
    let not_a_backup = |why: String| invalid(format!("{shown} is not an hsmseed backup: {why}"));
    let mut files: Vec<(String, zeroize::Zeroizing<Vec<u8>>)> = Vec::new();
    let entries = archive.entries().map_err(|e| not_a_backup(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| not_a_backup(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| not_a_backup(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        if !known.contains(&name.as_str()) || !entry.header().entry_type().is_file() {
            return Err(not_a_backup(format!("unexpected entry `{name}`")));
        }
        if files.iter().any(|(n, _)| *n == name) {
            return Err(not_a_backup(format!("`{name}` twice")));
        }
        let mut bytes = zeroize::Zeroizing::new(Vec::new());
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| not_a_backup(e.to_string()))?;
        files.push((name, bytes));
    }
    let manifest_bytes = files
        .iter()
        .find(|(n, _)| n == MANIFEST)
        .map(|(_, b)| b.clone())
        .ok_or_else(|| not_a_backup(format!("no {MANIFEST}")))?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| not_a_backup(format!("{MANIFEST}: {e}")))?;
    if manifest.format != FORMAT {
        return Err(invalid(format!(
            "{shown} is a backup of format {}; this hsmseed reads format {FORMAT}",
            manifest.format
        )));
    }
    if !files.iter().any(|(n, _)| n == DB_FILE) {
        return Err(not_a_backup(format!("no {DB_FILE}")));
    }
    if manifest.master_key_included != files.iter().any(|(n, _)| n == MASTER_KEY_FILE) {
        return Err(not_a_backup(
            "its master key does not match its manifest".into(),
        ));
    }
    Ok(Unpacked { manifest, files })
}

/// `hsmseed restore --in=FILE` into the data directory of `settings`
/// (created when missing) and its database (the SQLite file there, or the
/// fleet's PostgreSQL database of `database_url`), from `input` (opened by
/// the caller, perhaps as another user), named `shown` in messages.
/// Nothing changes unless every check passes.
pub async fn restore(
    settings: &Settings,
    input: std::fs::File,
    shown: &str,
) -> Result<RestoreReport> {
    let data_dir = ensure_private_dir(&settings.data_dir)?;
    let unpacked = unpack(input, shown)?;
    let m = &unpacked.manifest;

    // No server on this directory, and no other set-up meanwhile.
    let serve = FileLock::try_exclusive(&data_dir, SERVE_LOCK)?.ok_or_else(|| {
        Error::InUse(format!(
            "a server is running on {}: stop it first (systemctl stop hsmseed); nothing was changed",
            data_dir.display()
        ))
    })?;
    let init = FileLock::exclusive(&data_dir, crate::engine::INIT_LOCK)?;

    let stage = work_dir(&data_dir, "restore")?;
    ensure_private_dir(&stage.join("tls"))?;
    let result = restore_staged(settings, &data_dir, &stage, &unpacked, shown).await;
    let _ = std::fs::remove_dir_all(&stage);
    drop(init);
    drop(serve);
    let previous = result?;
    tracing::info!(file = shown, created_at = %m.created_at, "backup restored");
    Ok(RestoreReport {
        created_at: m.created_at.clone(),
        hsmseed_version: m.hsmseed_version.clone(),
        master_key_restored: m.master_key_included,
        previous,
        fleet: settings.database_url.is_some(),
    })
}

async fn restore_staged(
    settings: &Settings,
    data_dir: &Path,
    stage: &Path,
    unpacked: &Unpacked,
    shown: &str,
) -> Result<Option<PathBuf>> {
    let m = &unpacked.manifest;
    for (name, bytes) in &unpacked.files {
        if name != MANIFEST {
            crate::store::write_private_file(&stage.join(name), bytes)?;
        }
    }

    // The database: whole, and not from a newer hsmseed.
    let db = open_file_db(&stage.join(DB_FILE)).await?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&db)
        .await
        .map_err(|e| invalid(format!("the backup's database cannot be read: {e}")))?;
    if check != "ok" {
        db.close().await;
        return Err(invalid(format!(
            "the backup's database is damaged: {check}"
        )));
    }
    let newest_known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    if m.schema_version > newest_known {
        db.close().await;
        return Err(invalid(format!(
            "the backup was made by hsmseed {} with a newer database (schema {}); \
             install that version or newer to restore it",
            m.hsmseed_version, m.schema_version
        )));
    }
    db.close().await;

    // The master key its secrets need: the one in the backup, else the one
    // this appliance has, which must be the same.
    let key_path = settings
        .master_key_file
        .clone()
        .unwrap_or_else(|| data_dir.join(MASTER_KEY_FILE));
    let key_here = if key_path.is_file() {
        Some(MasterKey::load_or_create(data_dir, Some(&key_path))?.0)
    } else {
        None
    };
    if m.master_key_included {
        let staged = MasterKey::load_or_create(stage, Some(&stage.join(MASTER_KEY_FILE)))?.0;
        if key_id(&staged) != m.master_key_id {
            return Err(invalid(
                "the backup's master key is not the one its secrets need",
            ));
        }
    } else if key_here.as_ref().map(key_id).as_deref() != Some(m.master_key_id.as_str()) {
        return Err(invalid(format!(
            "the backup's secrets need the master key it was made with, and {} {}: put that \
             key there (from where you keep it) or restore a backup made with --with-master-key; \
             nothing was changed",
            key_path.display(),
            if key_here.is_some() {
                "holds another one"
            } else {
                "has none"
            }
        )));
    }

    // Swap: what is there now goes to backups/before-restore-<time>/.
    let previous = unused(
        &data_dir.join(BACKUP_DIR),
        &format!("before-restore-{}", stamp()),
    );
    // The restore's own line, in the audit log it brings.
    let record = |replaced: bool| crate::audit::AuditEntry {
        at_ms: crate::clock::unix_ms(time::OffsetDateTime::now_utc()),
        appliance: settings.appliance_id.clone(),
        actor: crate::audit::Actor::cli(),
        action: "backup.restore".into(),
        target: shown.to_string(),
        outcome: types::Outcome::Ok,
        detail: format!(
            "backup made {} by hsmseed {} (schema {}){}",
            m.created_at,
            m.hsmseed_version,
            m.schema_version,
            if replaced {
                format!(
                    "; the database it replaced is kept in {}",
                    previous.display()
                )
            } else {
                String::new()
            }
        ),
    };
    // A fleet's rows first, in one transaction: when that fails, no file
    // has moved yet.
    let mut moved = false;
    if let Some(url) = &settings.database_url {
        use secrecy::ExposeSecret;
        let (pg, existed) = logical::connect(url.expose_secret()).await?;
        let keep = existed.then_some(previous.as_path());
        let replaced = into_postgres(&pg, stage, keep, key_here.as_ref(), &record(existed)).await;
        pg.close().await;
        replaced?;
        moved = existed;
    } else {
        // The file, migrated to this hsmseed's schema, with the record.
        let staged = logical::open_staged(&stage.join(DB_FILE)).await?;
        let written = async {
            let mut tx = crate::store::db::Conn::SqliteTx(staged.begin().await?);
            crate::audit::insert(&mut tx, &record(data_dir.join(DB_FILE).exists())).await?;
            tx.commit().await
        }
        .await;
        staged.close().await;
        written?;
    }
    let mut move_aside = |from: &Path, name: &str| -> Result<()> {
        if from.exists() {
            move_file(from, &previous.join(name), "moving aside")?;
            moved = true;
        }
        Ok(())
    };
    if settings.database_url.is_none() {
        for name in [DB_FILE, "hsmseed.db-wal", "hsmseed.db-shm"] {
            move_aside(&data_dir.join(name), name)?;
        }
    }
    let with_tls = unpacked.files.iter().any(|(n, _)| n.starts_with("tls/"));
    if with_tls {
        for name in TLS_FILES {
            move_aside(&data_dir.join(name), name)?;
        }
    }
    if m.master_key_included {
        move_aside(&key_path, MASTER_KEY_FILE)?;
    }
    // A first password from this directory's own first start is no
    // longer anyone's.
    move_aside(
        &data_dir.join(crate::auth::FIRST_PASSWORD_FILE),
        crate::auth::FIRST_PASSWORD_FILE,
    )?;

    let put = |from: PathBuf, to: &Path| move_file(&from, to, "moving into place");
    let placed = (|| -> Result<()> {
        if settings.database_url.is_none() {
            put(stage.join(DB_FILE), &data_dir.join(DB_FILE))?;
        }
        if with_tls {
            for name in TLS_FILES {
                if stage.join(name).is_file() {
                    put(stage.join(name), &data_dir.join(name))?;
                }
            }
        }
        if m.master_key_included {
            put(stage.join(MASTER_KEY_FILE), &key_path)?;
        }
        Ok(())
    })();
    // Renames in one directory rarely fail; when one does, the operator
    // must know where the files that were there went.
    if let Err(e) = placed {
        return Err(Error::Internal(format!(
            "the restore stopped halfway ({e}); the files that were in {} are in {}: \
             move them back before starting the server",
            data_dir.display(),
            previous.display()
        )));
    }
    Ok(moved.then_some(previous))
}

/// The file in `before-restore-<time>/` holding what a restore replaced in
/// a fleet's database: a backup of its own (without master key).
pub const REPLACED_ROWS: &str = "database-before-restore.tar";

/// Replaces the rows of the fleet's database `pg` with the staged backup's
/// (its database at `stage`), after keeping what is there in `previous`
/// (none: a database hsmseed had not used). Refuses while an appliance (or
/// a console command) is connected to it.
async fn into_postgres(
    pg: &sqlx::PgPool,
    stage: &Path,
    previous: Option<&Path>,
    key_here: Option<&MasterKey>,
    record: &crate::audit::AuditEntry,
) -> Result<()> {
    let connected = logical::appliances_connected(pg).await?;
    if connected > 0 {
        return Err(Error::InUse(format!(
            "hsmseed is running on the fleet's database ({connected} connection{} of appliances \
             or console commands): stop every appliance of the fleet first (systemctl stop \
             hsmseed on each); nothing was changed",
            if connected == 1 { "" } else { "s" }
        )));
    }
    logical::migrate(pg).await?;
    if let Some(previous) = previous {
        // What is there now: a backup of its own, beside the files moved
        // aside.
        let before = stage.join("before");
        ensure_private_dir(&before)?;
        let schema = logical::export(pg, &before.join(DB_FILE)).await?;
        let sealed_by = match logical::key_check_value(pg).await? {
            Some(v) => v,
            None => key_here.map(key_id).unwrap_or_default(),
        };
        ensure_private_dir(previous)?;
        let kept = create_new(&previous.join(REPLACED_ROWS))?;
        write_backup(kept, &before.join(DB_FILE), schema, sealed_by, &[])?;
    }
    // The backup's rows, at this hsmseed's schema.
    let staged = logical::open_staged(&stage.join(DB_FILE)).await?;
    let copied = logical::import(pg, &staged, record).await;
    staged.close().await;
    let rows = match copied {
        Ok(rows) => rows,
        Err(e) => {
            // Rolled back: nothing was replaced, nothing to keep.
            if let Some(previous) = previous {
                let _ = std::fs::remove_dir_all(previous);
            }
            return Err(e);
        }
    };
    tracing::info!(rows, "the fleet's database replaced by the backup's rows");
    Ok(())
}

/// The migrations a database has had.
const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success";

/// The schema version of an existing database (`applied`: its migrations,
/// an error when it has no migrations table) that `migrator` is about to
/// migrate; none for a new or current one (nothing to keep).
fn about_to_migrate(
    applied: std::result::Result<Vec<i64>, sqlx::Error>,
    migrator: &sqlx::migrate::Migrator,
) -> Option<i64> {
    let applied = applied.ok()?;
    let current = applied.iter().max().copied()?;
    migrator
        .iter()
        .any(|m| !applied.contains(&m.version))
        .then_some(current)
}

/// Before a migration changes an existing database: a copy of it in
/// `data_dir/backups/`, the newest [`KEPT_MIGRATION_BACKUPS`] kept.
pub(crate) async fn before_migration(
    pool: &SqlitePool,
    data_dir: &Path,
) -> Result<Option<PathBuf>> {
    let applied = sqlx::query_scalar(APPLIED).fetch_all(pool).await;
    let Some(current) = about_to_migrate(applied, &MIGRATOR) else {
        return Ok(None);
    };
    let dir = ensure_private_dir(&data_dir.join(BACKUP_DIR))?;
    let path = dir.join(format!("hsmseed-{}-schema-{current}.db", stamp()));
    if path.exists() {
        return Ok(None);
    }
    vacuum_into(pool, &path).await?;
    crate::store::restrict_file(&path)?;
    tracing::info!(file = %path.display(), schema = current, "database copied before migrating it");
    // Bounded: the oldest copies go.
    keep_newest_copies(&dir)?;
    Ok(Some(path))
}

/// Before a migration changes an existing fleet database: a backup file
/// of its rows in this appliance's `data_dir/backups/`
/// (`hsmseed-<time>-schema-<version>.tar`, which `hsmseed restore` reads,
/// without master key), the newest [`KEPT_MIGRATION_BACKUPS`] copies kept.
/// Appliances starting together may each keep one.
pub(crate) async fn before_postgres_migration(
    pg: &sqlx::PgPool,
    data_dir: &Path,
) -> Result<Option<PathBuf>> {
    let applied = sqlx::query_scalar(APPLIED).fetch_all(pg).await;
    let Some(current) = about_to_migrate(applied, &crate::store::PG_MIGRATOR) else {
        return Ok(None);
    };
    let dir = ensure_private_dir(&data_dir.join(BACKUP_DIR))?;
    let path = unused(&dir, &format!("hsmseed-{}-schema-{current}.tar", stamp()));
    let work = work_dir(data_dir, "migration")?;
    let written = async {
        let copy = work.join(DB_FILE);
        let schema = logical::export(pg, &copy).await?;
        let sealed_by = logical::key_check_value(pg).await?.unwrap_or_default();
        write_backup(create_new(&path)?, &copy, schema, sealed_by, &[])
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    tracing::info!(file = %path.display(), schema = current, "fleet database copied before migrating it");
    keep_newest_copies(&dir)?;
    Ok(Some(path))
}

/// Removes all but the newest [`KEPT_MIGRATION_BACKUPS`] copies taken
/// before migrations (`hsmseed-<time>-…`, SQLite files and fleet backups).
fn keep_newest_copies(dir: &Path) -> Result<()> {
    let mut copies: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("listing", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("hsmseed-") && (n.ends_with(".db") || n.ends_with(".tar"))
            })
        })
        .collect();
    copies.sort();
    while copies.len() > KEPT_MIGRATION_BACKUPS {
        let old = copies.remove(0);
        std::fs::remove_file(&old).map_err(|e| Error::io("removing", &old, e))?;
    }
    Ok(())
}

/// Creates the new file `path` (mode 0600); never over an existing one.
fn create_new(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("creating", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A database as the migrations before the newest left it.
    async fn old_database(dir: &Path) -> i64 {
        let opts = SqliteConnectOptions::new()
            .filename(dir.join(DB_FILE))
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(opts).await.unwrap();
        let n = MIGRATOR.migrations.len();
        let before = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Borrowed(&MIGRATOR.migrations[..n - 1]),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        before.run(&pool).await.unwrap();
        let v = schema_version(&pool).await.unwrap();
        pool.close().await;
        v
    }

    fn copies(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(BACKUP_DIR))
            .map(|r| {
                r.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_migration_copies_the_database_first_and_keeps_the_newest_five() {
        let dir = tempfile::tempdir().unwrap();
        let old = old_database(dir.path()).await;
        // Six older copies from earlier upgrades.
        std::fs::create_dir(dir.path().join(BACKUP_DIR)).unwrap();
        for i in 0..6 {
            let name = format!("hsmseed-2020010{i}T000000Z-schema-1.db");
            std::fs::write(dir.path().join(BACKUP_DIR).join(name), b"").unwrap();
        }
        let store = Store::open(dir.path()).await.unwrap();
        drop(store);
        let names = copies(dir.path());
        assert_eq!(names.len(), KEPT_MIGRATION_BACKUPS, "{names:?}");
        let newest = names.last().unwrap();
        assert!(newest.ends_with(&format!("-schema-{old}.db")), "{newest}");
        assert!(!names.iter().any(|n| n.starts_with("hsmseed-20200100")));
        // The copy is the database before the migration: whole, old schema.
        let copy = open_file_db(&dir.path().join(BACKUP_DIR).join(newest))
            .await
            .unwrap();
        assert_eq!(schema_version(&copy).await.unwrap(), old);
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&copy)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(BACKUP_DIR).join(newest))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn what_two_restores_in_one_second_replace_goes_to_two_places() {
        let dir = tempfile::tempdir().unwrap();
        let first = unused(dir.path(), "before-restore-x");
        assert_eq!(first, dir.path().join("before-restore-x"));
        std::fs::create_dir(&first).unwrap();
        let second = unused(dir.path(), "before-restore-x");
        assert_eq!(second, dir.path().join("before-restore-x-2"));
        std::fs::create_dir(&second).unwrap();
        assert_eq!(
            unused(dir.path(), "before-restore-x"),
            dir.path().join("before-restore-x-3")
        );
    }

    #[tokio::test]
    async fn no_copy_of_a_new_or_current_database() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).await.unwrap());
        drop(Store::open(dir.path()).await.unwrap());
        assert!(copies(dir.path()).is_empty());
    }
}
