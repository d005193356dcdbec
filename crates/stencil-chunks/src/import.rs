//! The parallel import pipeline.
//!
//! ```text
//!  chunker threads ─jobs──▶ N hash/compress workers ──uploads──▶ U uploader threads
//!  (segment.rs: parallel,   (digest; touch if present;           (put_blob: temp file,
//!   exact cuts)             else zstd [+ AES-GCM])               fsync, link)
//!          │                        │                                   │
//!          └────────────────────────┴──────────results─────────────────┘
//!                                                  ▼
//!                               collector (calling thread): reorders by sequence
//!                               number, builds the index entries
//! ```
//!
//! Every channel is bounded, so memory is about `(2N + 2U + N + U) × max chunk` plus the chunker
//! window, whatever the image size.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::thread;
use std::time::SystemTime;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::backend::PutOutcome;
use crate::chunker::{Payload, RawChunk, chunk_ranges, chunk_source};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::hinted::chunk_source_hinted;
use crate::index::{BITMAP_GRANULARITY, Index, IndexEntry, bitmap_from_extents};
use crate::segment::{Sink, chunk_parallel};
use crate::source::{Extent, GuestSource, normalize_extents};
use crate::store::ChunkStore;

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Guest size.
    pub virtual_size: u64,
    /// Guest bytes in non-zero chunks.
    pub data_bytes: u64,
    /// Non-zero chunks.
    pub chunks: u64,
    /// Chunks written by this import.
    pub new_chunks: u64,
    /// Plaintext bytes of the chunks written by this import.
    pub new_bytes: u64,
    /// Stored (compressed, encrypted) bytes written by this import.
    pub stored_bytes: u64,
}

/// Chunks are numbered (chunking work item, index within the item).
type Seq = (usize, u64);

struct Job {
    seq: Seq,
    chunk: RawChunk,
    /// The digest, when the chunker already computed it (hinted chunks).
    known: Option<Digest>,
}

struct Upload {
    seq: Seq,
    end: u64,
    digest: Digest,
    plain_len: u64,
    blob: Vec<u8>,
}

enum Done {
    Entry {
        seq: Seq,
        end: u64,
        digest: Digest,
        plain_len: u64,
        stored: Option<u64>,
    },
    ItemEnd {
        item: usize,
        count: u64,
    },
    /// Allocation-bitmap granules that read as zeros (whole granules inside one chunk).
    Zeros(Vec<u64>),
    Failed(Error),
}

/// The bitmap granules wholly inside `[offset, offset + len)` whose bytes are all zero
/// (`data` is `None` for a chunk known to be zeros). Exports leave them as holes, as
/// `qemu-img convert` does with zero clusters.
fn zero_granules(offset: u64, len: u64, data: Option<&[u8]>) -> Vec<u64> {
    let g = BITMAP_GRANULARITY;
    let (first, last) = (offset.div_ceil(g), (offset + len) / g);
    (first..last)
        .filter(|k| {
            data.is_none_or(|d| {
                let from = (k * g - offset) as usize;
                d.get(from..from + g as usize).is_some_and(is_zero)
            })
        })
        .collect()
}

/// True when every byte is zero (16 bytes at a time, stopping at the first non-zero).
fn is_zero(buf: &[u8]) -> bool {
    let mut words = buf.chunks_exact(16);
    words
        .by_ref()
        .all(|w| u128::from_ne_bytes(w.try_into().unwrap_or([1; 16])) == 0)
        && words.remainder().iter().all(|&b| b == 0)
}

