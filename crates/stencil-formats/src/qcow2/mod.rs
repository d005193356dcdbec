//! qcow2 v2/v3 reader: L1 in memory, L2 entries read on demand (no cache, no locks), zlib and
//! zstd compressed clusters, zero clusters and extended L2 subclusters.

pub mod header;

use std::path::{Path, PathBuf};

use crate::decompress::{Deflate, inflate, unzstd};
use crate::error::{Error, ErrorKind, Result};
use crate::extent::{Extent, ExtentBuilder, ExtentKind};
use crate::format::Format;
use crate::raw::check_range;
use crate::reader::DiskReader;
use crate::source::{Backing, be64};
use header::{Compression, Header};

/// Bits 9-55 of an L1 entry: offset of the L2 table.
pub const L1_OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
/// Bits 9-55 of a standard L2 entry: offset of the data cluster.
pub const L2_OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
/// L2 entry bit 62: the cluster is compressed.
pub const L2_COMPRESSED: u64 = 1 << 62;
/// L2 entry bit 0: the cluster reads as zeros (v3, standard L2 only).
pub const L2_ZERO: u64 = 1;
/// Subclusters per cluster with extended L2 entries.
pub const SUBCLUSTERS: u64 = 32;
/// Compressed cluster lengths count 512-byte sectors.
pub const COMPRESSED_SECTOR: u64 = 512;

/// What one L2 entry says about its cluster.
#[derive(Debug, Clone, Copy)]
enum Cluster {
    Unallocated,
    Zero,
    Host(u64),
    Compressed {
        host: u64,
        len: u64,
    },
    /// Extended L2: per-subcluster allocation and zero bitmaps.
    Sub {
        host: u64,
        alloc: u32,
        zero: u32,
    },
}

/// Reader for qcow2 images.
pub(crate) struct Qcow2Reader {
    backing: Backing,
    path: PathBuf,
    h: Header,
    l1: Vec<u64>,
}

impl Qcow2Reader {
    pub(crate) fn open(backing: Backing, path: &Path) -> Result<Self> {
        let h = Header::read(&backing)?;
        let mut raw = vec![0u8; (h.l1_needed * 8) as usize];
        backing.read_exact_at(&mut raw, h.l1_offset, "L1 table")?;
        let l1 = raw
            .chunks_exact(8)
            .map(|c| be64(c, 0) & L1_OFFSET_MASK)
            .collect::<Vec<_>>();
        let r = Qcow2Reader {
            backing,
            path: path.to_path_buf(),
            h,
            l1,
        };
        for (i, &l2) in r.l1.iter().enumerate() {
            r.check_l2_offset(l2)
                .map_err(|e| e.field("l1 entry").at(r.h.l1_offset + i as u64 * 8))?;
        }
        Ok(r)
    }

    fn cs(&self) -> u64 {
        self.h.cluster_size()
    }

    fn l2_cover(&self) -> u64 {
        self.cs() * self.h.l2_entries()
    }

    fn check_l2_offset(&self, l2: u64) -> Result<()> {
        if l2 == 0 {
            return Ok(());
        }
        if !l2.is_multiple_of(self.cs()) {
            return Err(Error::new(
                ErrorKind::CorruptData,
                format!("L2 table offset {l2:#x} is not cluster aligned"),
            ));
        }
        if l2 < self.cs() {
            return Err(Error::new(
                ErrorKind::Overlap,
                "L2 table overlaps the header",
            ));
        }
        if l2 >= self.backing.len() {
            return Err(Error::new(
                ErrorKind::OutOfBounds,
                format!("L2 table at {l2:#x} is past end of file"),
            ));
        }
        Ok(())
    }

    /// Reads `count` L2 entries of table `l1_index` starting at entry `first`.
    fn read_l2(&self, l1_index: u64, first: u64, count: u64, out: &mut Vec<u8>) -> Result<u64> {
        let l2 = self.l1[l1_index as usize];
        let len = self.h.l2_entry_len();
        out.resize((count * len) as usize, 0);
        if l2 != 0 {
            self.backing
                .read_exact_at(out, l2 + first * len, "L2 table")?;
        }
        Ok(l2)
    }

