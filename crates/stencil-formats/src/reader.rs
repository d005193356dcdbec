//! The reader trait and the one `open()` that picks a reader after detection.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use crate::detect::{DETECT_HEAD_LEN, DETECT_TAIL_LEN, detect_bytes};
use crate::error::{Error, ErrorKind, Result};
use crate::extent::Extent;
use crate::format::{Detected, Format, Subformat};
use crate::source::{Backing, ReadAt};
use crate::{qcow2, raw, vhd, vmdk};

/// A guest-visible view of an image: size, allocation map and positional reads.
///
/// `read_at` takes `&self` and keeps no seek position, so several threads may read (and
/// decompress) at once.
pub trait DiskReader: Send + Sync {
    /// The container format.
    fn format(&self) -> Format;
    /// Guest-visible size in bytes.
    fn virtual_size(&self) -> u64;
    /// Sorted, contiguous extents covering `[0, virtual_size)`, computed from metadata only.
    fn extents(&self) -> Result<Vec<Extent>>;
    /// Fills `buf` with guest bytes at `offset`; `offset + buf.len()` must not exceed the
    /// virtual size.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()>;
}

impl std::fmt::Debug for dyn DiskReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskReader")
            .field("format", &self.format())
            .field("virtual_size", &self.virtual_size())
            .finish()
    }
}

/// Detects the format of `file`, checks it against `declared`, and opens a reader.
/// `path_for_errors` is only used in error messages; no file is ever opened by name.
pub fn open(
    file: File,
    declared: Option<Format>,
    path_for_errors: &Path,
) -> Result<Box<dyn DiskReader>> {
    let backing = Backing::from_file(file).map_err(|e| e.with_path(path_for_errors))?;
    open_backing(backing, declared, path_for_errors)
}

/// Like [`open`], for an image held in memory (tests, fuzzing, small uploads).
pub fn open_bytes(bytes: Vec<u8>, declared: Option<Format>) -> Result<Box<dyn DiskReader>> {
    open_backing(Backing::Bytes(bytes), declared, Path::new(""))
}

/// Like [`open`], for an image behind a positional source (an object in an object store).
/// Raw images over a source report all bytes as data: a source has no holes to ask about.
/// `label` names the image in error messages (for example `bucket/key`).
pub fn open_at(
    source: Arc<dyn ReadAt>,
    declared: Option<Format>,
    label: &Path,
) -> Result<Box<dyn DiskReader>> {
    open_backing(Backing::from_read_at(source), declared, label)
}

fn open_backing(
    backing: Backing,
    declared: Option<Format>,
    path: &Path,
) -> Result<Box<dyn DiskReader>> {
    let detected = detect_backing(&backing).map_err(|e| e.with_path(path))?;
    check_declared(&detected, declared).map_err(|e| e.with_path(path))?;
    let opened: Result<Box<dyn DiskReader>> = match detected.subformat {
        Subformat::Raw => Ok(Box::new(raw::RawReader::new(backing, path))),
        Subformat::Qcow2 { .. } => {
            qcow2::Qcow2Reader::open(backing, path).map(|r| Box::new(r) as _)
        }
        Subformat::VhdFixed | Subformat::VhdDynamic => vhd::open(backing, path),
        Subformat::VmdkSparse | Subformat::VmdkStreamOptimized => vmdk::open(backing, path),
        Subformat::VmdkDescriptor => Err(vmdk::reject_descriptor(&backing)),
        _ => Err(detected.ensure_supported().err().unwrap_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedFormat,
                format!("{:?} is unsupported", detected.subformat),
            )
        })),
    };
    opened.map_err(|e| e.with_path(path))
}

fn detect_backing(backing: &Backing) -> Result<Detected> {
    let size = backing.len();
    let mut head = vec![0u8; size.min(DETECT_HEAD_LEN as u64) as usize];
    backing.read_exact_at(&mut head, 0, "image header")?;
    let tail_len = size.min(DETECT_TAIL_LEN as u64) as usize;
    let mut tail = vec![0u8; tail_len];
    backing.read_exact_at(&mut tail, size - tail_len as u64, "image footer")?;
    detect_bytes(&head, &tail, size)
}

/// A declared format that disagrees with the detected one is an error naming both.
pub fn check_declared(detected: &Detected, declared: Option<Format>) -> Result<()> {
    match declared {
        Some(d) if d != detected.format => Err(Error::new(
            ErrorKind::FormatMismatch,
            format!(
                "Declared format {d} but the file is {} ({:?})",
                detected.format, detected.subformat
            ),
        )),
        _ => Ok(()),
    }
}
