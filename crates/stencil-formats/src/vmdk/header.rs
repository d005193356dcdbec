//! The VMDK hosted sparse extent header (`SparseExtentHeader`, little-endian, 512 bytes)
//! and stream markers.

/// "KDMV" read as a little-endian u32.
pub const VMDK4_MAGIC: u32 = 0x564d_444b;
/// Size of the sparse extent header.
pub const HEADER_LEN: usize = 512;
/// `version` (u32).
pub const OFF_VERSION: usize = 4;
/// `flags` (u32).
pub const OFF_FLAGS: usize = 8;
/// `capacity` in sectors (u64).
pub const OFF_CAPACITY: usize = 12;
/// `grainSize` in sectors (u64).
pub const OFF_GRAIN_SIZE: usize = 20;
/// `descriptorOffset` in sectors (u64).
pub const OFF_DESCRIPTOR_OFFSET: usize = 28;
/// `descriptorSize` in sectors (u64).
pub const OFF_DESCRIPTOR_SIZE: usize = 36;
/// `numGTEsPerGT` (u32).
pub const OFF_NUM_GTES_PER_GT: usize = 44;
/// `rgdOffset` in sectors (u64).
pub const OFF_RGD_OFFSET: usize = 48;
/// `gdOffset` in sectors (u64).
pub const OFF_GD_OFFSET: usize = 56;
/// `overHead` in sectors (u64).
pub const OFF_OVERHEAD: usize = 64;
/// The four newline-detection characters ("\n", " ", "\r", "\n").
pub const OFF_NEWLINE_CHARS: usize = 73;
/// `compressAlgorithm` (u16).
pub const OFF_COMPRESS_ALGORITHM: usize = 77;
/// Flag: the newline characters are valid.
pub const FLAG_NEWLINE_TEST: u32 = 1 << 0;
/// Flag: a redundant grain directory exists.
pub const FLAG_REDUNDANT_GT: u32 = 1 << 1;
/// Flag: grain table entry 1 means "zero grain".
pub const FLAG_ZERO_GRAIN: u32 = 1 << 2;
/// Flag: grains are compressed.
pub const FLAG_COMPRESSED: u32 = 1 << 16;
/// Flag: the extent has stream markers.
pub const FLAG_MARKERS: u32 = 1 << 17;
/// `gdOffset` value meaning "read the real header from the footer".
pub const GD_AT_END: u64 = u64::MAX;
/// `compressAlgorithm`: deflate (zlib format).
pub const COMPRESSION_DEFLATE: u16 = 1;
/// Sector size of every VMDK offset.
pub const SECTOR: u64 = 512;
/// Most grain table entries per table qemu accepts.
pub const MAX_GTES_PER_GT: u32 = 512;
/// Grain table entry of a zero grain (with [`FLAG_ZERO_GRAIN`]).
pub const GTE_ZERO: u32 = 1;
/// Marker type: end of stream.
pub const MARKER_EOS: u32 = 0;
/// Marker type: grain table follows.
pub const MARKER_GT: u32 = 1;
/// Marker type: grain directory follows.
pub const MARKER_GD: u32 = 2;
/// Marker type: footer (a copy of the header) follows.
pub const MARKER_FOOTER: u32 = 3;
/// Grain marker: `lba` (u64) then `size` (u32), then the compressed bytes.
pub const GRAIN_MARKER_LEN: usize = 12;
/// Metadata marker: `numSectors` (u64), `size` = 0 (u32), `type` (u32), padding to 512.
pub const OFF_MARKER_TYPE: usize = 12;
