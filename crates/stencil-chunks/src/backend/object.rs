//! Any `object_store` implementation: S3-compatible stores in production, `InMemory` in tests.
//!
//! Keys mirror the local layout under a prefix: `<prefix>chunks/<hex[0..4]>/<hex>`,
//! `<prefix>indexes/<name>.idx`, `<prefix>sessions/<id>.session`.
//!
//! Sync/async bridge: the backend owns a small multi-threaded tokio runtime (2 workers,
//! [`IoRuntime`]); every trait method spawns one future on it and waits for the answer. Callers
//! are plain threads (the import pipeline's workers); async callers must use `spawn_blocking`
//! (waiting on a runtime worker would stall it). Dropping the backend anywhere is fine: the
//! runtime shuts down in the background.
//!
//! Put-if-absent is HEAD then PUT (never a conditional PUT, which many S3-compatible servers lack).
//! Two writers racing on one name both write the same plaintext, so either result is correct.
//! Touch is a copy of the object onto itself (falling back to GET + PUT) to refresh LastModified.

use std::sync::Arc;
use std::time::SystemTime;

use futures_util::StreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::io_runtime::IoRuntime;
use super::{BlobInfo, ChunkBackend, Namespace, PutOutcome, check_name, prefix_of};
use crate::digest::Digest;
use crate::error::{Error, Result};

/// How to reach an S3-compatible server (Garage, Ceph RGW, MinIO, OSS, AWS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    /// Endpoint URL (`http://` is allowed); `None` means AWS.
    pub endpoint: Option<String>,
    /// Access key; with `secret_access_key`, or neither (unsigned requests).
    pub access_key_id: Option<String>,
    /// Secret key.
    pub secret_access_key: Option<String>,
    /// Signing region (default `us-east-1`).
    pub region: Option<String>,
}

/// An S3 client for `bucket`: path-style addressing (what Garage and MinIO serve on loopback),
/// no conditional writes relied on. The error is a sentence for the operator.
pub fn s3_store(
    bucket: &str,
    opts: &S3Options,
) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    use object_store::aws::AmazonS3Builder;
    if bucket.is_empty() {
        return Err("no S3 bucket named".into());
    }
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(opts.region.as_deref().unwrap_or("us-east-1"))
        .with_virtual_hosted_style_request(false);
    if let Some(endpoint) = &opts.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    builder = match (&opts.access_key_id, &opts.secret_access_key) {
        (Some(id), Some(secret)) => builder
            .with_access_key_id(id)
            .with_secret_access_key(secret),
        (None, None) => builder.with_skip_signature(true),
        _ => return Err("give both access_key_id and secret_access_key, or neither".into()),
    };
    builder
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| format!("cannot configure the S3 client: {e}"))
}

/// Listed objects buffered between the I/O runtime and the caller.
const LIST_BUFFER: usize = 1024;

/// A chunk store in an object store.
#[derive(Debug)]
pub struct ObjectBackend {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    rt: IoRuntime,
}

