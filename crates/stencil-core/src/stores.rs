//! The chunk store of each region.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use stencil_chunks::backend::local::LocalBackend;
use stencil_chunks::{ChunkStore, StoreConfig};

/// Why a region's chunk store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreOpenError {
    /// The URL names a scheme this build cannot open.
    #[error("Region {region}: unsupported chunk_store URL {url:?} (expected file://DIR)")]
    Scheme { region: String, url: String },
    /// The store could not be opened.
    #[error("Region {region}: cannot open chunk store {url:?}")]
    Open {
        region: String,
        url: String,
        #[source]
        source: Box<stencil_chunks::Error>,
    },
}

/// One chunk store per region.
#[derive(Debug, Clone, Default)]
pub struct RegionStores {
    by_region: HashMap<String, ChunkStore>,
}

impl RegionStores {
    /// Opens `(region, url)` pairs. `file://DIR` is a local directory store.
    pub fn open(list: &[(String, String)]) -> Result<Self, StoreOpenError> {
        let mut by_region = HashMap::new();
        for (region, url) in list {
            let Some(dir) = url.strip_prefix("file://") else {
                return Err(StoreOpenError::Scheme {
                    region: region.clone(),
                    url: url.clone(),
                });
            };
            let open_err = |source| StoreOpenError::Open {
                region: region.clone(),
                url: url.clone(),
                source: Box::new(source),
            };
            let backend = LocalBackend::open(Path::new(dir)).map_err(open_err)?;
            let store =
                ChunkStore::new(Arc::new(backend), StoreConfig::default()).map_err(open_err)?;
            by_region.insert(region.clone(), store);
        }
        Ok(RegionStores { by_region })
    }

    /// The store of `region`.
    pub fn get(&self, region: &str) -> Option<&ChunkStore> {
        self.by_region.get(region)
    }

    /// Every `(region, store)`.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ChunkStore)> {
        self.by_region.iter()
    }

    /// Removes the writer-session records a killed process left behind, so GC's cutoff is not
    /// held back by them. Only correct while this process is the only writer of the stores
    /// (SQLite metadata: one node).
    pub fn clear_stale_sessions(&self) -> Result<usize, stencil_chunks::Error> {
        let mut removed = 0;
        for store in self.by_region.values() {
            let backend = store.backend();
            for s in stencil_chunks::store::list_sessions(backend.as_ref())? {
                backend.delete_object(stencil_chunks::backend::Namespace::Session, &s.id)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
