//! A bucket in any `object_store` implementation: S3-compatible stores (MinIO, Garage, Ceph
//! RGW, OSS, S3) in production, `InMemory` in tests. The object `key` is `<prefix><key>`.
//!
//! Sync/async bridge: the bucket owns a 2-worker tokio runtime. Each call spawns its future
//! there and waits on a std channel, so it works from any thread, inside a runtime or not.
//! The runtime is shut down in the background when the last user (bucket, image reader,
//! writer) lets go, which is allowed in async contexts too.
//!
//! Writers buffer one part; an object that fits in one part is a single PUT, a larger one is
//! a multipart upload with up to 3 parts uploading at once. Part sizes double every
//! 1000 parts (up to 256 MiB), so the 10 000-part limit of S3 is reached only past 1.5 TB.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};
use stencil_formats::{DiskReader, Format};

use super::keys::{check_key, check_prefix, prefix_dir};
use super::range::{CachedRanges, Fetch};
use super::upload::UploadWriter;
use super::{Bucket, BucketError, BucketSpec, ObjectWriter};
use stencil_chunks::backend::io_runtime::IoRuntime;

/// Default first part size of multipart uploads (S3's minimum is 5 MiB).
pub const DEFAULT_PART_SIZE: usize = 8 << 20;

/// A bucket in an object store.
#[derive(Debug)]
pub struct ObjectBucket {
    name: String,
    region: String,
    store: Arc<dyn ObjectStore>,
    prefix: String,
    rt: Arc<IoRuntime>,
    part_size: usize,
}

impl ObjectBucket {
    /// Wraps `store`; every key is stored as `<prefix>/<key>` (no prefix when empty).
    pub fn new(
        name: &str,
        region: &str,
        store: Arc<dyn ObjectStore>,
        prefix: &str,
    ) -> Result<Self, BucketError> {
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let rt = IoRuntime::new("stencil-bucket-io").map_err(|source| BucketError::Io {
            bucket: name.to_string(),
            key: String::new(),
            op: "start the I/O runtime of",
            source,
        })?;
        Ok(ObjectBucket {
            name: name.to_string(),
            region: region.to_string(),
            store,
            prefix,
            rt: Arc::new(rt),
            part_size: DEFAULT_PART_SIZE,
        })
    }

