//! The qcow2 header (docs/interop/qcow2.txt in QEMU), validated against the file size and
//! the limits in [`crate::limits`] before anything else is read.

use crate::error::{Error, ErrorKind, Result};
use crate::limits::{
    MAX_QCOW2_L1_BYTES, MAX_QCOW2_REFTABLE_BYTES, MAX_QCOW2_SNAPSHOTS, MAX_VIRTUAL_SIZE,
};
use crate::source::{Backing, be32, be64};

/// "QFI\xfb", the first four bytes of every qcow/qcow2 file.
pub const QCOW_MAGIC: u32 = 0x5146_49fb;
/// Header length of a version 2 image (fields up to `snapshots_offset`).
pub const V2_HEADER_LEN: u32 = 72;
/// Minimum header length of a version 3 image (up to `header_length`).
pub const V3_MIN_HEADER_LEN: u32 = 104;
/// Offset of the version 3 `compression_type` byte (present if `header_length > 104`).
pub const OFF_COMPRESSION_TYPE: usize = 104;
/// Smallest and largest cluster_bits qemu accepts (512 B to 2 MiB).
pub const MIN_CLUSTER_BITS: u32 = 9;
/// See [`MIN_CLUSTER_BITS`].
pub const MAX_CLUSTER_BITS: u32 = 21;
/// Extended L2 entries need clusters of at least 16 KiB (32 subclusters of 512 B).
pub const MIN_EXTENDED_L2_CLUSTER_BITS: u32 = 14;
/// Largest refcount_order (64-bit refcounts).
pub const MAX_REFCOUNT_ORDER: u32 = 6;
/// Bytes per snapshot table entry header, the least an entry can take.
pub const SNAPSHOT_ENTRY_MIN_LEN: u64 = 40;

/// Field offsets in the header.
pub const OFF_VERSION: usize = 4;
/// `backing_file_offset` (u64).
pub const OFF_BACKING_FILE_OFFSET: usize = 8;
/// `cluster_bits` (u32).
pub const OFF_CLUSTER_BITS: usize = 20;
/// `size` (u64).
pub const OFF_SIZE: usize = 24;
/// `crypt_method` (u32).
pub const OFF_CRYPT_METHOD: usize = 32;
/// `l1_size` (u32).
pub const OFF_L1_SIZE: usize = 36;
/// `l1_table_offset` (u64).
pub const OFF_L1_TABLE_OFFSET: usize = 40;
/// `refcount_table_offset` (u64).
pub const OFF_REFCOUNT_TABLE_OFFSET: usize = 48;
/// `refcount_table_clusters` (u32).
pub const OFF_REFCOUNT_TABLE_CLUSTERS: usize = 56;
/// `nb_snapshots` (u32).
pub const OFF_NB_SNAPSHOTS: usize = 60;
/// `snapshots_offset` (u64).
pub const OFF_SNAPSHOTS_OFFSET: usize = 64;
/// `incompatible_features` (u64, v3).
pub const OFF_INCOMPATIBLE: usize = 72;
/// `compatible_features` (u64, v3).
pub const OFF_COMPATIBLE: usize = 80;
/// `autoclear_features` (u64, v3).
pub const OFF_AUTOCLEAR: usize = 88;
/// `refcount_order` (u32, v3).
pub const OFF_REFCOUNT_ORDER: usize = 96;
/// `header_length` (u32, v3).
pub const OFF_HEADER_LENGTH: usize = 100;

/// Incompatible bit 0: the image was not closed cleanly (lazy refcounts); readable.
pub const INCOMPAT_DIRTY: u64 = 1 << 0;
/// Incompatible bit 1: qemu found corruption.
pub const INCOMPAT_CORRUPT: u64 = 1 << 1;
/// Incompatible bit 2: guest data lives in an external data file.
pub const INCOMPAT_DATA_FILE: u64 = 1 << 2;
/// Incompatible bit 3: the compression_type field is valid.
pub const INCOMPAT_COMPRESSION: u64 = 1 << 3;
/// Incompatible bit 4: L2 entries are 128 bits with subcluster bitmaps.
pub const INCOMPAT_EXTENDED_L2: u64 = 1 << 4;
/// Every incompatible bit this reader knows.
pub const INCOMPAT_KNOWN: u64 = INCOMPAT_DIRTY
    | INCOMPAT_CORRUPT
    | INCOMPAT_DATA_FILE
    | INCOMPAT_COMPRESSION
    | INCOMPAT_EXTENDED_L2;