impl ObjectBackend {
    /// Wraps `store`; every key starts with `prefix` (empty, or ending in `/`).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Self> {
        let prefix = match prefix {
            "" => String::new(),
            p if p.ends_with('/') => p.to_string(),
            p => format!("{p}/"),
        };
        let rt = IoRuntime::new("stencil-chunks-io")
            .map_err(|e| Error::io("start object store runtime", "", e))?;
        Ok(ObjectBackend { store, prefix, rt })
    }

    fn blob_key(&self, digest: &Digest) -> ObjPath {
        ObjPath::from(format!(
            "{}chunks/{}/{}",
            self.prefix,
            prefix_of(digest),
            digest.to_hex()
        ))
    }

    fn object_key(&self, ns: Namespace, name: &str) -> ObjPath {
        ObjPath::from(format!("{}{}/{name}{}", self.prefix, ns.dir(), ns.suffix()))
    }

    fn err(op: &'static str, key: &ObjPath, source: object_store::Error) -> Error {
        Error::ObjectStore {
            op,
            key: key.to_string(),
            source,
        }
    }

    fn head(&self, key: &ObjPath) -> Result<Option<SystemTime>> {
        let (store, k) = (self.store.clone(), key.clone());
        match self.rt.run(async move { store.head(&k).await }) {
            Ok(meta) => Ok(Some(SystemTime::from(meta.last_modified))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Self::err("head", key, e)),
        }
    }

    fn get(&self, key: &ObjPath) -> Result<Option<Vec<u8>>> {
        let (store, k) = (self.store.clone(), key.clone());
        let res = self.rt.run(async move {
            match store.get(&k).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        res.map(|b| b.map(|b| b.to_vec()))
            .map_err(|e| Self::err("get", key, e))
    }

    fn put(&self, key: &ObjPath, bytes: &[u8]) -> Result<()> {
        let payload = PutPayload::from(bytes.to_vec());
        let (store, k) = (self.store.clone(), key.clone());
        self.rt
            .run(async move { store.put(&k, payload).await })
            .map(|_| ())
            .map_err(|e| Self::err("put", key, e))
    }

    fn delete(&self, key: &ObjPath) -> Result<()> {
        let (store, k) = (self.store.clone(), key.clone());
        match self.rt.run(async move { store.delete(&k).await }) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Self::err("delete", key, e)),
        }
    }

    fn list(
        &self,
        prefix: &str,
        f: &mut dyn FnMut(object_store::ObjectMeta) -> Result<()>,
    ) -> Result<()> {
        let key = ObjPath::from(prefix);
        let (store, k) = (self.store.clone(), key.clone());
        // The listing streams from the I/O runtime to this thread through a bounded channel,
        // so a store of millions of blobs is never held in memory; if `f` stops early, the
        // dropped receiver ends the listing task. `None` marks the end: a listing that stops
        // without it (its task gone) is an error, never a shorter list (GC marks from it).
        let (tx, rx) = std::sync::mpsc::sync_channel(LIST_BUFFER);
        self.rt.handle().spawn(async move {
            let mut stream = store.list(Some(&k));
            while let Some(meta) = stream.next().await {
                let failed = meta.is_err();
                if tx.send(Some(meta)).is_err() || failed {
                    return;
                }
            }
            let _ = tx.send(None);
        });
        for item in rx {
            match item {
                Some(meta) => f(meta.map_err(|e| Self::err("list", &key, e))?)?,
                None => return Ok(()),
            }
        }
        Err(Self::err(
            "list",
            &key,
            object_store::Error::Generic {
                store: "stencil-io",
                source: "the listing stopped before its end".into(),
            },
        ))
    }

    fn copy_onto_itself(&self, key: &ObjPath) -> bool {
        let (store, k) = (self.store.clone(), key.clone());
        self.rt.run(async move { store.copy(&k, &k).await }).is_ok()
    }
}

impl ChunkBackend for ObjectBackend {
    fn put_blob(&self, digest: &Digest, blob: &[u8]) -> Result<PutOutcome> {
        if self.touch_blob(digest)? {
            return Ok(PutOutcome::AlreadyPresent);
        }
        self.put(&self.blob_key(digest), blob)?;
        Ok(PutOutcome::Stored)
    }

    fn get_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.get(&self.blob_key(digest))?
            .ok_or(Error::MissingChunk { digest: *digest })
    }

    fn touch_blob(&self, digest: &Digest) -> Result<bool> {
        let key = self.blob_key(digest);
        if self.head(&key)?.is_none() {
            return Ok(false);
        }
        if self.copy_onto_itself(&key) {
            return Ok(true);
        }
        match self.get(&key)? {
            Some(bytes) => self.put(&key, &bytes).map(|()| true),
            None => Ok(false),
        }
    }

    fn blob_modified(&self, digest: &Digest) -> Result<Option<SystemTime>> {
        self.head(&self.blob_key(digest))
    }

    fn list_blobs(&self, f: &mut dyn FnMut(BlobInfo) -> Result<()>) -> Result<()> {
        self.list(&format!("{}chunks", self.prefix), &mut |meta| {
            let Some(digest) = meta.location.filename().and_then(Digest::parse_hex) else {
                return Ok(());
            };
            f(BlobInfo {
                digest,
                size: meta.size,
                modified: SystemTime::from(meta.last_modified),
            })
        })
    }

    fn delete_blob(&self, digest: &Digest) -> Result<()> {
        self.delete(&self.blob_key(digest))
    }

    fn sync(&self) -> Result<()> {
        Ok(()) // a completed PUT is durable
    }

    fn put_object(&self, ns: Namespace, name: &str, bytes: &[u8]) -> Result<()> {
        check_name(name)?;
        self.put(&self.object_key(ns, name), bytes)
    }

    fn get_object(&self, ns: Namespace, name: &str) -> Result<Option<Vec<u8>>> {
        check_name(name)?;
        self.get(&self.object_key(ns, name))
    }

    fn list_objects(&self, ns: Namespace) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.list(&format!("{}{}", self.prefix, ns.dir()), &mut |meta| {
            if let Some(name) = meta
                .location
                .filename()
                .and_then(|n| n.strip_suffix(ns.suffix()))
                && check_name(name).is_ok()
            {
                out.push(name.to_string());
            }
            Ok(())
        })?;
        out.sort();
        Ok(out)
    }

    fn delete_object(&self, ns: Namespace, name: &str) -> Result<()> {
        check_name(name)?;
        self.delete(&self.object_key(ns, name))
    }
}
