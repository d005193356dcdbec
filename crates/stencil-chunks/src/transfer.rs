//! Copying a disk version from one store to another (cross-region copies, DESIGN §2).
//!
//! ```text
//! same key (both plain, or both keyed with one key):
//!   source index ─► digests the destination lacks ─► N workers: blob as stored ─► receive_blobs
//!   (header, lengths, CRC-32 of every stored byte: it arrived exactly as the sender stored
//!   it; the digest is checked at every read) ─► commit the same index
//! different keys (an encrypted copy, or a copy out of one):
//!   source index ─► N workers: read + verify the plaintext ─► destination digest (keyed) ─►
//!   encode + put when absent ─► commit an index with the same cuts and the new digests
//! ```
//!
//! Nothing is sent for a chunk the destination holds (it is touched so GC keeps it until the
//! commit), so a copy that a restart interrupted sends, when run again, only what had not
//! arrived: at most the batches in flight ([`TRANSFER_WORKERS`] × [`TRANSFER_BATCH`] chunks)
//! twice. Each batch is made durable with one file-system sync, not one per chunk.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::backend::PutOutcome;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::index::{Index, IndexEntry};
use crate::store::{ChunkStore, WriteSession};

/// Workers sending batches at once.
pub const TRANSFER_WORKERS: usize = 4;

/// Blobs a worker sends together and makes durable with one sync: a copy interrupted by a
/// crash sends again at most `TRANSFER_WORKERS * TRANSFER_BATCH` chunks.
pub const TRANSFER_BATCH: usize = 16;

/// What the caller sees of a transfer while it runs.
pub trait TransferHooks: Sync {
    /// Whether to stop (checked before each chunk).
    fn cancelled(&self) -> bool;
    /// `guest_bytes` more of the disk are done (sent, or found present).
    fn advance(&self, guest_bytes: u64);
    /// A blob of `stored_bytes` arrived at the destination.
    fn sent(&self, stored_bytes: u64);
}

/// How a transfer went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// Blobs written at the destination.
    pub chunks_sent: u64,
    /// Their stored (compressed, encrypted) bytes.
    pub bytes_sent: u64,
    /// Data chunks the destination already held.
    pub chunks_present: u64,
    /// Guest bytes of the disk that are data.
    pub data_bytes: u64,
    /// The disk's virtual size.
    pub virtual_size: u64,
}

/// Copies index `name` of `src` into `session`'s store as `dst_name` and commits it. Returns
/// `None` when `hooks` asked to stop (nothing committed; what arrived stays for the next run).
pub fn transfer_index(
    src: &ChunkStore,
    name: &str,
    session: &WriteSession,
    dst_name: &str,
    hooks: &dyn TransferHooks,
) -> Result<Option<TransferStats>> {
    let dst = session.store();
    let index = src.load_index(name)?;
    let same_key = src.config().key == dst.config().key;
    let sent = if same_key {
        send_blobs(src, &index, session, hooks)?
    } else {
        reencode(src, &index, session, hooks)?
    };
    let Some((out, mut stats)) = sent else {
        return Ok(None);
    };
    session.commit(dst_name, &out)?;
    stats.data_bytes = index.data_bytes();
    stats.virtual_size = index.virtual_size();
    Ok(Some(stats))
}

/// Guest bytes each data digest covers (a digest can appear several times).
fn bytes_per_digest(index: &Index) -> std::collections::HashMap<Digest, u64> {
    let mut out = std::collections::HashMap::new();
    for (i, e) in index.entries().iter().enumerate() {
        if !e.digest.is_zero() {
            *out.entry(e.digest).or_insert(0) += e.end - index.entry_start(i);
        }
    }
    out
}

