//! The configurations as of one change version: reseeds read them often,
//! and every change of configuration (from any process) moves the version
//! on, so a stale copy is never used.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use super::{repo, HsmName, Partitions};
use crate::error::Result;

#[derive(Default)]
pub(crate) struct ConfigCache {
    version: Option<i64>,
    rows: HashMap<String, Arc<repo::Row>>,
}

impl Partitions {
    /// One configuration, from the cache of the current change version.
    pub(crate) async fn cached_config(&self, name: &HsmName) -> Result<Option<Arc<repo::Row>>> {
        let version = self.core.change_version();
        {
            let c = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if c.version == Some(version) {
                return Ok(c.rows.get(name.as_str()).cloned());
            }
        }
        let mut conn = self.core.store().pool().acquire().await?;
        let rows: HashMap<_, _> = repo::list(&mut conn)
            .await?
            .into_iter()
            .map(|r| (r.name.clone(), Arc::new(r)))
            .collect();
        let found = rows.get(name.as_str()).cloned();
        let mut c = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        c.version = Some(version);
        c.rows = rows;
        Ok(found)
    }
}
