//! VMDK streamOptimized writer, one pass, the layout VMware's stream format describes:
//!
//! ```text
//! header (gdOffset = GD_AT_END) | descriptor | for each grain table: grains…, GT marker, GT
//! | GD marker, GD | footer marker, footer (header with the real gdOffset) | end-of-stream marker
//! ```
//! Grains are deflate (zlib) compressed on two reader threads; all-zero grains are skipped.

use flate2::{Compress, Compression, FlushCompress, Status};

use super::batch::{data_runs, pipeline};
use super::{Counter, DataSource};
use crate::error::{Error, ErrorKind, Result};
use crate::extent::Extent;
use crate::source::is_zero;
use crate::vmdk::header::*;

/// Grain size: 128 sectors (64 KiB), as VMware writes.
const GRAIN_SECTORS: u64 = 128;
const GRAIN: u64 = GRAIN_SECTORS * SECTOR;
/// Grain table entries per table.
const GTES: u64 = 512;
/// Grains start here; header, descriptor and padding take the first 64 KiB (`overHead`).
const OVERHEAD_SECTORS: u64 = 128;
const DESCRIPTOR_SECTOR: u64 = 1;
const DESCRIPTOR_SECTORS: u64 = 20;
/// zlib level: speed over ratio (qemu uses the zlib default of 6).
const LEVEL: u32 = 1;

fn header(capacity: u64, gd_sector: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&VMDK4_MAGIC.to_le_bytes());
    h[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&3u32.to_le_bytes());
    let flags = FLAG_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS;
    h[OFF_FLAGS..OFF_FLAGS + 4].copy_from_slice(&flags.to_le_bytes());
    h[OFF_CAPACITY..OFF_CAPACITY + 8].copy_from_slice(&capacity.to_le_bytes());
    h[OFF_GRAIN_SIZE..OFF_GRAIN_SIZE + 8].copy_from_slice(&GRAIN_SECTORS.to_le_bytes());
    h[OFF_DESCRIPTOR_OFFSET..OFF_DESCRIPTOR_OFFSET + 8]
        .copy_from_slice(&DESCRIPTOR_SECTOR.to_le_bytes());
    h[OFF_DESCRIPTOR_SIZE..OFF_DESCRIPTOR_SIZE + 8]
        .copy_from_slice(&DESCRIPTOR_SECTORS.to_le_bytes());
    h[OFF_NUM_GTES_PER_GT..OFF_NUM_GTES_PER_GT + 4].copy_from_slice(&(GTES as u32).to_le_bytes());
    h[OFF_GD_OFFSET..OFF_GD_OFFSET + 8].copy_from_slice(&gd_sector.to_le_bytes());
    h[OFF_OVERHEAD..OFF_OVERHEAD + 8].copy_from_slice(&OVERHEAD_SECTORS.to_le_bytes());
    h[OFF_NEWLINE_CHARS..OFF_NEWLINE_CHARS + 4].copy_from_slice(b"\n \r\n");
    h[OFF_COMPRESS_ALGORITHM..OFF_COMPRESS_ALGORITHM + 2]
        .copy_from_slice(&COMPRESSION_DEFLATE.to_le_bytes());
    h
}

fn descriptor(capacity: u64) -> Vec<u8> {
    let cylinders = (capacity / (16 * 63)).clamp(1, 65535);
    let cid = super::pseudo_uuid();
    let cid = u32::from_le_bytes([cid[0], cid[1], cid[2], cid[3]]) & 0xfffffffe;
    let text = format!(
        "# Disk DescriptorFile\nversion=1\nCID={cid:08x}\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\n\n\
         # Extent description\nRW {capacity} SPARSE \"disk.vmdk\"\n\n# The Disk Data Base\n#DDB\n\n\
         ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"{cylinders}\"\nddb.geometry.heads = \"16\"\n\
         ddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\n"
    );
    let mut v = text.into_bytes();
    v.resize((DESCRIPTOR_SECTORS * SECTOR) as usize, 0);
    v
}

fn marker(num_sectors: u64, ty: u32) -> [u8; 512] {
    let mut m = [0u8; 512];
    m[..8].copy_from_slice(&num_sectors.to_le_bytes());
    m[OFF_MARKER_TYPE..OFF_MARKER_TYPE + 4].copy_from_slice(&ty.to_le_bytes());
    m
}

