//! What every capability shares, and nothing else: the settings, the
//! database, the clock, the master key, the change version and the metrics.
//! Each capability (auth, partitions, entropy, history, audit, ntl,
//! schedule) holds a `Core` beside its own state; the audit rows every
//! capability writes go through [`Core::audited_tx`] (in `audit/`).

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::clock::{unix_ms, Clock};
use crate::config::Settings;
use crate::error::Result;
use crate::metrics::Metrics;
use crate::secrets::MasterKey;
use crate::store::Store;

#[derive(Clone)]
pub(crate) struct Core {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    store: Store,
    clock: Arc<dyn Clock>,
    master_key: Arc<MasterKey>,
    /// The highest change id seen (moved on by this process's commits, or
    /// by polling the database for changes made by other processes).
    changes: watch::Sender<i64>,
    metrics: Metrics,
}

impl Core {
    pub(crate) fn new(
        settings: Settings,
        store: Store,
        clock: Arc<dyn Clock>,
        master_key: Arc<MasterKey>,
        last_change: i64,
    ) -> Core {
        Core {
            inner: Arc::new(Inner {
                settings,
                store,
                clock,
                master_key,
                changes: watch::Sender::new(last_change),
                metrics: Metrics::default(),
            }),
        }
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    pub(crate) fn master_key(&self) -> &Arc<MasterKey> {
        &self.inner.master_key
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    // --- changes ----------------------------------------------------------

    /// Picks up what this process just committed, at once: on SQLite the
    /// poll reads it; on PostgreSQL the change feed's notification comes
    /// back a moment after the commit, so this counts it beforehand.
    pub(crate) async fn committed_here(&self) -> Result<()> {
        if let Some(v) = self.store().versions() {
            v.bump_all();
        }
        self.poll_changes().await
    }

    /// Picks up changes committed by this or another process (the CLI).
    pub(crate) async fn poll_changes(&self) -> Result<()> {
        let id = crate::store::shared::last_change(self.store()).await?;
        self.inner.changes.send_if_modified(|v| {
            let newer = id > *v;
            if newer {
                *v = id;
            }
            newer
        });
        Ok(())
    }

    /// The current change version (moved on by [`Core::poll_changes`]).
    pub(crate) fn change_version(&self) -> i64 {
        *self.inner.changes.borrow()
    }

    pub(crate) fn watch_changes(&self) -> watch::Receiver<i64> {
        self.inner.changes.subscribe()
    }

    // --- appliance settings kept in the database ----------------------------

    /// An appliance setting kept in the database (`app_settings`).
    pub(crate) async fn app_setting(&self, key: &str) -> Result<Option<String>> {
        crate::store::shared::setting(self.store().pool(), key).await
    }

    /// Writes appliance settings, all in one transaction.
    pub(crate) async fn set_app_settings(&self, values: &[(&str, String)]) -> Result<()> {
        crate::store::shared::set_settings(self.store().pool(), values, unix_ms(self.now())).await
    }
}
