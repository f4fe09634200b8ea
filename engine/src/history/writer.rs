//! Group commit for history rows: reseeds hand their row to one writer
//! thread and wait for its commit; the writer takes every row waiting and
//! commits them in one transaction. Under load that is one commit for many
//! reseeds; alone, it costs what a direct insert would.
//!
//! The writer is a plain thread with its own synchronous SQLite connection
//! (rusqlite, on the same SQLite library as the sqlx pool), not a task on
//! the runtime: the PKCS#11 slot threads hand it their rows directly and it
//! answers the waiting reseeds itself, so a commit costs no hops through
//! the runtime and the pool's connection thread.
//!
//! The writer checkpoints the WAL itself, every [`CHECKPOINT_PAGES`]: a
//! checkpoint from another connection never completes while the writer
//! keeps appending, and the WAL then grows without bound (and appending to
//! a growing file costs the kernel far more than rewriting cached pages).

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rusqlite::{params, Connection};
use sqlx::PgPool;
use tokio::sync::oneshot;

use crate::store::{db, Store};

use super::{HistoryEntry, Outcome};
use crate::error::{Error, Result};
use types::hsm::SEED_NOT_ACCEPTED;

/// What to do once the row is committed (or could not be).
type Done = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
type Job = (HistoryEntry, Done);

/// Most rows in one transaction.
const BATCH: usize = 128;

/// WAL pages between the writer's checkpoints (SQLite's default is 1000;
/// fewer checkpoints mean fewer disk syncs for the reseeds to wait on). The
/// WAL file stays at about this many pages: 4 MiB with the 1 KiB pages of a
/// new database.
pub(super) const CHECKPOINT_PAGES: u32 = 4000;

#[derive(Debug, Clone)]
pub struct HistoryWriter {
    tx: mpsc::Sender<Job>,
}

/// Where the writer commits.
enum Sink {
    /// The SQLite file, on a rusqlite connection of the writer's own.
    Sqlite(PathBuf),
    /// PostgreSQL: the store's pool, driven from the writer's thread on
    /// the runtime that opened it.
    Postgres {
        store: Store,
        pool: PgPool,
        runtime: tokio::runtime::Handle,
    },
}

impl HistoryWriter {
    /// Starts the writer thread on `store`'s database; it ends when the
    /// last `HistoryWriter` is dropped, after committing what was queued.
    /// Called on the runtime (PostgreSQL's writes run on it).
    pub fn spawn(store: &Store) -> HistoryWriter {
        let sink = match store.pool() {
            db::Pool::Postgres(pool) => Sink::Postgres {
                store: store.clone(),
                pool: pool.clone(),
                runtime: tokio::runtime::Handle::current(),
            },
            // (A SQLite store always has its file.)
            db::Pool::Sqlite(_) => Sink::Sqlite(
                store
                    .sqlite_path()
                    .map_or_else(PathBuf::new, Path::to_path_buf),
            ),
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || run(&sink, &rx));
        if let Err(e) = started {
            // The receiver is gone with the closure: every record() then
            // fails with "history writer stopped".
            tracing::error!(error = %e, "the history writer thread could not start");
        }
        HistoryWriter { tx }
    }

    /// Records `entry` (and the configuration's last outcome); returns once
    /// it is committed.
    pub async fn record(&self, entry: HistoryEntry) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.submit(entry, move |r| {
            let _ = done.send(r);
        })?;
        committed(wait.await.map_err(|_| stopped())?)
    }

    /// Queues `entry` from any thread without waiting; `done` is called on
    /// the writer's thread with the commit's outcome. Fails (dropping
    /// `done`) when the writer has stopped. The queue has no bound of its
    /// own: every row in it is a reseed waiting for its answer.
    pub fn submit(
        &self,
        entry: HistoryEntry,
        done: impl FnOnce(std::result::Result<(), String>) + Send + 'static,
    ) -> Result<()> {
        self.tx.send((entry, Box::new(done))).map_err(|_| stopped())
    }
}

/// The error of a row the writer can no longer take or answer.
pub(crate) fn stopped() -> Error {
    Error::Internal("history writer stopped".into())
}

/// The caller's view of a commit's outcome, as `done` receives it.
pub(crate) fn committed(outcome: std::result::Result<(), String>) -> Result<()> {
    outcome.map_err(|e| Error::Internal(format!("recording history: {e}")))
}

