//! Verify: re-read every blob, check its checksum and digest, and name the indexes that use each
//! bad or missing chunk.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::thread;

use crate::blob::{FLAG_AES_GCM, check_stored};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::store::ChunkStore;

/// A chunk that failed verification.
#[derive(Debug)]
pub struct BadChunk {
    /// Its name.
    pub digest: Digest,
    /// Why (a [`Error::CorruptChunk`] or a backend error).
    pub error: Error,
    /// Committed indexes that name it.
    pub used_by: Vec<String>,
}

/// What verify found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Blobs read.
    pub blobs_checked: usize,
    /// Stored bytes read.
    pub bytes_checked: u64,
    /// Encrypted blobs only CRC-checked because the store has no key.
    pub crc_only: usize,
    /// Corrupt or unreadable blobs.
    pub bad: Vec<BadChunk>,
    /// Chunks named by an index but not stored, with the indexes naming them.
    pub missing: Vec<(Digest, Vec<String>)>,
    /// Indexes that failed to load.
    pub bad_indexes: Vec<(String, Error)>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.bad.is_empty() && self.missing.is_empty() && self.bad_indexes.is_empty()
    }
}

/// Verifies every blob (with the store's worker count in parallel) and every committed index.
pub fn verify(store: &ChunkStore) -> Result<VerifyReport> {
    let mut digests = Vec::new();
    store.backend().list_blobs(&mut |b| {
        digests.push(b.digest);
        Ok(())
    })?;
    let stored: HashSet<Digest> = digests.iter().copied().collect();
    let report = Mutex::new(VerifyReport::default());
    let next = Mutex::new(digests.into_iter());
    thread::scope(|s| {
        for _ in 0..store.config().workers.max(1) {
            s.spawn(|| {
                loop {
                    let Some(digest) = next.lock().unwrap_or_else(|p| p.into_inner()).next() else {
                        return;
                    };
                    let outcome = check_one(store, &digest);
                    let mut r = report.lock().unwrap_or_else(|p| p.into_inner());
                    match outcome {
                        Ok((len, crc_only)) => {
                            r.blobs_checked += 1;
                            r.bytes_checked += len;
                            r.crc_only += usize::from(crc_only);
                        }
                        Err(error) => r.bad.push(BadChunk {
                            digest,
                            error,
                            used_by: Vec::new(),
                        }),
                    }
                }
            });
        }
    });
    let mut report = report.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut missing: BTreeMap<Digest, Vec<String>> = BTreeMap::new();
    for name in store.list_indexes()? {
        let index = match store.load_index(&name) {
            Ok(index) => index,
            Err(e) => {
                report.bad_indexes.push((name, e));
                continue;
            }
        };
        for d in index.data_digests() {
            if let Some(bad) = report.bad.iter_mut().find(|b| b.digest == d) {
                bad.used_by.push(name.clone());
            }
            if !stored.contains(&d) {
                missing.entry(d).or_default().push(name.clone());
            }
        }
    }
    report.missing = missing.into_iter().collect();
    Ok(report)
}

fn check_one(store: &ChunkStore, digest: &Digest) -> Result<(u64, bool)> {
    let blob = store.stored_blob(digest)?;
    let len = blob.len() as u64;
    let header = check_stored(digest, &blob)?;
    if header.flags & FLAG_AES_GCM != 0 && store.config().key.is_none() {
        return Ok((len, true));
    }
    store.codec().decode(digest, store.hasher(), blob)?;
    Ok((len, false))
}
