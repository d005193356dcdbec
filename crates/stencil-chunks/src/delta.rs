//! Incremental ("delta") import: a newer version of a stored disk in which only some byte ranges
//! can differ from the base index (the writes of a copy-on-write overlay).
//!
//! ```text
//!  base      |--a--|---b---|--c--|--------ZERO--------|--d--|---e---|
//!  dirty              ^^^                 ^^
//!  widened         |-------|           |------|        to the data entries touched; into a
//!                                                      ZERO entry only to the next 64 KiB (CDC)
//!                                                      or chunk-size (fixed) boundary
//!  new       |--a--|-b1-|b2|--c--|-ZERO-|--x--|-ZERO-|--d--|---e---|
//! ```
//!
//! Widened ranges that overlap or touch are merged, and all of them are cut in one run of the
//! import pipeline (`Scope::Ranges`: guest coordinates, so each range gets the cuts of any chain
//! starting there, fixed cuts stay guest-aligned, and one set of threads serves every range).
//! A range therefore costs one chunker restart, which is why ranges merely *near* each other are
//! not merged: cutting the gap between them would read and hash unchanged bytes, and it can move
//! the cuts there (measured with gaps under one max chunk merged: base entries between two
//! writes came out changed). Unmerged, the new chunks of a range never extend past it, so at
//! most one max chunk on each side of each dirty range is re-stored.
//! Base entries outside the ranges are taken as they are (no read, no hash), but their chunks are
//! checked and touched like an import's dedup hits, so GC keeps them until the new index is
//! committed even if the base index is deleted meanwhile; a chunk the store lacks is re-cut from
//! the source (which holds the same bytes there), so a damaged base heals instead of failing the
//! commit.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Mutex;
use std::thread;
use std::time::SystemTime;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::import::{ImportStats, Scope, import, present_and_kept, run, source_extents};
use crate::index::{BITMAP_GRANULARITY, ChunkerParams, Index, IndexEntry};
use crate::source::GuestSource;
use crate::store::ChunkStore;

/// Reused chunks checked per thread at least (below that a thread costs more than it saves).
const CHECKS_PER_THREAD: usize = 64;

/// See [`crate::store::WriteSession::import_delta`].
pub(crate) fn import_delta(
    store: &ChunkStore,
    started: SystemTime,
    base: &Index,
    src: &dyn GuestSource,
    dirty: &[Range<u64>],
) -> Result<(Index, ImportStats)> {
    let virtual_size = src.virtual_size();
    if virtual_size != base.virtual_size() {
        return Err(Error::InvalidArgument(format!(
            "delta import: the source is {virtual_size:#x} bytes, its base index {:#x}",
            base.virtual_size()
        )));
    }
    if let Some(r) = dirty
        .iter()
        .find(|r| r.start < r.end && r.end > virtual_size)
    {
        return Err(Error::InvalidArgument(format!(
            "delta import: dirty range {:#x}..{:#x} ends past the virtual size {virtual_size:#x}",
            r.start, r.end
        )));
    }
    let config = store.config();
    let keyed = config.key.is_some();
    if base.chunker() != config.chunker || base.keyed() != keyed {
        // Cut differently or named differently: nothing of the base can be shared.
        return import(store, src, started, None);
    }
    let params = config.chunker;
    let mut ranges = merge(
        dirty
            .iter()
            .filter(|r| r.start < r.end)
            .map(|r| widen(base, params, r))
            .collect(),
    );
    let lacking = keep_reused(store, started, base, &ranges)?;
    if !lacking.is_empty() {
        ranges.extend(lacking);
        ranges = merge(ranges);
    }
    let mut stats = ImportStats {
        virtual_size,
        ..ImportStats::default()
    };
    let mut bitmap = base.bitmap().to_vec();
    let entries = if ranges.is_empty() {
        base.entries().to_vec()
    } else {
        let extents = source_extents(src)?;
        let chunked = run(store, src, &extents, started, Scope::Ranges(&ranges))?;
        stats = chunked.stats;
        for r in &ranges {
            for k in r.start / BITMAP_GRANULARITY..=(r.end - 1) / BITMAP_GRANULARITY {
                let (byte, mask) = ((k / 8) as usize, 1u8 << (k % 8));
                bitmap[byte] = (bitmap[byte] & !mask) | (chunked.bitmap[byte] & mask);
            }
        }
        splice(base, &ranges, &chunked.entries)?
    };
    let index = Index::new(virtual_size, params, keyed, entries, bitmap)?;
    Ok((index, stats))
}

