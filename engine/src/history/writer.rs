//! Group commit for history rows: reseeds hand their row to one writer
//! task and wait for its commit; the writer takes every row waiting and
//! commits them in one transaction. Under load that is one commit for many
//! reseeds; alone, it costs what a direct insert would.
//!
//! The writer checkpoints the WAL itself, every [`CHECKPOINT_PAGES`]: a
//! checkpoint from another connection never completes while the writer
//! keeps appending, and the WAL then grows without bound (and appending to
//! a growing file costs the kernel far more than rewriting cached pages).

use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::HistoryEntry;
use crate::error::{Error, Result};

/// What to do once the row is committed (or could not be).
type Done = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = (HistoryEntry, Done);

/// Most rows in one transaction.
const BATCH: usize = 256;

/// WAL pages between the writer's checkpoints (SQLite's default is 1000;
/// fewer checkpoints mean fewer disk syncs for the reseeds to wait on, and
/// the WAL file stays at most about this many 4 KiB pages).
pub(super) const CHECKPOINT_PAGES: u32 = 4000;

#[derive(Debug, Clone)]
pub struct HistoryWriter {
    tx: mpsc::Sender<Job>,
}

impl HistoryWriter {
    /// Starts the writer task on the current runtime.
    pub fn spawn(pool: SqlitePool) -> HistoryWriter {
        let (tx, rx) = mpsc::channel::<Job>(4096);
        tokio::spawn(run(pool, rx));
        HistoryWriter { tx }
    }

    /// Records `entry` (and the configuration's last outcome); returns once
    /// it is committed.
    pub async fn record(&self, entry: HistoryEntry) -> Result<()> {
        let (done, wait) = oneshot::channel();
        let done: Done = Box::new(move |r| {
            let _ = done.send(r);
        });
        self.tx
            .send((entry, done))
            .await
            .map_err(|_| Error::Internal("history writer stopped".into()))?;
        wait.await
            .map_err(|_| Error::Internal("history writer stopped".into()))?
            .map_err(|e| Error::Internal(format!("recording history: {e}")))
    }

    /// Queues `entry` from a thread outside the runtime (a PKCS#11 slot's
    /// worker); `done` is called with the commit's outcome. Waits while the
    /// queue is full. Fails (dropping `done`) when the writer has stopped.
    pub fn submit_blocking(
        &self,
        entry: HistoryEntry,
        done: impl FnOnce(Result<(), String>) + Send + 'static,
    ) -> Result<()> {
        let job: Job = (entry, Box::new(done));
        let stopped = || Error::Internal("history writer stopped".into());
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(job)) => {
                self.tx.blocking_send(job).map_err(|_| stopped())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(stopped()),
        }
    }
}

async fn run(pool: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut conn: Option<SqliteConnection> = None;
    let mut batch: Vec<Job> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let (entries, dones): (Vec<HistoryEntry>, Vec<Done>) = batch.drain(..).unzip();
        let result = commit(&pool, &mut conn, &entries).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, rows = entries.len(), "history rows could not be written");
        }
        for done in dones {
            done(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
    }
}

/// The writer's own connection, with its checkpoint interval (taken out
/// of the pool, so its setting never reaches another user).
async fn writer_connection(
    pool: &SqlitePool,
) -> std::result::Result<SqliteConnection, sqlx::Error> {
    let mut c = pool.acquire().await?.detach();
    sqlx::query(&format!("PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}"))
        .execute(&mut c)
        .await?;
    Ok(c)
}

/// The whole batch as one statement list with a fixed text, so SQLite
/// prepares it once per connection and the batch costs one round trip to
/// the connection's thread: the history rows, the audit rows of manual
/// reseeds, the hourly counts the dashboard reads and each configuration's
/// last outcome, in one transaction. The rows travel as JSON arrays
/// (bound parameters, never spliced into the SQL). One plain `?` per
/// statement, bound in order: sqlx binds numbered parameters wrongly across
/// statements (a `?4` in the fifth statement is left NULL).
const COMMIT_SQL: &str = "\
BEGIN IMMEDIATE;
INSERT INTO seed_history (at_ms, config_name, slot, token_serial, trigger, source, bits, \
    duration_us, outcome, error_code, message)
  SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, \
    value->>7, value->>8, value->>9, value->>10 FROM json_each(?);
