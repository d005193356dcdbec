//! VMDK sparse extent reader. The embedded descriptor is checked but its extent file name is
//! never opened: the grains come from this file only.

use std::path::{Path, PathBuf};

use super::header::*;
use crate::decompress::inflate_partial;
use crate::error::{Error, ErrorKind, Result};
use crate::extent::{Extent, ExtentBuilder, ExtentKind};
use crate::format::Format;
use crate::limits::{
    MAX_VIRTUAL_SIZE, MAX_VMDK_DESCRIPTOR_BYTES, MAX_VMDK_GD_BYTES, MAX_VMDK_GRAIN_BYTES,
};
use crate::raw::check_range;
use crate::reader::DiskReader;
use crate::source::{Backing, le16, le32, le64};

/// Opens a monolithicSparse or streamOptimized VMDK.
pub(crate) fn open(backing: Backing, path: &Path) -> Result<Box<dyn DiskReader>> {
    Ok(Box::new(SparseReader::open(backing, path)?))
}

/// The error for a VMDK text descriptor: it always names other files.
pub(crate) fn reject_descriptor(backing: &Backing) -> Error {
    let len = backing.len().min(MAX_VMDK_DESCRIPTOR_BYTES) as usize;
    let mut text = vec![0u8; len];
    if let Err(e) = backing.read_exact_at(&mut text, 0, "VMDK descriptor") {
        return e;
    }
    let text = String::from_utf8_lossy(&text);
    let name = text
        .lines()
        .find_map(|l| parse_extent(l).map(|e| e.file))
        .unwrap_or_default();
    Error::new(
        ErrorKind::ExternalFile,
        format!(
            "VMDK descriptor names extent file {name:?}; multi-file VMDK is unsupported, \
             convert with `qemu-img convert -O qcow2`"
        ),
    )
}

struct ExtentLine {
    kind: String,
    file: String,
}

fn parse_extent(line: &str) -> Option<ExtentLine> {
    let l = line.trim();
    let mut it = l.split_whitespace();
    let access = it.next()?;
    if !matches!(access, "RW" | "RDONLY" | "NOACCESS") {
        return None;
    }
    let _size = it.next()?;
    let kind = it.next().unwrap_or("").to_ascii_uppercase();
    let file = l.split('"').nth(1).unwrap_or("").to_string();
    Some(ExtentLine { kind, file })
}

/// Checks an embedded descriptor: exactly one SPARSE extent (this file) and no parent.
fn check_embedded_descriptor(text: &str) -> Result<()> {
    let mut count = 0;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("parentFileNameHint") {
            return Err(
                Error::new(ErrorKind::ExternalFile, "VMDK names a parent disk")
                    .field("parentFileNameHint"),
            );
        }
        if let Some(e) = parse_extent(l) {
            count += 1;
            if e.kind != "SPARSE" || count > 1 {
                return Err(Error::new(
                    ErrorKind::ExternalFile,
                    format!(
                        "VMDK descriptor names extent file {:?} ({})",
                        e.file, e.kind
                    ),
                )
                .field("extent"));
            }
        }
    }
    Ok(())
}

struct SparseReader {
    backing: Backing,
    path: PathBuf,
    size: u64,
    grain: u64,
    gtes: u64,
    compressed: bool,
    zero_grain: bool,
    /// The grain directory as stored (little-endian sector numbers, 0 = none), validated.
    gd: Vec<u8>,
}

