//! The configurations as of one change version: reseeds read them often,
//! and every change of configuration (from any process) moves the version
//! on, so a stale copy is never used.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use super::{repo, HsmName};
use crate::error::Result;
use crate::Engine;

#[derive(Default)]
pub(crate) struct ConfigCache {
    version: Option<i64>,
    rows: HashMap<String, Arc<repo::Row>>,
}

impl Engine {
    /// One configuration, from the cache of the current change version.
    pub(crate) async fn cached_config(&self, name: &HsmName) -> Result<Option<Arc<repo::Row>>> {
        let version = self.change_version();
        {
            let c = self
                .config_cache()
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if c.version == Some(version) {
                return Ok(c.rows.get(name.as_str()).cloned());
            }
        }
        let mut conn = self.store().pool().acquire().await?;
        let rows: HashMap<_, _> = repo::list(&mut conn)
            .await?
            .into_iter()
            .map(|r| (r.name.clone(), Arc::new(r)))
            .collect();
        let found = rows.get(name.as_str()).cloned();
        let mut c = self
            .config_cache()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        c.version = Some(version);
        c.rows = rows;
        Ok(found)
    }
}
