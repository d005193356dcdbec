//! Cutting a guest disk into chunks.
//!
//! The source's allocation map comes first: runs of holes and zero extents of at least
//! [`HOLE_CUT_MIN`] become ZERO entries without being read. Everything between them (data plus
//! short holes, which are filled with zeros, not read) is a *data region*, cut by FastCDC v2020
//! (or at fixed, guest-aligned boundaries). Inside a data region, a zero run of at least
//! [`ZERO_RUN_MIN`] starting at a 64 KiB-aligned guest offset also ends the current chunk and
//! becomes a ZERO entry, and any chunk that happens to be all zeros is a ZERO entry too.
//!
//! Memory: one window of `max + ZERO_RUN_MIN + READ_BLOCK` bytes, whatever the disk size.

use std::ops::Range;

use fastcdc::v2020::FastCDC;

use crate::digest::{is_all_zero, zero_prefix_len};
use crate::error::{Error, Result};
use crate::index::{BITMAP_GRANULARITY, ChunkerParams};
use crate::source::{Extent, ExtentKind, GuestSource};

/// Non-data runs at least this long are cut out of the CDC stream and never read.
pub const HOLE_CUT_MIN: u64 = 8 << 20;
/// Zero runs at least this long inside data become ZERO entries.
pub const ZERO_RUN_MIN: usize = 1 << 20;
/// Bytes read from the source at a time.
pub const READ_BLOCK: usize = 4 << 20;

/// What a chunk holds.
#[derive(Debug)]
pub enum Payload {
    /// All zeros: recorded as a ZERO entry, nothing stored.
    Zero,
    /// The chunk's bytes.
    Data(Vec<u8>),
}

/// One chunk cut from the guest disk.
#[derive(Debug)]
pub struct RawChunk {
    /// Guest offset of the first byte.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// Contents.
    pub payload: Payload,
}

/// Cuts `src` (with its normalised map) into chunks, sequentially, and hands each one, in order,
/// to `emit`. The import pipeline uses the parallel form in `segment.rs`, which gives the same cuts.
pub fn chunk_source(
    src: &dyn GuestSource,
    params: ChunkerParams,
    extents: &[Extent],
    emit: &mut dyn FnMut(RawChunk) -> Result<()>,
) -> Result<()> {
    params.validate()?;
    for (start, end, hole) in regions(extents) {
        if hole {
            emit(RawChunk {
                offset: start,
                len: end - start,
                payload: Payload::Zero,
            })?;
        } else {
            let mut cutter = Cutter::new(src, extents, params, start, end);
            while let Some(chunk) = cutter.next_chunk(true)? {
                emit(chunk)?;
            }
        }
    }
    Ok(())
}

/// Like [`chunk_source`], over the guest ranges `ranges` only (sorted, disjoint): each range is
/// cut as a chain that starts at the range's start and is cut at its end, in guest coordinates
/// (fixed cuts stay guest-aligned, zero runs are found at 64 KiB-aligned guest offsets); the
/// parts of a range inside a hole region are one ZERO chunk each, not read.
pub(crate) fn chunk_ranges(
    src: &dyn GuestSource,
    params: ChunkerParams,
    extents: &[Extent],
    ranges: &[Range<u64>],
    emit: &mut dyn FnMut(RawChunk) -> Result<()>,
) -> Result<()> {
    params.validate()?;
    let regions = regions(extents);
    let mut window = Vec::new();
    for range in ranges {
        let first = regions.partition_point(|&(_, end, _)| end <= range.start);
        for &(start, end, hole) in regions[first..]
            .iter()
            .take_while(|&&(start, _, _)| start < range.end)
        {
            let (start, end) = (start.max(range.start), end.min(range.end));
            if hole {
                emit(RawChunk {
                    offset: start,
                    len: end - start,
                    payload: Payload::Zero,
                })?;
                continue;
            }
            let mut cutter = Cutter::with_buffer(src, extents, params, start, end, window);
            while let Some(chunk) = cutter.next_chunk(true)? {
                emit(chunk)?;
            }
            window = cutter.into_buffer();
        }
    }
    Ok(())
}

/// Splits the map into (start, end, is_hole) regions.
pub(crate) fn regions(extents: &[Extent]) -> Vec<(u64, u64, bool)> {
    let mut nondata: Vec<(u64, u64)> = Vec::new();
    for e in extents.iter().filter(|e| e.kind != ExtentKind::Data) {
        match nondata.last_mut() {
            Some(last) if last.1 == e.offset => last.1 = e.end(),
            _ => nondata.push((e.offset, e.end())),
        }
    }
    let end = extents.last().map_or(0, Extent::end);
    let mut out = Vec::new();
    let mut pos = 0;
    for (s, e) in nondata.into_iter().filter(|(s, e)| e - s >= HOLE_CUT_MIN) {
        if s > pos {
            out.push((pos, s, false));
        }
        out.push((s, e, true));
        pos = e;
    }
    if pos < end {
        out.push((pos, end, false));
    }
    out
}

