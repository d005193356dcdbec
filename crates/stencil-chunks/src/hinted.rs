//! Chunking with a hint: the index of an earlier version of the same disk.
//!
//! Re-importing content the store already holds is limited by FastCDC (about 1.5 GB/s a core
//! here), yet the earlier index already says where the cuts fell. For each hinted chunk that
//! lies inside the current data region, the bytes are read and hashed (BLAKE3, several GB/s);
//! if the digest is the hint's, the chunk is taken as is. Where it differs, FastCDC runs from
//! that offset until its cut lands on a hinted boundary again, and the hint takes over there.
//!
//! Any hint gives a correct index: a chunk is only ever taken for the bytes that are there.
//! A good hint gives the cuts CDC would give (they were CDC's cuts over the same bytes).

use crate::chunker::{Cutter, Filler, Payload, RawChunk, regions};
use crate::digest::{ChunkHasher, Digest};
use crate::error::Result;
use crate::index::{ChunkerParams, Index};
use crate::source::{Extent, GuestSource};

/// Like [`crate::chunker::chunk_source`], taking the cuts of `hint` wherever they still hold.
pub(crate) fn chunk_source_hinted(
    src: &dyn GuestSource,
    params: ChunkerParams,
    extents: &[Extent],
    hint: &Index,
    hasher: &ChunkHasher,
    emit: &mut dyn FnMut(RawChunk, Option<Digest>) -> Result<()>,
) -> Result<()> {
    params.validate()?;
    let entries = hint.entries();
    // The hinted chunk that starts exactly at `pos`, as (end, digest).
    let starting_at = |pos: u64| -> Option<(u64, Digest)> {
        let i = entries.partition_point(|e| e.end <= pos);
        let start = if i == 0 { 0 } else { entries[i - 1].end };
        (start == pos && i < entries.len()).then(|| (entries[i].end, entries[i].digest))
    };
    let is_boundary = |pos: u64| entries.binary_search_by(|e| e.end.cmp(&pos)).is_ok();
    for (start, end, hole) in regions(extents) {
        if hole {
            emit(
                RawChunk {
                    offset: start,
                    len: end - start,
                    payload: Payload::Zero,
                },
                None,
            )?;
            continue;
        }
        let mut pos = start;
        while pos < end {
            // A batch of consecutive hinted chunks from `pos`: read in order, hashed on two
            // threads, taken up to the first whose digest differs.
            let mut batch = Vec::new();
            let (mut p, mut bytes) = (pos, 0u64);
            while bytes < BATCH_BYTES {
                match starting_at(p) {
                    Some((e, d))
                        if e <= end && !d.is_zero() && e - p <= params.max_chunk() as u64 =>
                    {
                        batch.push((p, e, d));
                        bytes += e - p;
                        p = e;
                    }
                    _ => break,
                }
            }
            let read = read_and_digest(src, extents, hasher, &batch)?;
            let mut all_matched = true;
            for (&(s, e, want), (buf, got)) in batch.iter().zip(read) {
                if got != want {
                    all_matched = false;
                    break;
                }
                emit(
                    RawChunk {
                        offset: s,
                        len: e - s,
                        payload: Payload::Data(buf),
                    },
                    Some(want),
                )?;
                pos = e;
            }
            if all_matched && !batch.is_empty() {
                continue;
            }
            // CDC from here until a cut meets a hinted boundary.
            let mut cutter = Cutter::new(src, extents, params, pos, end);
            loop {
                match cutter.next_chunk(true)? {
                    Some(chunk) => {
                        pos = chunk.offset + chunk.len;
                        emit(chunk, None)?;
                        if is_boundary(pos) {
                            break;
                        }
                    }
                    None => {
                        pos = end;
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Bytes of hinted chunks read and hashed together.
const BATCH_BYTES: u64 = 16 << 20;

/// Reads and hashes the chunks `(start, end, _)` of `batch`, the two halves on two threads.
fn read_and_digest(
    src: &dyn GuestSource,
    extents: &[Extent],
    hasher: &ChunkHasher,
    batch: &[(u64, u64, Digest)],
) -> Result<Vec<(Vec<u8>, Digest)>> {
    let one = |part: &[(u64, u64, Digest)]| -> Result<Vec<(Vec<u8>, Digest)>> {
        let mut out = Vec::with_capacity(part.len());
        let mut filler = Filler::new(src, extents);
        for &(s, e, _) in part {
            let mut buf = vec![0u8; (e - s) as usize];
            filler.fill(&mut buf, s)?;
            let digest = hasher.digest(&buf);
            out.push((buf, digest));
        }
        Ok(out)
    };
    if batch.len() < 2 {
        return one(batch);
    }
    let (first, second) = batch.split_at(batch.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| one(second));
        let mut out = one(first)?;
        // A reading thread cannot panic short of a bug; if it did, do its half here.
        let rest = other.join().unwrap_or_else(|_| one(second))?;
        out.extend(rest);
        Ok(out)
    })
}
