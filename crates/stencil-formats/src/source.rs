//! Positional byte sources the readers parse: a file (with `pread`, no shared seek
//! position), bytes in memory (tests and fuzzing), or any [`ReadAt`] (an object in an
//! object store, read with ranged requests).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};

/// Largest single `pread`. Measured on the target machines (Linux 6.18, ext4, page cache
/// warm): 4 MiB reads take twice the wall time of 256 KiB reads for the same CPU time.
const READ_CHUNK: usize = 256 << 10;

/// A fixed-size byte source read by position, shared by reader threads.
///
/// Implement it for image bytes that are not a local file, such as an object in an object
/// store; [`open_at`](crate::open_at) parses an image over it without copying it first.
/// Readers ask for metadata in small pieces (headers, L2 tables of a few KiB) and for guest
/// data in pieces of up to a few MiB, so a remote source should cache small reads.
pub trait ReadAt: Send + Sync {
    /// Size of the source in bytes; it must not change while a reader uses the source.
    fn len(&self) -> u64;

    /// True when the source holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills all of `buf` with the bytes at `offset`, or fails. Callers never ask for bytes
    /// past [`len`](ReadAt::len).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

/// Where an image's bytes come from.
pub(crate) enum Backing {
    File {
        file: File,
        len: u64,
    },
    Bytes(Vec<u8>),
    /// The length is read once, so bound checks agree with each other for the reader's life.
    At {
        source: Arc<dyn ReadAt>,
        len: u64,
    },
}

impl Backing {
    /// Wraps a regular file. Pipes and devices are refused: their size is unknown, so
    /// nothing could be bound-checked (spool a stream to a file, or use `open_bytes`).
    pub(crate) fn from_file(file: File) -> Result<Self> {
        let meta = file
            .metadata()
            .map_err(|e| Error::io(e, "Cannot stat image file"))?;
        if !meta.is_file() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "Image is not a regular file",
            ));
        }
        Ok(Backing::File {
            file,
            len: meta.len(),
        })
    }

    /// Wraps a positional source.
    pub(crate) fn from_read_at(source: Arc<dyn ReadAt>) -> Self {
        let len = source.len();
        Backing::At { source, len }
    }

    pub(crate) fn len(&self) -> u64 {
        match self {
            Backing::File { len, .. } | Backing::At { len, .. } => *len,
            Backing::Bytes(b) => b.len() as u64,
        }
    }

    pub(crate) fn file(&self) -> Option<&File> {
        match self {
            Backing::File { file, .. } => Some(file),
            Backing::Bytes(_) | Backing::At { .. } => None,
        }
    }

    /// Reads exactly `buf.len()` bytes at `offset`; a short file is `OutOfBounds`.
    pub(crate) fn read_exact_at(&self, buf: &mut [u8], offset: u64, what: &str) -> Result<()> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > self.len()) {
            return Err(Error::new(
                ErrorKind::OutOfBounds,
                format!(
                    "{what} ({} bytes) extends past end of file {:#x}",
                    buf.len(),
                    self.len()
                ),
            )
            .at(offset));
        }
        self.read_fill(buf, offset)
            .map_err(|e| Error::io(e, format!("Cannot read {what}")).at(offset))
    }

    /// Reads what exists at `offset` and fills the rest of `buf` with zeros, the way qemu
    /// treats reads past the end of a file.
    pub(crate) fn read_zero_fill(&self, buf: &mut [u8], offset: u64, what: &str) -> Result<()> {
        let avail = self.len().saturating_sub(offset).min(buf.len() as u64) as usize;
        let (head, tail) = buf.split_at_mut(avail);
        if !head.is_empty() {
            self.read_fill(head, offset)
                .map_err(|e| Error::io(e, format!("Cannot read {what}")).at(offset))?;
        }
        tail.fill(0);
        Ok(())
    }

    fn read_fill(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        match self {
            Backing::File { file, .. } => {
                let mut done = 0;
                while done < buf.len() {
                    let end = buf.len().min(done + READ_CHUNK);
                    match file.read_at(&mut buf[done..end], offset + done as u64) {
                        Ok(0) => {
                            // The file shrank under us: what is missing reads as zeros.
                            buf[done..].fill(0);
                            return Ok(());
                        }
                        Ok(n) => done += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Backing::Bytes(b) => {
                let start = offset as usize;
                buf.copy_from_slice(&b[start..start + buf.len()]);
                Ok(())
            }
            Backing::At { source, .. } => source.read_at(buf, offset),
        }
    }
}

pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
pub(crate) fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// True when every byte of `buf` is zero (word-at-a-time).
pub(crate) fn is_zero(buf: &[u8]) -> bool {
    let mut chunks = buf.chunks_exact(16);
    for c in &mut chunks {
        if u128::from_ne_bytes(c.try_into().expect("16 bytes")) != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| b == 0)
}
