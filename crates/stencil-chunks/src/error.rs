//! Error kinds of the chunk store: a stable kind, context, and the source.

use std::path::PathBuf;

use crate::digest::Digest;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Boxed error from a [`crate::GuestSource`] implementation (the formats crate's own error type).
pub type SourceError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in the chunk store. Callers branch on the variant.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A local file system operation failed.
    #[error("I/O error during {op} on {}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An object store operation failed.
    #[error("Object store error during {op} on {key}")]
    ObjectStore {
        op: &'static str,
        key: String,
        #[source]
        source: object_store::Error,
    },
    /// A chunk named by an index is not in the store.
    #[error("Chunk {digest} is missing")]
    MissingChunk { digest: Digest },
    /// A stored blob failed its checksum, decryption or digest check. Its bytes are never returned.
    #[error("Chunk {digest} is corrupt: {reason}")]
    CorruptChunk {
        digest: Digest,
        reason: &'static str,
    },
    /// An index object could not be parsed or failed its integrity check.
    #[error("Index {name} is invalid: {reason}")]
    BadIndex { name: String, reason: String },
    /// The named index does not exist.
    #[error("Index {name} does not exist")]
    IndexNotFound { name: String },
    /// An index with the same name and different content already exists (indexes are immutable).
    #[error("Index {name} already exists with different content")]
    IndexExists { name: String },
    /// The guest source failed to report its map or to read.
    #[error("Guest source failed at offset {offset:#x}")]
    Source {
        offset: u64,
        #[source]
        source: SourceError,
    },
    /// The guest source reported an allocation map that does not fit its virtual size.
    #[error("Invalid allocation map: {reason}")]
    BadExtents { reason: String },
    /// A read asked for bytes past the end of the virtual disk.
    #[error("Read of {len} bytes at {offset:#x} is past the virtual size {virtual_size:#x}")]
    OutOfRange {
        offset: u64,
        len: u64,
        virtual_size: u64,
    },
    /// A caller-supplied name or parameter is not acceptable.
    #[error("Invalid argument: {0}")]
    InvalidArgument(String),
    /// The blob needs the store key and none was configured (or the wrong one was).
    #[error("Chunk {digest} is encrypted and the store has no key for it")]
    KeyRequired { digest: Digest },
    /// A worker thread of the pipeline panicked or disconnected.
    #[error("Pipeline worker failed: {0}")]
    Pipeline(&'static str),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
