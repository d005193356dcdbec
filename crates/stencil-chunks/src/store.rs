//! The store: configuration, chunk reads, indexes, and writer sessions.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::backend::{BlobRead, ChunkBackend, Namespace, PutOutcome};
use crate::blob::{self, BlobCodec, ReadCheck};
use crate::delta::import_delta;
use crate::digest::{ChunkHasher, Digest};
use crate::error::{Error, Result};
use crate::import::{ImportStats, import};
use crate::index::{ChunkerParams, Index};
use crate::source::GuestSource;

/// Version line of a session record.
pub const SESSION_RECORD_V1: &str = "stencil-chunks session v1";

/// Per-store options. All processes sharing a store must use the same chunker and key.
#[derive(Clone)]
pub struct StoreConfig {
    /// How guest bytes are cut (FastCDC by default, fixed 4 MiB as an option).
    pub chunker: ChunkerParams,
    /// zstd (level 2, uncompressed literals) per chunk, kept raw when it saves less than 3 %.
    pub compress: bool,
    /// Master key: enables keyed digests and AES-256-GCM.
    pub key: Option<[u8; 32]>,
    /// Hash/compress worker threads of the import pipeline.
    pub workers: usize,
    /// Chunking threads: 1 cuts sequentially; more cut 32 MiB segments in parallel (exactly the
    /// same cuts; worth it with 4+ cores).
    pub chunk_threads: usize,
    /// A stored blob modified less than this before the session started is re-used without a
    /// touch (a metadata write); GC widens its margin to at least this, so it stays safe.
    pub touch_slack: Duration,
    /// Threads that write blobs to the backend (I/O bound: fsync or PUT latency).
    pub uploaders: usize,
    /// Parallel chunk fetches of an export stream, and chunks read ahead.
    pub read_ahead: usize,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("chunker", &self.chunker)
            .field("compress", &self.compress)
            .field("encrypted", &self.key.is_some())
            .field("workers", &self.workers)
            .field("chunk_threads", &self.chunk_threads)
            .field("uploaders", &self.uploaders)
            .field("read_ahead", &self.read_ahead)
            .field("touch_slack", &self.touch_slack)
            .finish()
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            chunker: ChunkerParams::DEFAULT_CDC,
            compress: true,
            key: None,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            // Measured on 2 cores: parallel segments cost ~70 % more CPU (overlap re-reads, held
            // chunks) and win nothing there; they pay off with 4+ cores.
            chunk_threads: 1,
            uploaders: 8,
            touch_slack: Duration::from_secs(60),
            read_ahead: 4,
        }
    }
}

/// A chunk store over one backend. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ChunkStore {
    backend: Arc<dyn ChunkBackend>,
    config: StoreConfig,
    hasher: ChunkHasher,
    codec: BlobCodec,
}