impl SparseReader {
    fn open(backing: Backing, path: &Path) -> Result<Self> {
        let file_len = backing.len();
        if file_len < HEADER_LEN as u64 {
            return Err(Error::new(
                ErrorKind::Truncated,
                format!("VMDK file of {file_len} bytes has no header"),
            ));
        }
        let mut h = [0u8; HEADER_LEN];
        backing.read_exact_at(&mut h, 0, "VMDK header")?;
        if le64(&h, OFF_GD_OFFSET) == GD_AT_END {
            // streamOptimized: the header with the real gdOffset is in the footer.
            if file_len < 3 * SECTOR {
                return Err(Error::new(
                    ErrorKind::Truncated,
                    "VMDK stream has no footer",
                ));
            }
            let mut m = [0u8; 512];
            backing.read_exact_at(&mut m, file_len - 3 * SECTOR, "VMDK footer marker")?;
            if le32(&m, OFF_MARKER_TYPE) != MARKER_FOOTER {
                return Err(
                    Error::new(ErrorKind::Truncated, "VMDK stream footer marker missing")
                        .at(file_len - 3 * SECTOR),
                );
            }
            backing.read_exact_at(&mut h, file_len - 2 * SECTOR, "VMDK footer")?;
            if le32(&h, 0) != VMDK4_MAGIC || le64(&h, OFF_GD_OFFSET) == GD_AT_END {
                return Err(Error::new(
                    ErrorKind::InvalidHeader,
                    "VMDK footer is not a valid header",
                )
                .at(file_len - 2 * SECTOR));
            }
        }
        let version = le32(&h, OFF_VERSION);
        if !(1..=3).contains(&version) {
            return Err(Error::new(
                ErrorKind::UnsupportedFormat,
                format!("VMDK version {version}"),
            )
            .field("version"));
        }
        let flags = le32(&h, OFF_FLAGS);
        let compressed = flags & FLAG_COMPRESSED != 0;
        if compressed {
            let algo = le16(&h, OFF_COMPRESS_ALGORITHM);
            if algo != COMPRESSION_DEFLATE || flags & FLAG_MARKERS == 0 {
                return Err(Error::new(
                    ErrorKind::UnsupportedFeature,
                    format!("VMDK compression {algo} without markers"),
                )
                .field("compressAlgorithm"));
            }
        }
        let capacity = le64(&h, OFF_CAPACITY);
        if capacity > MAX_VIRTUAL_SIZE / SECTOR {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("VMDK capacity {capacity} sectors"),
            )
            .field("capacity"));
        }
        let grain_sectors = le64(&h, OFF_GRAIN_SIZE);
        if grain_sectors == 0 || grain_sectors > MAX_VMDK_GRAIN_BYTES / SECTOR {
            return Err(Error::new(
                ErrorKind::InvalidHeader,
                format!("VMDK grain size {grain_sectors} sectors"),
            )
            .field("grainSize"));
        }
        let gtes = le32(&h, OFF_NUM_GTES_PER_GT);
        if gtes == 0 || gtes > MAX_GTES_PER_GT {
            return Err(Error::new(
                ErrorKind::InvalidHeader,
                format!("VMDK has {gtes} entries per grain table"),
            )
            .field("numGTEsPerGT"));
        }
        let (grain, gtes) = (grain_sectors * SECTOR, u64::from(gtes));
        let size = capacity * SECTOR;
        let gd_entries = size.div_ceil(grain * gtes);
        if gd_entries * 4 > MAX_VMDK_GD_BYTES {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("VMDK grain directory of {gd_entries} entries"),
            )
            .field("gdOffset"));
        }
        check_descriptor(&backing, &h)?;
        let gd_at = le64(&h, OFF_GD_OFFSET).saturating_mul(SECTOR);
        let mut raw = vec![0u8; (gd_entries * 4) as usize];
        backing
            .read_exact_at(&mut raw, gd_at, "VMDK grain directory")
            .map_err(|e| e.field("gdOffset"))?;
        for (i, c) in raw.chunks_exact(4).enumerate() {
            let gt = u64::from(le32(c, 0)) * SECTOR;
            if gt != 0 && gt + gtes * 4 > file_len {
                return Err(Error::new(
                    ErrorKind::OutOfBounds,
                    format!("VMDK grain table {i} at {gt:#x} is past end of file {file_len:#x}"),
                )
                .field("grain directory entry")
                .at(gd_at + i as u64 * 4));
            }
        }
        let gd = raw;
        let zero_grain = flags & FLAG_ZERO_GRAIN != 0;
        Ok(SparseReader {
            backing,
            path: path.to_path_buf(),
            size,
            grain,
            gtes,
            compressed,
            zero_grain,
            gd,
        })
    }

    fn read_gt(&self, gdi: usize, first: u64, count: u64, out: &mut Vec<u8>) -> Result<u64> {
        let gt = u64::from(le32(&self.gd, gdi * 4)) * SECTOR;
        out.resize((count * 4) as usize, 0);
        if gt != 0 {
            self.backing
                .read_exact_at(out, gt + first * 4, "VMDK grain table")?;
        }
        Ok(gt)
    }

    fn classify(&self, e: u32, at: u64) -> Result<ExtentKind> {
        if e == 0 {
            return Ok(ExtentKind::Unallocated);
        }
        if e == GTE_ZERO && self.zero_grain {
            return Ok(ExtentKind::Zero);
        }
        let host = u64::from(e) * SECTOR;
        if host >= self.backing.len() {
            return Err(Error::new(
                ErrorKind::OutOfBounds,
                format!("VMDK grain at {host:#x} is past end of file"),
            )
            .field("grain table entry")
            .at(at));
        }
        Ok(ExtentKind::Data)
    }

    fn extents_inner(&self) -> Result<Vec<Extent>> {
        let mut b = ExtentBuilder::new();
        let cover = self.grain * self.gtes;
        let mut table = Vec::new();
        for i in 0..self.gd.len() / 4 {
            let start = i as u64 * cover;
            let end = self.size.min(start + cover);
            let count = (end - start).div_ceil(self.grain);
            let gt = self.read_gt(i, 0, count, &mut table)?;
            for j in 0..count {
                let e = le32(&table, (j * 4) as usize);
                let kind = if gt == 0 {
                    ExtentKind::Unallocated
                } else {
                    self.classify(e, gt + j * 4)?
                };
                let g = start + j * self.grain;
                b.push(g, self.grain.min(end - g), kind)?;
            }
        }
        Ok(b.finish())
    }

    fn read_inner(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let (grain, cover) = (self.grain, self.grain * self.gtes);
        let end = offset + buf.len() as u64;
        let mut table = Vec::new();
        let mut scratch = Vec::new();
        let mut grain_buf = Vec::new();
        let mut pos = offset;
        while pos < end {
            let gdi = pos / cover;
            let table_end = end.min((gdi + 1) * cover);
            let first = (pos % cover) / grain;
            let count = (table_end - 1) / grain - pos / grain + 1;
            let gt = self.read_gt(gdi as usize, first, count, &mut table)?;
            for j in 0..count {
                let e = le32(&table, (j * 4) as usize);
                let gstart = (pos / grain) * grain;
                let seg_end = table_end.min(gstart + grain);
                let dst = &mut buf[(pos - offset) as usize..(seg_end - offset) as usize];
                let kind = if gt == 0 {
                    ExtentKind::Unallocated
                } else {
                    self.classify(e, gt + (first + j) * 4)?
                };
                let host = u64::from(e) * SECTOR;
                match kind {
                    ExtentKind::Unallocated | ExtentKind::Zero => dst.fill(0),
                    ExtentKind::Data if !self.compressed => {
                        self.backing
                            .read_zero_fill(dst, host + (pos - gstart), "VMDK grain")?;
                    }
                    ExtentKind::Data => {
                        self.read_compressed(host, &mut scratch, &mut grain_buf)?;
                        let from = (pos - gstart) as usize;
                        let n = dst.len();
                        if grain_buf.len() < from + n {
                            return Err(Error::new(
                                ErrorKind::CorruptData,
                                "VMDK grain inflates too short",
                            )
                            .at(host));
                        }
                        dst.copy_from_slice(&grain_buf[from..from + n]);
                    }
                }
                pos = seg_end;
            }
        }
        Ok(())
    }

    fn read_compressed(&self, host: u64, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<()> {
        let mut m = [0u8; GRAIN_MARKER_LEN];
        self.backing
            .read_exact_at(&mut m, host, "VMDK grain marker")?;
        let len = u64::from(le32(&m, 8));
        if len == 0 || len > 2 * self.grain + 1024 {
            return Err(Error::new(
                ErrorKind::CorruptData,
                format!("VMDK compressed grain of {len} bytes"),
            )
            .at(host));
        }
        scratch.resize(len as usize, 0);
        self.backing.read_exact_at(
            scratch,
            host + GRAIN_MARKER_LEN as u64,
            "VMDK compressed grain",
        )?;
        out.resize(self.grain as usize, 0);
        let n = inflate_partial(scratch, out).map_err(|e| e.at(host))?;
        out.truncate(n);
        Ok(())
    }
}

