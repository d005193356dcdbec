//! Reading a stored disk: random `read_at` and a streaming export reader with bounded read-ahead.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use crate::blob::ReadCheck;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::index::Index;
use crate::store::ChunkStore;

/// A fetch request: the chunk and where to send it.
type FetchJob = (Digest, Sender<Result<Vec<u8>>>);
/// A chunk of the stream in order: its entry and, for data chunks, the pending fetch.
type Pending = (usize, Option<Receiver<Result<Vec<u8>>>>);

/// Decoded chunks kept for random reads (small reads that hit the same chunk repeatedly, and
/// concurrent reads of neighbouring ranges that share a chunk).
const CACHE_CHUNKS: usize = 32;

/// Evicted chunk buffers kept for reuse (about as many as reads in flight on a busy disk).
const SPARE_BUFFERS: usize = 8;

/// A cache slot: filled once by whichever reader gets there first; the others wait for it,
/// so a chunk that several concurrent reads need is fetched and decoded once.
type Slot = Arc<OnceLock<Option<Arc<Vec<u8>>>>>;

/// Reads guest bytes from one index. Every byte returned passed its digest check, unless
/// [`DiskReader::with_check`] chose [`ReadCheck::Stored`]; the CRC-32 of the stored bytes (and
/// the AES-GCM tag of encrypted blobs) is checked on every read either way.
#[derive(Debug)]
pub struct DiskReader {
    store: ChunkStore,
    index: Arc<Index>,
    check: ReadCheck,
    cache: Mutex<VecDeque<(Digest, Slot)>>,
    /// Buffers of chunks evicted from the cache, reused for the next ones: a fresh one costs a
    /// zeroing pass and a page fault per 4 KiB (a tenth of a sequential read's CPU).
    spare: Mutex<Vec<Vec<u8>>>,
}

impl DiskReader {
    /// A reader over `index` that checks every chunk's digest.
    pub fn new(store: ChunkStore, index: Arc<Index>) -> Self {
        DiskReader {
            store,
            index,
            check: ReadCheck::Digest,
            cache: Mutex::new(VecDeque::new()),
            spare: Mutex::new(Vec::new()),
        }
    }

    /// The same reader with `read_at` checking chunks as `check` says. (Streams always check
    /// digests: their bytes leave the store as files.)
    pub fn with_check(mut self, check: ReadCheck) -> Self {
        self.check = check;
        self
    }

    /// The index.
    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// The store it reads from.
    pub fn store(&self) -> &ChunkStore {
        &self.store
    }

    /// One chunk decoded, through the cache, in the first `len` bytes (its length in the
    /// index) of the buffer returned.
    fn chunk(&self, digest: &Digest, len: usize) -> Result<Arc<Vec<u8>>> {
        let (slot, evicted) = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            match cache.iter().find(|(d, _)| d == digest) {
                Some((_, slot)) => (slot.clone(), None),
                None => {
                    let evicted = if cache.len() >= CACHE_CHUNKS {
                        cache.pop_front()
                    } else {
                        None
                    };
                    let slot = Slot::default();
                    cache.push_back((*digest, slot.clone()));
                    (slot, evicted)
                }
            }
        };
        if let Some((_, old)) = evicted {
            self.recycle(old);
        }
        let mut failure = None;
        let got = slot
            .get_or_init(|| match self.read_chunk(digest, len) {
                Ok(data) => Some(Arc::new(data)),
                Err(e) => {
                    failure = Some(e);
                    None
                }
            })
            .clone();
        if let Some(data) = got {
            return Ok(data);
        }
        // A failed read is not remembered: the slot goes, and a reader that only waited for
        // it reads again to get its own error.
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(_, s)| !Arc::ptr_eq(s, &slot));
        match failure {
            Some(e) => Err(e),
            None => self.read_chunk(digest, len).map(Arc::new),
        }
    }

    /// One chunk decoded into a buffer that holds it in its first `len` bytes (a reused buffer
    /// keeps its longer length, so that reusing it never zeroes what the read overwrites).
    fn read_chunk(&self, digest: &Digest, len: usize) -> Result<Vec<u8>> {
        let mut data = self
            .spare
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default();
        if data.len() < len {
            data.resize(len, 0);
        }
        self.store
            .read_chunk_into(digest, self.check, &mut data[..len])?;
        Ok(data)
    }

    /// Keeps the buffer of an evicted slot for the next chunk, unless a reader still holds it.
    fn recycle(&self, slot: Slot) {
        let Some(Some(data)) = Arc::try_unwrap(slot).ok().and_then(OnceLock::into_inner) else {
            return;
        };
        if let Ok(buf) = Arc::try_unwrap(data) {
            let mut spare = self.spare.lock().unwrap_or_else(|p| p.into_inner());
            if spare.len() < SPARE_BUFFERS {
                spare.push(buf);
            }
        }
    }

    /// Fills `buf` with the guest bytes at `offset`. Fails with a typed error, never with wrong bytes.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let len = buf.len() as u64;
        let vsize = self.index.virtual_size();
        if offset.checked_add(len).is_none_or(|end| end > vsize) {
            return Err(Error::OutOfRange {
                offset,
                len,
                virtual_size: vsize,
            });
        }
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let i = self.index.find(pos).ok_or(Error::OutOfRange {
                offset,
                len,
                virtual_size: vsize,
            })?;
            let (start, entry) = (self.index.entry_start(i), self.index.entries()[i]);
            let n = ((entry.end - pos) as usize).min(buf.len() - done);
            let dst = &mut buf[done..done + n];
            if entry.digest.is_zero() {
                dst.fill(0);
            } else if pos == start && n as u64 == entry.end - start {
                // The whole chunk lands in this read, so no neighbouring read shares it: decode
                // it in place, skipping the cache and a copy.
                self.store.read_chunk_into(&entry.digest, self.check, dst)?;
            } else {
                let data = self.chunk(&entry.digest, (entry.end - start) as usize)?;
                let from = (pos - start) as usize;
                let src = data.get(from..from + n).ok_or(Error::CorruptChunk {
                    digest: entry.digest,
                    reason: "chunk shorter than its index entry",
                })?;
                dst.copy_from_slice(src);
            }
            done += n;
        }
        Ok(())
    }

    /// Streams the chunks overlapping `[start, end)` in order, fetching up to the store's
    /// `read_ahead` chunks in parallel ahead of the consumer.
    pub fn stream(&self, start: u64, end: u64) -> Result<ChunkStream> {
        let vsize = self.index.virtual_size();
        if start > end || end > vsize {
            return Err(Error::OutOfRange {
                offset: start,
                len: end.saturating_sub(start),
                virtual_size: vsize,
            });
        }
        let depth = self.store.config().read_ahead.max(1);
        let (job_tx, job_rx) = unbounded::<FetchJob>();
        for _ in 0..depth {
            let (store, jobs) = (self.store.clone(), job_rx.clone());
            thread::spawn(move || fetcher(store, jobs));
        }
        let first = if start == end {
            self.index.entries().len()
        } else {
            self.index.find(start).unwrap_or(0)
        };
        Ok(ChunkStream {
            index: self.index.clone(),
            start,
            end,
            next_entry: first,
            job_tx: Some(job_tx),
            pending: VecDeque::new(),
            depth,
        })
    }

    /// A `Read` over `[0, virtual_size)` (zeros for ZERO chunks) for writers that take a stream.
    pub fn reader(&self) -> Result<StreamReader> {
        Ok(StreamReader {
            stream: self.stream(0, self.index.virtual_size())?,
            current: None,
            pos: 0,
        })
    }
}