    /// Sets the first part size of multipart uploads (at least 1 byte; S3 wants 5 MiB).
    #[must_use]
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(1);
        self
    }

    /// Opens `s3://BUCKET[/PREFIX]` as `spec` describes.
    pub(crate) fn open_s3(spec: &BucketSpec) -> Result<Self, BucketError> {
        let invalid = |reason: String| BucketError::InvalidSpec {
            bucket: spec.name.clone(),
            reason,
        };
        let rest = spec.url.strip_prefix("s3://").unwrap_or_default();
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid(format!("url {:?} names no S3 bucket", spec.url)));
        }
        if !prefix.is_empty() {
            check_prefix(&format!("{}/", prefix.trim_end_matches('/')))
                .map_err(|_| invalid(format!("url {:?} has an invalid prefix", spec.url)))?;
        }
        let opts = stencil_chunks::backend::object::S3Options {
            endpoint: spec.endpoint.clone(),
            access_key_id: spec.access_key_id.clone(),
            secret_access_key: spec.secret_access_key.clone(),
            region: spec.s3_region.clone(),
        };
        let store = stencil_chunks::backend::object::s3_store(bucket, &opts).map_err(invalid)?;
        ObjectBucket::new(&spec.name, &spec.region, store, prefix)
    }

    fn path(&self, key: &str) -> Result<ObjPath, BucketError> {
        check_key(key)?;
        let full = format!("{}{key}", self.prefix);
        ObjPath::parse(&full).map_err(|_| super::keys::invalid(key, "the key is not a valid path"))
    }

    fn store_err(
        &self,
        key: &str,
        op: &'static str,
    ) -> impl FnOnce(object_store::Error) -> BucketError {
        let (bucket, key) = (self.name.clone(), key.to_string());
        move |source| match source {
            object_store::Error::NotFound { .. } => BucketError::NotFound { bucket, key },
            source => BucketError::Store {
                bucket,
                key,
                op,
                source: Box::new(source),
            },
        }
    }

    fn head_path(&self, path: &ObjPath) -> object_store::Result<Option<u64>> {
        let (store, path) = (self.store.clone(), path.clone());
        self.rt.run(async move {
            match store.head(&path).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
}

impl Bucket for ObjectBucket {
    fn name(&self) -> &str {
        &self.name
    }

    fn region(&self) -> &str {
        &self.region
    }

    fn head(&self, key: &str) -> Result<Option<u64>, BucketError> {
        let path = self.path(key)?;
        self.head_path(&path).map_err(self.store_err(key, "head"))
    }

    fn open_image(
        &self,
        key: &str,
        declared: Option<Format>,
    ) -> Result<Box<dyn DiskReader>, BucketError> {
        let path = self.path(key)?;
        let len = self
            .head_path(&path)
            .map_err(self.store_err(key, "head"))?
            .ok_or_else(|| BucketError::NotFound {
                bucket: self.name.clone(),
                key: key.to_string(),
            })?;
        let (store, rt) = (self.store.clone(), self.rt.clone());
        let fetch: Fetch = Box::new(move |offset, n| {
            let (store, path) = (store.clone(), path.clone());
            rt.run(async move { store.get_range(&path, offset..offset + n as u64).await })
                .map_err(io::Error::from)
        });
        let source = Arc::new(CachedRanges::new(len, fetch));
        let label = PathBuf::from(format!("{}/{key}", self.name));
        stencil_formats::open_at(source, declared, &label)
            .map_err(|e| BucketError::from_format(&self.name, key, e))
    }

    fn create(&self, key: &str) -> Result<Box<dyn ObjectWriter>, BucketError> {
        let path = self.path(key)?;
        Ok(Box::new(UploadWriter::new(
            &self.name,
            key,
            self.store.clone(),
            path,
            self.rt.clone(),
            self.part_size,
        )))
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, BucketError> {
        let path = self.path(key)?;
        let store = self.store.clone();
        self.rt
            .run(async move { store.get(&path).await?.bytes().await })
            .map(|b| b.to_vec())
            .map_err(self.store_err(key, "get"))
    }

    fn download(&self, key: &str, to: &mut dyn io::Write) -> Result<u64, BucketError> {
        let path = self.path(key)?;
        let store = self.store.clone();
        let mut stream = self
            .rt
            .run(async move { Ok(store.get(&path).await?.into_stream()) })
            .map_err(self.store_err(key, "get"))?;
        let mut total = 0u64;
        loop {
            // The stream moves into each task and back, so no future borrows this thread.
            let (back, item) = self
                .rt
                .run(async move {
                    let item = stream.next().await;
                    Ok((stream, item))
                })
                .map_err(self.store_err(key, "get"))?;
            stream = back;
            let Some(chunk) = item else { break };
            let chunk = chunk.map_err(self.store_err(key, "get"))?;
            to.write_all(&chunk).map_err(|source| BucketError::Io {
                bucket: self.name.clone(),
                key: key.to_string(),
                op: "write out the download of",
                source,
            })?;
            total += chunk.len() as u64;
        }
        Ok(total)
    }

    fn delete(&self, key: &str) -> Result<(), BucketError> {
        let path = self.path(key)?;
        let store = self.store.clone();
        self.rt
            .run(async move {
                match store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e),
                }
            })
            .map_err(self.store_err(key, "delete"))
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, BucketError> {
        check_prefix(prefix)?;
        // object_store lists whole path segments; match the partial last one here.
        let dir = format!("{}{}", self.prefix, prefix_dir(prefix));
        let dir = dir.trim_end_matches('/');
        let list_at = if dir.is_empty() {
            None
        } else {
            Some(
                ObjPath::parse(dir)
                    .map_err(|_| super::keys::invalid(prefix, "the prefix is not a valid path"))?,
            )
        };
        let (store, full_prefix) = (self.store.clone(), format!("{}{prefix}", self.prefix));
        let bucket_prefix = self.prefix.clone();
        let mut out = self
            .rt
            .run(async move {
                let mut stream = store.list(list_at.as_ref());
                let mut out = Vec::new();
                while let Some(meta) = stream.next().await {
                    let meta = meta?;
                    let location = meta.location.as_ref();
                    if location.starts_with(&full_prefix)
                        && let Some(key) = location.strip_prefix(&bucket_prefix)
                    {
                        out.push((key.to_string(), meta.size));
                    }
                }
                Ok(out)
            })
            .map_err(self.store_err(prefix, "list"))?;
        out.sort();
        Ok(out)
    }
}