/// The writer thread: waits for a row, takes every row queued behind it
/// (up to [`BATCH`]) and commits them together.
fn run(sink: &Sink, rx: &mpsc::Receiver<Job>) {
    let mut conn: Option<Connection> = None;
    let mut batch: Vec<Job> = Vec::with_capacity(BATCH);
    while let Ok(job) = rx.recv() {
        batch.push(job);
        // Whoever woke us (a slot's thread, usually) often has more rows
        // right behind this one, and when we took its CPU, committing now
        // would commit them a few at a time: in the benchmark, 5 to 8 rows
        // a commit instead of about 30, and 3 to 4 us more per row. One
        // yield lets it finish; with nobody else to run it returns at once.
        std::thread::yield_now();
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (entries, dones): (Vec<HistoryEntry>, Vec<Done>) = batch.drain(..).unzip();
        let result = match sink {
            Sink::Sqlite(path) => commit(path, &mut conn, &entries),
            Sink::Postgres {
                store,
                pool,
                runtime,
            } => runtime.block_on(commit_postgres(store, pool, &entries)),
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, rows = entries.len(), "history rows could not be written");
        }
        for done in dones {
            done(result.clone());
        }
    }
}

/// The writer's own connection (see [`crate::store::open_sync`]), with its
/// checkpoint interval.
fn open(path: &Path) -> std::result::Result<Connection, String> {
    let c = crate::store::open_sync(path)
        .map_err(|e| format!("opening the history writer's connection: {e}"))?;
    c.execute_batch(&format!("PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES};"))
        .map_err(|e| format!("setting the history writer's checkpoint interval: {e}"))?;
    Ok(c)
}

pub(super) const INSERT_HISTORY: &str =
    "INSERT INTO seed_history (at_ms, config_name, slot, token_serial, \
     trigger, source, bits, duration_us, outcome, error_code, message, appliance) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
/// Reseeds attempted per appliance and hour (the fleet list's count).
pub(super) const COUNT_APPLIANCE_HOUR: &str =
    "INSERT INTO seed_hourly_appliance (hour_ms, appliance, reseeds) VALUES ($1, $2, $3) \
     ON CONFLICT (hour_ms, appliance) DO UPDATE SET reseeds = seed_hourly_appliance.reseeds + excluded.reseeds";
pub(super) const COUNT_HOUR: &str =
    "INSERT INTO seed_hourly (hour_ms, ok, failed) VALUES ($1, $2, $3) \
     ON CONFLICT (hour_ms) DO UPDATE SET ok = seed_hourly.ok + excluded.ok, \
     failed = seed_hourly.failed + excluded.failed";
/// A configuration's last outcome and its health: `$4` the newest success
/// of the batch (if any), `$5` whether the batch had one (the count starts
/// again), `$6` the failures after it, `$7` whether its token refused the
/// seed as such ([`SEED_NOT_ACCEPTED`]; NULL after a held round: kept),
/// `$8` the appliance of the batch's newest scheduled reseed of it: that
/// round's lease on the configuration ends with the row (NULL: none).
/// (SQLite numbers a `$N` parameter by where it first appears, not by N:
/// they must first appear in order, as here, for positional binding.)
pub(super) const LAST_OUTCOME: &str =
    "UPDATE hsm_configs SET last_outcome = $1, last_error = $2, last_at = $3, \
     last_ok_at = coalesce($4, last_ok_at), \
     failures_in_row = CASE WHEN $5 THEN $6 ELSE failures_in_row + $6 END, \
     seed_refused = coalesce($7, seed_refused), \
     lease_until = CASE WHEN lease_by = $8 THEN NULL ELSE lease_until END, \
     lease_by = CASE WHEN lease_by = $8 THEN NULL ELSE lease_by END \
     WHERE name = $9";

/// One transaction for the whole batch: the history rows, the audit rows
/// of manual reseeds, the hourly counts the dashboard reads and each
/// configuration's last outcome. A failed batch is rolled back whole; a
/// connection left inside a transaction is replaced.
fn commit(
    path: &Path,
    conn: &mut Option<Connection>,
    batch: &[HistoryEntry],
) -> std::result::Result<(), String> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(open(path)?),
    };
    let result = write(c, batch);
    if result.is_err() && !c.is_autocommit() {
        *conn = None;
    }
    result.map_err(|e| e.to_string())
}

