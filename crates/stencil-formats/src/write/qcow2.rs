//! qcow2 v3 writer, one pass. Layout (all clusters 64 KiB, contiguous, refcount 1 each):
//!
//! ```text
//! | header | L1 | refcount table | refcount blocks | L2 tables (in L1 order) | data (in guest order) |
//! ```
//! Everything before the data is computed from the allocation map, so nothing is seeked back.

use super::Counter;
use super::DataSource;
use super::batch::{count_units, data_runs, pipeline};
use crate::error::Result;
use crate::extent::Extent;
use crate::qcow2::header::{
    OFF_CLUSTER_BITS, OFF_HEADER_LENGTH, OFF_L1_SIZE, OFF_L1_TABLE_OFFSET, OFF_REFCOUNT_ORDER,
    OFF_REFCOUNT_TABLE_CLUSTERS, OFF_REFCOUNT_TABLE_OFFSET, OFF_SIZE, OFF_VERSION, QCOW_MAGIC,
};

/// Cluster size of the images we write.
const CLUSTER_BITS: u32 = 16;
const CLUSTER: u64 = 1 << CLUSTER_BITS;
/// Entries per L2 table (8-byte entries).
const L2_ENTRIES: u64 = CLUSTER / 8;
/// 16-bit refcounts (refcount_order 4), as qemu writes by default.
const REFCOUNT_ORDER: u32 = 4;
const REFCOUNTS_PER_BLOCK: u64 = CLUSTER * 8 / (1 << REFCOUNT_ORDER);
/// Header length we write: v3 fields plus the compression type byte and padding.
const HEADER_LENGTH: u32 = 112;
/// L1/L2 "COPIED" flag: refcount is exactly one.
const COPIED: u64 = 1 << 63;

pub(crate) fn write(
    size: u64,
    extents: &[Extent],
    source: &dyn DataSource,
    out: &mut Counter<'_>,
) -> Result<u64> {
    let runs = data_runs(extents, CLUSTER);
    let data_clusters = count_units(&runs);
    let l1_size = size.div_ceil(CLUSTER * L2_ENTRIES);
    let l1_clusters = (l1_size * 8).div_ceil(CLUSTER).max(1);
    // L1 indexes that get an L2 table.
    let mut tables: Vec<u64> = Vec::new();
    for &(first, end) in &runs {
        for t in first / L2_ENTRIES..=(end - 1) / L2_ENTRIES {
            if tables.last() != Some(&t) {
                tables.push(t);
            }
        }
    }
    let l2_count = tables.len() as u64;
    let (mut rt_clusters, mut rb_count) = (1u64, 1u64);
    let total = loop {
        let total = 1 + l1_clusters + rt_clusters + rb_count + l2_count + data_clusters;
        let rb = total.div_ceil(REFCOUNTS_PER_BLOCK);
        let rt = (rb * 8).div_ceil(CLUSTER);
        if rb == rb_count && rt == rt_clusters {
            break total;
        }
        (rb_count, rt_clusters) = (rb, rt);
    };
    let l1_at = 1;
    let rt_at = l1_at + l1_clusters;
    let rb_at = rt_at + rt_clusters;
    let l2_at = rb_at + rb_count;
    let data_at = l2_at + l2_count;

    let mut h = vec![0u8; CLUSTER as usize];
    put32(&mut h, 0, QCOW_MAGIC);
    put32(&mut h, OFF_VERSION, 3);
    put32(&mut h, OFF_CLUSTER_BITS, CLUSTER_BITS);
    put64(&mut h, OFF_SIZE, size);
    put32(&mut h, OFF_L1_SIZE, l1_size as u32);
    put64(&mut h, OFF_L1_TABLE_OFFSET, l1_at * CLUSTER);
    put64(&mut h, OFF_REFCOUNT_TABLE_OFFSET, rt_at * CLUSTER);
    put32(&mut h, OFF_REFCOUNT_TABLE_CLUSTERS, rt_clusters as u32);
    put32(&mut h, OFF_REFCOUNT_ORDER, REFCOUNT_ORDER);
    put32(&mut h, OFF_HEADER_LENGTH, HEADER_LENGTH);
    out.put(&h)?;

    let mut l1 = vec![0u8; (l1_clusters * CLUSTER) as usize];
    for (i, &t) in tables.iter().enumerate() {
        put64(
            &mut l1,
            (t * 8) as usize,
            ((l2_at + i as u64) * CLUSTER) | COPIED,
        );
    }
    out.put(&l1)?;
    drop(l1);

    let mut rt = vec![0u8; (rt_clusters * CLUSTER) as usize];
    for i in 0..rb_count {
        put64(&mut rt, (i * 8) as usize, (rb_at + i) * CLUSTER);
    }
    out.put(&rt)?;
    drop(rt);

    let mut block = vec![0u8; CLUSTER as usize];
    for b in 0..rb_count {
        let first = b * REFCOUNTS_PER_BLOCK;
        let used = total.saturating_sub(first).min(REFCOUNTS_PER_BLOCK);
        block.fill(0);
        for i in 0..used {
            block[(i * 2 + 1) as usize] = 1;
        }
        out.put(&block)?;
    }

    // L2 tables: data cluster n (in guest order) lives at host cluster data_at + n.
    let mut table = vec![0u8; CLUSTER as usize];
    let mut current: Option<u64> = None;
    let mut rank = 0u64;
    for &(first, end) in &runs {
        for c in first..end {
            let t = c / L2_ENTRIES;
            if current != Some(t) {
                if current.is_some() {
                    out.put(&table)?;
                    table.fill(0);
                }
                current = Some(t);
            }
            put64(
                &mut table,
                ((c % L2_ENTRIES) * 8) as usize,
                ((data_at + rank) * CLUSTER) | COPIED,
            );
            rank += 1;
        }
    }
    if current.is_some() {
        out.put(&table)?;
    }
    pipeline(
        source,
        size,
        CLUSTER,
        &runs,
        |_, _| Ok(()),
        |_, data, ()| out.put(data),
    )
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_be_bytes());
}
