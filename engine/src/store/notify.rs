//! PostgreSQL's change feed: what every connection, and every appliance
//! on the database, commits to the tables the caches are keyed by.
//!
//! On SQLite one writer commits at a time, so the newest id of a table
//! (`MAX(id)`) tells whether anything was added. On PostgreSQL ids come
//! from sequences and commit out of order: a row with a smaller id can
//! become visible after a larger one, and `MAX(id)` would never move for
//! it. Instead statement triggers (migration 20) `NOTIFY` the channel
//! [`CHANNEL`] with the table's name, which PostgreSQL delivers at commit,
//! in commit order, to every listener; each appliance counts them here.
//! A listener that lost its connection may have missed some: it counts
//! every table once more when it is back, and the caches read again.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::watch;

use crate::error::Result;

/// The channel the triggers notify.
pub(crate) const CHANNEL: &str = "hsmseed_data";

/// How many commits touched each table, as seen by this appliance (a
/// count, not an id: only its moving matters).
#[derive(Debug)]
pub(crate) struct Versions {
    audit: AtomicI64,
    history: AtomicI64,
    changes: AtomicI64,
    /// Dropped with the store: the listener stops.
    _stop: watch::Sender<()>,
}

impl Versions {
    /// Listens on `pool`'s database (one connection of its own) until the
    /// store is dropped.
    pub(crate) async fn listen(pool: &PgPool) -> Result<Arc<Versions>> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        let (stop, mut stopped) = watch::channel(());
        let versions = Arc::new(Versions {
            audit: AtomicI64::new(0),
            history: AtomicI64::new(0),
            changes: AtomicI64::new(0),
            _stop: stop,
        });
        let counts = Arc::downgrade(&versions);
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    n = listener.try_recv() => n,
                    _ = stopped.changed() => break,
                };
                let Some(v) = counts.upgrade() else { break };
                match next {
                    Ok(Some(n)) => v.bump(n.payload()),
                    // The connection was lost and is made again: whatever
                    // was committed meanwhile was not heard.
                    Ok(None) => v.bump_all(),
                    Err(e) => {
                        tracing::warn!(error = %e, "the database's change feed is interrupted; retrying");
                        v.bump_all();
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(versions)
    }

    /// Counts a commit to `table` (its name as the triggers send it).
    pub(crate) fn bump(&self, table: &str) {
        let counter = match table {
            "audit_log" => &self.audit,
            "seed_history" => &self.history,
            _ => &self.changes,
        };
        counter.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts a commit of this process at once, before its notification
    /// comes back (the caches of this appliance see its own writes
    /// without waiting for the round trip).
    pub(crate) fn bump_all(&self) {
        for c in [&self.audit, &self.history, &self.changes] {
            c.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// (audit, history, changes).
    pub(crate) fn now(&self) -> (i64, i64, i64) {
        (
            self.audit.load(Ordering::Acquire),
            self.history.load(Ordering::Acquire),
            self.changes.load(Ordering::Acquire),
        )
    }
}