/// What the pipeline cuts.
#[derive(Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// The whole disk, taking a hint's cuts where they still hold.
    Whole(Option<&'a Index>),
    /// Only these guest ranges (sorted, disjoint, non-empty), cut sequentially; each range's
    /// chain starts at its start and its last chunk ends at its end.
    Ranges(&'a [Range<u64>]),
}

/// What the pipeline produced.
pub(crate) struct Chunked {
    /// Entries in guest order: the whole disk, or for [`Scope::Ranges`] those of the ranges only.
    pub(crate) entries: Vec<IndexEntry>,
    /// The source's allocation bitmap of the whole disk, with the zero granules found inside
    /// the chunks cut cleared.
    pub(crate) bitmap: Vec<u8>,
    /// Counts over the chunks cut.
    pub(crate) stats: ImportStats,
}

pub(crate) fn import(
    store: &ChunkStore,
    src: &dyn GuestSource,
    started: SystemTime,
    hint: Option<&Index>,
) -> Result<(Index, ImportStats)> {
    let config = store.config();
    let extents = source_extents(src)?;
    let out = run(store, src, &extents, started, Scope::Whole(hint))?;
    let index = Index::new(
        src.virtual_size(),
        config.chunker,
        config.key.is_some(),
        out.entries,
        out.bitmap,
    )?;
    Ok((index, out.stats))
}

/// The source's allocation map, normalised to cover `[0, virtual_size)`.
pub(crate) fn source_extents(src: &dyn GuestSource) -> Result<Vec<Extent>> {
    let map = src
        .extents()
        .map_err(|source| Error::Source { offset: 0, source })?;
    normalize_extents(src.virtual_size(), map)
}

/// Runs the pipeline over `scope` of `src` (whose normalised map is `extents`): chunks are
/// stored or touched under the session that started at `started`.
pub(crate) fn run(
    store: &ChunkStore,
    src: &dyn GuestSource,
    extents: &[Extent],
    started: SystemTime,
    scope: Scope<'_>,
) -> Result<Chunked> {
    let config = store.config();
    let virtual_size = src.virtual_size();
    let mut bitmap = bitmap_from_extents(virtual_size, extents);
    let workers = config.workers.max(1);
    let uploaders = config.uploaders.max(1);
    let chunk_threads = config.chunk_threads;
    let (job_tx, job_rx) = bounded::<Job>(workers * 2);
    let (up_tx, up_rx) = bounded::<Upload>(uploaders * 2);
    let (res_tx, res_rx) = bounded::<Done>(256);

    let mut stats = ImportStats {
        virtual_size,
        ..ImportStats::default()
    };
    let mut entries: Vec<IndexEntry> = Vec::new();
    let mut failure: Option<Error> = None;
    thread::scope(|s| {
        let (params, ext, res) = (config.chunker, extents, res_tx.clone());
        s.spawn(move || {
            let sink = ChannelSink {
                jobs: job_tx,
                res: res.clone(),
            };
            let result = if let Scope::Ranges(ranges) = scope {
                let mut n = 0;
                chunk_ranges(src, params, ext, ranges, &mut |chunk| {
                    n += 1;
                    sink.emit(0, n - 1, chunk)
                })
                .and_then(|()| sink.finish(0, n))
            } else if let Scope::Whole(Some(hint)) = scope {
                let mut n = 0;
                chunk_source_hinted(
                    src,
                    params,
                    ext,
                    hint,
                    store.hasher(),
                    &mut |chunk, known| {
                        n += 1;
                        sink.jobs
                            .send(Job {
                                seq: (0, n - 1),
                                chunk,
                                known,
                            })
                            .map_err(|_| Error::Pipeline("import workers stopped"))
                    },
                )
                .and_then(|()| sink.finish(0, n))
            } else if chunk_threads > 1 {
                chunk_parallel(src, params, ext, chunk_threads, &sink)
            } else {
                let mut n = 0;
                chunk_source(src, params, ext, &mut |chunk| {
                    n += 1;
                    sink.emit(0, n - 1, chunk)
                })
                .and_then(|()| sink.finish(0, n))
            };
            if let Err(e) = result {
                let _ = res.send(Done::Failed(e));
            }
        });
        for _ in 0..workers {
            let (jobs, up, res) = (job_rx.clone(), up_tx.clone(), res_tx.clone());
            s.spawn(move || worker(store, started, jobs, up, res));
        }
        for _ in 0..uploaders {
            let (ups, res) = (up_rx.clone(), res_tx.clone());
            s.spawn(move || uploader(store, ups, res));
        }
        drop((job_rx, up_tx, up_rx, res_tx));

        let mut pending: BTreeMap<Seq, (u64, Digest)> = BTreeMap::new();
        let mut counts: HashMap<usize, u64> = HashMap::new();
        let mut next: Seq = (0, 0);
        for done in &res_rx {
            match done {
                Done::Failed(e) => {
                    failure = Some(e);
                    break;
                }
                Done::ItemEnd { item, count } => {
                    counts.insert(item, count);
                }
                Done::Zeros(granules) => {
                    for k in granules {
                        if let Some(byte) = bitmap.get_mut((k / 8) as usize) {
                            *byte &= !(1 << (k % 8));
                        }
                    }
                }
                Done::Entry {
                    seq,
                    end,
                    digest,
                    plain_len,
                    stored,
                } => {
                    if !digest.is_zero() {
                        stats.chunks += 1;
                        stats.data_bytes += plain_len;
                        if let Some(stored) = stored {
                            stats.new_chunks += 1;
                            stats.new_bytes += plain_len;
                            stats.stored_bytes += stored;
                        }
                    }
                    pending.insert(seq, (end, digest));
                }
            }
            loop {
                if let Some((end, digest)) = pending.remove(&next) {
                    entries.push(IndexEntry { end, digest });
                    next.1 += 1;
                } else if counts.get(&next.0) == Some(&next.1) {
                    counts.remove(&next.0);
                    next = (next.0 + 1, 0);
                } else {
                    break;
                }
            }
        }
        // Dropping the receiver makes every sender fail, which stops all threads.
        drop(res_rx);
    });
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(Chunked {
        entries,
        bitmap,
        stats,
    })
}

struct ChannelSink {
    jobs: Sender<Job>,
    res: Sender<Done>,
}

impl Sink for ChannelSink {
    fn emit(&self, item: usize, idx: u64, chunk: RawChunk) -> Result<()> {
        self.jobs
            .send(Job {
                seq: (item, idx),
                chunk,
                known: None,
            })
            .map_err(|_| Error::Pipeline("import workers stopped"))
    }
    fn finish(&self, item: usize, count: u64) -> Result<()> {
        self.res
            .send(Done::ItemEnd { item, count })
            .map_err(|_| Error::Pipeline("import collector stopped"))
    }
}

/// True when the blob is stored and GC will keep it while this session is open: fresh enough
/// already (a `stat`), or touched now (a metadata write).
pub(crate) fn present_and_kept(
    store: &ChunkStore,
    digest: &Digest,
    started: SystemTime,
) -> Result<bool> {
    let backend = store.backend();
    match backend.blob_modified(digest)? {
        None => Ok(false),
        Some(m) if m + store.config().touch_slack >= started => Ok(true),
        Some(_) => backend.touch_blob(digest),
    }
}

fn worker(
    store: &ChunkStore,
    started: SystemTime,
    jobs: Receiver<Job>,
    up: Sender<Upload>,
    res: Sender<Done>,
) {
    let mut compressor = None;
    for Job { seq, chunk, known } in jobs {
        let end = chunk.offset + chunk.len;
        let data = match &chunk.payload {
            Payload::Zero => None,
            Payload::Data(bytes) => Some(&bytes[..]),
        };
        let zeros = zero_granules(chunk.offset, chunk.len, data);
        if !zeros.is_empty() && res.send(Done::Zeros(zeros)).is_err() {
            return;
        }
        let step = match chunk.payload {
            Payload::Zero => Ok(Some(Done::Entry {
                seq,
                end,
                digest: Digest::ZERO,
                plain_len: chunk.len,
                stored: None,
            })),
            Payload::Data(bytes) => {
                let digest = known.unwrap_or_else(|| store.hasher().digest(&bytes));
                let plain_len = bytes.len() as u64;
                match present_and_kept(store, &digest, started) {
                    Ok(true) => Ok(Some(Done::Entry {
                        seq,
                        end,
                        digest,
                        plain_len,
                        stored: None,
                    })),
                    Ok(false) => store
                        .codec()
                        .encode(&digest, &bytes, &mut compressor)
                        .and_then(|blob| {
                            drop(bytes);
                            up.send(Upload {
                                seq,
                                end,
                                digest,
                                plain_len,
                                blob,
                            })
                            .map(|()| None)
                            .map_err(|_| Error::Pipeline("uploaders stopped"))
                        }),
                    Err(e) => Err(e),
                }
            }
        };
        let sent = match step {
            Ok(Some(done)) => res.send(done),
            Ok(None) => Ok(()),
            Err(e) => {
                let _ = res.send(Done::Failed(e));
                return;
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

fn uploader(store: &ChunkStore, ups: Receiver<Upload>, res: Sender<Done>) {
    for Upload {
        seq,
        end,
        digest,
        plain_len,
        blob,
    } in ups
    {
        let done = match store.backend().put_blob(&digest, &blob) {
            Ok(PutOutcome::Stored) => Done::Entry {
                seq,
                end,
                digest,
                plain_len,
                stored: Some(blob.len() as u64),
            },
            Ok(PutOutcome::AlreadyPresent) => Done::Entry {
                seq,
                end,
                digest,
                plain_len,
                stored: None,
            },
            Err(e) => Done::Failed(e),
        };
        let failed = matches!(done, Done::Failed(_));
        if res.send(done).is_err() || failed {
            return;
        }
    }
}

#[cfg(test)]
mod zero_tests {
    use super::*;

    #[test]
    fn only_whole_zero_granules_inside_the_chunk_are_reported() {
        let g = BITMAP_GRANULARITY as usize;
        // A chunk from g/2 to 4g: granules 1, 2 and 3 are whole; 2 has a non-zero byte.
        let mut data = vec![0u8; g * 7 / 2];
        data[g / 2 + g + 5] = 1;
        assert_eq!(
            zero_granules(g as u64 / 2, data.len() as u64, Some(&data)),
            vec![1, 3]
        );
        assert_eq!(zero_granules(0, 2 * g as u64 + 1, None), vec![0, 1]);
        assert_eq!(zero_granules(1, g as u64, None), Vec::<u64>::new());
    }
}