    fn classify(&self, raw: &[u8], at: u64) -> Result<Cluster> {
        let e = be64(raw, 0);
        let file_len = self.backing.len();
        if e & L2_COMPRESSED != 0 {
            let shift = 62 - (self.h.cluster_bits - 8);
            let host = e & ((1u64 << shift) - 1);
            let sectors = ((e >> shift) & ((1u64 << (self.h.cluster_bits - 8)) - 1)) + 1;
            let len = sectors * COMPRESSED_SECTOR - (host % COMPRESSED_SECTOR);
            // qemu sizes the last compressed cluster to the end of its sector, which may pass
            // the end of the file by less than a sector; more than that is corruption.
            if host >= file_len || host + len > file_len.next_multiple_of(COMPRESSED_SECTOR) {
                return Err(Error::new(
                    ErrorKind::OutOfBounds,
                    format!("Compressed cluster at {host:#x} ({len} bytes) is past end of file {file_len:#x}"),
                )
                .field("l2 entry")
                .at(at));
            }
            return Ok(Cluster::Compressed { host, len });
        }
        let host = e & L2_OFFSET_MASK;
        if host != 0 && e & !(L2_OFFSET_MASK | L2_ZERO | (1 << 63)) != 0 {
            return Err(Error::new(
                ErrorKind::CorruptData,
                format!("L2 entry {e:#x} has reserved bits set"),
            )
            .field("l2 entry")
            .at(at));
        }
        if host != 0 {
            if !host.is_multiple_of(self.cs()) {
                return Err(Error::new(
                    ErrorKind::CorruptData,
                    format!("Data cluster offset {host:#x} is unaligned"),
                )
                .field("l2 entry")
                .at(at));
            }
            if host >= file_len {
                return Err(Error::new(
                    ErrorKind::OutOfBounds,
                    format!("Data cluster at {host:#x} is past end of file {file_len:#x}"),
                )
                .field("l2 entry")
                .at(at));
            }
        }
        if self.h.extended_l2() {
            let bitmap = be64(raw, 8);
            let (alloc, zero) = (bitmap as u32, (bitmap >> 32) as u32);
            if alloc & zero != 0 || (host == 0 && alloc != 0) {
                return Err(Error::new(
                    ErrorKind::CorruptData,
                    format!("Bad subcluster bitmap {bitmap:#x}"),
                )
                .field("l2 entry")
                .at(at + 8));
            }
            return Ok(Cluster::Sub { host, alloc, zero });
        }
        Ok(if e & L2_ZERO != 0 {
            Cluster::Zero
        } else if host == 0 {
            Cluster::Unallocated
        } else {
            Cluster::Host(host)
        })
    }

    fn push_cluster(&self, b: &mut ExtentBuilder, guest: u64, len: u64, c: Cluster) -> Result<()> {
        match c {
            Cluster::Unallocated => b.push(guest, len, ExtentKind::Unallocated),
            Cluster::Zero => b.push(guest, len, ExtentKind::Zero),
            Cluster::Host(_) | Cluster::Compressed { .. } => b.push(guest, len, ExtentKind::Data),
            Cluster::Sub { alloc, zero, .. } => {
                let sc = self.cs() / SUBCLUSTERS;
                for i in 0..SUBCLUSTERS {
                    let start = i * sc;
                    if start >= len {
                        break;
                    }
                    let kind = if alloc >> i & 1 != 0 {
                        ExtentKind::Data
                    } else if zero >> i & 1 != 0 {
                        ExtentKind::Zero
                    } else {
                        ExtentKind::Unallocated
                    };
                    b.push(guest + start, sc.min(len - start), kind)?;
                }
                Ok(())
            }
        }
    }

