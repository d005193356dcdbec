//! A local directory.
//!
//! ```text
//! <root>/chunks/<hex[0..4]>/<hex>   blobs; prefix directories are created on first use
//! <root>/indexes/<name>.idx         committed indexes
//! <root>/sessions/<id>.session      open writer sessions
//! <root>/tmp/                       temp files (same file system, so links and renames are atomic)
//! ```
//!
//! A blob is written to a temp file, fsynced, then *hard-linked* to its name (`link` fails if the
//! name exists, so an existing blob is never overwritten) and the temp name removed. The
//! directories that gained a name are fsynced by [`ChunkBackend::sync`], which the store calls
//! before it writes an index naming those blobs. Named objects use temp + fsync + rename + dir fsync.

use std::collections::HashSet;
use std::fs::{self, File, FileTimes};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::{BlobInfo, BlobRead, ChunkBackend, Namespace, PutOutcome, check_name, prefix_of};
use crate::blob::{BLOB_HEADER_LEN, plain_body_len};
use crate::digest::Digest;
use crate::error::{Error, Result};

/// Threads fsyncing directories in [`ChunkBackend::sync`].
const SYNC_THREADS: usize = 8;
/// More dirty directories than this are made durable with one `syncfs`.
const SYNCFS_ABOVE: usize = 16;

/// The error of a failed blob read: a missing file is a missing chunk.
fn read_failed(digest: &Digest, path: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        ErrorKind::NotFound => Error::MissingChunk { digest: *digest },
        _ => Error::io("read blob", path, e),
    }
}

/// A chunk store in a local directory.
#[derive(Debug)]
pub struct LocalBackend {
    root: PathBuf,
    dirty_dirs: Mutex<HashSet<PathBuf>>,
    tmp_seq: AtomicU64,
}

impl LocalBackend {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        for sub in ["chunks", "indexes", "sessions", "tmp"] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        }
        fsync_dir(&root)?;
        Ok(LocalBackend {
            root,
            dirty_dirs: Mutex::new(HashSet::new()),
            tmp_seq: AtomicU64::new(0),
        })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of a blob (for tests and tools).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("chunks")
            .join(prefix_of(digest))
            .join(digest.to_hex())
    }

    fn object_path(&self, ns: Namespace, name: &str) -> PathBuf {
        self.root
            .join(ns.dir())
            .join(format!("{name}{}", ns.suffix()))
    }

    fn tmp_path(&self, what: &str) -> PathBuf {
        let n = self.tmp_seq.fetch_add(1, Ordering::Relaxed);
        self.root.join("tmp").join(format!(
            "{what}.{}.{n}.{:08x}.tmp",
            std::process::id(),
            rand::random::<u32>()
        ))
    }

    fn mark_dirty(&self, dir: PathBuf) {
        self.dirty_dirs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dir);
    }

    fn write_tmp(&self, what: &str, bytes: &[u8]) -> Result<PathBuf> {
        let tmp = self.write_tmp_unsynced(what, bytes)?;
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io("fsync temp file", &tmp, e))?;
        Ok(tmp)
    }

    fn write_tmp_unsynced(&self, what: &str, bytes: &[u8]) -> Result<PathBuf> {
        let tmp = self.tmp_path(what);
        let mut f = File::create(&tmp).map_err(|e| Error::io("create temp file", &tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| Error::io("write temp file", &tmp, e))?;
        Ok(tmp)
    }

    /// Creates the prefix directory of `path` if needed; returns it.
    fn prefix_dir(&self, path: &Path) -> Result<PathBuf> {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(|e| Error::io("create prefix directory", &dir, e))?;
            self.mark_dirty(self.root.join("chunks"));
        }
        Ok(dir)
    }

    /// Links a durable temp file as the blob `digest` (never replacing one) and removes the
    /// temp name.
    fn link_blob(&self, digest: &Digest, tmp: &Path, dir: PathBuf) -> Result<PutOutcome> {
        let path = self.blob_path(digest);
        let linked = fs::hard_link(tmp, &path);
        let _ = fs::remove_file(tmp);
        match linked {
            Ok(()) => {
                self.mark_dirty(dir);
                Ok(PutOutcome::Stored)
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                self.touch_blob(digest)?;
                Ok(PutOutcome::AlreadyPresent)
            }
            Err(e) => Err(Error::io("link blob", &path, e)),
        }
    }
    /// fsyncs `dirs`, in parallel: directory fsyncs overlap well (one journal commit can cover
    /// many).
    fn fsync_dirs(&self, dirs: &[PathBuf]) -> Result<()> {
        let per_thread = dirs.len().div_ceil(SYNC_THREADS).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = dirs
                .chunks(per_thread)
                .map(|part| s.spawn(move || part.iter().try_for_each(|d| fsync_dir(d))))
                .collect();
            handles.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or(Err(Error::Pipeline("fsync thread panicked")))
            })
        })
    }

    /// Makes everything written to the store's file system durable.
    fn syncfs(&self) -> Result<()> {
        File::open(&self.root)
            .and_then(|root| rustix::fs::syncfs(&root).map_err(std::io::Error::from))
            .map_err(|e| Error::io("syncfs", &self.root, e))
    }
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, e))
}

