//! Replay protection: a signature nonce is accepted once per AccessKey within the timestamp
//! window. Entries older than the window are forgotten, since the timestamp check already
//! refuses such requests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
