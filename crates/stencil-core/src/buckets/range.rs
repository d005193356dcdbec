//! A positional source over ranged requests, with a small LRU cache of aligned blocks.
//!
//! Image readers ask for metadata in small pieces (a qcow2 header, then L2 tables of a few
//! KiB, compressed clusters of a few hundred bytes, one after another). Each would be one
//! request; reading whole 4 MiB blocks and keeping the last four turns a run of neighbours
//! into one request. Reads of a block or more (guest data in batches) skip the cache.

use std::io;
use std::sync::Mutex;

use bytes::Bytes;
use stencil_formats::ReadAt;

/// Size of a cached block; reads at least this long go straight to the store.
pub(crate) const BLOCK: u64 = 4 << 20;
/// Blocks kept.
pub(crate) const BLOCKS: usize = 4;

/// Fetches `len` bytes at `offset`; must return exactly `len` bytes.
pub(crate) type Fetch = Box<dyn Fn(u64, usize) -> io::Result<Bytes> + Send + Sync>;

/// A [`ReadAt`] over a fetch function.
pub(crate) struct CachedRanges {
    len: u64,
    fetch: Fetch,
    /// Most recently used last.
    cache: Mutex<Vec<(u64, Bytes)>>,
}

impl CachedRanges {
    pub(crate) fn new(len: u64, fetch: Fetch) -> Self {
        CachedRanges {
            len,
            fetch,
            cache: Mutex::new(Vec::with_capacity(BLOCKS)),
        }
    }

    fn fetch_exact(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        let bytes = (self.fetch)(offset, len)?;
        if bytes.len() != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "Ranged read at {offset:#x} returned {} of {len} bytes",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
    }

    /// Block `index`, from the cache or fetched (concurrent misses may fetch twice; both
    /// results are the same bytes).
    fn block(&self, index: u64) -> io::Result<Bytes> {
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(at) = cache.iter().position(|(i, _)| *i == index) {
                let hit = cache.remove(at);
                let bytes = hit.1.clone();
                cache.push(hit);
                return Ok(bytes);
            }
        }
        let start = index * BLOCK;
        let len = BLOCK.min(self.len - start) as usize;
        let bytes = self.fetch_exact(start, len)?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if !cache.iter().any(|(i, _)| *i == index) {
            if cache.len() == BLOCKS {
                cache.remove(0);
            }
            cache.push((index, bytes.clone()));
        }
        Ok(bytes)
    }
}

impl ReadAt for CachedRanges {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&end| end <= self.len)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "Read of {} bytes at {offset:#x} passes the end {:#x}",
                        buf.len(),
                        self.len
                    ),
                )
            })?;
        if buf.len() as u64 >= BLOCK {
            buf.copy_from_slice(&self.fetch_exact(offset, buf.len())?);
            return Ok(());
        }
        let mut pos = offset;
        while pos < end {
            let index = pos / BLOCK;
            let block = self.block(index)?;
            let from = (pos - index * BLOCK) as usize;
            let n = (block.len() - from).min((end - pos) as usize);
            let at = (pos - offset) as usize;
            buf[at..at + n].copy_from_slice(&block[from..from + n]);
            pos += n as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn source(len: usize) -> (CachedRanges, Arc<AtomicUsize>, Vec<u8>) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4096) as u8).collect();
        let calls = Arc::new(AtomicUsize::new(0));
        let (d, c) = (Bytes::from(data.clone()), calls.clone());
        let fetch: Fetch = Box::new(move |off, n| {
            c.fetch_add(1, Ordering::Relaxed);
            Ok(d.slice(off as usize..off as usize + n))
        });
        (CachedRanges::new(len as u64, fetch), calls, data)
    }

    #[test]
    fn small_reads_in_one_block_cost_one_request() {
        let (src, calls, data) = source(10 << 20);
        for i in 0..100u64 {
            let mut buf = [0u8; 700];
            src.read_at(&mut buf, i * 9000).unwrap();
            assert_eq!(
                &buf[..],
                &data[(i * 9000) as usize..(i * 9000) as usize + 700]
            );
        }
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_read_across_a_block_boundary_joins_two_blocks() {
        let (src, calls, data) = source(10 << 20);
        let mut buf = vec![0u8; 10_000];
        let off = BLOCK - 5000;
        src.read_at(&mut buf, off).unwrap();
        assert!(buf == data[off as usize..off as usize + 10_000]);
        assert_eq!(calls.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_least_recently_used_block_is_evicted_first() {
        let (src, calls, _) = source((BLOCKS + 2) * BLOCK as usize);
        let mut b = [0u8; 1];
        for i in 0..BLOCKS as u64 {
            src.read_at(&mut b, i * BLOCK).unwrap();
        }
        src.read_at(&mut b, 0).unwrap(); // block 0 is now the most recent
        src.read_at(&mut b, BLOCKS as u64 * BLOCK).unwrap(); // evicts block 1
        assert_eq!(calls.load(Ordering::Relaxed), BLOCKS + 1);
        src.read_at(&mut b, 0).unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), BLOCKS + 1);
        src.read_at(&mut b, BLOCK).unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), BLOCKS + 2);
    }

    #[test]
    fn large_reads_bypass_the_cache_and_the_short_last_block_reads_fine() {
        let len = 2 * BLOCK as usize + 123;
        let (src, calls, data) = source(len);
        let mut big = vec![0u8; BLOCK as usize];
        src.read_at(&mut big, 77).unwrap();
        assert!(big == data[77..77 + BLOCK as usize]);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        let mut tail = [0u8; 100];
        src.read_at(&mut tail, len as u64 - 100).unwrap();
        assert_eq!(&tail[..], &data[len - 100..]);
    }

    #[test]
    fn reads_past_the_end_and_short_answers_are_errors() {
        let (src, _, _) = source(1000);
        let mut buf = [0u8; 10];
        assert!(src.read_at(&mut buf, 995).is_err());
        let short: Fetch = Box::new(|_, n| Ok(Bytes::from(vec![0u8; n - 1])));
        let src = CachedRanges::new(1000, short);
        assert_eq!(
            src.read_at(&mut buf, 0).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
