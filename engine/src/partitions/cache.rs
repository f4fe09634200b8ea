//! The configurations as of one change version: reseeds read them often,
//! and every change of configuration (from any process) moves the version
//! on, so a stale copy is never used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{repo, HsmName, Partitions};
use crate::error::Result;

#[derive(Default)]
pub(crate) struct ConfigCache {
    copy: Mutex<Copy>,
    /// Held while the table is read again: the reseeds that find the copy
    /// stale at once wait for one read instead of each making its own (a
    /// round's reseeds all find it stale together, and the table may hold
    /// ten thousand configurations).
    reading: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Copy {
    version: Option<i64>,
    rows: HashMap<String, Arc<repo::Row>>,
}

impl ConfigCache {
    /// `name`'s row if the copy is of `version`; `Err(())` when it is not.
    fn get(&self, version: i64, name: &HsmName) -> std::result::Result<Option<Arc<repo::Row>>, ()> {
        let c = self.copy.lock().unwrap_or_else(PoisonError::into_inner);
        if c.version == Some(version) {
            Ok(c.rows.get(name.as_str()).cloned())
        } else {
            Err(())
        }
    }
}

impl Partitions {
    /// One configuration, from the cache of the current change version.
    pub(crate) async fn cached_config(&self, name: &HsmName) -> Result<Option<Arc<repo::Row>>> {
        let version = self.core.change_version();
        if let Ok(row) = self.cache.get(version, name) {
            return Ok(row);
        }
        let _reading = self.cache.reading.lock().await;
        // Read by whoever held the lock before (or newer still: the
        // version read first is as fresh as the caller asked for).
        let version = self.core.change_version();
        if let Ok(row) = self.cache.get(version, name) {
            return Ok(row);
        }
        let mut conn = self.core.store().pool().acquire().await?;
        let rows: HashMap<_, _> = repo::list(&mut conn)
            .await?
            .into_iter()
            .map(|r| (r.name.clone(), Arc::new(r)))
            .collect();
        let found = rows.get(name.as_str()).cloned();
        let mut c = self
            .cache
            .copy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        c.version = Some(version);
        c.rows = rows;
        Ok(found)
    }
}
