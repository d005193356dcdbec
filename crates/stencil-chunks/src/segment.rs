//! Parallel chunking with exactly the sequential result.
//!
//! Each data region is split into segments of [`SEGMENT_LEN`]. Workers cut segments in parallel,
//! each starting a chain at its segment's start. A chain that starts mid-region is speculative:
//! the true chain (from the region start) reaches the segment with some other cut. Because a cut
//! depends only on where the chain is and on the bytes, two chains that share one cut point are
//! identical afterwards. So the worker of segment `j` keeps cutting past its end and, alongside,
//! computes the first cuts of segment `j + 1`'s chain until the two meet at `c_j`; it owns the
//! chunks up to `c_j`, and segment `j + 1` drops its chunks that end at or before `c_j`.
//!
//! ```text
//!   segment j   |--a--|---b---|--c--|-d-|        (true chain, continues past the boundary)
//!   segment j+1             |--x--|-y-|-d-|...   (speculative chain from the boundary)
//!                                   ^ c_j: first common cut; j+1 drops x and y, keeps d...
//! ```
//!
//! Memory per worker: two chunker windows plus at most [`HOLD_LIMIT`] of chunks held while it
//! waits to learn `c_{j-1}`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use crate::chunker::{Cutter, Payload, RawChunk, regions};
use crate::error::{Error, Result};
use crate::index::ChunkerParams;
use crate::source::{Extent, GuestSource};

/// Guest bytes per segment.
pub const SEGMENT_LEN: u64 = 32 << 20;
/// Chunk bytes a worker may hold before it blocks waiting for the previous segment's meeting point.
pub const HOLD_LIMIT: u64 = SEGMENT_LEN + (8 << 20);

enum Item {
    Hole {
        start: u64,
        end: u64,
    },
    Segment {
        start: u64,
        end: u64,
        region_end: u64,
        first: bool,
    },
}

/// Meeting points `c_j`, published by the worker of segment `j`.
struct Board {
    meet: Mutex<HashMap<usize, u64>>,
    cv: Condvar,
    failed: AtomicBool,
}

impl Board {
    fn set(&self, item: usize, at: u64) {
        self.meet
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(item, at);
        self.cv.notify_all();
    }
    fn get(&self, item: usize) -> Option<u64> {
        self.meet
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&item)
            .copied()
    }
    fn wait(&self, item: usize) -> Result<u64> {
        let mut meet = self.meet.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(&at) = meet.get(&item) {
                return Ok(at);
            }
            if self.failed.load(Ordering::SeqCst) {
                return Err(Error::Pipeline("another chunker failed"));
            }
            meet = self.cv.wait(meet).unwrap_or_else(|p| p.into_inner());
        }
    }
    fn fail(&self) {
        self.failed.store(true, Ordering::SeqCst);
        let _guard = self.meet.lock().unwrap_or_else(|p| p.into_inner());
        self.cv.notify_all();
    }
}

fn plan(extents: &[Extent]) -> Vec<Item> {
    let mut items = Vec::new();
    for (start, end, hole) in regions(extents) {
        if hole {
            items.push(Item::Hole { start, end });
            continue;
        }
        let mut s = start;
        while s < end {
            let e = (s + SEGMENT_LEN).min(end);
            items.push(Item::Segment {
                start: s,
                end: e,
                region_end: end,
                first: s == start,
            });
            s = e;
        }
    }
    items
}

/// Sink for chunks: `emit(item, idx, chunk)` in order within an item; `finish(item, count)`.
pub(crate) trait Sink: Sync {
    fn emit(&self, item: usize, idx: u64, chunk: RawChunk) -> Result<()>;
    fn finish(&self, item: usize, count: u64) -> Result<()>;
}

