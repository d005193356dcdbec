//! Where blobs, indexes and writer-session records live. One trait, two implementations, one
//! conformance suite (`tests/backend_conformance.rs`) run against both.
//!
//! Every method blocks. From async code call them inside `spawn_blocking`.

use std::fmt::Debug;
use std::time::SystemTime;

use crate::digest::Digest;
use crate::error::{Error, Result};

pub mod io_runtime;
pub mod local;
pub mod object;

/// The kinds of small named objects a backend keeps beside the blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// Committed indexes (`indexes/<name>.idx`).
    Index,
    /// Open writer sessions (`sessions/<id>.session`), read by GC.
    Session,
}

impl Namespace {
    /// Directory / key prefix of the namespace.
    pub fn dir(self) -> &'static str {
        match self {
            Namespace::Index => "indexes",
            Namespace::Session => "sessions",
        }
    }
    /// File / key suffix of the namespace.
    pub fn suffix(self) -> &'static str {
        match self {
            Namespace::Index => ".idx",
            Namespace::Session => ".session",
        }
    }
}

/// A stored blob as listed for GC and verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobInfo {
    /// The blob's name.
    pub digest: Digest,
    /// Stored size in bytes.
    pub size: u64,
    /// Last write or touch.
    pub modified: SystemTime,
}

/// Where [`ChunkBackend::get_blob_direct`] put a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobRead {
    /// The header at the start of the buffer, the body in the caller's output.
    Direct,
    /// The whole blob in the first this many bytes of the buffer.
    InBuffer(usize),
}

/// What `put_blob` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The blob was written.
    Stored,
    /// A blob with this name already existed; it was touched, not overwritten.
    AlreadyPresent,
}

/// Storage for one chunk store.
pub trait ChunkBackend: Send + Sync + Debug {
    /// Stores a blob unless one with this name exists, in which case it is touched (its modified
    /// time refreshed, so a concurrent GC keeps it). Never exposes a partial blob under its name.
    /// Never relies on conditional PUT.
    fn put_blob(&self, digest: &Digest, blob: &[u8]) -> Result<PutOutcome>;
    /// Stores several blobs like [`ChunkBackend::put_blob`] each; a backend may make them
    /// durable together (one file-system sync for the batch instead of one per blob).
    fn put_blobs(&self, blobs: &[(Digest, Vec<u8>)]) -> Result<Vec<PutOutcome>> {
        blobs.iter().map(|(d, b)| self.put_blob(d, b)).collect()
    }
    /// Reads a blob as stored. [`Error::MissingChunk`] if absent.
    fn get_blob(&self, digest: &Digest) -> Result<Vec<u8>>;
    /// Reads a blob as stored into `buf` (cleared first), so a reader can reuse one buffer.
    fn get_blob_into(&self, digest: &Digest, buf: &mut Vec<u8>) -> Result<()> {
        *buf = self.get_blob(digest)?;
        Ok(())
    }
    /// Reads a blob as stored into buffers that keep their length from one call to the next
    /// (reusing them zeroes nothing): when it holds plain bytes (see
    /// [`crate::blob::plain_body_len`]) exactly `direct.len()` long, its header goes into the
    /// first [`crate::blob::BLOB_HEADER_LEN`] bytes of `buf` and its body straight into
    /// `direct` ([`BlobRead::Direct`]: a local file is read without a copy through `buf`);
    /// otherwise the whole blob goes into the start of `buf` ([`BlobRead::InBuffer`]). `buf`
    /// is only ever lengthened.
    fn get_blob_direct(
        &self,
        digest: &Digest,
        buf: &mut Vec<u8>,
        direct: &mut [u8],
    ) -> Result<BlobRead> {
        let _ = direct;
        self.get_blob_into(digest, buf)?;
        Ok(BlobRead::InBuffer(buf.len()))
    }
    /// Refreshes the modified time of a blob; `false` if it does not exist.
    fn touch_blob(&self, digest: &Digest) -> Result<bool>;
    /// The modified time of a blob, read now; `None` if absent.
    fn blob_modified(&self, digest: &Digest) -> Result<Option<SystemTime>>;
    /// The subset of `digests` that is not stored, in input order.
    fn missing(&self, digests: &[Digest]) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for d in digests {
            if self.blob_modified(d)?.is_none() {
                out.push(*d);
            }
        }
        Ok(out)
    }
    /// Calls `f` for every stored blob (any order).
    fn list_blobs(&self, f: &mut dyn FnMut(BlobInfo) -> Result<()>) -> Result<()>;
    /// Deletes a blob (no error if absent).
    fn delete_blob(&self, digest: &Digest) -> Result<()>;
    /// Makes every blob put or touched so far by this process durable (before an index names them).
    fn sync(&self) -> Result<()>;
    /// Removes temp files older than `older_than` left by killed writers; returns how many.
    fn sweep_temp(&self, older_than: SystemTime) -> Result<usize> {
        let _ = older_than;
        Ok(0)
    }
    /// Atomically writes (or replaces) a named object.
    fn put_object(&self, ns: Namespace, name: &str, bytes: &[u8]) -> Result<()>;
    /// Reads a named object; `None` if absent.
    fn get_object(&self, ns: Namespace, name: &str) -> Result<Option<Vec<u8>>>;
    /// Names of all objects in a namespace.
    fn list_objects(&self, ns: Namespace) -> Result<Vec<String>>;
    /// Deletes a named object (no error if absent).
    fn delete_object(&self, ns: Namespace, name: &str) -> Result<()>;
}

/// Object names: 1–200 characters of `[A-Za-z0-9._-]`, not starting with a dot.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!("bad object name {name:?}")))
    }
}

/// The 4-hex-digit prefix directory of a digest.
pub fn prefix_of(digest: &Digest) -> String {
    digest.to_hex()[..4].to_string()
}
