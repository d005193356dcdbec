//! [`MemDevice`]: a sparse in-memory [`BlockDevice`] for tests and examples.

use std::io;
use std::sync::RwLock;

use crate::device::{BlockDevice, Extent};

/// Allocation granule of [`MemDevice`].
const BLOCK: u64 = 64 * 1024;

type Block = RwLock<Option<Box<[u8]>>>;

/// A sparse in-memory block device, for tests and examples (not for production data).
///
/// Memory is allocated in 64 KiB blocks on first write; never-written (or trimmed) blocks read as
/// zeroes and are reported as holes by [`BlockDevice::block_status`]. Each block has its own
/// lock, so concurrent requests to different blocks do not contend. Flush is a no-op: everything
/// is "durable" (in memory) as soon as a write returns, which also makes the device safe to serve
/// on several connections at once.
pub struct MemDevice {
    size: u64,
    read_only: bool,
    blocks: Vec<Block>,
}

impl std::fmt::Debug for MemDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemDevice")
            .field("size", &self.size)
            .field("read_only", &self.read_only)
            .field("allocated_blocks", &self.allocated_blocks())
            .finish()
    }
}

impl MemDevice {
    /// Size of the allocation granule (64 KiB).
    pub const BLOCK_SIZE: u64 = BLOCK;

    /// An all-hole writable device of `size` bytes.
    pub fn new(size: u64) -> Self {
        let count = usize::try_from(size.div_ceil(BLOCK)).expect("MemDevice size fits in memory");
        MemDevice {
            size,
            read_only: false,
            blocks: (0..count).map(|_| RwLock::new(None)).collect(),
        }
    }

    /// A writable device holding a copy of `data` (every block allocated, size `data.len()`).
    pub fn from_bytes(data: &[u8]) -> Self {
        let dev = MemDevice::new(data.len() as u64);
        if !data.is_empty() {
            dev.write_at(0, data, false)
                .expect("in-bounds write to a MemDevice");
        }
        dev
    }

    /// Set whether the device is read-only (writes are refused with `PermissionDenied`).
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// How many 64 KiB blocks hold memory (were written and not trimmed since).
    pub fn allocated_blocks(&self) -> usize {
        self.blocks
            .iter()
            .filter(|b| lock_read(b).is_some())
            .count()
    }

    fn check(&self, offset: u64, len: u64) -> io::Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "request beyond end of device",
            )),
        }
    }

    fn check_writable(&self) -> io::Result<()> {
        if self.read_only {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "device is read-only",
            ))
        } else {
            Ok(())
        }
    }

    /// Length in bytes of block `index` (the last one may be short).
    fn block_len(&self, index: u64) -> u64 {
        (self.size - index * BLOCK).min(BLOCK)
    }

    /// Call `f(block_index, offset_in_block, range_in_request)` for each block piece of the range.
    fn for_each_piece(
        &self,
        offset: u64,
        len: u64,
        mut f: impl FnMut(usize, usize, std::ops::Range<usize>),
    ) {
        let mut pos = offset;
        let end = offset + len;
        while pos < end {
            let index = pos / BLOCK;
            let in_block = pos % BLOCK;
            let n = (BLOCK - in_block).min(end - pos);
            let start = (pos - offset) as usize;
            f(index as usize, in_block as usize, start..start + n as usize);
            pos += n;
        }
    }

    /// Zero `[offset, offset+len)`; whole blocks are freed when `may_free`, otherwise allocated.
    fn zero_range(&self, offset: u64, len: u64, may_free: bool) {
        self.for_each_piece(offset, len, |index, in_block, range| {
            let whole = in_block == 0 && range.len() as u64 == self.block_len(index as u64);
            let mut slot = lock_write(&self.blocks[index]);
            if whole && may_free {
                *slot = None;
            } else if let Some(block) = slot.as_mut() {
                block[in_block..in_block + range.len()].fill(0);
            } else if !may_free {
                *slot = Some(new_block(self.block_len(index as u64)));
            }
        });
    }
}

fn new_block(len: u64) -> Box<[u8]> {
    vec![0u8; len as usize].into_boxed_slice()
}

