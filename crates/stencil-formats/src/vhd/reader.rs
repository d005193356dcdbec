//! VHD readers: fixed (the data is the file) and dynamic (BAT of blocks).

use std::path::{Path, PathBuf};

use super::{
    BAT_UNALLOCATED, DISK_TYPE_DIFFERENCING, DISK_TYPE_DYNAMIC, DISK_TYPE_FIXED, DYN_COOKIE,
    DYN_HEADER_LEN, DYN_OFF_BLOCK_SIZE, DYN_OFF_CHECKSUM, DYN_OFF_MAX_TABLE_ENTRIES,
    DYN_OFF_TABLE_OFFSET, FOOTER_LEN, Footer, SECTOR, checksum,
};
use crate::error::{Error, ErrorKind, Result};
use crate::extent::{Extent, ExtentBuilder, ExtentKind};
use crate::format::Format;
use crate::limits::{MAX_VHD_BAT_BYTES, MAX_VHD_BLOCK_SIZE};
use crate::raw::{check_range, data_extents};
use crate::reader::DiskReader;
use crate::source::{Backing, be32, be64};

/// Opens a fixed or dynamic VHD.
pub(crate) fn open(backing: Backing, path: &Path) -> Result<Box<dyn DiskReader>> {
    let file_len = backing.len();
    if file_len < FOOTER_LEN as u64 {
        return Err(Error::new(
            ErrorKind::Truncated,
            format!("VHD file of {file_len} bytes has no footer"),
        ));
    }
    let mut f = [0u8; FOOTER_LEN];
    backing.read_exact_at(&mut f, 0, "VHD footer copy")?;
    let mut footer_at = 0;
    if &f[..8] != super::COOKIE {
        footer_at = file_len - FOOTER_LEN as u64;
        backing.read_exact_at(&mut f, footer_at, "VHD footer")?;
    }
    let footer = Footer::parse(&f).map_err(|e| e.at(footer_at))?;
    match footer.disk_type {
        DISK_TYPE_FIXED => {
            let data_len = file_len - FOOTER_LEN as u64;
            if footer.size > data_len {
                return Err(Error::new(
                    ErrorKind::Truncated,
                    format!(
                        "Fixed VHD of {:#x} bytes holds only {data_len:#x} bytes of data",
                        footer.size
                    ),
                ));
            }
            Ok(Box::new(FixedReader {
                backing,
                path: path.to_path_buf(),
                size: footer.size,
            }))
        }
        DISK_TYPE_DYNAMIC => Ok(Box::new(DynamicReader::open(backing, path, &footer)?)),
        DISK_TYPE_DIFFERENCING => Err(Error::new(
            ErrorKind::UnsupportedFormat,
            "VHD differencing disks are unsupported, convert with `qemu-img convert -O qcow2`",
        )),
        t => Err(Error::new(
            ErrorKind::InvalidHeader,
            format!("VHD disk type {t} is invalid"),
        )
        .field("disk_type")
        .at(footer_at)),
    }
}

struct FixedReader {
    backing: Backing,
    path: PathBuf,
    size: u64,
}

impl DiskReader for FixedReader {
    fn format(&self) -> Format {
        Format::Vhd
    }

    fn virtual_size(&self) -> u64 {
        self.size
    }

    fn extents(&self) -> Result<Vec<Extent>> {
        let mut b = ExtentBuilder::new();
        data_extents(&self.backing, 0, self.size, 0, &mut b)
            .map_err(|e| e.with_path(&self.path))?;
        Ok(b.finish())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        check_range(offset, buf.len(), self.size).map_err(|e| e.with_path(&self.path))?;
        self.backing
            .read_zero_fill(buf, offset, "VHD data")
            .map_err(|e| e.with_path(&self.path))
    }
}

struct DynamicReader {
    backing: Backing,
    path: PathBuf,
    size: u64,
    block_size: u64,
    bitmap_len: u64,
    /// The BAT as stored (big-endian sector numbers), validated at open; 4 bytes per block.
    bat: Vec<u8>,
}

