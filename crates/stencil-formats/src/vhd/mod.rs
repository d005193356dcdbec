//! VHD (Virtual PC) fixed and dynamic disks, per the Microsoft "Virtual Hard Disk Image
//! Format Specification" v1.0, with qemu's rules for the guest-visible size.

mod reader;

pub(crate) use reader::open;

use crate::error::{Error, ErrorKind, Result};
use crate::source::{be16, be32, be64};

/// Footer cookie, at offset 0 of the footer (and of its copy at offset 0 of dynamic disks).
pub const COOKIE: &[u8; 8] = b"conectix";
/// Dynamic disk header cookie.
pub const DYN_COOKIE: &[u8; 8] = b"cxsparse";
/// Size of the footer.
pub const FOOTER_LEN: usize = 512;
/// Size of the dynamic disk header.
pub const DYN_HEADER_LEN: usize = 1024;
/// Sector size of every VHD offset and bitmap.
pub const SECTOR: u64 = 512;
/// Footer: `data_offset` (u64), the dynamic header position (all ones for fixed disks).
pub const OFF_DATA_OFFSET: usize = 16;
/// Footer: `creator_app` (4 bytes).
pub const OFF_CREATOR_APP: usize = 28;
/// Footer: `current_size` (u64).
pub const OFF_CURRENT_SIZE: usize = 48;
/// Footer: geometry cylinders (u16).
pub const OFF_CYLINDERS: usize = 56;
/// Footer: geometry heads (u8).
pub const OFF_HEADS: usize = 58;
/// Footer: geometry sectors per track (u8).
pub const OFF_SECTORS: usize = 59;
/// Footer: `disk_type` (u32).
pub const OFF_DISK_TYPE: usize = 60;
/// Footer: `checksum` (u32), one's complement of the byte sum with this field zeroed.
pub const OFF_CHECKSUM: usize = 64;
/// Dynamic header: `table_offset` (u64), the BAT position.
pub const DYN_OFF_TABLE_OFFSET: usize = 16;
/// Dynamic header: `max_table_entries` (u32).
pub const DYN_OFF_MAX_TABLE_ENTRIES: usize = 28;
/// Dynamic header: `block_size` (u32).
pub const DYN_OFF_BLOCK_SIZE: usize = 32;
/// Dynamic header: `checksum` (u32).
pub const DYN_OFF_CHECKSUM: usize = 36;
/// Disk type: fixed.
pub const DISK_TYPE_FIXED: u32 = 2;
/// Disk type: dynamic.
pub const DISK_TYPE_DYNAMIC: u32 = 3;
/// Disk type: differencing.
pub const DISK_TYPE_DIFFERENCING: u32 = 4;
/// BAT entry of an unallocated block.
pub const BAT_UNALLOCATED: u32 = 0xffff_ffff;
/// The largest CHS geometry (65535 × 16 × 255 sectors); with it qemu trusts `current_size`.
pub const MAX_GEOMETRY_SECTORS: u64 = 65535 * 16 * 255;
/// Creator apps whose images qemu sizes by `current_size` instead of CHS geometry.
pub const CURRENT_SIZE_CREATORS: [&[u8; 4]; 5] = [b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\0"];

/// The fields of the footer we use.
#[derive(Debug, Clone)]
pub(crate) struct Footer {
    pub disk_type: u32,
    pub data_offset: u64,
    /// Guest-visible size, by qemu's rule.
    pub size: u64,
}

/// One's complement of the byte sum, skipping the 4 checksum bytes at `skip`.
pub(crate) fn checksum(bytes: &[u8], skip: usize) -> u32 {
    let sum = bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| !(skip..skip + 4).contains(i))
        .fold(0u32, |acc, (_, &b)| acc.wrapping_add(u32::from(b)));
    !sum
}

impl Footer {
    pub(crate) fn parse(f: &[u8]) -> Result<Footer> {
        if f.len() < FOOTER_LEN || &f[..8] != COOKIE {
            return Err(
                Error::new(ErrorKind::InvalidHeader, "VHD footer cookie missing").field("cookie"),
            );
        }
        let stored = be32(f, OFF_CHECKSUM);
        let computed = checksum(&f[..FOOTER_LEN], OFF_CHECKSUM);
        if stored != computed {
            return Err(Error::new(
                ErrorKind::BadChecksum,
                format!("VHD footer checksum {stored:#010x}, computed {computed:#010x}"),
            )
            .field("checksum"));
        }
        let disk_type = be32(f, OFF_DISK_TYPE);
        let chs =
            u64::from(be16(f, OFF_CYLINDERS)) * u64::from(f[OFF_HEADS]) * u64::from(f[OFF_SECTORS]);
        let creator: &[u8] = &f[OFF_CREATOR_APP..OFF_CREATOR_APP + 4];
        let use_chs = !CURRENT_SIZE_CREATORS
            .iter()
            .any(|c| c.as_slice() == creator);
        let sectors = if !use_chs || chs == MAX_GEOMETRY_SECTORS {
            be64(f, OFF_CURRENT_SIZE) / SECTOR
        } else {
            chs
        };
        let size = sectors * SECTOR;
        if size > crate::limits::MAX_VIRTUAL_SIZE {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("VHD size {size:#x} is too large"),
            )
            .field("current_size"));
        }
        Ok(Footer {
            disk_type,
            data_offset: be64(f, OFF_DATA_OFFSET),
            size,
        })
    }
}
