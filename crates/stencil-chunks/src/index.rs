//! The index format: one immutable index per disk version.
//!
//! ```text
//! offset  size  field (all integers little-endian)
//!      0     8  INDEX_MAGIC "STNCINDX"
//!      8     4  format version (INDEX_VERSION)
//!     12     4  flags (INDEX_FLAG_KEYED: digests are keyed BLAKE3)
//!     16     8  virtual size in bytes
//!     24     4  chunker kind (CHUNKER_CDC = 1, CHUNKER_FIXED = 2)
//!     28    12  chunker min / avg / max sizes (fixed: all three = the chunk size)
//!     40     8  entry count
//!     48     4  allocation bitmap granularity (BITMAP_GRANULARITY)
//!     52     4  CRC-32 of the whole file with this field zeroed
//!     56    32  content digest = BLAKE3 over the entry bytes
//!     88    40  reserved, zero
//!    128  40*n  entries: end offset u64, digest [32] (all-zero digest = ZERO chunk)
//!      …     *  allocation bitmap, one bit per 64 KiB block, LSB first; 1 = the source
//!               reported Data there (Zero and Unallocated blocks are 0)
//! ```
//!
//! Entries are sorted by end offset and cover `[0, virtual_size)` with no gaps, so a random read
//! is a binary search.

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::source::{Extent, ExtentKind};

/// Magic at offset 0 of every index.
pub const INDEX_MAGIC: [u8; 8] = *b"STNCINDX";
/// Current index format version.
pub const INDEX_VERSION: u32 = 1;
/// Header size.
pub const INDEX_HEADER_LEN: usize = 128;
/// Size of one entry.
pub const INDEX_ENTRY_LEN: usize = 40;
/// Bytes of guest disk per allocation bitmap bit.
pub const BITMAP_GRANULARITY: u64 = 64 << 10;
/// Flag: digests are keyed (encrypted store).
pub const INDEX_FLAG_KEYED: u32 = 1;
/// Chunker kind: FastCDC v2020.
pub const CHUNKER_CDC: u32 = 1;
/// Chunker kind: fixed-size chunks.
pub const CHUNKER_FIXED: u32 = 2;

const OFF_VERSION: usize = 8;
const OFF_FLAGS: usize = 12;
const OFF_VSIZE: usize = 16;
const OFF_KIND: usize = 24;
const OFF_MIN: usize = 28;
const OFF_AVG: usize = 32;
const OFF_MAX: usize = 36;
const OFF_COUNT: usize = 40;
const OFF_GRAN: usize = 48;
const OFF_CRC: usize = 52;
const OFF_DIGEST: usize = 56;

#[repr(C)]
struct IndexHeaderLayout {
    _magic: [u8; 8],
    _version: [u8; 4],
    _flags: [u8; 4],
    _vsize: [u8; 8],
    _kind: [u8; 4],
    _sizes: [[u8; 4]; 3],
    _count: [u8; 8],
    _gran: [u8; 4],
    _crc: [u8; 4],
    _digest: [u8; 32],
    _reserved: [u8; 40],
}
const _: () = assert!(std::mem::size_of::<IndexHeaderLayout>() == INDEX_HEADER_LEN);
const _: () = assert!(OFF_DIGEST + 32 + 40 == INDEX_HEADER_LEN);

/// How a store cuts guest bytes into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkerParams {
    /// FastCDC v2020; sizes must be even (fastcdc 5).
    Cdc { min: u32, avg: u32, max: u32 },
    /// Fixed-size chunks aligned to guest offsets.
    Fixed { size: u32 },
}

impl ChunkerParams {
    /// The default: FastCDC 256 KiB / 1 MiB / 4 MiB.
    pub const DEFAULT_CDC: ChunkerParams = ChunkerParams::Cdc {
        min: 256 << 10,
        avg: 1 << 20,
        max: 4 << 20,
    };
    /// The fixed option: 4 MiB.
    pub const DEFAULT_FIXED: ChunkerParams = ChunkerParams::Fixed { size: 4 << 20 };

    /// Largest chunk this chunker emits.
    pub fn max_chunk(&self) -> usize {
        match *self {
            ChunkerParams::Cdc { max, .. } => max as usize,
            ChunkerParams::Fixed { size } => size as usize,
        }
    }

