//! Buckets: the stand-in for OSS buckets that ImportImage reads from and ExportImage writes into.
//!
//! A bucket is a flat namespace of objects named by keys (`images/ubuntu.qcow2`), behind one
//! blocking trait with two implementations:
//!
//! | url                   | implementation | an object is                                        |
//! |-----------------------|----------------|-----------------------------------------------------|
//! | `file:///srv/images`  | [`FileBucket`]   | the plain file `<dir>/<key>`: users upload with `cp` |
//! | `s3://bucket/prefix`  | [`ObjectBucket`] | the S3 object `<prefix>/<key>` in any S3-compatible store |
//!
//! ```text
//!  ImportImage ──open_image(key)──▶ Box<dyn DiskReader>   file: pread on the file (holes kept)
//!                                                          s3:   ranged GETs through a 4 × 4 MiB
//!                                                                LRU block cache
//!  ExportImage ──create(key)──▶ ObjectWriter ──write…──finish()──▶ visible under key
//!                                  │                               file: temp file, fsync, rename
//!                                  └─abort() / drop──▶ nothing     s3:   one PUT, or a multipart
//!                                                                        upload (aborted on drop)
//! ```
//!
//! Keys are checked the same way everywhere ([`check_key`]): not empty, at most 1023 bytes, no
//! control characters, no leading or trailing `/`, no empty, `.` or `..` path components. File
//! buckets also refuse components starting with `.` (their temp files are
//! `.<name>.stencil-tmp-<random>` beside the target, and [`Bucket::list`] skips dot files) and
//! anything that resolves outside the bucket directory through a symlink.
//!
//! Threads: every method blocks. Object buckets run their requests on a small tokio runtime
//! of their own and wait for the answer on a channel, so calling them from a plain thread,
//! from `spawn_blocking`, or (wastefully) from an async task never panics, and dropping a
//! bucket anywhere is fine.

mod file;
mod keys;
mod object;
mod range;
mod upload;

pub mod conformance;

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

pub use file::FileBucket;
pub use keys::{MAX_KEY_LEN, check_key};
pub use object::{DEFAULT_PART_SIZE, ObjectBucket};

use stencil_formats::{DiskReader, Format};

/// One bucket: objects named by keys. All methods block; see the module docs.
pub trait Bucket: Send + Sync + std::fmt::Debug {
    /// The bucket name requests use (`OSSBucket`).
    fn name(&self) -> &str;
    /// The region the bucket is in.
    fn region(&self) -> &str;
    /// Size of the object, or `None` if there is none.
    fn head(&self, key: &str) -> Result<Option<u64>, BucketError>;
    /// A format reader over the object: detects the format and checks it against `declared`.
    /// [`BucketError::Format`] means the object is not a usable image; failures to read it
    /// are [`BucketError::Io`] or [`BucketError::Store`].
    fn open_image(
        &self,
        key: &str,
        declared: Option<Format>,
    ) -> Result<Box<dyn DiskReader>, BucketError>;
    /// A sequential writer. Nothing is visible under `key` until
    /// [`ObjectWriter::finish`] succeeds, which replaces any object there; dropping the
    /// writer or calling [`ObjectWriter::abort`] leaves nothing behind.
    fn create(&self, key: &str) -> Result<Box<dyn ObjectWriter>, BucketError>;
    /// The whole object in memory (small objects and tests).
    fn get(&self, key: &str) -> Result<Vec<u8>, BucketError>;
    /// Streams the object into `to` and returns its size.
    fn download(&self, key: &str, to: &mut dyn io::Write) -> Result<u64, BucketError>;
    /// Removes the object; an absent object is not an error.
    fn delete(&self, key: &str) -> Result<(), BucketError>;
    /// Every object whose key starts with `prefix` (a plain string prefix, as in S3), with
    /// its size, sorted by key.
    fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, BucketError>;
    /// Removes what writers of `key` killed before `finish` or `abort` left behind (a file
    /// bucket's temp files). Only call it when no writer of `key` runs. Object stores clean
    /// up unfinished multipart uploads with their own lifecycle rules, so the default does
    /// nothing.
    fn discard_partial(&self, key: &str) -> Result<(), BucketError> {
        let _ = key;
        Ok(())
    }
}

/// The writer [`Bucket::create`] returns.
pub trait ObjectWriter: io::Write + Send {
    /// Makes the object visible under its key and returns its size.
    fn finish(self: Box<Self>) -> Result<u64, BucketError>;
    /// Discards everything written; nothing appears under the key.
    fn abort(self: Box<Self>);
}