fn touch(path: &Path) -> std::io::Result<()> {
    let f = File::options().write(true).open(path)?;
    f.set_times(FileTimes::new().set_modified(SystemTime::now()))
}

impl ChunkBackend for LocalBackend {
    fn put_blob(&self, digest: &Digest, blob: &[u8]) -> Result<PutOutcome> {
        if self.touch_blob(digest)? {
            return Ok(PutOutcome::AlreadyPresent);
        }
        let dir = self.prefix_dir(&self.blob_path(digest))?;
        let tmp = self.write_tmp(&digest.to_hex(), blob)?;
        self.link_blob(digest, &tmp, dir)
    }

    /// Group commit: the absent blobs are written as temp files without a sync each, one
    /// `syncfs` makes them all durable, and only then are they linked under their names, so a
    /// crash never leaves a named blob with unsynced bytes.
    fn put_blobs(&self, blobs: &[(Digest, Vec<u8>)]) -> Result<Vec<PutOutcome>> {
        let mut out = vec![PutOutcome::AlreadyPresent; blobs.len()];
        let mut pending = Vec::new();
        let result = (|| -> Result<()> {
            for (i, (digest, blob)) in blobs.iter().enumerate() {
                if self.touch_blob(digest)? {
                    continue;
                }
                let dir = self.prefix_dir(&self.blob_path(digest))?;
                pending.push((i, self.write_tmp_unsynced(&digest.to_hex(), blob)?, dir));
            }
            if pending.is_empty() {
                return Ok(());
            }
            self.syncfs()?;
            for (i, tmp, dir) in pending.drain(..) {
                out[i] = self.link_blob(&blobs[i].0, &tmp, dir)?;
            }
            Ok(())
        })();
        for (_, tmp, _) in pending {
            let _ = fs::remove_file(tmp);
        }
        result.map(|()| out)
    }

