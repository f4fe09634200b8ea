//! Group commit for history rows: reseeds hand their row to one writer
//! task and wait for its commit; the writer takes every row waiting and
//! commits them in one transaction. Under load that is one fsync for many
//! reseeds; alone, it costs what a direct insert would.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::HistoryEntry;
use crate::error::{Error, Result};

type Job = (HistoryEntry, oneshot::Sender<Result<(), String>>);

/// Most rows in one transaction.
const BATCH: usize = 256;

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
    let mut batch: Vec<Job> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let result = commit(&pool, &batch).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, rows = batch.len(), "history rows could not be written");
        }
        for (_, done) in batch.drain(..) {
            let _ = done.send(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
    }
}

/// Rows per multi-row INSERT (SQLite allows 32766 bound parameters).
const ROWS_PER_INSERT: usize = 128;

/// One transaction for the whole batch: multi-row inserts of the history
/// and audit rows, and one update of each configuration's last outcome.
async fn commit(pool: &SqlitePool, batch: &[Job]) -> std::result::Result<(), sqlx::Error> {
    use sqlx::QueryBuilder;
    let mut tx = pool.begin().await?;
    for chunk in batch.chunks(ROWS_PER_INSERT) {
        let mut q = QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO seed_history (at_ms, config_name, slot, token_serial, trigger, source, bits, \
             duration_us, outcome, error_code, message) ",
        );
        q.push_values(chunk, |mut b, (e, _)| {
            b.push_bind(e.at_ms)
                .push_bind(&e.config_name)
                .push_bind(e.slot)
                .push_bind(&e.token_serial)
                .push_bind(e.trigger.as_str())
                .push_bind(&e.source)
                .push_bind(i64::from(e.bits))
                .push_bind(e.duration_us)
                .push_bind(e.outcome.as_str())
                .push_bind(&e.error_code)
                .push_bind(&e.message);
        });
        q.build().execute(&mut *tx).await?;
        let audits: Vec<&crate::audit::AuditEntry> =
            chunk.iter().filter_map(|(e, _)| e.audit.as_ref()).collect();
        if !audits.is_empty() {
            crate::audit::insert_many(&mut tx, &audits).await?;
        }
    }
    // The hourly counts the dashboard reads.
    let mut hours: std::collections::BTreeMap<i64, (i64, i64)> = std::collections::BTreeMap::new();
    for (e, _) in batch {
        let h = hours
            .entry(e.at_ms.div_euclid(3_600_000) * 3_600_000)
            .or_default();
        match e.outcome {
            super::Outcome::Ok => h.0 += 1,
            super::Outcome::Error => h.1 += 1,
        }
    }
    for (hour, (ok, failed)) in hours {
        sqlx::query(
            "INSERT INTO seed_hourly (hour_ms, ok, failed) VALUES (?, ?, ?) ON CONFLICT (hour_ms) \
             DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed",
        )
        .bind(hour)
        .bind(ok)
        .bind(failed)
        .execute(&mut *tx)
        .await?;
    }
    // The last outcome of each configuration: its newest row in the batch.
    let mut last: std::collections::HashMap<&str, &HistoryEntry> = std::collections::HashMap::new();
    for (e, _) in batch {
        last.insert(e.config_name.as_str(), e);
    }
    for e in last.values() {
        sqlx::query(
            "UPDATE hsm_configs SET last_outcome = ?, last_error = ?, last_at = ? WHERE name = ?",
        )
        .bind(e.outcome.as_str())
        .bind(&e.error_code)
        .bind(e.at_ms)
        .bind(&e.config_name)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
