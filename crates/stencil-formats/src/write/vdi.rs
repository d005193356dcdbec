//! VDI dynamic writer (VirtualBox), one pass: header, block map, then allocated 1 MiB blocks
//! in guest order. Header layout as in qemu's `block/vdi.c` (`VdiHeader`, version 1.1).

use super::batch::{data_runs, pipeline};
use super::{Counter, DataSource, pseudo_uuid};
use crate::error::Result;
use crate::extent::Extent;

/// Banner in the first 64 bytes.
const TEXT: &[u8] = b"<<< Oracle VM VirtualBox Disk Image >>>\n";
const SIGNATURE: u32 = 0xbeda_107f;
const VERSION_1_1: u32 = 0x0001_0001;
/// `header_size` as qemu writes it (the header after the banner).
const HEADER_SIZE: u32 = 0x180;
const TYPE_DYNAMIC: u32 = 1;
const SECTOR: u64 = 512;
const BLOCK: u64 = 1 << 20;
/// Block map entry of an unallocated block.
const UNALLOCATED: u32 = 0xffff_ffff;
/// Field offsets.
const OFF_SIGNATURE: usize = 0x40;
const OFF_VERSION: usize = 0x44;
const OFF_HEADER_SIZE: usize = 0x48;
const OFF_IMAGE_TYPE: usize = 0x4c;
const OFF_BMAP: usize = 0x154;
const OFF_DATA: usize = 0x158;
const OFF_SECTOR_SIZE: usize = 0x168;
const OFF_DISK_SIZE: usize = 0x170;
const OFF_BLOCK_SIZE: usize = 0x178;
const OFF_BLOCKS_IN_IMAGE: usize = 0x180;
const OFF_BLOCKS_ALLOCATED: usize = 0x184;
const OFF_UUID_IMAGE: usize = 0x188;
const OFF_UUID_LAST_SNAP: usize = 0x198;
/// The header occupies the first sector.
const HEADER_LEN: usize = 0x200;

pub(crate) fn write(
    size: u64,
    extents: &[Extent],
    source: &dyn DataSource,
    out: &mut Counter<'_>,
) -> Result<u64> {
    let rounded = size.next_multiple_of(SECTOR);
    let blocks = rounded.div_ceil(BLOCK);
    let bmap_len = (blocks * 4).next_multiple_of(SECTOR);
    let runs = data_runs(extents, BLOCK);
    let mut bmap = vec![0u8; bmap_len as usize];
    for c in bmap.chunks_exact_mut(4) {
        c.copy_from_slice(&UNALLOCATED.to_le_bytes());
    }
    let mut allocated = 0u32;
    for &(first, end) in &runs {
        for b in first..end {
            bmap[(b * 4) as usize..(b * 4 + 4) as usize].copy_from_slice(&allocated.to_le_bytes());
            allocated += 1;
        }
    }
    let mut h = [0u8; HEADER_LEN];
    h[..TEXT.len()].copy_from_slice(TEXT);
    let mut put = |at: usize, v: u32| h[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put(OFF_SIGNATURE, SIGNATURE);
    put(OFF_VERSION, VERSION_1_1);
    put(OFF_HEADER_SIZE, HEADER_SIZE);
    put(OFF_IMAGE_TYPE, TYPE_DYNAMIC);
    put(OFF_BMAP, HEADER_LEN as u32);
    put(OFF_DATA, (HEADER_LEN as u64 + bmap_len) as u32);
    put(OFF_SECTOR_SIZE, SECTOR as u32);
    put(OFF_BLOCK_SIZE, BLOCK as u32);
    put(OFF_BLOCKS_IN_IMAGE, blocks as u32);
    put(OFF_BLOCKS_ALLOCATED, allocated);
    h[OFF_DISK_SIZE..OFF_DISK_SIZE + 8].copy_from_slice(&rounded.to_le_bytes());
    h[OFF_UUID_IMAGE..OFF_UUID_IMAGE + 16].copy_from_slice(&pseudo_uuid());
    h[OFF_UUID_LAST_SNAP..OFF_UUID_LAST_SNAP + 16].copy_from_slice(&pseudo_uuid());
    out.put(&h)?;
    out.put(&bmap)?;
    pipeline(
        source,
        size,
        BLOCK,
        &runs,
        |_, _| Ok(()),
        |_, data, ()| out.put(data),
    )
}