impl DynamicReader {
    fn open(backing: Backing, path: &Path, footer: &Footer) -> Result<Self> {
        let file_len = backing.len();
        let at = footer.data_offset;
        let mut h = [0u8; DYN_HEADER_LEN];
        backing
            .read_exact_at(&mut h, at, "VHD dynamic header")
            .map_err(|e| e.field("data_offset"))?;
        if &h[..8] != DYN_COOKIE {
            return Err(Error::new(
                ErrorKind::InvalidHeader,
                "VHD dynamic header cookie missing",
            )
            .field("cookie")
            .at(at));
        }
        let (stored, computed) = (be32(&h, DYN_OFF_CHECKSUM), checksum(&h, DYN_OFF_CHECKSUM));
        if stored != computed {
            return Err(Error::new(
                ErrorKind::BadChecksum,
                format!("VHD dynamic header checksum {stored:#010x}, computed {computed:#010x}"),
            )
            .field("checksum")
            .at(at));
        }
        let block_size = u64::from(be32(&h, DYN_OFF_BLOCK_SIZE));
        if !block_size.is_power_of_two() || !(SECTOR..=MAX_VHD_BLOCK_SIZE).contains(&block_size) {
            return Err(Error::new(
                ErrorKind::InvalidHeader,
                format!("VHD block size {block_size:#x} is invalid"),
            )
            .field("block_size")
            .at(at + DYN_OFF_BLOCK_SIZE as u64));
        }
        let entries = u64::from(be32(&h, DYN_OFF_MAX_TABLE_ENTRIES));
        if entries * 4 > MAX_VHD_BAT_BYTES {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("VHD BAT of {entries} entries is too large"),
            )
            .field("max_table_entries"));
        }
        let needed = footer.size.div_ceil(block_size);
        if entries < needed {
            return Err(Error::new(
                ErrorKind::InvalidHeader,
                format!("VHD BAT of {entries} entries is too small for {needed} blocks"),
            )
            .field("max_table_entries"));
        }
        let table = be64(&h, DYN_OFF_TABLE_OFFSET);
        let mut raw = vec![0u8; (needed * 4) as usize];
        backing
            .read_exact_at(&mut raw, table, "VHD BAT")
            .map_err(|e| e.field("table_offset"))?;
        let bitmap_len = (block_size / SECTOR).div_ceil(8).next_multiple_of(SECTOR);
        for (i, c) in raw.chunks_exact(4).enumerate() {
            let e = be32(c, 0);
            if e == BAT_UNALLOCATED {
                continue;
            }
            let data = u64::from(e) * SECTOR + bitmap_len;
            if data >= file_len {
                return Err(Error::new(
                    ErrorKind::OutOfBounds,
                    format!("VHD block {i} at sector {e:#x} is past end of file {file_len:#x}"),
                )
                .field("bat entry")
                .at(table + i as u64 * 4));
            }
        }
        Ok(DynamicReader {
            backing,
            path: path.to_path_buf(),
            size: footer.size,
            block_size,
            bitmap_len,
            bat: raw,
        })
    }

    /// Byte offset of block `i`'s data (after its sector bitmap), or `None`.
    fn block(&self, i: usize) -> Option<u64> {
        let e = be32(&self.bat, i * 4);
        (e != BAT_UNALLOCATED).then(|| u64::from(e) * SECTOR + self.bitmap_len)
    }
}

impl DiskReader for DynamicReader {
    fn format(&self) -> Format {
        Format::Vhd
    }

    fn virtual_size(&self) -> u64 {
        self.size
    }

    fn extents(&self) -> Result<Vec<Extent>> {
        let _ = self.bitmap_len;
        let mut b = ExtentBuilder::new();
        for i in 0..self.bat.len() / 4 {
            let e = self.block(i);
            let start = i as u64 * self.block_size;
            let len = self.block_size.min(self.size - start);
            let kind = if e.is_some() {
                ExtentKind::Data
            } else {
                ExtentKind::Unallocated
            };
            b.push(start, len, kind)
                .map_err(|e| e.with_path(&self.path))?;
        }
        Ok(b.finish())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        check_range(offset, buf.len(), self.size).map_err(|e| e.with_path(&self.path))?;
        let end = offset + buf.len() as u64;
        let mut pos = offset;
        while pos < end {
            let block = pos / self.block_size;
            let seg_end = end.min((block + 1) * self.block_size);
            let dst = &mut buf[(pos - offset) as usize..(seg_end - offset) as usize];
            match self.block(block as usize) {
                None => dst.fill(0),
                Some(data) => self
                    .backing
                    .read_zero_fill(dst, data + pos % self.block_size, "VHD block")
                    .map_err(|e| e.with_path(&self.path))?,
            }
            pos = seg_end;
        }
        Ok(())
    }
}
