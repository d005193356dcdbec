//! Raw images: the file is the disk. Holes come from `SEEK_DATA`/`SEEK_HOLE`.

use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::SeekFrom;

use crate::error::{Error, ErrorKind, Result};
use crate::extent::{Extent, ExtentBuilder, ExtentKind};
use crate::format::Format;
use crate::reader::DiskReader;
use crate::source::Backing;

/// Reader for raw files and in-memory raw images.
pub(crate) struct RawReader {
    backing: Backing,
    path: PathBuf,
}

impl RawReader {
    pub(crate) fn new(backing: Backing, path: &Path) -> Self {
        RawReader {
            backing,
            path: path.to_path_buf(),
        }
    }
}

impl DiskReader for RawReader {
    fn format(&self) -> Format {
        Format::Raw
    }

    fn virtual_size(&self) -> u64 {
        self.backing.len()
    }

    fn extents(&self) -> Result<Vec<Extent>> {
        let mut b = ExtentBuilder::new();
        data_extents(&self.backing, 0, self.backing.len(), 0, &mut b)
            .map_err(|e| e.with_path(&self.path))?;
        Ok(b.finish())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        check_range(offset, buf.len(), self.virtual_size()).map_err(|e| e.with_path(&self.path))?;
        self.backing
            .read_zero_fill(buf, offset, "raw data")
            .map_err(|e| e.with_path(&self.path))
    }
}

/// Errors unless `[offset, offset + len)` lies inside the virtual disk.
pub(crate) fn check_range(offset: u64, len: usize, virtual_size: u64) -> Result<()> {
    match offset.checked_add(len as u64) {
        Some(end) if end <= virtual_size => Ok(()),
        _ => Err(Error::new(
            ErrorKind::OutOfRange,
            format!("Read of {len} bytes at {offset:#x} past virtual size {virtual_size:#x}"),
        )),
    }
}

/// Pushes Data/Unallocated extents for file bytes `[start, start + len)`, placed at guest
/// offset `guest`. Files use `SEEK_DATA`/`SEEK_HOLE`; memory and file systems without hole
/// support report everything as data.
pub(crate) fn data_extents(
    backing: &Backing,
    start: u64,
    len: u64,
    guest: u64,
    out: &mut ExtentBuilder,
) -> Result<()> {
    let end = start + len;
    let Some(file) = backing.file() else {
        return out.push(guest, len, ExtentKind::Data);
    };
    let mut pos = start;
    while pos < end {
        let data = match rustix::fs::seek(file, SeekFrom::Data(pos)) {
            Ok(d) => d.min(end),
            Err(rustix::io::Errno::NXIO) => end,
            Err(e) if pos == start && is_unsupported(e) => {
                return out.push(guest, len, ExtentKind::Data);
            }
            Err(e) => return Err(Error::io(io::Error::from(e), "SEEK_DATA failed").at(pos)),
        };
        out.push(guest + (pos - start), data - pos, ExtentKind::Unallocated)?;
        if data >= end {
            break;
        }
        let hole = match rustix::fs::seek(file, SeekFrom::Hole(data)) {
            Ok(h) => h.min(end),
            Err(rustix::io::Errno::NXIO) => end,
            Err(e) => return Err(Error::io(io::Error::from(e), "SEEK_HOLE failed").at(data)),
        };
        if hole <= data {
            return out.push(guest + (data - start), end - data, ExtentKind::Data);
        }
        out.push(guest + (data - start), hole - data, ExtentKind::Data)?;
        pos = hole;
    }
    Ok(())
}

fn is_unsupported(e: rustix::io::Errno) -> bool {
    matches!(
        e,
        rustix::io::Errno::INVAL | rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::SPIPE
    )
}
