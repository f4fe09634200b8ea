//! Reads made on the calling thread, for the small queries every page view
//! makes (its session, the session's user, the data version).
//!
//! A read on the sqlx pool is handed to that connection's worker thread and
//! its answer handed back: two thread switches around a read that takes
//! SQLite a few microseconds. Under the dashboard's load those hand-offs
//! were a fifth of the process's time (perf: flume's wait and wake-up
//! around the workers' futexes). Here the read runs on the runtime's own
//! thread on a connection of its own, taken from a few kept idle.
//!
//! In WAL mode a reader never waits for a writer; the only waits left (the
//! WAL being recovered after a crash, a checkpoint resetting it) are
//! bounded by a short busy timeout, after which [`InlineReads::read`]
//! answers `None` and the caller reads on the pool as before. The
//! connections are query-only: nothing is ever written through them.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

/// How long an inline read waits for a lock before the caller goes to the
/// pool instead (a runtime thread must not sit in SQLite's busy loop).
const BUSY: Duration = Duration::from_millis(20);

/// Idle connections kept (one per runtime thread reading at once is
/// enough; more are opened when needed and closed after).
const KEEP: usize = 8;

pub(crate) struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for InlineReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReads")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl InlineReads {
    pub(crate) fn new(path: &Path) -> InlineReads {
        InlineReads {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on an idle connection (opened when none is). `None` when
    /// the read could not be made here (logged at debug; the connection is
    /// closed): read on the pool instead. `what` names the read in the log.
    pub(crate) fn read<T>(
        &self,
        what: &str,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Option<T> {
        let kept = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match kept {
            Some(c) => c,
            None => match self.open() {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, what, "inline read: no connection; reading on the pool");
                    return None;
                }
            },
        };
        match f(&conn) {
            Ok(v) => {
                let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                if idle.len() < KEEP {
                    idle.push(conn);
                }
                Some(v)
            }
            Err(e) => {
                tracing::debug!(error = %e, what, "inline read failed; reading on the pool");
                None
            }
        }
    }

    fn open(&self) -> Result<Connection, String> {
        let c = super::open_sync(&self.path)?;
        c.busy_timeout(BUSY).map_err(|e| e.to_string())?;
        c.execute_batch("PRAGMA query_only = ON;")
            .map_err(|e| e.to_string())?;
        Ok(c)
    }

    /// Idle connections (a read made here leaves its connection idle).
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.idle.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn reads_what_the_pool_committed_and_keeps_its_connection() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let reads = store.inline().unwrap();
        let count = |c: &Connection| c.query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0));
        assert_eq!(reads.read("test", count), Some(0i64));
        assert_eq!(reads.idle(), 1);
        crate::store::shared::record_change(store.pool(), 1, "test")
            .await
            .unwrap();
        // The kept connection sees the pool's commit.
        assert_eq!(reads.read("test", count), Some(1i64));
        assert_eq!(reads.idle(), 1);
    }

    #[tokio::test]
    async fn a_failed_read_is_none_and_its_connection_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let reads = store.inline().unwrap();
        let r: Option<i64> = reads.read("test", |c| {
            c.query_row("SELECT x FROM no_such_table", [], |r| r.get(0))
        });
        assert_eq!(r, None);
        assert_eq!(reads.idle(), 0);
    }

    #[tokio::test]
    async fn never_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let r = store.inline().unwrap().read("test", |c| {
            c.execute("INSERT INTO changes (at_ms, what) VALUES (1, 'x')", [])
        });
        assert_eq!(r, None);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM changes")
            .fetch_one(store.sqlite())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }

    #[tokio::test]
    async fn a_missing_database_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let reads = InlineReads::new(&dir.path().join("gone.db"));
        assert_eq!(
            reads.read("test", |c| c
                .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))),
            None
        );
        assert!(!dir.path().join("gone.db").exists());
    }
}
