//! The writer of object buckets: one PUT for an object that fits in one part, else a
//! multipart upload with a few parts in flight, aborted unless finished.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use object_store::path::Path as ObjPath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};

use super::{BucketError, ObjectWriter};
use stencil_chunks::backend::io_runtime::IoRuntime;

/// Part uploads running at once per writer.
const IN_FLIGHT: usize = 3;
/// Part sizes double after this many parts...
const PART_GROWTH_EVERY: u64 = 1000;
/// ...up to this size.
const MAX_PART_SIZE: usize = 256 << 20;

/// Buffers one part at a time; starts a multipart upload only when a second part is needed.
pub(super) struct UploadWriter {
    bucket: String,
    key: String,
    store: Arc<dyn ObjectStore>,
    path: ObjPath,
    rt: Arc<IoRuntime>,
    base_part: usize,
    buf: Vec<u8>,
    upload: Option<Box<dyn MultipartUpload>>,
    in_flight: VecDeque<tokio::task::JoinHandle<object_store::Result<()>>>,
    parts: u64,
    written: u64,
    failed: bool,
    done: bool,
}

impl std::fmt::Debug for UploadWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadWriter")
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("parts", &self.parts)
            .field("written", &self.written)
            .finish()
    }
}

impl UploadWriter {
    pub(super) fn new(
        bucket: &str,
        key: &str,
        store: Arc<dyn ObjectStore>,
        path: ObjPath,
        rt: Arc<IoRuntime>,
        part_size: usize,
    ) -> Self {
        UploadWriter {
            bucket: bucket.to_string(),
            key: key.to_string(),
            store,
            path,
            rt,
            base_part: part_size,
            buf: Vec::new(),
            upload: None,
            in_flight: VecDeque::new(),
            parts: 0,
            written: 0,
            failed: false,
            done: false,
        }
    }

    fn part_size(&self) -> usize {
        let doublings = (self.parts / PART_GROWTH_EVERY).min(8) as u32;
        self.base_part
            .saturating_mul(1 << doublings)
            .min(MAX_PART_SIZE.max(self.base_part))
    }

    fn err(&self, op: &'static str, source: object_store::Error) -> BucketError {
        BucketError::Store {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            op,
            source: Box::new(source),
        }
    }

    /// Uploads the buffer as the next part, starting the upload if needed, and waits while
    /// too many parts are in flight.
    fn send_part(&mut self) -> Result<(), BucketError> {
        if self.upload.is_none() {
            let (store, path) = (self.store.clone(), self.path.clone());
            let upload = self
                .rt
                .run(async move { store.put_multipart(&path).await })
                .map_err(|e| self.err("start the upload of", e))?;
            self.upload = Some(upload);
        }
        let next = Vec::with_capacity(self.part_size());
        let data = std::mem::replace(&mut self.buf, next);
        let upload = self.upload.as_mut().expect("upload started above");
        let part = upload.put_part(PutPayload::from(data));
        self.in_flight.push_back(self.rt.handle().spawn(part));
        self.parts += 1;
        while self.in_flight.len() > IN_FLIGHT {
            self.wait_oldest()?;
        }
        Ok(())
    }

    fn wait_oldest(&mut self) -> Result<(), BucketError> {
        let Some(handle) = self.in_flight.pop_front() else {
            return Ok(());
        };
        self.rt
            .run(async move {
                handle.await.map_err(|e| object_store::Error::Generic {
                    store: "stencil-bucket",
                    source: Box::new(e),
                })?
            })
            .map_err(|e| self.err("upload a part of", e))
    }

    fn complete(&mut self) -> Result<(), BucketError> {
        let Some(mut upload) = self.upload.take() else {
            let (store, path) = (self.store.clone(), self.path.clone());
            let payload = PutPayload::from(std::mem::take(&mut self.buf));
            return self
                .rt
                .run(async move { store.put(&path, payload).await })
                .map(|_| ())
                .map_err(|e| self.err("put", e));
        };
        if !self.buf.is_empty() {
            let data = std::mem::take(&mut self.buf);
            self.in_flight.push_back(
                self.rt
                    .handle()
                    .spawn(upload.put_part(PutPayload::from(data))),
            );
        }
        // Keep the upload reachable for abort until it completes.
        self.upload = Some(upload);
        while !self.in_flight.is_empty() {
            self.wait_oldest()?;
        }
        let mut upload = self.upload.take().expect("set above");
        let (back, result) = self
            .rt
            .run(async move {
                let result = upload.complete().await;
                Ok((upload, result))
            })
            .map_err(|e| self.err("complete the upload of", e))?;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                self.upload = Some(back);
                Err(self.err("complete the upload of", e))
            }
        }
    }

    /// Cancels running parts and aborts the multipart upload, if any (best effort: a store
    /// that cannot abort keeps the parts until its lifecycle rules remove them).
    fn discard(&mut self) {
        for handle in self.in_flight.drain(..) {
            handle.abort();
        }
        if let Some(mut upload) = self.upload.take() {
            let _ = self.rt.run(async move { upload.abort().await });
        }
        self.buf = Vec::new();
    }
}

impl io::Write for UploadWriter {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("an earlier part upload failed"));
        }
        let total = data.len();
        while !data.is_empty() {
            let part = self.part_size();
            if self.buf.capacity() == 0 {
                self.buf.reserve_exact(part.min(data.len().max(1 << 20)));
            }
            let n = (part - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == part
                && let Err(e) = self.send_part()
            {
                self.failed = true;
                return Err(io::Error::other(e));
            }
        }
        self.written += total as u64;
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ObjectWriter for UploadWriter {
    fn finish(mut self: Box<Self>) -> Result<u64, BucketError> {
        if self.failed {
            return Err(self.err(
                "upload",
                object_store::Error::Generic {
                    store: "stencil-bucket",
                    source: "an earlier part upload failed".into(),
                },
            ));
        }
        self.complete()?;
        self.done = true;
        Ok(self.written)
    }

    fn abort(self: Box<Self>) {}
}

impl Drop for UploadWriter {
    fn drop(&mut self) {
        if !self.done {
            self.discard();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_double_every_thousand_parts_up_to_a_cap() {
        let store = Arc::new(object_store::memory::InMemory::new());
        let rt = Arc::new(IoRuntime::new("stencil-bucket-io").unwrap());
        let mut w = UploadWriter::new("b", "k", store, ObjPath::from("k"), rt, 8 << 20);
        let mut size_at = |parts| {
            w.parts = parts;
            w.part_size()
        };
        assert_eq!(size_at(0), 8 << 20);
        assert_eq!(size_at(999), 8 << 20);
        assert_eq!(size_at(1000), 16 << 20);
        assert_eq!(size_at(4999), 128 << 20);
        assert_eq!(size_at(5000), MAX_PART_SIZE);
        assert_eq!(size_at(9999), MAX_PART_SIZE);
        // 10 000 parts then hold more than 1.5 TB.
        let total: u64 = (0..10_000).map(|p| size_at(p) as u64).sum();
        assert!(total > 1_500_000_000_000, "{total}");
    }
}
