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

async fn commit(pool: &SqlitePool, batch: &[Job]) -> std::result::Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for (e, _) in batch {
        sqlx::query(
            "INSERT INTO seed_history (at_ms, config_name, slot, token_serial, trigger, source, bits, \
             duration_us, outcome, error_code, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.at_ms)
        .bind(&e.config_name)
        .bind(e.slot)
        .bind(&e.token_serial)
        .bind(e.trigger.as_str())
        .bind(&e.source)
        .bind(i64::from(e.bits))
        .bind(e.duration_us)
        .bind(e.outcome.as_str())
        .bind(&e.error_code)
        .bind(&e.message)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE hsm_configs SET last_outcome = ?, last_error = ?, last_at = ? WHERE name = ?",
        )
        .bind(e.outcome.as_str())
        .bind(&e.error_code)
        .bind(e.at_ms)
        .bind(&e.config_name)
        .execute(&mut *tx)
        .await?;
        if let Some(a) = &e.audit {
            crate::audit::insert(&mut tx, a).await?;
        }
    }
    tx.commit().await
}