    /// Checks the limits fastcdc accepts (and that fixed sizes are multiples of 64 KiB).
    pub fn validate(&self) -> Result<()> {
        let ok = match *self {
            ChunkerParams::Cdc { min, avg, max } => {
                (64..=1 << 20).contains(&min)
                    && (256..=4 << 20).contains(&avg)
                    && (1024..=16 << 20).contains(&max)
                    && min <= avg
                    && avg <= max
                    && min % 2 == 0
                    && avg % 2 == 0
                    && max % 2 == 0
            }
            ChunkerParams::Fixed { size } => {
                (64 << 10..=16 << 20).contains(&size)
                    && u64::from(size).is_multiple_of(BITMAP_GRANULARITY)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "unsupported chunker parameters {self:?}"
            )))
        }
    }

    fn to_fields(self) -> [u32; 4] {
        match self {
            ChunkerParams::Cdc { min, avg, max } => [CHUNKER_CDC, min, avg, max],
            ChunkerParams::Fixed { size } => [CHUNKER_FIXED, size, size, size],
        }
    }
}

/// One index entry: the chunk covering `[previous end, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// One past the chunk's last guest byte.
    pub end: u64,
    /// The chunk's digest, or [`Digest::ZERO`].
    pub digest: Digest,
}

/// A parsed or freshly built index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    virtual_size: u64,
    chunker: ChunkerParams,
    keyed: bool,
    entries: Vec<IndexEntry>,
    bitmap: Vec<u8>,
    content_digest: Digest,
}

impl Index {
    /// Builds an index; consecutive ZERO entries are merged. Entries must cover `[0, virtual_size)`.
    pub fn new(
        virtual_size: u64,
        chunker: ChunkerParams,
        keyed: bool,
        raw_entries: Vec<IndexEntry>,
        bitmap: Vec<u8>,
    ) -> Result<Self> {
        let mut entries: Vec<IndexEntry> = Vec::with_capacity(raw_entries.len());
        for e in raw_entries {
            match entries.last_mut() {
                Some(last) if last.digest.is_zero() && e.digest.is_zero() => last.end = e.end,
                _ => entries.push(e),
            }
        }
        let content_digest = entries_digest(&entries);
        let index = Index {
            virtual_size,
            chunker,
            keyed,
            entries,
            bitmap,
            content_digest,
        };
        index.check_shape().map_err(|reason| Error::BadIndex {
            name: "(new)".into(),
            reason,
        })?;
        Ok(index)
    }

    fn check_shape(&self) -> std::result::Result<(), String> {
        let mut prev = 0;
        for e in &self.entries {
            if e.end <= prev {
                return Err(format!("entry end {:#x} does not increase", e.end));
            }
            prev = e.end;
        }
        if prev != self.virtual_size {
            return Err(format!(
                "entries end at {prev:#x}, virtual size is {:#x}",
                self.virtual_size
            ));
        }
        if self.bitmap.len() as u64 != bitmap_len(self.virtual_size) {
            return Err("allocation bitmap has the wrong length".into());
        }
        Ok(())
    }

