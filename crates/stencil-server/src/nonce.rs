//! Replay protection: a signature nonce is accepted once per AccessKey within the timestamp
//! window. Entries older than the window are forgotten, since the timestamp check already
//! refuses such requests. One node (SQLite) keeps them in memory; nodes sharing a PostgreSQL
//! database keep them there ([`Nonces::Shared`]), so a request replayed to another node is
//! refused too.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stencil_meta::{MetaError, MetaStore};

/// Where nonces are remembered.
#[derive(Debug)]
pub enum Nonces {
    /// In this process (one node).
    Local(NonceCache),
    /// In the metadata database every node uses; purged every [`PURGE_EVERY`] checks.
    Shared {
        /// The database.
        meta: MetaStore,
        /// Checks so far.
        checks: AtomicUsize,
    },
}

impl Nonces {
    /// Nonces for a deployment on `meta`: shared when the database can have several nodes.
    pub fn for_store(meta: &MetaStore) -> Self {
        match meta.backend() {
            stencil_meta::Backend::Sqlite => Nonces::Local(NonceCache::default()),
            stencil_meta::Backend::Postgres => Nonces::Shared {
                meta: meta.clone(),
                checks: AtomicUsize::new(0),
            },
        }
    }

    /// Records `nonce` for `access_key_id`; false if it was seen within the TTL.
    pub async fn check_and_record(
        &self,
        access_key_id: &str,
        nonce: &str,
    ) -> Result<bool, MetaError> {
        match self {
            Nonces::Local(cache) => Ok(cache.check_and_record(access_key_id, nonce)),
            Nonces::Shared { meta, checks } => {
                let now = chrono::Utc::now().timestamp();
                let window = NONCE_TTL.as_secs() as i64;
                if (checks.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(PURGE_EVERY) {
                    meta.purge_nonces(now - window).await?;
                }
                meta.record_nonce(access_key_id, nonce, now, window).await
            }
        }
    }
}

/// How long a nonce is remembered: the timestamp window on both sides.
pub const NONCE_TTL: Duration = Duration::from_secs(2 * 15 * 60);
/// Purge expired entries every this many insertions.
const PURGE_EVERY: usize = 4096;

/// An in-process nonce cache.
#[derive(Debug, Default)]
pub struct NonceCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashMap<(String, String), Instant>,
    inserts: usize,
}

impl NonceCache {
    /// Records `nonce` for `access_key_id`; false if it was seen within the TTL.
    pub fn check_and_record(&self, access_key_id: &str, nonce: &str) -> bool {
        let now = Instant::now();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.inserts += 1;
        if inner.inserts.is_multiple_of(PURGE_EVERY) {
            inner.seen.retain(|_, t| now.duration_since(*t) < NONCE_TTL);
        }
        let key = (access_key_id.to_string(), nonce.to_string());
        match inner.seen.get(&key) {
            Some(t) if now.duration_since(*t) < NONCE_TTL => false,
            _ => {
                inner.seen.insert(key, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_nonce_is_accepted_once_per_access_key() {
        let c = super::NonceCache::default();
        assert!(c.check_and_record("ak1", "n1"));
        assert!(!c.check_and_record("ak1", "n1"));
        assert!(c.check_and_record("ak2", "n1"));
    }
}