fn write(c: &Connection, batch: &[HistoryEntry]) -> rusqlite::Result<()> {
    // Prepared once like the inserts: parsing them took a few percent of
    // the writer's time.
    c.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let written = insert(c, batch).and_then(|()| c.prepare_cached("COMMIT")?.execute([]));
    if written.is_err() && !c.is_autocommit() {
        // If even this fails, commit() replaces the connection.
        let _ = c.prepare_cached("ROLLBACK").and_then(|mut s| s.execute([]));
    }
    written.map(drop)
}

fn insert(c: &Connection, batch: &[HistoryEntry]) -> rusqlite::Result<()> {
    let mut history = c.prepare_cached(INSERT_HISTORY)?;
    let mut audit = c.prepare_cached(crate::audit::INSERT_SQL)?;
    for e in batch {
        history.execute(params![
            e.at_ms,
            e.config_name,
            e.slot,
            e.token_serial,
            e.trigger.as_str(),
            e.source,
            e.bits,
            e.duration_us,
            e.outcome.as_str(),
            e.error_code,
            e.message,
            e.appliance,
        ])?;
        if let Some(a) = &e.audit {
            audit.execute(params![
                a.at_ms,
                a.actor.kind.as_str(),
                a.actor.name,
                a.actor.address,
                a.action,
                a.target,
                a.outcome.as_str(),
                a.detail,
                a.appliance,
            ])?;
        }
    }
    let (hours, last) = summaries(batch);
    let mut count = c.prepare_cached(COUNT_HOUR)?;
    for (hour, ok, failed) in hours {
        count.execute(params![hour, ok, failed])?;
    }
    let mut by_appliance = c.prepare_cached(COUNT_APPLIANCE_HOUR)?;
    for (hour, appliance, n) in per_appliance(batch) {
        by_appliance.execute(params![hour, appliance, n])?;
    }
    let mut update = c.prepare_cached(LAST_OUTCOME)?;
    for l in last {
        let e = l.newest;
        update.execute(params![
            e.outcome.as_str(),
            e.error_code,
            e.at_ms,
            l.ok_at,
            l.ok_at.is_some(),
            l.failures,
            l.refused,
            l.scheduled_by,
            e.config_name,
        ])?;
    }
    Ok(())
}

/// Tries of a PostgreSQL batch that another transaction's locks made the
/// database give up (a deadlock, a serialization failure).
const POSTGRES_TRIES: u32 = 3;