INSERT INTO audit_log (at_ms, actor_kind, actor, address, action, target, outcome, detail)
  SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, \
    value->>7 FROM json_each(?);
INSERT INTO seed_hourly (hour_ms, ok, failed)
  SELECT value->>0, value->>1, value->>2 FROM json_each(?) WHERE true
  ON CONFLICT (hour_ms) DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed;
UPDATE hsm_configs SET last_outcome = l.value->>1, last_error = l.value->>2, last_at = l.value->>3
  FROM json_each(?) AS l WHERE hsm_configs.name = l.value->>0;
COMMIT;";

/// One transaction for the whole batch (see [`COMMIT_SQL`]), on the
/// writer's own connection; a failed batch is rolled back.
async fn commit(
    pool: &SqlitePool,
    conn: &mut Option<SqliteConnection>,
    batch: &[HistoryEntry],
) -> std::result::Result<(), sqlx::Error> {
    let params = Params::of(batch).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let c = match conn {
        Some(c) => c,
        None => conn.insert(writer_connection(pool).await?),
    };
    let result = sqlx::query(COMMIT_SQL)
        .bind(params.history)
        .bind(params.audit)
        .bind(params.hours)
        .bind(params.last)
        .execute(&mut *c)
        .await;
    if result.is_err() {
        // Whatever ran of the batch is undone; a connection that cannot
        // even roll back is replaced.
        if sqlx::query("ROLLBACK").execute(&mut *c).await.is_err() {
            *conn = None;
        }
    }
    result.map(|_| ())
}

/// The batch as the JSON arrays [`COMMIT_SQL`] reads.
struct Params {
    history: String,
    audit: String,
    hours: String,
    last: String,
}

impl Params {
    fn of(batch: &[HistoryEntry]) -> serde_json::Result<Params> {
        let history: Vec<_> = batch
            .iter()
            .map(|e| {
                (
                    e.at_ms,
                    &e.config_name,
                    e.slot,
                    &e.token_serial,
                    e.trigger.as_str(),
                    &e.source,
                    e.bits,
                    e.duration_us,
                    e.outcome.as_str(),
                    &e.error_code,
                    &e.message,
                )
            })
            .collect();
        let audit: Vec<_> = batch
            .iter()
            .filter_map(|e| e.audit.as_ref())
            .map(|a| {
                (
                    a.at_ms,
                    a.actor.kind.as_str(),
                    &a.actor.name,
                    &a.actor.address,
                    &a.action,
                    &a.target,
                    a.outcome.as_str(),
                    &a.detail,
                )
            })
            .collect();
        // The hourly counts: one row per hour the batch touches.
        let mut hours: Vec<(i64, i64, i64)> = Vec::new();
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
                super::Outcome::Ok => hours[i].1 += 1,
                super::Outcome::Error => hours[i].2 += 1,
            }
        }
        // The last outcome of each configuration: its newest row in the batch.
        let mut last: std::collections::HashMap<&str, &HistoryEntry> =
            std::collections::HashMap::new();
        for e in batch {
            last.insert(e.config_name.as_str(), e);
        }
        let last: Vec<_> = last
            .values()
            .map(|e| (&e.config_name, e.outcome.as_str(), &e.error_code, e.at_ms))
            .collect();
        Ok(Params {
            history: serde_json::to_string(&history)?,
            audit: serde_json::to_string(&audit)?,
            hours: serde_json::to_string(&hours)?,
            last: serde_json::to_string(&last)?,
        })
    }
}
