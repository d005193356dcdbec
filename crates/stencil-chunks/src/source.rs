//! What the importer reads: a guest byte stream plus its allocation map.
//!
//! The shape matches `stencil_formats::DiskReader` so the glue in stencil-core is a trivial adapter.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{Error, Result, SourceError};

/// What a range of the guest disk holds, as the source format reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtentKind {
    /// Allocated: must be read.
    Data,
    /// Allocated and known to read as zeros (qcow2 zero clusters); never read.
    Zero,
    /// A hole: reads as zeros; never read.
    Unallocated,
}

/// A range of the guest disk and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Guest offset in bytes.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// What the range holds.
    pub kind: ExtentKind,
}

impl Extent {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.offset + self.length
    }
}

/// A guest disk to import. `read_at` may be called from several threads at once.
pub trait GuestSource: Sync {
    /// Size of the guest disk in bytes.
    fn virtual_size(&self) -> u64;
    /// The allocation map, sorted by offset. Gaps count as [`ExtentKind::Unallocated`].
    fn extents(&self) -> Result<Vec<Extent>, SourceError>;
    /// Fills `buf` with the guest bytes at `offset`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), SourceError>;
}

/// Sorts, validates and merges a source's map into contiguous extents covering `[0, size)`.
pub fn normalize_extents(size: u64, mut extents: Vec<Extent>) -> Result<Vec<Extent>> {
    extents.retain(|e| e.length > 0);
    extents.sort_by_key(|e| e.offset);
    let mut out: Vec<Extent> = Vec::with_capacity(extents.len() + 1);
    let mut pos = 0u64;
    for e in extents {
        let end = e
            .offset
            .checked_add(e.length)
            .filter(|&end| end <= size)
            .ok_or_else(|| Error::BadExtents {
                reason: format!(
                    "extent at {:#x} ends past the virtual size {size:#x}",
                    e.offset
                ),
            })?;
        if e.offset < pos {
            return Err(Error::BadExtents {
                reason: format!("extents overlap at {:#x}", e.offset),
            });
        }
        if e.offset > pos {
            push_merged(
                &mut out,
                Extent {
                    offset: pos,
                    length: e.offset - pos,
                    kind: ExtentKind::Unallocated,
                },
            );
        }
        push_merged(&mut out, e);
        pos = end;
    }
    if pos < size {
        push_merged(
            &mut out,
            Extent {
                offset: pos,
                length: size - pos,
                kind: ExtentKind::Unallocated,
            },
        );
    }
    Ok(out)
}

fn push_merged(out: &mut Vec<Extent>, e: Extent) {
    if let Some(last) = out.last_mut()
        && last.kind == e.kind
        && last.end() == e.offset
    {
        last.length += e.length;
        return;
    }
    out.push(e);
}

/// An in-memory guest disk, mostly for tests and small inputs.
#[derive(Debug, Clone)]
pub struct MemSource {
    data: Vec<u8>,
    extents: Vec<Extent>,
}

impl MemSource {
    /// A fully allocated disk holding `data`.
    pub fn new(data: Vec<u8>) -> Self {
        let extents = vec![Extent {
            offset: 0,
            length: data.len() as u64,
            kind: ExtentKind::Data,
        }];
        MemSource { data, extents }
    }

    /// A disk with an explicit map. Bytes outside Data extents must be zero.
    pub fn with_extents(data: Vec<u8>, extents: Vec<Extent>) -> Self {
        MemSource { data, extents }
    }
}

impl GuestSource for MemSource {
    fn virtual_size(&self) -> u64 {
        self.data.len() as u64
    }
    fn extents(&self) -> Result<Vec<Extent>, SourceError> {
        Ok(self.extents.clone())
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), SourceError> {
        let start = usize::try_from(offset)?;
        let src = self
            .data
            .get(start..start + buf.len())
            .ok_or("read past the end")?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// A raw image file read as fully allocated (no SEEK_DATA here: the formats crate's raw reader
/// reports holes; this one is the dependency-free fallback).
#[derive(Debug)]
pub struct RawFileSource {
    file: File,
    size: u64,
}

impl RawFileSource {
    /// Opens a raw image.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let size = file
            .metadata()
            .map_err(|e| Error::io("stat", path, e))?
            .len();
        Ok(RawFileSource { file, size })
    }
}

impl GuestSource for RawFileSource {
    fn virtual_size(&self) -> u64 {
        self.size
    }
    fn extents(&self) -> Result<Vec<Extent>, SourceError> {
        Ok(vec![Extent {
            offset: 0,
            length: self.size,
            kind: ExtentKind::Data,
        }])
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), SourceError> {
        Ok(self.file.read_exact_at(buf, offset)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(offset: u64, length: u64, kind: ExtentKind) -> Extent {
        Extent {
            offset,
            length,
            kind,
        }
    }

    #[test]
    fn normalize_fills_gaps_and_merges() {
        let got = normalize_extents(
            100,
            vec![
                ext(50, 10, ExtentKind::Data),
                ext(10, 20, ExtentKind::Data),
                ext(30, 20, ExtentKind::Data),
            ],
        )
        .expect("valid");
        assert_eq!(
            got,
            vec![
                ext(0, 10, ExtentKind::Unallocated),
                ext(10, 50, ExtentKind::Data),
                ext(60, 40, ExtentKind::Unallocated)
            ]
        );
    }

    #[test]
    fn normalize_rejects_overlap_and_overflow() {
        assert!(
            normalize_extents(
                100,
                vec![ext(0, 50, ExtentKind::Data), ext(40, 5, ExtentKind::Zero)]
            )
            .is_err()
        );
        assert!(normalize_extents(100, vec![ext(90, 20, ExtentKind::Data)]).is_err());
        assert!(normalize_extents(100, vec![ext(u64::MAX, 2, ExtentKind::Data)]).is_err());
    }
}