/// Header extension: end of the extension area.
pub const EXT_END: u32 = 0;
/// Header extension: backing file format name.
pub const EXT_BACKING_FORMAT: u32 = 0xe279_2aca;
/// Header extension: full disk encryption header pointer.
pub const EXT_CRYPTO: u32 = 0x0537_be77;
/// Header extension: external data file name.
pub const EXT_DATA_FILE: u32 = 0x4441_5441;
/// Most header extensions we walk before giving up.
const MAX_EXTENSIONS: usize = 1024;

/// How compressed clusters are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Raw deflate (windowBits -12), the default.
    Zlib,
    /// A zstd frame.
    Zstd,
}

/// A validated qcow2 header.
#[derive(Debug, Clone)]
pub struct Header {
    /// 2 or 3.
    pub version: u32,
    /// log2 of the cluster size.
    pub cluster_bits: u32,
    /// Guest-visible size in bytes.
    pub size: u64,
    /// Entries in the L1 table (as stored).
    pub l1_size: u32,
    /// L1 entries the virtual size needs (at most `l1_size`).
    pub l1_needed: u64,
    /// Where the L1 table starts.
    pub l1_offset: u64,
    /// Incompatible feature bits.
    pub incompatible: u64,
    /// Compressed cluster encoding.
    pub compression: Compression,
}

impl Header {
    /// Cluster size in bytes.
    pub fn cluster_size(&self) -> u64 {
        1 << self.cluster_bits
    }

    /// True when L2 entries carry subcluster bitmaps.
    pub fn extended_l2(&self) -> bool {
        self.incompatible & INCOMPAT_EXTENDED_L2 != 0
    }

    /// Bytes per L2 entry (8, or 16 with extended L2).
    pub fn l2_entry_len(&self) -> u64 {
        if self.extended_l2() { 16 } else { 8 }
    }

    /// Entries per L2 table.
    pub fn l2_entries(&self) -> u64 {
        self.cluster_size() / self.l2_entry_len()
    }

