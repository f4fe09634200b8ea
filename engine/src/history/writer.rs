//! Group commit for history rows: reseeds hand their row to one writer
//! task and wait for its commit; the writer takes every row waiting and
//! commits them in one transaction. Under load that is one commit for many
//! reseeds; alone, it costs what a direct insert would.
//!
//! The writer's connection does not checkpoint the WAL itself (a
//! checkpoint syncs the disk, and every reseed waiting on that commit would
//! wait for the disk too): a companion task checkpoints from another
//! connection every [`CHECKPOINT_EVERY`], beside the writer.

use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::HistoryEntry;
use crate::error::{Error, Result};

type Job = (HistoryEntry, oneshot::Sender<Result<(), String>>);

/// Most rows in one transaction.
const BATCH: usize = 256;

/// How often the WAL is checkpointed while the writer runs.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

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
        self.tx
            .send((entry, done))
            .await
            .map_err(|_| Error::Internal("history writer stopped".into()))?;
        wait.await
            .map_err(|_| Error::Internal("history writer stopped".into()))?
            .map_err(|e| Error::Internal(format!("recording history: {e}")))
    }
}

async fn run(pool: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let checkpoints = AbortOnDrop(tokio::spawn(checkpoint(pool.clone())));
    let mut conn: Option<SqliteConnection> = None;
    let mut batch: Vec<Job> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let result = commit(&pool, &mut conn, &batch).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, rows = batch.len(), "history rows could not be written");
        }
        for (_, done) in batch.drain(..) {
            let _ = done.send(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
    }
    drop(checkpoints);
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Checkpoints the WAL (PASSIVE: never waits for readers or the writer)
/// every [`CHECKPOINT_EVERY`].
async fn checkpoint(pool: SqlitePool) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// The writer's own connection, which leaves checkpoints to [`checkpoint`].
/// (Taken out of the pool, so its setting never reaches another user.)
async fn writer_connection(
    pool: &SqlitePool,
) -> std::result::Result<SqliteConnection, sqlx::Error> {
    let mut c = pool.acquire().await?.detach();
    sqlx::query("PRAGMA wal_autocheckpoint = 0")
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
    batch: &[Job],
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
    fn of(batch: &[Job]) -> serde_json::Result<Params> {
        let history: Vec<_> = batch
            .iter()
            .map(|(e, _)| {
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
            .filter_map(|(e, _)| e.audit.as_ref())
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
        for (e, _) in batch {
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
        for (e, _) in batch {
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