fn lock_read(block: &Block) -> std::sync::RwLockReadGuard<'_, Option<Box<[u8]>>> {
    block
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lock_write(block: &Block) -> std::sync::RwLockWriteGuard<'_, Option<Box<[u8]>>> {
    block
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl BlockDevice for MemDevice {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.check(offset, buf.len() as u64)?;
        self.for_each_piece(offset, buf.len() as u64, |index, in_block, range| {
            let out = &mut buf[range];
            match lock_read(&self.blocks[index]).as_deref() {
                Some(block) => out.copy_from_slice(&block[in_block..in_block + out.len()]),
                None => out.fill(0),
            }
        });
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8], _fua: bool) -> io::Result<()> {
        self.check_writable()?;
        self.check(offset, data.len() as u64)?;
        self.for_each_piece(offset, data.len() as u64, |index, in_block, range| {
            let mut slot = lock_write(&self.blocks[index]);
            let block = slot.get_or_insert_with(|| new_block(self.block_len(index as u64)));
            block[in_block..in_block + range.len()].copy_from_slice(&data[range]);
        });
        Ok(())
    }

    fn flush(&self) -> io::Result<()> {
        Ok(())
    }

    fn trim(&self, offset: u64, len: u64) -> io::Result<()> {
        self.check_writable()?;
        self.check(offset, len)?;
        self.zero_range(offset, len, true);
        Ok(())
    }

    fn write_zeroes(&self, offset: u64, len: u64, may_trim: bool, _fua: bool) -> io::Result<()> {
        self.check_writable()?;
        self.check(offset, len)?;
        self.zero_range(offset, len, may_trim);
        Ok(())
    }

    fn block_status(&self, offset: u64, len: u64) -> io::Result<Vec<Extent>> {
        self.check(offset, len)?;
        let mut extents: Vec<Extent> = Vec::new();
        self.for_each_piece(offset, len, |index, _, range| {
            let hole = lock_read(&self.blocks[index]).is_none();
            let length = range.len() as u64;
            match extents.last_mut() {
                Some(last) if last.hole == hole => last.length += length,
                _ => extents.push(Extent {
                    length,
                    hole,
                    zero: hole,
                }),
            }
        });
        Ok(extents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritten_reads_zero_and_is_a_hole() {
        let dev = MemDevice::new(3 * BLOCK + 100);
        let mut buf = vec![1u8; 900];
        dev.read_at(3 * BLOCK - 800, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 0));
        assert_eq!(
            dev.block_status(0, dev.size()).unwrap(),
            vec![Extent::hole(3 * BLOCK + 100)]
        );
    }

    #[test]
    fn write_spanning_blocks_round_trips_and_allocates_them() {
        let dev = MemDevice::new(4 * BLOCK);
        let data: Vec<u8> = (0..BLOCK + 10).map(|i| (i % 251) as u8).collect();
        dev.write_at(BLOCK - 5, &data, false).unwrap();
        let mut back = vec![0u8; data.len()];
        dev.read_at(BLOCK - 5, &mut back).unwrap();
        assert_eq!(back, data);
        assert_eq!(dev.allocated_blocks(), 3);
        assert_eq!(
            dev.block_status(0, 4 * BLOCK).unwrap(),
            vec![Extent::data(3 * BLOCK), Extent::hole(BLOCK)]
        );
        // Clipped to the request, starting mid-block.
        assert_eq!(dev.block_status(10, 100).unwrap(), vec![Extent::data(100)]);
    }

    #[test]
    fn trim_frees_whole_blocks_and_zeroes_partial_ones() {
        let dev = MemDevice::from_bytes(&vec![0xaa; (3 * BLOCK) as usize]);
        dev.trim(BLOCK / 2, 2 * BLOCK).unwrap();
        assert_eq!(dev.allocated_blocks(), 2);
        let mut buf = vec![0u8; (3 * BLOCK) as usize];
        dev.read_at(0, &mut buf).unwrap();
        let half = (BLOCK / 2) as usize;
        assert!(buf[..half].iter().all(|&b| b == 0xaa));
        assert!(buf[half..half + 2 * BLOCK as usize].iter().all(|&b| b == 0));
        assert!(buf[half + 2 * BLOCK as usize..].iter().all(|&b| b == 0xaa));
    }

    #[test]
    fn write_zeroes_without_trim_keeps_blocks_allocated() {
        let dev = MemDevice::new(2 * BLOCK);
        dev.write_zeroes(0, 2 * BLOCK, false, false).unwrap();
        assert_eq!(dev.allocated_blocks(), 2);
        dev.write_zeroes(0, 2 * BLOCK, true, false).unwrap();
        assert_eq!(dev.allocated_blocks(), 0);
    }

    #[test]
    fn bounds_and_read_only_are_enforced() {
        let dev = MemDevice::new(BLOCK);
        assert!(dev.read_at(BLOCK - 1, &mut [0u8; 2]).is_err());
        assert!(dev.write_at(u64::MAX, &[1], false).is_err());
        let ro = MemDevice::new(BLOCK).with_read_only(true);
        let err = ro.write_at(0, &[1], false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    }
}