/// Cuts the whole disk with `threads` workers; chunks are identified by (item, idx).
pub(crate) fn chunk_parallel(
    src: &dyn GuestSource,
    params: ChunkerParams,
    extents: &[Extent],
    threads: usize,
    sink: &dyn Sink,
) -> Result<()> {
    params.validate()?;
    let items = plan(extents);
    let board = Board {
        meet: Mutex::new(HashMap::new()),
        cv: Condvar::new(),
        failed: AtomicBool::new(false),
    };
    let next = AtomicUsize::new(0);
    let first_error = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut buffers = (Vec::new(), Vec::new());
                loop {
                    let j = next.fetch_add(1, Ordering::SeqCst);
                    if j >= items.len() || board.failed.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Err(e) =
                        run_item(src, params, extents, &items, j, &board, sink, &mut buffers)
                    {
                        board.fail();
                        first_error
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_item(
    src: &dyn GuestSource,
    params: ChunkerParams,
    extents: &[Extent],
    items: &[Item],
    j: usize,
    board: &Board,
    sink: &dyn Sink,
    buffers: &mut (Vec<u8>, Vec<u8>),
) -> Result<()> {
    let (start, end, region_end, first) = match items[j] {
        Item::Hole { start, end } => {
            sink.emit(
                j,
                0,
                RawChunk {
                    offset: start,
                    len: end - start,
                    payload: Payload::Zero,
                },
            )?;
            return sink.finish(j, 1);
        }
        Item::Segment {
            start,
            end,
            region_end,
            first,
        } => (start, end, region_end, first),
    };
    let mut own = Cutter::with_buffer(
        src,
        extents,
        params,
        start,
        region_end,
        std::mem::take(&mut buffers.0),
    );
    let spare = std::mem::take(&mut buffers.1);
    let mut next_chain = (end < region_end)
        .then(|| Cutter::with_buffer(src, extents, params, end, region_end, spare));
    let mut next_pos = end;
    let mut skip_until = if first { Some(start) } else { board.get(j - 1) };
    let mut held: Vec<RawChunk> = Vec::new();
    let mut held_bytes = 0u64;
    let mut idx = 0u64;
    let mut met = false;
    while let Some(chunk) = own.next_chunk(true)? {
        let chunk_end = chunk.offset + chunk.len;
        if skip_until.is_none() {
            skip_until = board.get(j - 1);
        }
        match skip_until {
            None => {
                held_bytes += chunk.len;
                held.push(chunk);
                if held_bytes > HOLD_LIMIT {
                    skip_until = Some(board.wait(j - 1)?);
                }
            }
            Some(_) => held.push(chunk),
        }
        if let Some(c) = skip_until {
            for chunk in held.drain(..) {
                if chunk.offset + chunk.len > c {
                    sink.emit(j, idx, chunk)?;
                    idx += 1;
                }
            }
            held_bytes = 0;
        }
        if let Some(other) = next_chain.as_mut()
            && chunk_end >= end
        {
            while next_pos < chunk_end {
                match other.next_chunk(false)? {
                    Some(c) => next_pos = c.offset + c.len,
                    None => break,
                }
            }
            if next_pos == chunk_end {
                met = true;
                break;
            }
        }
    }
    // Publish this segment's meeting point. It must never fall behind the previous one (a chain
    // that ran far covers this segment's chunks too), so learn `c_{j-1}` first.
    let prev = match skip_until {
        Some(c) => c,
        None => board.wait(j - 1)?,
    };
    if next_chain.is_some() {
        let own = if met { own.position() } else { region_end };
        board.set(j, own.max(prev));
    }
    for chunk in held.drain(..) {
        if chunk.offset + chunk.len > prev {
            sink.emit(j, idx, chunk)?;
            idx += 1;
        }
    }
    buffers.0 = own.into_buffer();
    if let Some(other) = next_chain {
        buffers.1 = other.into_buffer();
    }
    sink.finish(j, idx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunker::chunk_source;
    use crate::source::{MemSource, normalize_extents};

    type Cut = (usize, u64, u64, u64, bool);
    struct Collect(Mutex<Vec<Cut>>);
    impl Sink for Collect {
        fn emit(&self, item: usize, idx: u64, c: RawChunk) -> Result<()> {
            let zero = matches!(c.payload, Payload::Zero);
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((item, idx, c.offset, c.len, zero));
            Ok(())
        }
        fn finish(&self, _: usize, _: u64) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn parallel_cuts_equal_sequential_cuts() {
        let mut data = vec![0u8; 100 << 20];
        let mut x = 7u64;
        for (i, b) in data.iter_mut().enumerate() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = if (i >> 20) % 7 == 3 { 0 } else { x as u8 };
        }
        let sparse = MemSource::with_extents(
            data.iter()
                .enumerate()
                .map(|(i, &b)| {
                    if (40 << 20..60 << 20).contains(&i) {
                        0
                    } else {
                        b
                    }
                })
                .collect(),
            vec![
                Extent {
                    offset: 0,
                    length: 40 << 20,
                    kind: crate::source::ExtentKind::Data,
                },
                Extent {
                    offset: 60 << 20,
                    length: 40 << 20,
                    kind: crate::source::ExtentKind::Data,
                },
            ],
        );
        let dense = MemSource::new(data);
        for (src, params) in [
            (&dense, ChunkerParams::DEFAULT_CDC),
            (
                &dense,
                ChunkerParams::Cdc {
                    min: 16 << 10,
                    avg: 64 << 10,
                    max: 256 << 10,
                },
            ),
            (&dense, ChunkerParams::DEFAULT_FIXED),
            (&sparse, ChunkerParams::DEFAULT_CDC),
        ] {
            let ext =
                normalize_extents(src.virtual_size(), src.extents().expect("map")).expect("valid");
            let mut seq = Vec::new();
            chunk_source(src, params, &ext, &mut |c| {
                seq.push((c.offset, c.len, matches!(c.payload, Payload::Zero)));
                Ok(())
            })
            .expect("sequential");
            let sink = Collect(Mutex::new(Vec::new()));
            chunk_parallel(src, params, &ext, 3, &sink).expect("parallel");
            let mut par = sink.0.into_inner().expect("lock");
            par.sort();
            let par: Vec<_> = par.into_iter().map(|(_, _, o, l, z)| (o, l, z)).collect();
            assert_eq!(par, seq, "{params:?}");
        }
    }
}