    /// Guest size in bytes.
    pub fn virtual_size(&self) -> u64 {
        self.virtual_size
    }
    /// Chunker that produced the entries.
    pub fn chunker(&self) -> ChunkerParams {
        self.chunker
    }
    /// True when digests are keyed (encrypted store).
    pub fn keyed(&self) -> bool {
        self.keyed
    }
    /// The entries, sorted by end offset.
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }
    /// BLAKE3 over the entries: identical images have identical content digests.
    pub fn content_digest(&self) -> Digest {
        self.content_digest
    }
    /// Start offset of entry `i`.
    pub fn entry_start(&self, i: usize) -> u64 {
        if i == 0 { 0 } else { self.entries[i - 1].end }
    }
    /// Index of the entry that holds guest byte `offset`, if `offset < virtual_size`.
    pub fn find(&self, offset: u64) -> Option<usize> {
        let i = self.entries.partition_point(|e| e.end <= offset);
        (i < self.entries.len()).then_some(i)
    }
    /// Distinct non-ZERO digests, in first-use order.
    pub fn data_digests(&self) -> Vec<Digest> {
        let mut seen = std::collections::HashSet::new();
        self.entries
            .iter()
            .map(|e| e.digest)
            .filter(|d| !d.is_zero() && seen.insert(*d))
            .collect()
    }
    /// Guest bytes covered by non-ZERO chunks.
    pub fn data_bytes(&self) -> u64 {
        (0..self.entries.len())
            .filter(|&i| !self.entries[i].digest.is_zero())
            .map(|i| self.entries[i].end - self.entry_start(i))
            .sum()
    }
    /// True when the 64 KiB block holding `offset` was allocated (Data) in the source.
    pub fn is_allocated(&self, offset: u64) -> bool {
        let bit = offset / BITMAP_GRANULARITY;
        self.bitmap
            .get((bit / 8) as usize)
            .is_some_and(|b| b & (1 << (bit % 8)) != 0)
    }
    /// The allocation bitmap (one bit per [`BITMAP_GRANULARITY`] block, LSB first).
    pub(crate) fn bitmap(&self) -> &[u8] {
        &self.bitmap
    }
    /// The allocation map as merged extents (Data or Unallocated) covering the whole disk.
    pub fn allocation(&self) -> Vec<Extent> {
        let mut out: Vec<Extent> = Vec::new();
        let blocks = self.virtual_size.div_ceil(BITMAP_GRANULARITY);
        for b in 0..blocks {
            let offset = b * BITMAP_GRANULARITY;
            let length = BITMAP_GRANULARITY.min(self.virtual_size - offset);
            let kind = if self.is_allocated(offset) {
                ExtentKind::Data
            } else {
                ExtentKind::Unallocated
            };
            match out.last_mut() {
                Some(last) if last.kind == kind => last.length += length,
                _ => out.push(Extent {
                    offset,
                    length,
                    kind,
                }),
            }
        }
        out
    }

    /// Serialises the index.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; INDEX_HEADER_LEN];
        out[..8].copy_from_slice(&INDEX_MAGIC);
        put_u32(&mut out, OFF_VERSION, INDEX_VERSION);
        put_u32(
            &mut out,
            OFF_FLAGS,
            if self.keyed { INDEX_FLAG_KEYED } else { 0 },
        );
        out[OFF_VSIZE..OFF_VSIZE + 8].copy_from_slice(&self.virtual_size.to_le_bytes());
        let [kind, min, avg, max] = self.chunker.to_fields();
        for (off, v) in [
            (OFF_KIND, kind),
            (OFF_MIN, min),
            (OFF_AVG, avg),
            (OFF_MAX, max),
        ] {
            put_u32(&mut out, off, v);
        }
        out[OFF_COUNT..OFF_COUNT + 8].copy_from_slice(&(self.entries.len() as u64).to_le_bytes());
        put_u32(&mut out, OFF_GRAN, BITMAP_GRANULARITY as u32);
        out[OFF_DIGEST..OFF_DIGEST + 32].copy_from_slice(self.content_digest.as_bytes());
        out.reserve(self.entries.len() * INDEX_ENTRY_LEN + self.bitmap.len());
        for e in &self.entries {
            out.extend_from_slice(&e.end.to_le_bytes());
            out.extend_from_slice(e.digest.as_bytes());
        }
        out.extend_from_slice(&self.bitmap);
        let crc = crc32fast::hash(&out);
        put_u32(&mut out, OFF_CRC, crc);
        out
    }

    /// Parses and checks an index (`name` is for error messages).
    pub fn decode(name: &str, bytes: &[u8]) -> Result<Self> {
        let bad = |reason: &str| Error::BadIndex {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if bytes.len() < INDEX_HEADER_LEN || bytes[..8] != INDEX_MAGIC {
            return Err(bad("bad magic"));
        }
        if get_u32(bytes, OFF_VERSION) != INDEX_VERSION {
            return Err(bad("unknown version"));
        }
        let mut copy = bytes.to_vec();
        put_u32(&mut copy, OFF_CRC, 0);
        if crc32fast::hash(&copy) != get_u32(bytes, OFF_CRC) {
            return Err(bad("checksum mismatch"));
        }
        let flags = get_u32(bytes, OFF_FLAGS);
        let virtual_size = get_u64(bytes, OFF_VSIZE);
        let chunker = match (get_u32(bytes, OFF_KIND), get_u32(bytes, OFF_MIN)) {
            (CHUNKER_CDC, min) => ChunkerParams::Cdc {
                min,
                avg: get_u32(bytes, OFF_AVG),
                max: get_u32(bytes, OFF_MAX),
            },
            (CHUNKER_FIXED, size) => ChunkerParams::Fixed { size },
            _ => return Err(bad("unknown chunker")),
        };
        if u64::from(get_u32(bytes, OFF_GRAN)) != BITMAP_GRANULARITY {
            return Err(bad("unsupported bitmap granularity"));
        }
        let count =
            usize::try_from(get_u64(bytes, OFF_COUNT)).map_err(|_| bad("entry count too large"))?;
        let entries_len = count
            .checked_mul(INDEX_ENTRY_LEN)
            .ok_or_else(|| bad("entry count too large"))?;
        let body = &bytes[INDEX_HEADER_LEN..];
        if body.len() as u64 != entries_len as u64 + bitmap_len(virtual_size) {
            return Err(bad("length does not match the header"));
        }
        let entries: Vec<IndexEntry> = body[..entries_len]
            .chunks_exact(INDEX_ENTRY_LEN)
            .map(|e| IndexEntry {
                end: get_u64(e, 0),
                digest: Digest::from_bytes(e[8..40].try_into().unwrap_or([0; 32])),
            })
            .collect();
        let content_digest = entries_digest(&entries);
        if content_digest.as_bytes()[..] != bytes[OFF_DIGEST..OFF_DIGEST + 32] {
            return Err(bad("content digest mismatch"));
        }
        let index = Index {
            virtual_size,
            chunker,
            keyed: flags & INDEX_FLAG_KEYED != 0,
            entries,
            bitmap: body[entries_len..].to_vec(),
            content_digest,
        };
        index.check_shape().map_err(|r| bad(&r))?;
        Ok(index)
    }
}