    fn extents_inner(&self) -> Result<Vec<Extent>> {
        let size = self.h.size;
        let (cs, cover, elen) = (self.cs(), self.l2_cover(), self.h.l2_entry_len());
        let mut b = ExtentBuilder::new();
        let mut table = Vec::new();
        for i in 0..self.h.l1_needed {
            let start = i * cover;
            let end = size.min(start + cover);
            let count = (end - start).div_ceil(cs);
            let l2 = self.read_l2(i, 0, count, &mut table)?;
            if l2 == 0 {
                b.push(start, end - start, ExtentKind::Unallocated)?;
                continue;
            }
            for j in 0..count {
                let raw = &table[(j * elen) as usize..((j + 1) * elen) as usize];
                let c = self.classify(raw, l2 + j * elen)?;
                let g = start + j * cs;
                self.push_cluster(&mut b, g, cs.min(end - g), c)?;
            }
        }
        Ok(b.finish())
    }

    fn read_inner(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let mut span = Span::take();
        let result = self.read_clusters(buf, offset, &mut span);
        span.give_back();
        result
    }

    fn read_clusters(&self, buf: &mut [u8], offset: u64, span: &mut Span) -> Result<()> {
        let (cs, cover, elen) = (self.cs(), self.l2_cover(), self.h.l2_entry_len());
        let end = offset + buf.len() as u64;
        let mut run = Run::default();
        let mut table = Vec::new();
        let mut pos = offset;
        while pos < end {
            let l1i = pos / cover;
            let table_end = end.min((l1i + 1) * cover);
            let first = (pos % cover) / cs;
            let count = (table_end - 1) / cs - pos / cs + 1;
            let l2 = self.read_l2(l1i, first, count, &mut table)?;
            if l2 == 0 {
                buf[(pos - offset) as usize..(table_end - offset) as usize].fill(0);
                pos = table_end;
                continue;
            }
            for j in 0..count {
                let raw = &table[(j * elen) as usize..((j + 1) * elen) as usize];
                let c = self.classify(raw, l2 + (first + j) * elen)?;
                let cstart = (pos / cs) * cs;
                let seg_end = table_end.min(cstart + cs);
                let (bo, be) = ((pos - offset) as usize, (seg_end - offset) as usize);
                let in_cluster = pos - cstart;
                match c {
                    Cluster::Unallocated | Cluster::Zero => buf[bo..be].fill(0),
                    Cluster::Host(host) => run.add(self, buf, bo, host + in_cluster, be - bo)?,
                    Cluster::Compressed { host, len } => {
                        if !span.holds(host, len) {
                            let span_end =
                                self.compressed_span_end(&table[(j * elen) as usize..], host);
                            span.load(self, host, span_end)?;
                        }
                        let whole = in_cluster == 0 && be - bo == cs as usize;
                        if whole {
                            self.decompress(host, span.get(host, len), &mut buf[bo..be])?;
                        } else {
                            let mut tmp = vec![0u8; cs as usize];
                            self.decompress(host, span.get(host, len), &mut tmp)?;
                            buf[bo..be].copy_from_slice(
                                &tmp[in_cluster as usize..in_cluster as usize + (be - bo)],
                            );
                        }
                    }
                    Cluster::Sub {
                        host,
                        alloc,
                        zero: _,
                    } => {
                        let sc = cs / SUBCLUSTERS;
                        let mut p = pos;
                        while p < seg_end {
                            let i = (p - cstart) / sc;
                            let sub_end = seg_end.min(cstart + (i + 1) * sc);
                            let (sb, se) = ((p - offset) as usize, (sub_end - offset) as usize);
                            if alloc >> i & 1 != 0 {
                                run.add(self, buf, sb, host + (p - cstart), se - sb)?;
                            } else {
                                buf[sb..se].fill(0);
                            }
                            p = sub_end;
                        }
                    }
                }
                pos = seg_end;
            }
        }
        run.flush(self, buf)
    }