fn fetcher(store: ChunkStore, jobs: Receiver<FetchJob>) {
    for (digest, reply) in jobs {
        let _ = reply.send(store.read_chunk(&digest));
    }
}

/// One piece of a stream: `[offset, offset + len)` of the guest disk.
#[derive(Debug, Clone)]
pub struct StreamChunk {
    /// Guest offset.
    pub offset: u64,
    /// Length.
    pub len: u64,
    /// The bytes, or `None` for zeros.
    pub data: Option<Arc<Vec<u8>>>,
}

/// Chunks of a disk in order, with bounded parallel read-ahead. Yields an error for a missing or
/// corrupt chunk and ends there.
#[derive(Debug)]
pub struct ChunkStream {
    index: Arc<Index>,
    start: u64,
    end: u64,
    next_entry: usize,
    job_tx: Option<Sender<FetchJob>>,
    pending: VecDeque<Pending>,
    depth: usize,
}

impl ChunkStream {
    fn fill(&mut self) {
        let entries = self.index.entries();
        while self.pending.len() < self.depth
            && self.next_entry < entries.len()
            && self.index.entry_start(self.next_entry) < self.end
        {
            let i = self.next_entry;
            let rx = if entries[i].digest.is_zero() {
                None
            } else {
                let (tx, rx) = bounded(1);
                if let Some(jobs) = &self.job_tx {
                    let _ = jobs.send((entries[i].digest, tx));
                }
                Some(rx)
            };
            self.pending.push_back((i, rx));
            self.next_entry += 1;
        }
    }
}

impl ChunkStream {
    fn stop(&mut self, e: Error) -> Option<Result<StreamChunk>> {
        self.pending.clear();
        self.next_entry = self.index.entries().len();
        self.job_tx = None;
        Some(Err(e))
    }
}

impl Iterator for ChunkStream {
    type Item = Result<StreamChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        self.fill();
        let (i, rx) = self.pending.pop_front()?;
        let entry = self.index.entries()[i];
        let (cstart, cend) = (self.index.entry_start(i), entry.end);
        let (lo, hi) = (cstart.max(self.start), cend.min(self.end));
        let data = match rx {
            None => None,
            Some(rx) => match rx
                .recv()
                .unwrap_or(Err(Error::Pipeline("export fetcher stopped")))
            {
                Ok(data) if data.len() as u64 == cend - cstart => {
                    if lo == cstart && hi == cend {
                        Some(Arc::new(data))
                    } else {
                        Some(Arc::new(
                            data[(lo - cstart) as usize..(hi - cstart) as usize].to_vec(),
                        ))
                    }
                }
                Ok(_) => {
                    return self.stop(Error::CorruptChunk {
                        digest: entry.digest,
                        reason: "chunk length mismatch",
                    });
                }
                Err(e) => return self.stop(e),
            },
        };
        Some(Ok(StreamChunk {
            offset: lo,
            len: hi - lo,
            data,
        }))
    }
}

/// `std::io::Read` over a [`ChunkStream`]; errors come back as `io::Error` wrapping [`Error`].
#[derive(Debug)]
pub struct StreamReader {
    stream: ChunkStream,
    current: Option<StreamChunk>,
    pos: u64,
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(c) = &self.current
                && self.pos < c.len
            {
                let n = ((c.len - self.pos) as usize).min(buf.len());
                match &c.data {
                    Some(d) => {
                        buf[..n].copy_from_slice(&d[self.pos as usize..self.pos as usize + n])
                    }
                    None => buf[..n].fill(0),
                }
                self.pos += n as u64;
                return Ok(n);
            }
            match self.stream.next() {
                None => return Ok(0),
                Some(Err(e)) => return Err(io::Error::other(e)),
                Some(Ok(c)) => {
                    self.current = Some(c);
                    self.pos = 0;
                }
            }
        }
    }
}