/// Length in bytes of the allocation bitmap of a disk.
pub fn bitmap_len(virtual_size: u64) -> u64 {
    virtual_size.div_ceil(BITMAP_GRANULARITY).div_ceil(8)
}

/// Builds the allocation bitmap from a normalised source map.
pub fn bitmap_from_extents(virtual_size: u64, extents: &[Extent]) -> Vec<u8> {
    let mut bitmap = vec![0u8; bitmap_len(virtual_size) as usize];
    for e in extents
        .iter()
        .filter(|e| e.kind == ExtentKind::Data && e.length > 0)
    {
        for bit in e.offset / BITMAP_GRANULARITY..=(e.end() - 1) / BITMAP_GRANULARITY {
            bitmap[(bit / 8) as usize] |= 1 << (bit % 8);
        }
    }
    bitmap
}

fn entries_digest(entries: &[IndexEntry]) -> Digest {
    let mut h = blake3::Hasher::new();
    for e in entries {
        h.update(&e.end.to_le_bytes());
        h.update(e.digest.as_bytes());
    }
    Digest::from_bytes(*h.finalize().as_bytes())
}

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap_or([0; 4]))
}
fn get_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap_or([0; 8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Index {
        let d = Digest::from_bytes([9; 32]);
        let entries = vec![
            IndexEntry {
                end: 100,
                digest: d,
            },
            IndexEntry {
                end: 200_000,
                digest: Digest::ZERO,
            },
            IndexEntry {
                end: 300_000,
                digest: Digest::ZERO,
            },
            IndexEntry {
                end: 300_001,
                digest: d,
            },
        ];
        let extents = [Extent {
            offset: 0,
            length: 100,
            kind: ExtentKind::Data,
        }];
        Index::new(
            300_001,
            ChunkerParams::DEFAULT_CDC,
            false,
            entries,
            bitmap_from_extents(300_001, &extents),
        )
        .expect("valid")
    }

    #[test]
    fn index_round_trips_and_merges_zero_entries() {
        let idx = sample();
        assert_eq!(idx.entries().len(), 3);
        assert_eq!(Index::decode("t", &idx.encode()).expect("decode"), idx);
        assert_eq!(idx.find(0), Some(0));
        assert_eq!(idx.find(100), Some(1));
        assert_eq!(idx.find(300_000), Some(2));
        assert_eq!(idx.find(300_001), None);
        assert!(idx.is_allocated(0) && !idx.is_allocated(BITMAP_GRANULARITY));
        assert_eq!(
            idx.allocation()[0],
            Extent {
                offset: 0,
                length: BITMAP_GRANULARITY,
                kind: ExtentKind::Data
            }
        );
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(Index::decode("t", &bad).is_err(), "byte {i}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = Index::decode("fuzz", &bytes);
            let mut framed = sample().encode();
            framed.truncate(INDEX_HEADER_LEN);
            framed.extend_from_slice(&bytes);
            let _ = Index::decode("fuzz", &framed);
        }
    }
}