/// The range to re-cut for the dirty range `r` (non-empty, inside the disk): out to the bounds of
/// the data entries it touches; into a ZERO entry (which can be split anywhere) only to the next
/// 64 KiB boundary, or chunk-size boundary for the fixed chunker, so fixed chunks stay whole and
/// allocation granules are not split needlessly.
fn widen(base: &Index, params: ChunkerParams, r: &Range<u64>) -> Range<u64> {
    let unit = match params {
        ChunkerParams::Fixed { size } => u64::from(size),
        ChunkerParams::Cdc { .. } => BITMAP_GRANULARITY,
    };
    let entries = base.entries();
    let (Some(first), Some(last)) = (base.find(r.start), base.find(r.end - 1)) else {
        return r.clone();
    };
    let mut start = base.entry_start(first);
    if entries[first].digest.is_zero() {
        start = start.max(r.start / unit * unit);
    }
    let mut end = entries[last].end;
    if entries[last].digest.is_zero() {
        end = end.min(r.end.div_ceil(unit).saturating_mul(unit));
    }
    start..end
}

/// Sorts `ranges` and merges those that overlap or touch.
fn merge(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    out
}

/// Makes GC keep the chunks of the base's data entries outside `ranges` until the new index is
/// committed, exactly as an import keeps its dedup hits (stat; touch when older than the touch
/// slack), on up to `uploaders` threads. Returns the ranges of the entries whose chunk the store
/// lacks.
fn keep_reused(
    store: &ChunkStore,
    started: SystemTime,
    base: &Index,
    ranges: &[Range<u64>],
) -> Result<Vec<Range<u64>>> {
    let entries = base.entries();
    let mut seen = HashSet::new();
    let mut reused: Vec<Digest> = Vec::new();
    let mut next = ranges.iter().peekable();
    for (i, e) in entries.iter().enumerate() {
        let start = base.entry_start(i);
        while next.next_if(|r| r.end <= start).is_some() {}
        // Range bounds never split a data entry, so a data entry is inside a range or outside all.
        let inside = next.peek().is_some_and(|r| r.start < e.end);
        if !e.digest.is_zero() && !inside && seen.insert(e.digest) {
            reused.push(e.digest);
        }
    }
    if reused.is_empty() {
        return Ok(Vec::new());
    }
    let threads = store
        .config()
        .uploaders
        .clamp(1, reused.len().div_ceil(CHECKS_PER_THREAD));
    let lacking = Mutex::new(HashSet::new());
    thread::scope(|s| {
        let handles: Vec<_> = reused
            .chunks(reused.len().div_ceil(threads))
            .map(|part| {
                let lacking = &lacking;
                s.spawn(move || -> Result<()> {
                    for digest in part {
                        if !present_and_kept(store, digest, started)? {
                            lacking
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(*digest);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or(Err(Error::Pipeline("chunk check thread panicked")))
        })
    })?;
    let lacking = lacking.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(entries
        .iter()
        .enumerate()
        .filter(|(_, e)| lacking.contains(&e.digest))
        .map(|(i, e)| base.entry_start(i)..e.end)
        .collect())
}

/// The base's entries outside `ranges` (ZERO entries cut at range bounds) with `new`, the
/// entries cut over `ranges`, in between.
fn splice(base: &Index, ranges: &[Range<u64>], new: &[IndexEntry]) -> Result<Vec<IndexEntry>> {
    let broken = || Error::Pipeline("delta import: entries do not meet the range bounds");
    let entries = base.entries();
    let vsize = base.virtual_size();
    let mut out = Vec::with_capacity(entries.len() + new.len());
    let mut new = new.iter();
    let mut pos = 0;
    let stops = ranges.iter().cloned().chain(std::iter::once(vsize..vsize));
    for range in stops {
        while pos < range.start {
            let i = base.find(pos).ok_or_else(broken)?;
            let end = entries[i].end.min(range.start);
            let whole = base.entry_start(i) == pos && end == entries[i].end;
            if !whole && !entries[i].digest.is_zero() {
                return Err(broken());
            }
            out.push(IndexEntry {
                end,
                digest: entries[i].digest,
            });
            pos = end;
        }
        while pos < range.end {
            let entry = *new.next().ok_or_else(broken)?;
            if entry.end <= pos || entry.end > range.end {
                return Err(broken());
            }
            out.push(entry);
            pos = entry.end;
        }
    }
    if new.next().is_some() {
        return Err(broken());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(cuts: &[(u64, bool)]) -> Index {
        let entries = cuts
            .iter()
            .map(|&(end, data)| IndexEntry {
                end,
                digest: if data {
                    Digest::from_bytes([end as u8 | 1; 32])
                } else {
                    Digest::ZERO
                },
            })
            .collect();
        let size = cuts.last().map_or(0, |c| c.0);
        let bitmap = vec![0; crate::index::bitmap_len(size) as usize];
        Index::new(size, ChunkerParams::DEFAULT_CDC, false, entries, bitmap).expect("index")
    }

    const K: u64 = 1 << 10;

    #[test]
    fn widening_takes_whole_data_entries_and_aligned_bits_of_zero_entries() {
        // data [0, 300K), ZERO [300K, 1000K), data [1000K, 1300K)
        let base = index(&[(300 * K, true), (1000 * K, false), (1300 * K, true)]);
        let p = ChunkerParams::DEFAULT_CDC;
        assert_eq!(widen(&base, p, &(10..20)), 0..300 * K);
        assert_eq!(widen(&base, p, &(500 * K..501 * K)), 448 * K..512 * K);
        assert_eq!(widen(&base, p, &(299 * K..301 * K)), 0..320 * K);
        assert_eq!(widen(&base, p, &(999 * K..1000 * K + 1)), 960 * K..1300 * K);
        let fixed = ChunkerParams::Fixed { size: 256 << 10 };
        assert_eq!(widen(&base, fixed, &(500 * K..501 * K)), 300 * K..512 * K);
    }

    #[test]
    fn merging_joins_overlapping_and_touching_ranges_only() {
        let got = merge(vec![50..60, 0..10, 10..20, 5..7, 21..30, 100..110, 55..70]);
        assert_eq!(got, vec![0..20, 21..30, 50..70, 100..110]);
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one range to splice, not a range of numbers
    fn splicing_cuts_zero_entries_and_rejects_split_data_entries() {
        let base = index(&[(100, true), (1000, false), (1100, true)]);
        let d = Digest::from_bytes([7; 32]);
        let new = [
            IndexEntry {
                end: 450,
                digest: d,
            },
            IndexEntry {
                end: 500,
                digest: Digest::ZERO,
            },
        ];
        let got = splice(&base, &[400..500], &new).expect("splice");
        let ends: Vec<(u64, bool)> = got.iter().map(|e| (e.end, e.digest.is_zero())).collect();
        assert_eq!(
            ends,
            vec![
                (100, false),
                (400, true),
                (450, false),
                (500, true),
                (1000, true),
                (1100, false)
            ]
        );
        assert!(splice(&base, &[50..500], &new).is_err());
        assert!(splice(&base, &[400..500], &new[..1]).is_err());
    }
}