/// What a bucket operation can fail with. Callers branch on the variant.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    /// The object does not exist.
    #[error("Object {key:?} does not exist in bucket {bucket:?}")]
    NotFound { bucket: String, key: String },
    /// The key breaks a rule of [`check_key`] (or of file buckets).
    #[error("Invalid object key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    /// The object is not a usable image (unknown or unsupported format, declared format
    /// mismatch, corrupt metadata). The source names `<bucket>/<key>` as its path.
    #[error("Object is not a usable image")]
    Format(#[source] stencil_formats::Error),
    /// A local file operation failed, or reading an image's bytes failed.
    #[error("Cannot {op} object {key:?} in bucket {bucket:?}")]
    Io {
        bucket: String,
        key: String,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// The object store refused or failed a request (boxed: the store error is large).
    #[error("Object store failed to {op} {key:?} in bucket {bucket:?}")]
    Store {
        bucket: String,
        key: String,
        op: &'static str,
        #[source]
        source: Box<object_store::Error>,
    },
    /// The bucket's configuration cannot be used (bad url, half a key pair, ...).
    #[error("Bucket {bucket:?} is misconfigured: {reason}")]
    InvalidSpec { bucket: String, reason: String },
}

impl BucketError {
    /// A format error from opening `<bucket>/<key>`: I/O failures underneath stay I/O errors,
    /// so a flaky store is never reported as a bad image.
    fn from_format(bucket: &str, key: &str, e: stencil_formats::Error) -> Self {
        if e.kind() == stencil_formats::ErrorKind::Io {
            BucketError::Io {
                bucket: bucket.to_string(),
                key: key.to_string(),
                op: "read",
                source: io::Error::other(e),
            }
        } else {
            BucketError::Format(e)
        }
    }
}

/// How to reach one bucket; the `[[bucket]]` section of the config file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucketSpec {
    /// The bucket name requests use.
    pub name: String,
    /// The region the bucket is in.
    pub region: String,
    /// `file://DIR` or `s3://BUCKET[/PREFIX]`.
    pub url: String,
    /// S3 endpoint URL (`http://` is allowed); `s3://` only.
    pub endpoint: Option<String>,
    /// S3 access key id; give both keys or neither (anonymous requests).
    pub access_key_id: Option<String>,
    /// S3 secret access key.
    pub secret_access_key: Option<String>,
    /// S3 signing region (default `us-east-1`).
    pub s3_region: Option<String>,
}

/// Opens the bucket `spec` describes: a directory for `file://` (created if missing), an
/// S3-compatible store for `s3://` (path-style requests; no request is made here).
pub fn open_bucket(spec: &BucketSpec) -> Result<Arc<dyn Bucket>, BucketError> {
    let invalid = |reason: String| BucketError::InvalidSpec {
        bucket: spec.name.clone(),
        reason,
    };
    if let Some(dir) = spec.url.strip_prefix("file://") {
        let s3_option = [
            ("endpoint", &spec.endpoint),
            ("access_key_id", &spec.access_key_id),
            ("secret_access_key", &spec.secret_access_key),
            ("s3_region", &spec.s3_region),
        ]
        .into_iter()
        .find(|(_, v)| v.is_some());
        if let Some((option, _)) = s3_option {
            return Err(invalid(format!("{option} applies to s3:// urls only")));
        }
        if dir.is_empty() {
            return Err(invalid("file:// url names no directory".into()));
        }
        let bucket = FileBucket::open(&spec.name, &spec.region, dir)?;
        return Ok(Arc::new(bucket));
    }
    if spec.url.starts_with("s3://") {
        return Ok(Arc::new(ObjectBucket::open_s3(spec)?));
    }
    Err(invalid(format!(
        "url {:?} must start with file:// or s3://",
        spec.url
    )))
}

/// The configured buckets by name.
#[derive(Debug, Clone, Default)]
pub struct Buckets {
    by_name: BTreeMap<String, Arc<dyn Bucket>>,
}

impl Buckets {
    /// Indexes `list` by name; a later bucket with the same name replaces an earlier one
    /// (the config loader rejects duplicates before this).
    pub fn new(list: Vec<Arc<dyn Bucket>>) -> Self {
        let by_name = list
            .into_iter()
            .map(|b| (b.name().to_string(), b))
            .collect();
        Buckets { by_name }
    }

    /// Opens every bucket of `specs`.
    pub fn open(specs: &[BucketSpec]) -> Result<Self, BucketError> {
        let list = specs.iter().map(open_bucket).collect::<Result<_, _>>()?;
        Ok(Buckets::new(list))
    }

    /// The bucket called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Bucket>> {
        self.by_name.get(name)
    }

    /// The buckets in `region`, sorted by name.
    pub fn in_region(&self, region: &str) -> Vec<&Arc<dyn Bucket>> {
        self.by_name
            .values()
            .filter(|b| b.region() == region)
            .collect()
    }

    /// All bucket names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }
}