fn check_descriptor(backing: &Backing, h: &[u8]) -> Result<()> {
    let (off, len) = (le64(h, OFF_DESCRIPTOR_OFFSET), le64(h, OFF_DESCRIPTOR_SIZE));
    if off == 0 || len == 0 {
        return Ok(());
    }
    if len > MAX_VMDK_DESCRIPTOR_BYTES / SECTOR || off > backing.len() / SECTOR {
        return Err(Error::new(
            ErrorKind::InvalidHeader,
            format!("VMDK descriptor of {len} sectors at sector {off}"),
        )
        .field("descriptorSize"));
    }
    let mut text = vec![0u8; (len * SECTOR) as usize];
    backing.read_zero_fill(&mut text, off * SECTOR, "VMDK descriptor")?;
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    check_embedded_descriptor(&String::from_utf8_lossy(&text[..end]))
        .map_err(|e| e.at(off * SECTOR))
}

impl DiskReader for SparseReader {
    fn format(&self) -> Format {
        Format::Vmdk
    }

    fn virtual_size(&self) -> u64 {
        self.size
    }

    fn extents(&self) -> Result<Vec<Extent>> {
        self.extents_inner().map_err(|e| e.with_path(&self.path))
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        check_range(offset, buf.len(), self.size).map_err(|e| e.with_path(&self.path))?;
        self.read_inner(buf, offset)
            .map_err(|e| e.with_path(&self.path))
    }
}
