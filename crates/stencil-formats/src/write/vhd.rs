//! VHD writers. Dynamic: footer copy, dynamic header, BAT, then bitmap + data per 2 MiB block
//! with data, then the footer. Fixed: data, then the footer.
//!
//! The footer's creator app is `qem2`, which tells qemu (and Hyper-V, which always does) to
//! use `current_size` rather than the CHS geometry: the exact size survives the round trip.

use super::batch::{data_runs, pipeline};
use super::{Counter, DataSource, pseudo_uuid};
use crate::error::{Error, ErrorKind, Result};
use crate::extent::Extent;
use crate::vhd::{
    BAT_UNALLOCATED, COOKIE, DISK_TYPE_DYNAMIC, DISK_TYPE_FIXED, DYN_COOKIE, DYN_HEADER_LEN,
    DYN_OFF_BLOCK_SIZE, DYN_OFF_CHECKSUM, DYN_OFF_MAX_TABLE_ENTRIES, DYN_OFF_TABLE_OFFSET,
    FOOTER_LEN, MAX_GEOMETRY_SECTORS, OFF_CHECKSUM, OFF_CREATOR_APP, OFF_CURRENT_SIZE,
    OFF_CYLINDERS, OFF_DATA_OFFSET, OFF_DISK_TYPE, OFF_HEADS, OFF_SECTORS, SECTOR, checksum,
};

/// Block size of the dynamic disks we write.
const BLOCK: u64 = 2 << 20;
/// Sector bitmap in front of each block: 4096 sectors → 512 bytes, all present.
const BITMAP_LEN: usize = 512;
/// Footer: `features` (u32), bit 1 is reserved and always set.
const OFF_FEATURES: usize = 8;
const FEATURES_RESERVED: u32 = 2;
/// Footer: `file_format_version` (u32), and the dynamic header's `header_version`.
const OFF_VERSION: usize = 12;
const FORMAT_VERSION: u32 = 0x0001_0000;
const DYN_OFF_HEADER_VERSION: usize = 24;
/// Footer: `timestamp` (seconds since 2000-01-01 UTC).
const OFF_TIMESTAMP: usize = 24;
const Y2K_UNIX: u64 = 946_684_800;
/// Footer: `creator_version`, `creator_host_os`, `original_size`, `unique_id`.
const OFF_CREATOR_VERSION: usize = 32;
const OFF_CREATOR_HOST_OS: usize = 36;
const OFF_ORIGINAL_SIZE: usize = 40;
const OFF_UNIQUE_ID: usize = 68;
/// Dynamic header `data_offset`: unused, all ones.
const DYN_OFF_DATA_OFFSET: usize = 8;
/// Largest size a VHD can describe (2040 GiB per the specification's CHS limit).
const MAX_VHD_SIZE: u64 = MAX_GEOMETRY_SECTORS * SECTOR;

fn check_size(size: u64) -> Result<u64> {
    let rounded = size.next_multiple_of(SECTOR);
    if rounded > MAX_VHD_SIZE {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{size} bytes is larger than a VHD can hold"),
        ));
    }
    Ok(rounded)
}

/// CHS geometry per the VHD specification, appendix "CHS calculation".
fn geometry(size: u64) -> (u16, u8, u8) {
    let total = (size / SECTOR).min(MAX_GEOMETRY_SECTORS);
    let (spt, heads, cth);
    if total >= 65535 * 16 * 63 {
        spt = 255;
        heads = 16;
        cth = total / spt;
    } else {
        let mut s = 17;
        let mut c = total / s;
        let mut h = c.div_ceil(1024).max(4);
        if c >= h * 1024 || h > 16 {
            s = 31;
            h = 16;
            c = total / s;
        }
        if c >= h * 1024 {
            s = 63;
            h = 16;
            c = total / s;
        }
        (spt, heads, cth) = (s, h, c);
    }
    ((cth / heads) as u16, heads as u8, spt as u8)
}

