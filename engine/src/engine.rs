//! The one engine every door calls.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::error::Result;
use crate::store::Store;

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    store: Store,
    clock: Arc<dyn Clock>,
}

/// What `/readyz` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub database: String,
    pub entropy: String,
}

impl Engine {
    /// Opens the engine on the data directory of `settings` (creating and
    /// migrating the database).
    pub async fn open(settings: Settings) -> Result<Engine> {
        Self::open_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn open_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> Result<Engine> {
        let store = Store::open(&settings.data_dir).await?;
        Ok(Engine {
            inner: Arc::new(Inner {
                settings,
                store,
                clock,
            }),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// Whether the appliance can do its work: the database answers and the
    /// entropy source is healthy.
    pub async fn readiness(&self) -> Readiness {
        let database = match self.store().ping().await {
            Ok(()) => "ok".to_string(),
            Err(e) => {
                tracing::error!(error = %e, "database not ready");
                "unavailable".to_string()
            }
        };
        let entropy = format!("{}: ok", self.settings().entropy_source);
        Readiness {
            ready: database == "ok",
            database,
            entropy,
        }
    }
}