/// Reads guest ranges, filling non-data extents with zeros instead of reading them.
pub(crate) struct Filler<'a> {
    src: &'a dyn GuestSource,
    extents: &'a [Extent],
    cursor: usize,
}

impl<'a> Filler<'a> {
    /// A filler over `src` whose map is `extents` (normalised, covering the disk).
    pub(crate) fn new(src: &'a dyn GuestSource, extents: &'a [Extent]) -> Self {
        Filler {
            src,
            extents,
            cursor: 0,
        }
    }

    pub(crate) fn fill(&mut self, dst: &mut [u8], offset: u64) -> Result<()> {
        while self.cursor > 0 && self.extents[self.cursor].offset > offset {
            self.cursor -= 1;
        }
        let mut done = 0usize;
        while done < dst.len() {
            let pos = offset + done as u64;
            while self.extents[self.cursor].end() <= pos {
                self.cursor += 1;
            }
            let e = self.extents[self.cursor];
            let n = ((e.end() - pos) as usize).min(dst.len() - done);
            let part = &mut dst[done..done + n];
            if e.kind == ExtentKind::Data {
                self.src
                    .read_at(part, pos)
                    .map_err(|source| Error::Source {
                        offset: pos,
                        source,
                    })?;
            } else {
                part.fill(0);
            }
            done += n;
        }
        Ok(())
    }
}

/// The chunk chain of one data region from a given start: each cut depends only on the start
/// and the bytes, so two cutters that share one cut point agree from there on.
pub(crate) struct Cutter<'a> {
    filler: Filler<'a>,
    params: ChunkerParams,
    end: u64,
    window: Vec<u8>,
    wstart: u64,
    pos: u64,
    lookahead: usize,
}

impl<'a> Cutter<'a> {
    /// A chain starting at `start` in the data region ending at `end`.
    pub(crate) fn new(
        src: &'a dyn GuestSource,
        extents: &'a [Extent],
        params: ChunkerParams,
        start: u64,
        end: u64,
    ) -> Self {
        Self::with_buffer(src, extents, params, start, end, Vec::new())
    }

    /// Like [`Cutter::new`], reusing `window`'s allocation (saves page faults per segment).
    pub(crate) fn with_buffer(
        src: &'a dyn GuestSource,
        extents: &'a [Extent],
        params: ChunkerParams,
        start: u64,
        end: u64,
        mut window: Vec<u8>,
    ) -> Self {
        let lookahead = params.max_chunk() + ZERO_RUN_MIN;
        window.clear();
        window.reserve(lookahead + READ_BLOCK);
        Cutter {
            filler: Filler {
                src,
                extents,
                cursor: extents
                    .partition_point(|e| e.end() <= start)
                    .min(extents.len().saturating_sub(1)),
            },
            params,
            end,
            window,
            wstart: start,
            pos: start,
            lookahead,
        }
    }

    /// Gives the window allocation back for reuse.
    pub(crate) fn into_buffer(self) -> Vec<u8> {
        self.window
    }

    /// Guest offset of the next cut's start.
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    /// The next chunk; with `copy` false, only its position is computed (payload empty Data).
    pub(crate) fn next_chunk(&mut self, copy: bool) -> Result<Option<RawChunk>> {
        if self.pos >= self.end {
            return Ok(None);
        }
        let pos = self.pos;
        self.refill(pos)?;
        let cdc = matches!(self.params, ChunkerParams::Cdc { .. });
        let avail = &self.window[(pos - self.wstart) as usize..];
        if cdc {
            let z = zero_prefix_len(avail);
            if z >= ZERO_RUN_MIN || (z == avail.len() && pos + z as u64 == self.end) {
                let run = self.zero_run(pos)?;
                self.pos += run;
                return Ok(Some(RawChunk {
                    offset: pos,
                    len: run,
                    payload: Payload::Zero,
                }));
            }
        }
        let mut len = match self.params {
            ChunkerParams::Cdc { min, avg, max } => {
                let view = &avail[..avail.len().min(max as usize)];
                FastCDC::new(view, min as usize, avg as usize, max as usize)
                    .next()
                    .map_or(view.len(), |c| c.length)
            }
            ChunkerParams::Fixed { size } => {
                let size = u64::from(size);
                (size - pos % size).min(self.end - pos) as usize
            }
        };
        if cdc && let Some(cut) = zero_run_inside(avail, pos, len, self.end) {
            len = cut;
        }
        let bytes = &avail[..len];
        let payload = match copy {
            false => Payload::Data(Vec::new()),
            true if is_all_zero(bytes) => Payload::Zero,
            true => Payload::Data(bytes.to_vec()),
        };
        self.pos += len as u64;
        Ok(Some(RawChunk {
            offset: pos,
            len: len as u64,
            payload,
        }))
    }