impl ChunkStore {
    /// A store over `backend`.
    pub fn new(backend: Arc<dyn ChunkBackend>, config: StoreConfig) -> Result<Self> {
        config.chunker.validate()?;
        let hasher = config
            .key
            .as_ref()
            .map_or_else(ChunkHasher::plain, ChunkHasher::keyed);
        let codec = BlobCodec::new(config.compress, config.key.as_ref());
        Ok(ChunkStore {
            backend,
            config,
            hasher,
            codec,
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn ChunkBackend> {
        &self.backend
    }
    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }
    /// How this store names chunks.
    pub fn hasher(&self) -> &ChunkHasher {
        &self.hasher
    }
    pub(crate) fn codec(&self) -> &BlobCodec {
        &self.codec
    }

    /// Registers a writer session (visible to GC in every process) and returns it.
    pub fn begin_session(&self) -> Result<WriteSession> {
        let started = SystemTime::now();
        let id = format!(
            "{:016x}-{}-{:08x}",
            unix_nanos(started),
            std::process::id(),
            rand::random::<u32>()
        );
        let record = format!(
            "{SESSION_RECORD_V1}\nstarted_unix_ns={}\n",
            unix_nanos(started)
        );
        self.backend
            .put_object(Namespace::Session, &id, record.as_bytes())?;
        Ok(WriteSession {
            store: self.clone(),
            id,
            started,
            open: true,
        })
    }

    /// Reads, checks and decodes one chunk.
    pub fn read_chunk(&self, digest: &Digest) -> Result<Vec<u8>> {
        let blob = self.backend.get_blob(digest)?;
        self.codec.decode(digest, &self.hasher, blob)
    }

    /// Reads, checks and decodes one chunk straight into `out`, which must be exactly the
    /// chunk's length. `check` says whether the digest is recomputed too.
    pub fn read_chunk_into(&self, digest: &Digest, check: ReadCheck, out: &mut [u8]) -> Result<()> {
        thread_local! {
            /// The stored blob, read into one buffer per thread (no allocation and page faults
            /// per chunk).
            static BLOB: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BLOB.with(|cell| {
            let mut blob = cell.borrow_mut();
            match self.backend.get_blob_direct(digest, &mut blob, out)? {
                BlobRead::Direct => {
                    let head = &blob[..blob::BLOB_HEADER_LEN];
                    self.codec
                        .check_plain_read(digest, &self.hasher, check, head, out)
                }
                BlobRead::InBuffer(len) => {
                    self.codec
                        .decode_into(digest, &self.hasher, check, &mut blob[..len], out)
                }
            }
        })
    }

    /// The digests (ZERO excluded) that the store lacks, in input order.
    pub fn missing(&self, digests: &[Digest]) -> Result<Vec<Digest>> {
        let wanted: Vec<Digest> = digests.iter().copied().filter(|d| !d.is_zero()).collect();
        self.backend.missing(&wanted)
    }

    /// Loads and checks a committed index.
    pub fn load_index(&self, name: &str) -> Result<Index> {
        let bytes = self
            .backend
            .get_object(Namespace::Index, name)?
            .ok_or_else(|| Error::IndexNotFound {
                name: name.to_string(),
            })?;
        Index::decode(name, &bytes)
    }

    /// Names of all committed indexes.
    pub fn list_indexes(&self) -> Result<Vec<String>> {
        self.backend.list_objects(Namespace::Index)
    }

    /// Deletes a committed index; its chunks go at the next GC unless something else uses them.
    pub fn delete_index(&self, name: &str) -> Result<()> {
        self.backend.delete_object(Namespace::Index, name)
    }

    /// A blob exactly as stored (for cross-region copy: blobs are position-independent).
    pub fn stored_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.backend.get_blob(digest)
    }

    /// Accepts blobs sent as stored by another store with the same key, made durable
    /// together: checks that each arrived exactly as the sender stored it (header, lengths and
    /// the CRC-32 over every stored byte), then puts them. The digest itself is checked where
    /// the bytes are used: every read decodes and hashes the chunk, and so does `verify`.
    /// (Decoding on arrival too would cost a zstd decode and a BLAKE3 pass per chunk, about
    /// 2.5x the CPU of the copy itself here, to find only a sender-side mismatch that any read
    /// still refuses.)
    pub fn receive_blobs(
        &self,
        _session: &WriteSession,
        blobs: &[(Digest, Vec<u8>)],
    ) -> Result<Vec<PutOutcome>> {
        for (digest, blob) in blobs {
            blob::check_stored(digest, blob)?;
        }
        self.backend.put_blobs(blobs)
    }
}

/// An open writer: while it exists, GC keeps every blob it wrote or touched. Dropping it without
/// [`WriteSession::finish`] still removes its record (best effort); a killed process leaves the
/// record, which GC ignores once older than `GcOptions::session_expiry`.
#[derive(Debug)]
pub struct WriteSession {
    store: ChunkStore,
    id: String,
    started: SystemTime,
    open: bool,
}

impl WriteSession {
    /// The session id (the name of its record).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The store the session writes to.
    pub fn store(&self) -> &ChunkStore {
        &self.store
    }
    /// When the session started.
    pub fn started(&self) -> SystemTime {
        self.started
    }

    /// Imports a guest disk: chunks go to the store now; the returned index is not committed.
    pub fn import(&self, src: &dyn GuestSource) -> Result<(Index, ImportStats)> {
        import(&self.store, src, self.started, None)
    }

    /// Like [`WriteSession::import`], taking the cuts of `hint` (an index of an earlier
    /// version of the same disk) wherever the bytes still match it: content the store already
    /// holds is then re-imported at hashing speed instead of chunking speed. The result is
    /// correct for any hint.
    pub fn import_with_hint(
        &self,
        src: &dyn GuestSource,
        hint: &Index,
    ) -> Result<(Index, ImportStats)> {
        import(&self.store, src, self.started, Some(hint))
    }

    /// Imports `src`, a newer version of the disk stored as `base` (an index of this store), where
    /// only the byte ranges in `dirty` (in any order, possibly overlapping or unaligned, each
    /// inside the disk) can differ from `base`.
    ///
    /// Each dirty range is widened to the base's data entries it touches (a ZERO entry is split
    /// instead), overlapping widened ranges are merged, and the resulting ranges are chunked as
    /// the store's config says (holes and zero runs become ZERO entries) and stored like
    /// [`Self::import`] does, all in one pipeline run. Every other base entry is reused as it is:
    /// not read, not hashed; its chunk is checked and touched so GC keeps it until the commit
    /// (re-chunked from `src` if the store lacks it). The allocation bitmap keeps the base's bits
    /// outside the re-chunked ranges and takes `src`'s inside them. The returned index is not
    /// committed; the stats count the re-chunked ranges only (`virtual_size` is the disk's).
    ///
    /// Errors when `src`'s virtual size differs from `base`'s or a range ends past it. When
    /// `base` was cut by another chunker, or keyed differently from this store, nothing can be
    /// shared and this is a full [`Self::import`] (its stats then count the whole disk).
    pub fn import_delta(
        &self,
        base: &Index,
        src: &dyn GuestSource,
        dirty: &[Range<u64>],
    ) -> Result<(Index, ImportStats)> {
        import_delta(&self.store, self.started, base, src, dirty)
    }

    /// Commits an index under `name`: checks that every chunk it names is stored, makes the
    /// chunks durable, then writes the index. Committing identical bytes again is a no-op.
    pub fn commit(&self, name: &str, index: &Index) -> Result<()> {
        let missing = self.store.missing(&index.data_digests())?;
        if let Some(digest) = missing.first() {
            return Err(Error::MissingChunk { digest: *digest });
        }
        self.store.backend.sync()?;
        let bytes = index.encode();
        match self.store.backend.get_object(Namespace::Index, name)? {
            Some(existing) if existing == bytes => Ok(()),
            Some(_) => Err(Error::IndexExists {
                name: name.to_string(),
            }),
            None => self
                .store
                .backend
                .put_object(Namespace::Index, name, &bytes),
        }
    }

    /// Closes the session (removes its record).
    pub fn finish(mut self) -> Result<()> {
        self.open = false;
        self.store
            .backend
            .delete_object(Namespace::Session, &self.id)
    }
}

impl Drop for WriteSession {
    fn drop(&mut self) {
        if self.open {
            let _ = self
                .store
                .backend
                .delete_object(Namespace::Session, &self.id);
        }
    }
}

/// A session record as GC reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Record name.
    pub id: String,
    /// Start time, or `None` if the record is unreadable (GC then treats it as starting at the epoch,
    /// which blocks sweeping until it expires or is removed).
    pub started: Option<SystemTime>,
}

/// Reads all session records.
pub fn list_sessions(backend: &dyn ChunkBackend) -> Result<Vec<SessionInfo>> {
    let mut out = Vec::new();
    for id in backend.list_objects(Namespace::Session)? {
        let Some(bytes) = backend.get_object(Namespace::Session, &id)? else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines();
        let started = if lines.next() == Some(SESSION_RECORD_V1) {
            lines
                .find_map(|l| l.strip_prefix("started_unix_ns="))
                .and_then(|n| n.parse::<u64>().ok())
                .map(|n| UNIX_EPOCH + Duration::from_nanos(n))
        } else {
            None
        };
        out.push(SessionInfo { id, started });
    }
    Ok(out)
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