/// [`write`] on PostgreSQL: one transaction, tried again when the
/// database chose it as a deadlock's victim (another appliance's batch or
/// round holding rows it needs). The batch's rows go in as arrays, one
/// statement per table whatever the batch's size (`UNNEST`, the bulk
/// insert of one round trip).
async fn commit_postgres(
    store: &Store,
    pool: &PgPool,
    batch: &[HistoryEntry],
) -> std::result::Result<(), String> {
    let mut tries = 0;
    loop {
        tries += 1;
        match write_postgres(pool, batch).await {
            Ok(()) => {
                // This appliance's caches see the rows at once (the change
                // feed's notification comes back a moment later). Only the
                // tables the triggers would name: a new change version
                // would have every cache of configurations read again.
                if let Some(v) = store.versions() {
                    v.bump("seed_history");
                    if batch.iter().any(|e| e.audit.is_some()) {
                        v.bump("audit_log");
                    }
                }
                return Ok(());
            }
            Err(sqlx::Error::Database(e))
                if tries < POSTGRES_TRIES
                    && matches!(e.code().as_deref(), Some("40P01" | "40001")) =>
            {
                tracing::debug!(error = %e, "history batch tried again");
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The batch's history rows, in the batch's order.
pub(super) const INSERT_HISTORY_ROWS: &str = "INSERT INTO seed_history (at_ms, config_name, \
     slot, token_serial, trigger, source, bits, duration_us, outcome, error_code, message, \
     appliance) SELECT at_ms, config_name, slot, token_serial, trigger, source, bits, \
     duration_us, outcome, error_code, message, appliance FROM UNNEST($1::BIGINT[], \
     $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::BIGINT[], $8::BIGINT[], \
     $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[]) WITH ORDINALITY AS u(at_ms, \
     config_name, slot, token_serial, trigger, source, bits, duration_us, outcome, error_code, \
     message, appliance, n) ORDER BY n";
/// The audit rows of the batch's manual reseeds, in the batch's order.
pub(super) const INSERT_AUDIT_ROWS: &str = "INSERT INTO audit_log (at_ms, actor_kind, actor, \
     address, action, target, outcome, detail, appliance) SELECT at_ms, actor_kind, actor, \
     address, action, target, outcome, detail, appliance FROM UNNEST($1::BIGINT[], $2::TEXT[], \
     $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[]) \
     WITH ORDINALITY AS u(at_ms, actor_kind, actor, address, action, target, outcome, detail, \
     appliance, n) ORDER BY n";
/// [`LAST_OUTCOME`] for every configuration of the batch in one statement.
/// Their rows are locked first in name order (bytewise, whatever the
/// database's collation), as every batch does, so that two batches wait
/// for each other instead of deadlocking; found through the name's index.
pub(super) const LAST_OUTCOMES: &str = "WITH locked AS (SELECT name FROM hsm_configs \
     WHERE name = ANY($1::TEXT[]) ORDER BY name COLLATE \"C\" FOR UPDATE) \
     UPDATE hsm_configs AS c SET last_outcome = u.outcome, \
     last_error = u.error_code, last_at = u.at_ms, last_ok_at = coalesce(u.ok_at, c.last_ok_at), \
     failures_in_row = CASE WHEN u.ok_at IS NOT NULL THEN u.failures \
     ELSE c.failures_in_row + u.failures END, \
     seed_refused = coalesce(u.refused, c.seed_refused), \
     lease_until = CASE WHEN c.lease_by = u.scheduled_by THEN NULL ELSE c.lease_until END, \
     lease_by = CASE WHEN c.lease_by = u.scheduled_by THEN NULL ELSE c.lease_by END \
     FROM locked, UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[], \
     $6::BIGINT[], $7::BOOLEAN[], $8::TEXT[]) AS u(name, outcome, error_code, at_ms, ok_at, \
     failures, refused, scheduled_by) WHERE c.name = locked.name AND u.name = locked.name";

async fn write_postgres(
    pool: &PgPool,
    batch: &[HistoryEntry],
) -> std::result::Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(INSERT_HISTORY_ROWS)
        .bind(column(batch, |e| e.at_ms))
        .bind(column(batch, |e| e.config_name.as_str()))
        .bind(column(batch, |e| e.slot))
        .bind(column(batch, |e| e.token_serial.as_deref()))
        .bind(column(batch, |e| e.trigger.as_str()))
        .bind(column(batch, |e| e.source.as_str()))
        .bind(column(batch, |e| i64::from(e.bits)))
        .bind(column(batch, |e| e.duration_us))
        .bind(column(batch, |e| e.outcome.as_str()))
        .bind(column(batch, |e| e.error_code.as_deref()))
        .bind(column(batch, |e| e.message.as_deref()))
        .bind(column(batch, |e| e.appliance.as_str()))
        .execute(&mut *tx)
        .await?;
    let audits: Vec<&crate::audit::AuditEntry> =
        batch.iter().filter_map(|e| e.audit.as_ref()).collect();
    if !audits.is_empty() {
        sqlx::query(INSERT_AUDIT_ROWS)
            .bind(column(&audits, |a| a.at_ms))
            .bind(column(&audits, |a| a.actor.kind.as_str()))
            .bind(column(&audits, |a| a.actor.name.as_str()))
            .bind(column(&audits, |a| a.actor.address.as_deref()))
            .bind(column(&audits, |a| a.action.as_str()))
            .bind(column(&audits, |a| a.target.as_str()))
            .bind(column(&audits, |a| a.outcome.as_str()))
            .bind(column(&audits, |a| a.detail.as_str()))
            .bind(column(&audits, |a| a.appliance.as_str()))
            .execute(&mut *tx)
            .await?;
    }
    let (hours, last) = summaries(batch);
    for (hour, appliance, n) in per_appliance(batch) {
        sqlx::query(COUNT_APPLIANCE_HOUR)
            .bind(hour)
            .bind(appliance)
            .bind(n)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(LAST_OUTCOMES)
        .bind(column(&last, |l| l.newest.config_name.as_str()))
        .bind(column(&last, |l| l.newest.outcome.as_str()))
        .bind(column(&last, |l| l.newest.error_code.as_deref()))
        .bind(column(&last, |l| l.newest.at_ms))
        .bind(column(&last, |l| l.ok_at))
        .bind(column(&last, |l| l.failures))
        .bind(column(&last, |l| l.refused))
        .bind(column(&last, |l| l.scheduled_by))
        .execute(&mut *tx)
        .await?;
    // Last: every appliance's batches update this hour's one row, and
    // each waits for the lock on it until the other's commit.
    for (hour, ok, failed) in hours {
        sqlx::query(COUNT_HOUR)
            .bind(hour)
            .bind(ok)
            .bind(failed)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// One column of `rows`, bound as an array to a statement of `UNNEST`.
fn column<'a, R, T>(rows: &'a [R], f: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
}

/// The batch's attempted reseeds (ok or failed; a held round is none)
/// per hour and appliance.
fn per_appliance(batch: &[HistoryEntry]) -> Vec<(i64, &str, i64)> {
    let mut out: Vec<(i64, &str, i64)> = Vec::new();
    for e in batch.iter().filter(|e| e.outcome != Outcome::Held) {
        let hour = e.at_ms.div_euclid(3_600_000) * 3_600_000;
        match out
            .iter_mut()
            .find(|(h, a, _)| *h == hour && *a == e.appliance.as_str())
        {
            Some(row) => row.2 += 1,
            None => out.push((hour, e.appliance.as_str(), 1)),
        }
    }
    out
}

/// What `e` says of whether its token takes seeds: it does not
/// (`SEED_NOT_ACCEPTED`), it does (a reseed that worked), or nothing (a
/// held round, another failure: a timeout or a wrong password on the same
/// token says nothing of its RNG).
fn seed_refused(e: &HistoryEntry) -> Option<bool> {
    match e.outcome {
        Outcome::Ok => Some(false),
        Outcome::Error if e.error_code.as_deref() == Some(SEED_NOT_ACCEPTED) => Some(true),
        Outcome::Error | Outcome::Held => None,
    }
}

/// What a batch says of one configuration.
struct Last<'a> {
    /// Its newest row.
    newest: &'a HistoryEntry,
    /// Its newest success.
    ok_at: Option<i64>,
    /// Its failures after that success (after the batch's start if none).
    failures: i64,
    /// What its newest row that says anything says of its token taking
    /// seeds (see [`seed_refused`]).
    refused: Option<bool>,
    /// The appliance whose scheduled reseed of the batch is the newest: its
    /// round's lease on the configuration ends with the batch.
    scheduled_by: Option<&'a str>,
}

/// The batch's hourly counts (hour, ok, failed) and what it says of each
/// configuration.
fn summaries(batch: &[HistoryEntry]) -> (Vec<(i64, i64, i64)>, Vec<Last<'_>>) {
    let mut hours: Vec<(i64, i64, i64)> = Vec::new();
    let mut last: Vec<Last<'_>> = Vec::new();
    for e in batch {
        let hour = e.at_ms.div_euclid(3_600_000) * 3_600_000;
        let i = match hours.iter().position(|h| h.0 == hour) {
            Some(i) => i,
            None => {
                hours.push((hour, 0, 0));
                hours.len() - 1
            }
        };
        match e.outcome {
            Outcome::Ok => hours[i].1 += 1,
            // A held round is a missed reseed: counted with the failures.
            Outcome::Error | Outcome::Held => hours[i].2 += 1,
        }
        let i = match last
            .iter()
            .position(|l| l.newest.config_name == e.config_name)
        {
            Some(i) => i,
            None => {
                last.push(Last {
                    newest: e,
                    ok_at: None,
                    failures: 0,
                    refused: None,
                    scheduled_by: None,
                });
                last.len() - 1
            }
        };
        let l = &mut last[i];
        l.newest = e;
        if let Some(r) = seed_refused(e) {
            l.refused = Some(r);
        }
        if e.trigger == types::Trigger::Schedule && e.outcome != Outcome::Held {
            l.scheduled_by = Some(e.appliance.as_str());
        }
        match e.outcome {
            Outcome::Ok => {
                l.ok_at = Some(e.at_ms);
                l.failures = 0;
            }
            Outcome::Error => l.failures += 1,
            // Held is a state of its own, not a failed reseed.
            Outcome::Held => {}
        }
    }
    (hours, last)
}