    /// Makes sure the window holds `[pos, min(pos + lookahead, end))`.
    fn refill(&mut self, pos: u64) -> Result<()> {
        let wend = self.wstart + self.window.len() as u64;
        if wend - pos >= self.lookahead as u64 || wend == self.end {
            return Ok(());
        }
        self.window.drain(..(pos - self.wstart) as usize);
        self.wstart = pos;
        while (self.window.len() as u64) < self.lookahead as u64
            && self.wstart + (self.window.len() as u64) < self.end
        {
            let at = self.wstart + self.window.len() as u64;
            let n = (READ_BLOCK as u64).min(self.end - at) as usize;
            let old = self.window.len();
            self.window.resize(old + n, 0);
            self.filler.fill(&mut self.window[old..], at)?;
        }
        Ok(())
    }

    /// Length of the zero run starting at `pos`, reading further than the window if it continues.
    fn zero_run(&mut self, pos: u64) -> Result<u64> {
        let mut at = pos;
        loop {
            self.refill(at)?;
            let avail = &self.window[(at - self.wstart) as usize..];
            let z = zero_prefix_len(avail);
            at += z as u64;
            if z < avail.len() || at == self.end {
                return Ok(at - pos);
            }
        }
    }
}

/// The first 64 KiB-aligned offset inside the chunk `[pos, pos + len)` where a zero run of at
/// least [`ZERO_RUN_MIN`] starts, as a length from `pos`.
fn zero_run_inside(avail: &[u8], pos: u64, len: usize, end: u64) -> Option<usize> {
    let g = BITMAP_GRANULARITY;
    let mut z = (pos / g + 1) * g;
    while z < pos + len as u64 {
        let rel = (z - pos) as usize;
        if z + ZERO_RUN_MIN as u64 > end || rel + ZERO_RUN_MIN > avail.len() {
            return None;
        }
        if is_all_zero(&avail[rel..rel + g as usize])
            && is_all_zero(&avail[rel..rel + ZERO_RUN_MIN])
        {
            return Some(rel);
        }
        z += g;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{MemSource, normalize_extents};

    fn cut(src: &MemSource, params: ChunkerParams) -> Vec<(u64, u64, bool)> {
        let ext =
            normalize_extents(src.virtual_size(), src.extents().expect("map")).expect("valid");
        let mut out = Vec::new();
        chunk_source(src, params, &ext, &mut |c| {
            out.push((c.offset, c.len, matches!(c.payload, Payload::Zero)));
            Ok(())
        })
        .expect("chunk");
        out
    }

    fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn chunks_tile_the_disk_within_limits() {
        let data = pseudo_random(20 << 20, 1);
        let chunks = cut(&MemSource::new(data), ChunkerParams::DEFAULT_CDC);
        let mut pos = 0;
        for (i, &(off, len, zero)) in chunks.iter().enumerate() {
            assert_eq!(off, pos);
            assert!(!zero);
            assert!(len <= 4 << 20);
            assert!(len >= 256 << 10 || i == chunks.len() - 1);
            pos += len;
        }
        assert_eq!(pos, 20 << 20);
    }

    #[test]
    fn long_zero_runs_and_holes_become_zero_entries() {
        let mut data = pseudo_random(12 << 20, 2);
        data[(3 << 20) + 4096..(6 << 20) + 100].fill(0);
        let chunks = cut(&MemSource::new(data), ChunkerParams::DEFAULT_CDC);
        let zero: u64 = chunks.iter().filter(|c| c.2).map(|c| c.1).sum();
        assert!(zero >= (3 << 20) - 65536, "zero bytes {zero}");

        let mut sparse = vec![0u8; 64 << 20];
        sparse[..1 << 20].copy_from_slice(&pseudo_random(1 << 20, 3));
        let ext = vec![Extent {
            offset: 0,
            length: 1 << 20,
            kind: ExtentKind::Data,
        }];
        let chunks = cut(
            &MemSource::with_extents(sparse, ext),
            ChunkerParams::DEFAULT_CDC,
        );
        assert_eq!(chunks.last().copied(), Some((1 << 20, 63 << 20, true)));
    }

    #[test]
    fn fixed_chunks_are_guest_aligned() {
        let data = pseudo_random(10 << 20, 4);
        let chunks = cut(
            &MemSource::new(data),
            ChunkerParams::Fixed { size: 4 << 20 },
        );
        assert_eq!(
            chunks.iter().map(|c| c.1).collect::<Vec<_>>(),
            vec![4 << 20, 4 << 20, 2 << 20]
        );
    }

    #[test]
    fn cdc_boundaries_resynchronise_after_an_insertion() {
        let base = pseudo_random(16 << 20, 5);
        let mut shifted = pseudo_random(1000, 6);
        shifted.extend_from_slice(&base);
        let a: std::collections::HashSet<u64> =
            cut(&MemSource::new(base), ChunkerParams::DEFAULT_CDC)
                .iter()
                .map(|c| c.0 + c.1)
                .collect();
        let b = cut(&MemSource::new(shifted), ChunkerParams::DEFAULT_CDC);
        let shared = b.iter().filter(|c| a.contains(&(c.0 + c.1 - 1000))).count();
        assert!(shared + 2 >= b.len(), "{shared} of {}", b.len());
    }
}