/// Runs `work` over `0..n` on [`TRANSFER_WORKERS`] threads; stops at the first error or when
/// cancelled. `Ok(false)` means cancelled.
fn parallel(
    n: usize,
    hooks: &dyn TransferHooks,
    work: &(dyn Fn(usize) -> Result<()> + Sync),
) -> Result<bool> {
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..TRANSFER_WORKERS.min(n.max(1)) {
            s.spawn(|| {
                loop {
                    if stop.load(Ordering::Acquire) || hooks.cancelled() {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::AcqRel);
                    if i >= n {
                        return;
                    }
                    if let Err(e) = work(i) {
                        stop.store(true, Ordering::Release);
                        failure
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(!hooks.cancelled())
}

/// Counts of a transfer, shared by its workers.
#[derive(Default)]
struct Tally {
    chunks_sent: AtomicU64,
    bytes_sent: AtomicU64,
    chunks_present: AtomicU64,
}

impl Tally {
    /// A chunk is done: `Some(len)` when a blob of `len` stored bytes was written, `None` when
    /// the destination held it.
    fn record(&self, sent: Option<u64>, guest_bytes: u64, hooks: &dyn TransferHooks) {
        match sent {
            Some(len) => {
                self.chunks_sent.fetch_add(1, Ordering::AcqRel);
                self.bytes_sent.fetch_add(len, Ordering::AcqRel);
                hooks.sent(len);
            }
            None => {
                self.chunks_present.fetch_add(1, Ordering::AcqRel);
            }
        }
        hooks.advance(guest_bytes);
    }

    fn stats(&self) -> TransferStats {
        TransferStats {
            chunks_sent: self.chunks_sent.load(Ordering::Acquire),
            bytes_sent: self.bytes_sent.load(Ordering::Acquire),
            chunks_present: self.chunks_present.load(Ordering::Acquire),
            ..TransferStats::default()
        }
    }
}

/// The distinct data digests of `index` in a fixed order, and the guest bytes each covers.
fn wanted(index: &Index) -> (Vec<Digest>, std::collections::HashMap<Digest, u64>) {
    let sizes = bytes_per_digest(index);
    let mut digests: Vec<Digest> = sizes.keys().copied().collect();
    digests.sort_unstable();
    (digests, sizes)
}

fn send_blobs(
    src: &ChunkStore,
    index: &Index,
    session: &WriteSession,
    hooks: &dyn TransferHooks,
) -> Result<Option<(Index, TransferStats)>> {
    let dst = session.store();
    let (wanted, sizes) = wanted(index);
    let missing = dst.missing(&wanted)?;
    let missing_set: std::collections::HashSet<Digest> = missing.iter().copied().collect();
    let tally = Tally::default();
    // Present chunks: touched, so a GC running now keeps them until the index is committed.
    for d in wanted.iter().filter(|d| !missing_set.contains(d)) {
        if !dst.backend().touch_blob(d)? {
            return Err(Error::MissingChunk { digest: *d });
        }
        tally.record(None, sizes[d], hooks);
    }
    let batches: Vec<&[Digest]> = missing.chunks(TRANSFER_BATCH).collect();
    thread_local! {
        /// Blob buffers a worker reuses from batch to batch (no allocation and page faults of
        /// about 1 MiB per chunk).
        static BUFFERS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let done = parallel(batches.len(), hooks, &|i| {
        let mut blobs = Vec::with_capacity(batches[i].len());
        let mut pool = BUFFERS.with(|b| std::mem::take(&mut *b.borrow_mut()));
        let result = (|| {
            for d in batches[i] {
                if hooks.cancelled() {
                    break;
                }
                let mut buf = pool.pop().unwrap_or_default();
                src.backend().get_blob_into(d, &mut buf)?;
                blobs.push((*d, buf));
            }
            let outcomes = dst.receive_blobs(session, &blobs)?;
            for ((d, blob), outcome) in blobs.iter().zip(outcomes) {
                let stored = outcome == PutOutcome::Stored;
                tally.record(stored.then_some(blob.len() as u64), sizes[d], hooks);
            }
            Ok(())
        })();
        pool.extend(blobs.into_iter().map(|(_, b)| b));
        BUFFERS.with(|b| *b.borrow_mut() = pool);
        result
    })?;
    Ok(done.then(|| (index.clone(), tally.stats())))
}

fn reencode(
    src: &ChunkStore,
    index: &Index,
    session: &WriteSession,
    hooks: &dyn TransferHooks,
) -> Result<Option<(Index, TransferStats)>> {
    let dst = session.store();
    let (wanted, sizes) = wanted(index);
    let renamed: Vec<Mutex<Option<Digest>>> = wanted.iter().map(|_| Mutex::new(None)).collect();
    let tally = Tally::default();
    let done = parallel(wanted.len(), hooks, &|i| {
        let d = &wanted[i];
        let plain = src.read_chunk(d)?;
        let nd = dst.hasher().digest(&plain);
        let sent = if dst.backend().touch_blob(&nd)? {
            None
        } else {
            let blob = dst.codec().encode(&nd, &plain, &mut None)?;
            let len = blob.len() as u64;
            (dst.backend().put_blob(&nd, &blob)? == PutOutcome::Stored).then_some(len)
        };
        *renamed[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(nd);
        tally.record(sent, sizes[d], hooks);
        Ok(())
    })?;
    if !done {
        return Ok(None);
    }
    let mut map = std::collections::HashMap::with_capacity(wanted.len());
    for (d, slot) in wanted.iter().zip(renamed) {
        let nd = slot
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .ok_or(Error::Pipeline("a transfer worker left a chunk undone"))?;
        map.insert(*d, nd);
    }
    let entries: Vec<IndexEntry> = index
        .entries()
        .iter()
        .map(|e| IndexEntry {
            end: e.end,
            digest: if e.digest.is_zero() {
                e.digest
            } else {
                map[&e.digest]
            },
        })
        .collect();
    let out = Index::new(
        index.virtual_size(),
        index.chunker(),
        dst.config().key.is_some(),
        entries,
        index.bitmap().to_vec(),
    )?;
    Ok(Some((out, tally.stats())))
}