fn footer(size: u64, disk_type: u32, data_offset: u64) -> [u8; FOOTER_LEN] {
    let mut f = [0u8; FOOTER_LEN];
    f[..8].copy_from_slice(COOKIE);
    f[OFF_FEATURES..OFF_FEATURES + 4].copy_from_slice(&FEATURES_RESERVED.to_be_bytes());
    f[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&FORMAT_VERSION.to_be_bytes());
    f[OFF_DATA_OFFSET..OFF_DATA_OFFSET + 8].copy_from_slice(&data_offset.to_be_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(Y2K_UNIX) as u32;
    f[OFF_TIMESTAMP..OFF_TIMESTAMP + 4].copy_from_slice(&now.to_be_bytes());
    f[OFF_CREATOR_APP..OFF_CREATOR_APP + 4].copy_from_slice(b"qem2");
    f[OFF_CREATOR_VERSION..OFF_CREATOR_VERSION + 4].copy_from_slice(&0x0005_0003u32.to_be_bytes());
    f[OFF_CREATOR_HOST_OS..OFF_CREATOR_HOST_OS + 4].copy_from_slice(b"Wi2k");
    f[OFF_ORIGINAL_SIZE..OFF_ORIGINAL_SIZE + 8].copy_from_slice(&size.to_be_bytes());
    f[OFF_CURRENT_SIZE..OFF_CURRENT_SIZE + 8].copy_from_slice(&size.to_be_bytes());
    let (c, h, s) = geometry(size);
    f[OFF_CYLINDERS..OFF_CYLINDERS + 2].copy_from_slice(&c.to_be_bytes());
    f[OFF_HEADS] = h;
    f[OFF_SECTORS] = s;
    f[OFF_DISK_TYPE..OFF_DISK_TYPE + 4].copy_from_slice(&disk_type.to_be_bytes());
    f[OFF_UNIQUE_ID..OFF_UNIQUE_ID + 16].copy_from_slice(&pseudo_uuid());
    let sum = checksum(&f, OFF_CHECKSUM);
    f[OFF_CHECKSUM..OFF_CHECKSUM + 4].copy_from_slice(&sum.to_be_bytes());
    f
}

pub(crate) fn write_fixed(
    size: u64,
    extents: &[Extent],
    source: &dyn DataSource,
    out: &mut Counter<'_>,
) -> Result<u64> {
    let rounded = check_size(size)?;
    let read = super::raw::write_stream(size, extents, source, out)?;
    out.zeros(rounded - size)?;
    out.put(&footer(rounded, DISK_TYPE_FIXED, u64::MAX))?;
    Ok(read)
}

pub(crate) fn write_dynamic(
    size: u64,
    extents: &[Extent],
    source: &dyn DataSource,
    out: &mut Counter<'_>,
) -> Result<u64> {
    let rounded = check_size(size)?;
    let entries = rounded.div_ceil(BLOCK);
    let bat_at = (FOOTER_LEN + DYN_HEADER_LEN) as u64;
    let bat_len = (entries * 4).next_multiple_of(SECTOR);
    let f = footer(rounded, DISK_TYPE_DYNAMIC, FOOTER_LEN as u64);
    out.put(&f)?;

    let mut h = [0u8; DYN_HEADER_LEN];
    h[..8].copy_from_slice(DYN_COOKIE);
    h[DYN_OFF_DATA_OFFSET..DYN_OFF_DATA_OFFSET + 8].copy_from_slice(&u64::MAX.to_be_bytes());
    h[DYN_OFF_TABLE_OFFSET..DYN_OFF_TABLE_OFFSET + 8].copy_from_slice(&bat_at.to_be_bytes());
    h[DYN_OFF_HEADER_VERSION..DYN_OFF_HEADER_VERSION + 4]
        .copy_from_slice(&FORMAT_VERSION.to_be_bytes());
    h[DYN_OFF_MAX_TABLE_ENTRIES..DYN_OFF_MAX_TABLE_ENTRIES + 4]
        .copy_from_slice(&(entries as u32).to_be_bytes());
    h[DYN_OFF_BLOCK_SIZE..DYN_OFF_BLOCK_SIZE + 4].copy_from_slice(&(BLOCK as u32).to_be_bytes());
    let sum = checksum(&h, DYN_OFF_CHECKSUM);
    h[DYN_OFF_CHECKSUM..DYN_OFF_CHECKSUM + 4].copy_from_slice(&sum.to_be_bytes());
    out.put(&h)?;

    let runs = data_runs(extents, BLOCK);
    // Every entry starts as BAT_UNALLOCATED (all ones).
    let mut bat = vec![0xffu8; bat_len as usize];
    debug_assert_eq!(BAT_UNALLOCATED, u32::MAX);
    let stride = BITMAP_LEN as u64 + BLOCK;
    let mut next = bat_at + bat_len;
    for &(first, end) in &runs {
        for b in first..end {
            let sector = (next / SECTOR) as u32;
            bat[(b * 4) as usize..(b * 4 + 4) as usize].copy_from_slice(&sector.to_be_bytes());
            next += stride;
        }
    }
    out.put(&bat)?;

    let bitmap = [0xffu8; BITMAP_LEN];
    let read = pipeline(
        source,
        size,
        BLOCK,
        &runs,
        |_, _| Ok(()),
        |_, data, ()| {
            for block in data.chunks(BLOCK as usize) {
                out.put(&bitmap)?;
                out.put(block)?;
            }
            Ok(())
        },
    )?;
    out.put(&f)?;
    Ok(read)
}