    /// Reads and validates the header of `backing`.
    pub(crate) fn read(backing: &Backing) -> Result<Header> {
        let file_len = backing.len();
        if file_len < u64::from(V2_HEADER_LEN) {
            return Err(Error::new(
                ErrorKind::Truncated,
                format!("qcow2 file of {file_len} bytes has no header"),
            ));
        }
        let mut fixed = [0u8; 112];
        let n = file_len.min(fixed.len() as u64) as usize;
        backing.read_exact_at(&mut fixed[..n], 0, "qcow2 header")?;
        let h = &fixed;
        let version = be32(h, OFF_VERSION);
        if version != 2 && version != 3 {
            return Err(Error::new(
                ErrorKind::UnsupportedFormat,
                format!("qcow2 version {version} is unsupported"),
            )
            .field("version"));
        }
        let cluster_bits = be32(h, OFF_CLUSTER_BITS);
        if !(MIN_CLUSTER_BITS..=MAX_CLUSTER_BITS).contains(&cluster_bits) {
            return Err(Error::new(
                ErrorKind::InvalidHeader,
                format!(
                    "cluster_bits {cluster_bits} outside {MIN_CLUSTER_BITS}..={MAX_CLUSTER_BITS}"
                ),
            )
            .field("cluster_bits"));
        }
        let cluster_size = 1u64 << cluster_bits;
        let (incompatible, header_length) = if version == 3 {
            if file_len < u64::from(V3_MIN_HEADER_LEN) {
                return Err(Error::new(
                    ErrorKind::Truncated,
                    "qcow2 v3 header is cut short",
                ));
            }
            let hl = be32(h, OFF_HEADER_LENGTH);
            if hl < V3_MIN_HEADER_LEN || u64::from(hl) > cluster_size {
                return Err(Error::new(
                    ErrorKind::InvalidHeader,
                    format!("header_length {hl} is invalid"),
                )
                .field("header_length"));
            }
            let order = be32(h, OFF_REFCOUNT_ORDER);
            if order > MAX_REFCOUNT_ORDER {
                return Err(Error::new(
                    ErrorKind::InvalidHeader,
                    format!("refcount_order {order} is invalid"),
                )
                .field("refcount_order"));
            }
            (be64(h, OFF_INCOMPATIBLE), hl)
        } else {
            (0, V2_HEADER_LEN)
        };
        check_features(incompatible)?;
        let compression = compression_type(h, version, header_length, incompatible, file_len)?;
        if be64(h, OFF_BACKING_FILE_OFFSET) != 0 {
            return Err(
                Error::new(ErrorKind::ExternalFile, "qcow2 image has a backing file")
                    .field("backing_file_offset"),
            );
        }
        let crypt = be32(h, OFF_CRYPT_METHOD);
        if crypt != 0 {
            return Err(Error::new(
                ErrorKind::UnsupportedFeature,
                format!("qcow2 encryption (method {crypt})"),
            )
            .field("crypt_method"));
        }
        let size = be64(h, OFF_SIZE);
        if size > MAX_VIRTUAL_SIZE {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("Virtual size {size:#x} exceeds {MAX_VIRTUAL_SIZE:#x}"),
            )
            .field("size"));
        }
        let l2_entry_len = if incompatible & INCOMPAT_EXTENDED_L2 != 0 {
            16
        } else {
            8
        };
        let l2_cover = cluster_size * (cluster_size / l2_entry_len);
        let l1_needed = size.div_ceil(l2_cover);
        let l1_size = be32(h, OFF_L1_SIZE);
        if l1_needed * 8 > MAX_QCOW2_L1_BYTES {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("Virtual size {size:#x} needs {l1_needed} L1 entries, more than {MAX_QCOW2_L1_BYTES} bytes"),
            )
            .field("size"));
        }
        if u64::from(l1_size) * 8 > MAX_QCOW2_L1_BYTES {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("L1 table of {l1_size} entries is too large"),
            )
            .field("l1_size"));
        }
        if u64::from(l1_size) < l1_needed {
            return Err(Error::new(
                ErrorKind::InvalidHeader,
                format!("L1 table of {l1_size} entries is too small for {l1_needed}"),
            )
            .field("l1_size"));
        }
        let l1_offset = be64(h, OFF_L1_TABLE_OFFSET);
        let l1_bytes = u64::from(l1_size) * 8;
        check_table(
            "L1 table",
            "l1_table_offset",
            l1_offset,
            l1_bytes,
            cluster_size,
            file_len,
        )?;
        let rt_offset = be64(h, OFF_REFCOUNT_TABLE_OFFSET);
        let rt_clusters = u64::from(be32(h, OFF_REFCOUNT_TABLE_CLUSTERS));
        if rt_clusters * cluster_size > MAX_QCOW2_REFTABLE_BYTES {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("Refcount table of {rt_clusters} clusters is too large"),
            )
            .field("refcount_table_clusters"));
        }
        let rt_bytes = rt_clusters * cluster_size;
        check_table(
            "Refcount table",
            "refcount_table_offset",
            rt_offset,
            rt_bytes.max(1),
            cluster_size,
            file_len,
        )?;
        if l1_bytes > 0 && ranges_overlap(l1_offset, l1_bytes, rt_offset, rt_bytes) {
            return Err(
                Error::new(ErrorKind::Overlap, "L1 table overlaps the refcount table")
                    .field("l1_table_offset"),
            );
        }
        let nb_snapshots = be32(h, OFF_NB_SNAPSHOTS);
        if nb_snapshots > MAX_QCOW2_SNAPSHOTS {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("{nb_snapshots} snapshots is too many"),
            )
            .field("nb_snapshots"));
        }
        if nb_snapshots > 0 {
            let off = be64(h, OFF_SNAPSHOTS_OFFSET);
            let bytes = u64::from(nb_snapshots) * SNAPSHOT_ENTRY_MIN_LEN;
            check_table(
                "Snapshot table",
                "snapshots_offset",
                off,
                bytes,
                cluster_size,
                file_len,
            )?;
        }
        let ext_start = if version == 3 {
            header_length
        } else {
            V2_HEADER_LEN
        };
        check_extensions(backing, u64::from(ext_start), cluster_size.min(file_len))?;
        Ok(Header {
            version,
            cluster_bits,
            size,
            l1_size,
            l1_needed,
            l1_offset,
            incompatible,
            compression,
        })
    }
}