    fn get_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        fs::read(&path).map_err(|e| read_failed(digest, &path, e))
    }

    fn get_blob_into(&self, digest: &Digest, buf: &mut Vec<u8>) -> Result<()> {
        let path = self.blob_path(digest);
        buf.clear();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(buf))
            .map(|_| ())
            .map_err(|e| read_failed(digest, &path, e))
    }

    fn get_blob_direct(
        &self,
        digest: &Digest,
        buf: &mut Vec<u8>,
        direct: &mut [u8],
    ) -> Result<BlobRead> {
        let path = self.blob_path(digest);
        let fail = |e| read_failed(digest, &path, e);
        let file = File::open(&path).map_err(fail)?;
        let size = file.metadata().map_err(fail)?.len();
        let head_len = BLOB_HEADER_LEN.min(size as usize);
        // The buffer keeps its length between calls, so reading into it zeroes nothing.
        if buf.len() < head_len {
            buf.resize(head_len, 0);
        }
        file.read_exact_at(&mut buf[..head_len], 0).map_err(fail)?;
        let body = size - head_len as u64;
        if plain_body_len(&buf[..head_len]) == Some(direct.len()) && body == direct.len() as u64 {
            file.read_exact_at(direct, head_len as u64).map_err(fail)?;
            return Ok(BlobRead::Direct);
        }
        // Compressed, encrypted or not a blob at all: the whole of it, for the codec to judge.
        let size = size as usize;
        if buf.len() < size {
            buf.resize(size, 0);
        }
        file.read_exact_at(&mut buf[head_len..size], head_len as u64)
            .map_err(fail)?;
        Ok(BlobRead::InBuffer(size))
    }

    fn touch_blob(&self, digest: &Digest) -> Result<bool> {
        let path = self.blob_path(digest);
        match touch(&path) {
            Ok(()) => {
                // Another process may have linked it without fsyncing the directory yet.
                if let Some(dir) = path.parent() {
                    self.mark_dirty(dir.to_path_buf());
                }
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("touch blob", &path, e)),
        }
    }

    fn blob_modified(&self, digest: &Digest) -> Result<Option<SystemTime>> {
        let path = self.blob_path(digest);
        match fs::metadata(&path).and_then(|m| m.modified()) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("stat blob", &path, e)),
        }
    }

    fn list_blobs(&self, f: &mut dyn FnMut(BlobInfo) -> Result<()>) -> Result<()> {
        let chunks = self.root.join("chunks");
        let prefixes = fs::read_dir(&chunks).map_err(|e| Error::io("list chunks", &chunks, e))?;
        for prefix in prefixes {
            let prefix = prefix
                .map_err(|e| Error::io("list chunks", &chunks, e))?
                .path();
            let entries = match fs::read_dir(&prefix) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("list prefix directory", &prefix, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("list prefix directory", &prefix, e))?;
                let Some(digest) = entry.file_name().to_str().and_then(Digest::parse_hex) else {
                    continue;
                };
                let meta = match entry.metadata() {
                    Ok(m) => m,
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(Error::io("stat blob", entry.path(), e)),
                };
                let modified = meta
                    .modified()
                    .map_err(|e| Error::io("stat blob", entry.path(), e))?;
                f(BlobInfo {
                    digest,
                    size: meta.len(),
                    modified,
                })?;
            }
        }
        Ok(())
    }

    fn delete_blob(&self, digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io("delete blob", &path, e)),
            _ => Ok(()),
        }
    }

    fn sync(&self) -> Result<()> {
        let dirs: Vec<PathBuf> = self
            .dirty_dirs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        // Many dirty directories (a copy or an import touches a prefix directory per chunk):
        // one syncfs writes them all out, where a thousand directory fsyncs cost a journal
        // commit each.
        let result = if dirs.len() > SYNCFS_ABOVE {
            self.syncfs()
        } else {
            self.fsync_dirs(&dirs)
        };
        if result.is_err() {
            self.dirty_dirs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(dirs);
        }
        result
    }

    fn sweep_temp(&self, older_than: SystemTime) -> Result<usize> {
        let dir = self.root.join("tmp");
        let mut removed = 0;
        for entry in fs::read_dir(&dir).map_err(|e| Error::io("list temp files", &dir, e))? {
            let entry = entry.map_err(|e| Error::io("list temp files", &dir, e))?;
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < older_than);
            if old && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn put_object(&self, ns: Namespace, name: &str, bytes: &[u8]) -> Result<()> {
        check_name(name)?;
        let path = self.object_path(ns, name);
        let tmp = self.write_tmp(ns.dir(), bytes)?;
        fs::rename(&tmp, &path).map_err(|e| Error::io("rename object", &path, e))?;
        fsync_dir(&self.root.join(ns.dir()))
    }

    fn get_object(&self, ns: Namespace, name: &str) -> Result<Option<Vec<u8>>> {
        check_name(name)?;
        let path = self.object_path(ns, name);
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read object", &path, e)),
        }
    }

    fn list_objects(&self, ns: Namespace) -> Result<Vec<String>> {
        let dir = self.root.join(ns.dir());
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| Error::io("list objects", &dir, e))? {
            let entry = entry.map_err(|e| Error::io("list objects", &dir, e))?;
            if let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(ns.suffix()))
                && check_name(name).is_ok()
            {
                out.push(name.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    fn delete_object(&self, ns: Namespace, name: &str) -> Result<()> {
        check_name(name)?;
        let path = self.object_path(ns, name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io("delete object", &path, e)),
            _ => fsync_dir(&self.root.join(ns.dir())),
        }
    }
}