    fn decompress(&self, host: u64, input: &[u8], out: &mut [u8]) -> Result<()> {
        let r = match self.h.compression {
            Compression::Zlib => inflate(input, out, Deflate::Raw),
            Compression::Zstd => unzstd(input, out),
        };
        r.map_err(|e| e.at(host))
    }

    /// End of the host range holding the compressed clusters that follow `entries[0]` (at
    /// `host`) in increasing host order, so one `pread` fetches them all.
    fn compressed_span_end(&self, entries: &[u8], host: u64) -> u64 {
        let elen = self.h.l2_entry_len() as usize;
        let mut end = host;
        for raw in entries.chunks_exact(elen) {
            match self.classify(raw, 0) {
                Ok(Cluster::Compressed { host: h, len })
                    if h >= host && h + len - host <= MAX_COMPRESSED_SPAN =>
                {
                    end = end.max(h + len);
                }
                _ => break,
            }
        }
        end
    }
}

/// Most bytes of compressed clusters fetched by one `pread`.
const MAX_COMPRESSED_SPAN: u64 = 4 << 20;

/// A window of host bytes holding compressed clusters. The buffer is kept per thread and
/// only grows, so steady-state reads neither allocate nor zero it.
struct Span {
    start: u64,
    len: usize,
    bytes: Vec<u8>,
}

thread_local! {
    static SPAN_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Span {
    fn take() -> Span {
        Span {
            start: 0,
            len: 0,
            bytes: SPAN_BUF.with(|b| std::mem::take(&mut *b.borrow_mut())),
        }
    }

    fn give_back(self) {
        SPAN_BUF.with(|b| *b.borrow_mut() = self.bytes);
    }

    fn holds(&self, host: u64, len: u64) -> bool {
        host >= self.start && host + len <= self.start + self.len as u64
    }

    fn load(&mut self, r: &Qcow2Reader, start: u64, end: u64) -> Result<()> {
        self.start = start;
        self.len = (end - start) as usize;
        if self.bytes.len() < self.len {
            self.bytes.resize(self.len, 0);
        }
        let result =
            r.backing
                .read_zero_fill(&mut self.bytes[..self.len], start, "compressed clusters");
        if result.is_err() {
            self.len = 0;
        }
        result
    }

    fn get(&self, host: u64, len: u64) -> &[u8] {
        let at = (host - self.start) as usize;
        &self.bytes[at..at + len as usize]
    }
}

/// Coalesces reads of host-contiguous data into one `pread`.
#[derive(Default)]
struct Run {
    buf_start: usize,
    host: u64,
    len: usize,
}

impl Run {
    fn add(
        &mut self,
        r: &Qcow2Reader,
        buf: &mut [u8],
        bo: usize,
        host: u64,
        len: usize,
    ) -> Result<()> {
        if self.len > 0 && self.buf_start + self.len == bo && self.host + self.len as u64 == host {
            self.len += len;
            return Ok(());
        }
        self.flush(r, buf)?;
        *self = Run {
            buf_start: bo,
            host,
            len,
        };
        Ok(())
    }

    fn flush(&mut self, r: &Qcow2Reader, buf: &mut [u8]) -> Result<()> {
        if self.len > 0 {
            let dst = &mut buf[self.buf_start..self.buf_start + self.len];
            r.backing.read_zero_fill(dst, self.host, "data cluster")?;
            self.len = 0;
        }
        Ok(())
    }
}

impl DiskReader for Qcow2Reader {
    fn format(&self) -> Format {
        Format::Qcow2
    }

    fn virtual_size(&self) -> u64 {
        self.h.size
    }

    fn extents(&self) -> Result<Vec<Extent>> {
        self.extents_inner().map_err(|e| e.with_path(&self.path))
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        check_range(offset, buf.len(), self.h.size).map_err(|e| e.with_path(&self.path))?;
        self.read_inner(buf, offset)
            .map_err(|e| e.with_path(&self.path))
    }
}
