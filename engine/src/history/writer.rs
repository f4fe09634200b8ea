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

/// Size classes of a batch: a batch of `n` rows runs the statement list of
/// the smallest class that holds it, padded with rows of NULLs that the
/// statements skip, so SQLite prepares each list once per connection.
const CLASSES: [usize; 8] = [1, 2, 4, 8, 16, 32, 64, BATCH];

/// The statement list of one size class: the whole batch in one round trip
/// to the connection's thread and one transaction: the history rows, the
/// audit rows of manual reseeds, the hourly counts the dashboard reads and
/// each configuration's last outcome. Every value is a bound parameter
/// (plain `?`, bound in order: sqlx binds numbered parameters wrongly
/// across statements). The last two travel as small JSON arrays.
fn commit_sql(rows: usize) -> String {
    let values = |columns: usize| {
        let row = format!("({})", vec!["?"; columns].join(", "));
        vec![row; rows].join(", ")
    };
    format!(
        "BEGIN IMMEDIATE;
INSERT INTO seed_history (at_ms, config_name, slot, token_serial, trigger, source, bits, \
duration_us, outcome, error_code, message)
  SELECT * FROM (VALUES {history}) WHERE column1 IS NOT NULL;
INSERT INTO audit_log (at_ms, actor_kind, actor, address, action, target, outcome, detail)
  SELECT * FROM (VALUES {audit}) WHERE column1 IS NOT NULL;
INSERT INTO seed_hourly (hour_ms, ok, failed)
  SELECT value->>0, value->>1, value->>2 FROM json_each(?) WHERE true
  ON CONFLICT (hour_ms) DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed;
UPDATE hsm_configs SET last_outcome = l.value->>1, last_error = l.value->>2, last_at = l.value->>3
  FROM json_each(?) AS l WHERE hsm_configs.name = l.value->>0;
COMMIT;",
        history = values(HISTORY_COLUMNS),
        audit = values(AUDIT_COLUMNS),
    )
}

const HISTORY_COLUMNS: usize = 11;
const AUDIT_COLUMNS: usize = 8;

/// The statement list for `rows` rows and its class size.
fn statements_for(rows: usize) -> (&'static str, usize) {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| CLASSES.iter().map(|&n| commit_sql(n)).collect());
    let i = CLASSES
        .iter()
        .position(|&n| n >= rows)
        .unwrap_or(CLASSES.len() - 1);
    (all[i].as_str(), CLASSES[i])
}

/// One transaction for the whole batch (at most [`BATCH`] rows; see
/// [`commit_sql`]), on the writer's own connection; a failed batch is
/// rolled back.
async fn commit(
    pool: &SqlitePool,
    conn: &mut Option<SqliteConnection>,
    batch: &[HistoryEntry],
) -> std::result::Result<(), sqlx::Error> {
    let (sql, class) = statements_for(batch.len());
    let mut q = sqlx::query(sql);
    for e in batch {
        q = q
            .bind(e.at_ms)
            .bind(e.config_name.as_str())
            .bind(e.slot)
            .bind(e.token_serial.as_deref())
            .bind(e.trigger.as_str())
            .bind(e.source.as_str())
            .bind(i64::from(e.bits))
            .bind(e.duration_us)
            .bind(e.outcome.as_str())
            .bind(e.error_code.as_deref())
            .bind(e.message.as_deref());
    }
    for _ in batch.len()..class {
        for _ in 0..HISTORY_COLUMNS {
            q = q.bind(None::<i64>);
        }
    }
    let mut audits = 0;
    for a in batch.iter().filter_map(|e| e.audit.as_ref()) {
        audits += 1;
        q = q
            .bind(a.at_ms)
            .bind(a.actor.kind.as_str())
            .bind(a.actor.name.as_str())
            .bind(a.actor.address.as_deref())
            .bind(a.action.as_str())
            .bind(a.target.as_str())
            .bind(a.outcome.as_str())
            .bind(a.detail.as_str());
    }
    for _ in audits..class {
        for _ in 0..AUDIT_COLUMNS {
            q = q.bind(None::<i64>);
        }
    }
    let (hours, last) = summaries(batch).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let c = match conn {
        Some(c) => c,
        None => conn.insert(writer_connection(pool).await?),
    };
    let result = q.bind(hours).bind(last).execute(&mut *c).await;
    if result.is_err() {
        // Whatever ran of the batch is undone; a connection that cannot
        // even roll back is replaced.
        if sqlx::query("ROLLBACK").execute(&mut *c).await.is_err() {
            *conn = None;
        }
    }
    result.map(|_| ())
}

/// The batch's hourly counts and each configuration's last outcome, as
/// the JSON arrays the statement list reads.
fn summaries(batch: &[HistoryEntry]) -> serde_json::Result<(String, String)> {
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
    let mut last: std::collections::HashMap<&str, &HistoryEntry> = std::collections::HashMap::new();
    for e in batch {
        last.insert(e.config_name.as_str(), e);
    }
    let last: Vec<_> = last
        .values()
        .map(|e| (&e.config_name, e.outcome.as_str(), &e.error_code, e.at_ms))
        .collect();
    Ok((
        serde_json::to_string(&hours)?,
        serde_json::to_string(&last)?,
    ))
}
