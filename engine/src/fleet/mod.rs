//! The appliances that share this database (a fleet): each serving
//! process records a heartbeat under its `appliance_id`; the dashboard
//! lists them with their last heartbeat and their reseeds this hour (which
//! the history writer counts per appliance in the batch's transaction).

pub(crate) mod repo;

use time::OffsetDateTime;

use crate::clock::{from_ms, unix_ms};
use crate::core::Core;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::kept::Kept;

/// How often a serving appliance records its heartbeat.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

pub use types::fleet::{Appliance, SILENT_AFTER};

/// An appliance silent this long leaves the list.
pub const FORGET_AFTER: time::Duration = time::Duration::days(1);

/// The fleet capability.
#[derive(Clone)]
pub struct Fleet {
    core: Core,
    /// The last list, or why it could not be read, for the views (see
    /// [`Fleet::seen`]).
    seen: Arc<Kept<std::result::Result<Vec<Appliance>, String>>>,
}

impl Fleet {
    pub(crate) fn new(core: Core) -> Fleet {
        Fleet {
            core,
            seen: Arc::new(Kept::new(HEARTBEAT_EVERY)),
        }
    }

    /// [`Fleet::list`] as read at most one heartbeat period ago (see
    /// `kept.rs`): for the dashboard, which every open tab asks for every
    /// few seconds. Kept apart from the overview, which is read again only
    /// after a change (with ten thousand configurations that read is what
    /// a view waits for). A failed read is kept as long: the views of that
    /// period show its error rather than each asking a database that has
    /// just failed to answer.
    pub async fn seen(&self) -> Result<Vec<Appliance>> {
        self.seen
            .get(|| async { self.list().await.map_err(|e| e.to_string()) })
            .await
            .map_err(|e| Error::Internal(format!("the fleet's list: {e}")))
    }

    /// Records this appliance's heartbeat (`started_at`: when its server
    /// started).
    pub async fn heartbeat(&self, started_at: OffsetDateTime) -> Result<()> {
        let s = self.core.settings();
        repo::heartbeat(
            self.core.store().pool(),
            &s.appliance_id,
            env!("CARGO_PKG_VERSION"),
            unix_ms(started_at),
            unix_ms(self.core.now()),
        )
        .await
    }

    /// Every appliance that ever beat on this database, by id.
    pub async fn list(&self) -> Result<Vec<Appliance>> {
        let hour = unix_ms(self.core.now()).div_euclid(3_600_000) * 3_600_000;
        Ok(repo::list(self.core.store().pool(), hour)
            .await?
            .into_iter()
            .map(|(id, version, started, beat, reseeds)| Appliance {
                id,
                version,
                started_at: from_ms(started),
                heartbeat_at: from_ms(beat),
                reseeds_this_hour: reseeds,
            })
            .collect())
    }

    /// Forgets appliances silent for [`FORGET_AFTER`] (retired, or renamed)
    /// and the per-appliance counts of past hours (the list shows this
    /// hour's); answers how many appliances went.
    pub async fn prune(&self) -> Result<u64> {
        let now = unix_ms(self.core.now());
        let hour = now.div_euclid(3_600_000) * 3_600_000;
        let n = repo::prune(
            self.core.store().pool(),
            now - FORGET_AFTER.whole_milliseconds() as i64,
            hour,
        )
        .await?;
        if n > 0 {
            tracing::info!(appliances = n, "forgot appliances silent for a day");
        }
        Ok(n)
    }

    /// This process's appliance id.
    pub fn this(&self) -> &str {
        &self.core.settings().appliance_id
    }
}