/// Compresses every non-zero grain of a batch into a sector-padded grain record.
fn compress_batch(first: u64, data: &[u8]) -> Result<Vec<(u64, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut c = Compress::new(Compression::new(LEVEL), true);
    for (i, grain) in data.chunks(GRAIN as usize).enumerate() {
        if is_zero(grain) {
            continue;
        }
        let lba = (first + i as u64) * GRAIN_SECTORS;
        let mut rec = Vec::with_capacity(GRAIN as usize + 1024);
        rec.extend_from_slice(&lba.to_le_bytes());
        rec.extend_from_slice(&[0u8; 4]);
        c.reset();
        loop {
            let before = c.total_in() as usize;
            if rec.capacity() - rec.len() < 1024 {
                rec.reserve(GRAIN as usize);
            }
            let st = c
                .compress_vec(&grain[before..], &mut rec, FlushCompress::Finish)
                .map_err(|e| Error::new(ErrorKind::Io, "deflate failed").with_source(e))?;
            if st == Status::StreamEnd {
                break;
            }
        }
        let len = (rec.len() - GRAIN_MARKER_LEN) as u32;
        rec[8..12].copy_from_slice(&len.to_le_bytes());
        rec.resize(rec.len().next_multiple_of(SECTOR as usize), 0);
        out.push((first + i as u64, rec));
    }
    Ok(out)
}

pub(crate) fn write(
    size: u64,
    extents: &[Extent],
    source: &dyn DataSource,
    out: &mut Counter<'_>,
) -> Result<u64> {
    let capacity = size.div_ceil(SECTOR);
    let gd_entries = capacity.div_ceil(GRAIN_SECTORS * GTES);
    out.put(&header(capacity, GD_AT_END))?;
    out.zeros(SECTOR * (DESCRIPTOR_SECTOR - 1))?;
    out.put(&descriptor(capacity))?;
    out.zeros(OVERHEAD_SECTORS * SECTOR - out.position())?;

    let mut gd: Vec<u32> = Vec::with_capacity(gd_entries as usize);
    let mut gt = vec![0u32; GTES as usize];
    let runs = data_runs(extents, GRAIN);
    let emit_gts_until =
        |out: &mut Counter<'_>, gd: &mut Vec<u32>, gt: &mut Vec<u32>, upto: u64| -> Result<()> {
            while (gd.len() as u64) < upto {
                out.put(&marker(GTES * 4 / SECTOR, MARKER_GT))?;
                gd.push(sector_of(out.position())?);
                let bytes: Vec<u8> = gt.iter().flat_map(|e| e.to_le_bytes()).collect();
                out.put(&bytes)?;
                gt.fill(0);
            }
            Ok(())
        };
    let read = pipeline(
        source,
        size,
        GRAIN,
        &runs,
        compress_batch,
        |_, _, grains| {
            for (g, rec) in grains {
                emit_gts_until(out, &mut gd, &mut gt, g / GTES)?;
                gt[(g % GTES) as usize] = sector_of(out.position())?;
                out.put(&rec)?;
            }
            Ok(())
        },
    )?;
    emit_gts_until(out, &mut gd, &mut gt, gd_entries)?;
    let gd_bytes: Vec<u8> = gd.iter().flat_map(|e| e.to_le_bytes()).collect();
    let gd_sectors = (gd_bytes.len() as u64).div_ceil(SECTOR);
    out.put(&marker(gd_sectors, MARKER_GD))?;
    let gd_sector = out.position() / SECTOR;
    out.put(&gd_bytes)?;
    out.zeros(gd_sectors * SECTOR - gd_bytes.len() as u64)?;
    out.put(&marker(1, MARKER_FOOTER))?;
    out.put(&header(capacity, gd_sector))?;
    out.put(&marker(0, MARKER_EOS))?;
    Ok(read)
}

fn sector_of(pos: u64) -> Result<u32> {
    u32::try_from(pos / SECTOR).map_err(|_| {
        Error::new(
            ErrorKind::InvalidInput,
            "VMDK stream larger than 2 TiB of compressed data",
        )
    })
}