fn check_features(incompatible: u64) -> Result<()> {
    let unknown = incompatible & !INCOMPAT_KNOWN;
    if unknown != 0 {
        return Err(Error::new(
            ErrorKind::UnsupportedFeature,
            format!("Unknown incompatible feature bits {unknown:#x}"),
        )
        .field("incompatible_features"));
    }
    if incompatible & INCOMPAT_DATA_FILE != 0 {
        return Err(Error::new(
            ErrorKind::ExternalFile,
            "qcow2 image uses an external data file",
        )
        .field("incompatible_features"));
    }
    if incompatible & INCOMPAT_CORRUPT != 0 {
        return Err(Error::new(
            ErrorKind::UnsupportedFeature,
            "qcow2 image is marked corrupt; repair it with `qemu-img check -r all`",
        )
        .field("incompatible_features"));
    }
    Ok(())
}

fn compression_type(
    h: &[u8],
    version: u32,
    header_length: u32,
    incompatible: u64,
    file_len: u64,
) -> Result<Compression> {
    let has_field = version == 3
        && header_length as usize > OFF_COMPRESSION_TYPE
        && file_len > OFF_COMPRESSION_TYPE as u64;
    let ty = if has_field {
        h[OFF_COMPRESSION_TYPE]
    } else {
        0
    };
    if incompatible & INCOMPAT_COMPRESSION == 0 {
        if ty != 0 {
            return Err(Error::new(
                ErrorKind::InvalidHeader,
                "compression_type set without its feature bit",
            )
            .field("compression_type"));
        }
        return Ok(Compression::Zlib);
    }
    match ty {
        0 => Ok(Compression::Zlib),
        1 => Ok(Compression::Zstd),
        t => Err(Error::new(
            ErrorKind::UnsupportedFeature,
            format!("Compression type {t}"),
        )
        .field("compression_type")),
    }
}

/// Checks a table: cluster aligned, after the header cluster, inside the file.
fn check_table(
    what: &str,
    field: &'static str,
    offset: u64,
    bytes: u64,
    cluster_size: u64,
    file_len: u64,
) -> Result<()> {
    if bytes == 0 {
        return Ok(());
    }
    if !offset.is_multiple_of(cluster_size) {
        return Err(Error::new(
            ErrorKind::InvalidHeader,
            format!("{what} offset is not cluster aligned"),
        )
        .field(field)
        .at(offset));
    }
    if offset < cluster_size {
        return Err(
            Error::new(ErrorKind::Overlap, format!("{what} overlaps the header"))
                .field(field)
                .at(offset),
        );
    }
    if offset.checked_add(bytes).is_none_or(|end| end > file_len) {
        return Err(Error::new(
            ErrorKind::OutOfBounds,
            format!("{what} ({bytes} bytes) extends past end of file {file_len:#x}"),
        )
        .field(field)
        .at(offset));
    }
    Ok(())
}

fn ranges_overlap(a: u64, a_len: u64, b: u64, b_len: u64) -> bool {
    a < b.saturating_add(b_len) && b < a.saturating_add(a_len)
}

/// Walks the header extensions: refuses external data files and encryption headers.
fn check_extensions(backing: &Backing, start: u64, end: u64) -> Result<()> {
    if start >= end {
        return Ok(());
    }
    let mut area = vec![0u8; (end - start) as usize];
    backing.read_exact_at(&mut area, start, "qcow2 header extensions")?;
    let mut pos = 0usize;
    for _ in 0..MAX_EXTENSIONS {
        if pos + 8 > area.len() {
            return Ok(());
        }
        let ty = be32(&area, pos);
        let len = be32(&area, pos + 4) as usize;
        match ty {
            EXT_END => return Ok(()),
            EXT_DATA_FILE => {
                return Err(Error::new(
                    ErrorKind::ExternalFile,
                    "qcow2 image names an external data file",
                )
                .field("header extension")
                .at(start + pos as u64));
            }
            EXT_CRYPTO => {
                return Err(
                    Error::new(ErrorKind::UnsupportedFeature, "qcow2 encryption header")
                        .field("header extension")
                        .at(start + pos as u64),
                );
            }
            _ => {}
        }
        let next = pos + 8 + len.div_ceil(8) * 8;
        if next > area.len() {
            return Err(Error::new(
                ErrorKind::InvalidHeader,
                "Header extension runs past the first cluster",
            )
            .field("header extension")
            .at(start + pos as u64));
        }
        pos = next;
    }
    Err(
        Error::new(ErrorKind::LimitExceeded, "Too many header extensions")
            .field("header extension"),
    )
}
