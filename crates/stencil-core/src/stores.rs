//! The chunk store of each region.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use stencil_chunks::backend::ChunkBackend;
use stencil_chunks::backend::local::LocalBackend;
use stencil_chunks::backend::object::{ObjectBackend, S3Options, s3_store};
use stencil_chunks::{ChunkStore, StoreConfig};

/// Why a region's chunk store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreOpenError {
    /// The URL names a scheme this build cannot open.
    #[error(
        "Region {region}: unsupported chunk_store URL {url:?} (expected file://DIR or s3://BUCKET[/PREFIX])"
    )]
    Scheme { region: String, url: String },
    /// The S3 options cannot make a client.
    #[error("Region {region}: chunk_store {url:?}: {reason}")]
    S3 {
        region: String,
        url: String,
        reason: String,
    },
    /// The store could not be opened.
    #[error("Region {region}: cannot open chunk store {url:?}")]
    Open {
        region: String,
        url: String,
        #[source]
        source: Box<stencil_chunks::Error>,
    },
}

/// A customer key for encrypted images (`[[kms_key]]`): 32 bytes of key material, usable in
/// one region.
#[derive(Clone)]
pub struct KmsKey {
    /// `KMSKeyId`.
    pub id: String,
    /// The region the key lives in.
    pub region: String,
    /// The key material.
    pub material: [u8; 32],
    /// The region's service key (used when `Encrypted` names no key; its images cannot be
    /// shared).
    pub service: bool,
}

impl std::fmt::Debug for KmsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsKey")
            .field("id", &self.id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// One chunk store per region, plus one per (region, KMS key) for encrypted images. A keyed
/// store shares its region's backend: its chunks are named by keyed digests and encrypted, so
/// they never collide with plain ones, and GC (which marks from every index of the backend)
/// keeps both.
#[derive(Debug, Clone, Default)]
pub struct RegionStores {
    by_region: HashMap<String, ChunkStore>,
    keyed: HashMap<(String, String), ChunkStore>,
    /// The service key ID of each region that has one.
    service: HashMap<String, String>,
}

/// Where one region keeps its chunks.
#[derive(Debug, Clone)]
pub struct StoreSpec {
    /// The region.
    pub region: String,
    /// `file://DIR` (a local directory) or `s3://BUCKET[/PREFIX]` (an S3-compatible store,
    /// shared by every node of a scale-out deployment).
    pub url: String,
    /// How to reach the S3 server of an `s3://` URL.
    pub s3: S3Options,
}

impl StoreSpec {
    fn open_err(&self, source: stencil_chunks::Error) -> StoreOpenError {
        StoreOpenError::Open {
            region: self.region.clone(),
            url: self.url.clone(),
            source: Box::new(source),
        }
    }

    fn backend(&self) -> Result<Arc<dyn ChunkBackend>, StoreOpenError> {
        let open_err = |source| self.open_err(source);
        if let Some(dir) = self.url.strip_prefix("file://") {
            return Ok(Arc::new(
                LocalBackend::open(Path::new(dir)).map_err(open_err)?,
            ));
        }
        let Some(rest) = self.url.strip_prefix("s3://") else {
            return Err(StoreOpenError::Scheme {
                region: self.region.clone(),
                url: self.url.clone(),
            });
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let store = s3_store(bucket, &self.s3).map_err(|reason| StoreOpenError::S3 {
            region: self.region.clone(),
            url: self.url.clone(),
            reason,
        })?;
        Ok(Arc::new(
            ObjectBackend::new(store, prefix).map_err(open_err)?,
        ))
    }
}

impl RegionStores {
    /// Opens the store of each region.
    pub fn open(list: &[StoreSpec]) -> Result<Self, StoreOpenError> {
        let mut by_region = HashMap::new();
        for spec in list {
            let store = ChunkStore::new(spec.backend()?, StoreConfig::default())
                .map_err(|source| spec.open_err(source))?;
            by_region.insert(spec.region.clone(), store);
        }
        Ok(RegionStores {
            by_region,
            keyed: HashMap::new(),
            service: HashMap::new(),
        })
    }

    /// The store of `region`.
    pub fn get(&self, region: &str) -> Option<&ChunkStore> {
        self.by_region.get(region)
    }

    /// Adds the stores of `keys` (each over its region's backend).
    pub fn with_keys(mut self, keys: &[KmsKey]) -> Result<Self, StoreOpenError> {
        for key in keys {
            let Some(plain) = self.by_region.get(&key.region) else {
                continue;
            };
            let config = StoreConfig {
                key: Some(key.material),
                ..plain.config().clone()
            };
            let store = ChunkStore::new(plain.backend().clone(), config).map_err(|source| {
                StoreOpenError::Open {
                    region: key.region.clone(),
                    url: format!("kms key {}", key.id),
                    source: Box::new(source),
                }
            })?;
            self.keyed
                .insert((key.region.clone(), key.id.clone()), store);
            if key.service {
                self.service.insert(key.region.clone(), key.id.clone());
            }
        }
        Ok(self)
    }

    /// The service key of `region`, if it has one.
    pub fn service_key(&self, region: &str) -> Option<&str> {
        self.service.get(region).map(String::as_str)
    }

    /// Whether `key_id` is the service key of `region`.
    pub fn is_service_key(&self, region: &str, key_id: &str) -> bool {
        !key_id.is_empty() && self.service_key(region) == Some(key_id)
    }

    /// Whether `key_id` is a KMS key of `region`.
    pub fn has_key(&self, region: &str, key_id: &str) -> bool {
        self.keyed
            .contains_key(&(region.to_string(), key_id.to_string()))
    }

    /// The store holding data encrypted with `kms_key_id` in `region` (`""`: the plain store).
    pub fn for_key(&self, region: &str, kms_key_id: &str) -> Option<&ChunkStore> {
        if kms_key_id.is_empty() {
            self.get(region)
        } else {
            self.keyed
                .get(&(region.to_string(), kms_key_id.to_string()))
        }
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
