//! The allocation map: sorted, contiguous extents covering `[0, virtual_size)`.

use crate::error::{Error, ErrorKind, Result};
use crate::limits::MAX_EXTENTS;

/// What a range of the virtual disk holds, as the image metadata says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtentKind {
    /// Stored bytes (which may still happen to be zeros).
    Data,
    /// Explicitly marked as reading zeros (qcow2 zero clusters, VMDK zero grains).
    Zero,
    /// Not allocated: reads as zeros since backing files are never opened.
    Unallocated,
}

impl ExtentKind {
    /// True for [`ExtentKind::Data`].
    pub fn is_data(self) -> bool {
        self == ExtentKind::Data
    }
}

/// A run of the virtual disk with one [`ExtentKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Extent {
    /// First guest byte.
    pub offset: u64,
    /// Length in bytes (never 0).
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

/// Builds a merged extent list, bounded by [`MAX_EXTENTS`].
#[derive(Debug, Default)]
pub(crate) struct ExtentBuilder {
    extents: Vec<Extent>,
}

impl ExtentBuilder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends `[offset, offset + length)`; must start where the previous one ended.
    pub(crate) fn push(&mut self, offset: u64, length: u64, kind: ExtentKind) -> Result<()> {
        if length == 0 {
            return Ok(());
        }
        if let Some(last) = self.extents.last_mut() {
            debug_assert_eq!(last.end(), offset);
            if last.kind == kind && last.end() == offset {
                last.length += length;
                return Ok(());
            }
        }
        if self.extents.len() >= MAX_EXTENTS {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("Allocation map has more than {MAX_EXTENTS} extents"),
            ));
        }
        self.extents.push(Extent {
            offset,
            length,
            kind,
        });
        Ok(())
    }

    pub(crate) fn finish(self) -> Vec<Extent> {
        self.extents
    }
}

/// Checks that `extents` are sorted, contiguous, non-empty and cover `[0, virtual_size)`.
pub fn validate_extents(extents: &[Extent], virtual_size: u64) -> Result<()> {
    let mut pos = 0u64;
    for e in extents {
        if e.offset != pos || e.length == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "Extent at {:#x} (length {:#x}) does not start at {pos:#x}",
                    e.offset, e.length
                ),
            ));
        }
        pos = e.offset.checked_add(e.length).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("Extent at {:#x} overflows", e.offset),
            )
        })?;
    }
    if pos != virtual_size {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("Extents cover {pos:#x} bytes, virtual size is {virtual_size:#x}"),
        ));
    }
    Ok(())
}
