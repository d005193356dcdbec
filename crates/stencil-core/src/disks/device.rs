//! A disk as a block device: reads fall through the overlay to the base index, writes go to
//! the overlay. The NBD server (in stencil-server) and the snapshot job use it.

use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use stencil_chunks::source::{Extent, ExtentKind, GuestSource};
use stencil_chunks::{ChunkStore, DiskReader, Index, ReadCheck};

use super::overlay::{GRANULE, Overlay};

/// Granularity of a base index's allocation bitmap.
const BASE_BLOCK: u64 = 64 * 1024;

/// Allocation of a range of a disk, as NBD `base:allocation` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocation {
    /// Bytes.
    pub length: u64,
    /// Not allocated (reads as zeros, nothing stored).
    pub hole: bool,
    /// Reads as zeros.
    pub zero: bool,
}

/// The bytes of one disk generation: the base index and the overlay above it.
#[derive(Debug)]
pub struct DiskState {
    size: u64,
    generation: u64,
    base: DiskReader,
    overlay: Overlay,
}

impl DiskState {
    /// Opens generation `generation` of a disk: `base` (covering exactly the disk's size) in
    /// `store`, read with `check`, the overlay in `dir`.
    pub fn open(
        store: &ChunkStore,
        base: Arc<Index>,
        check: ReadCheck,
        dir: &Path,
        generation: u64,
    ) -> io::Result<DiskState> {
        let size = base.virtual_size();
        Ok(DiskState {
            size,
            generation,
            overlay: Overlay::open(dir, size)?,
            base: DiskReader::new(store.clone(), base).with_check(check),
        })
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The overlay generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The chunk store of its base (the region's, or its KMS key's for an encrypted disk);
    /// snapshots of the disk go there too.
    pub fn store(&self) -> &ChunkStore {
        self.base.store()
    }

    /// The base index.
    pub fn base_index(&self) -> &Arc<Index> {
        self.base.index()
    }

    fn check(&self, offset: u64, len: u64) -> io::Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "Range {offset:#x}+{len:#x} is past the end of the disk ({:#x})",
                    self.size
                ),
            )),
        }
    }

    fn read_base(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.base.read_at(buf, offset).map_err(io::Error::other)
    }

    /// Fills `buf` with the disk's bytes at `offset`.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.check(offset, buf.len() as u64)?;
        let bits = self.overlay.bits();
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let g = pos / GRANULE;
            let from_overlay = bits.written(g);
            // Extend the run while granules come from the same place.
            let mut run_end = ((g + 1) * GRANULE).min(offset + buf.len() as u64);
            while run_end < offset + buf.len() as u64
                && bits.written(run_end / GRANULE) == from_overlay
            {
                run_end = ((run_end / GRANULE + 1) * GRANULE).min(offset + buf.len() as u64);
            }
            let dst = &mut buf[done..(run_end - offset) as usize];
            if from_overlay {
                self.overlay.read_data(dst, pos)?;
            } else {
                self.read_base(dst, pos)?;
            }
            done = (run_end - offset) as usize;
        }
        Ok(())
    }

    /// Writes `data` at `offset` into the overlay.
    pub fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.check(offset, data.len() as u64)?;
        if data.is_empty() {
            return Ok(());
        }
        self.overlay
            .write(offset, data, &|buf, at| self.read_base(buf, at))
    }

    /// Makes `[offset, offset + len)` read as zeros.
    pub fn zero(&self, offset: u64, len: u64) -> io::Result<()> {
        self.check(offset, len)?;
        if len == 0 {
            return Ok(());
        }
        self.overlay
            .zero(offset, len, &|buf, at| self.read_base(buf, at))
    }

    /// Makes every completed write durable.
    pub fn flush(&self) -> io::Result<()> {
        self.overlay.flush()
    }

    /// Allocation from `offset`, up to `len` bytes, merged into runs.
    pub fn allocation(&self, offset: u64, len: u64) -> io::Result<Vec<Allocation>> {
        self.check(offset, len)?;
        let bits = self.overlay.bits();
        let base = self.base.index();
        let end = offset + len;
        let mut out: Vec<Allocation> = Vec::new();
        let mut pos = offset;
        while pos < end {
            let g = pos / GRANULE;
            let (next, hole) = if bits.written(g) {
                (((g + 1) * GRANULE).min(end), bits.zeroed(g))
            } else {
                // Where the overlay holds nothing in a whole word of 64 granules (256 KiB), the
                // base decides, and its allocation is constant over each 64 KiB block (which
                // lies inside the word): step by blocks, not granules.
                let step_end = if bits.word_unwritten(g) {
                    (pos / BASE_BLOCK + 1) * BASE_BLOCK
                } else {
                    (g + 1) * GRANULE
                };
                (step_end.min(end), !base.is_allocated(pos))
            };
            let zero = hole;
            match out.last_mut() {
                Some(last) if last.hole == hole && last.zero == zero => last.length += next - pos,
                _ => out.push(Allocation {
                    length: next - pos,
                    hole,
                    zero,
                }),
            }
            pos = next;
        }
        Ok(out)
    }

    /// Byte ranges written since the base.
    pub fn written_ranges(&self) -> Vec<Range<u64>> {
        self.overlay.bits().written_ranges(self.size)
    }
}

impl GuestSource for DiskState {
    fn virtual_size(&self) -> u64 {
        self.size
    }

    fn extents(&self) -> Result<Vec<Extent>, stencil_chunks::error::SourceError> {
        let runs = self
            .allocation(0, self.size)
            .map_err(stencil_chunks::error::SourceError::from)?;
        let mut pos = 0;
        Ok(runs
            .into_iter()
            .map(|a| {
                let kind = match (a.hole, a.zero) {
                    (false, _) => ExtentKind::Data,
                    (true, _) => ExtentKind::Unallocated,
                };
                let e = Extent {
                    offset: pos,
                    length: a.length,
                    kind,
                };
                pos += a.length;
                e
            })
            .collect())
    }

    fn read_at(
        &self,
        buf: &mut [u8],
        offset: u64,
    ) -> Result<(), stencil_chunks::error::SourceError> {
        DiskState::read_at(self, buf, offset).map_err(stencil_chunks::error::SourceError::from)
    }
}

/// One disk, shared by every NBD connection to it and by snapshot jobs. Its state is swapped
/// whole when the disk is reset; writes and snapshots exclude each other through `gate`, so a
/// snapshot is a consistent point in time.
#[derive(Debug)]
pub struct DiskDevice {
    id: String,
    state: RwLock<Option<Arc<DiskState>>>,
    gate: RwLock<()>,
}

fn gone(id: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("Disk {id} has been released"),
    )
}

impl DiskDevice {
    pub(crate) fn new(id: &str, state: DiskState) -> Self {
        DiskDevice {
            id: id.to_string(),
            state: RwLock::new(Some(Arc::new(state))),
            gate: RwLock::new(()),
        }
    }

    /// The disk ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The current state, or an error once the disk is released.
    pub fn state(&self) -> io::Result<Arc<DiskState>> {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| gone(&self.id))
    }

    /// Blocks writes until the guard drops (snapshots, resets).
    pub fn freeze(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write().unwrap_or_else(|p| p.into_inner())
    }

    fn writing(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the state (a reset) or, with `None`, releases the disk. The caller holds
    /// [`DiskDevice::freeze`].
    pub(crate) fn replace(&self, state: Option<DiskState>) {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = state.map(Arc::new);
    }

    /// Size in bytes (0 once released).
    pub fn size(&self) -> u64 {
        self.state().map(|s| s.size()).unwrap_or(0)
    }

    /// Reads.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.state()?.read_at(buf, offset)
    }

    /// Writes; with `fua`, durable before returning.
    pub fn write_at(&self, offset: u64, data: &[u8], fua: bool) -> io::Result<()> {
        let _w = self.writing();
        let state = self.state()?;
        state.write_at(offset, data)?;
        if fua { state.flush() } else { Ok(()) }
    }

    /// Zeroes (TRIM and WRITE_ZEROES).
    pub fn zero(&self, offset: u64, len: u64, fua: bool) -> io::Result<()> {
        let _w = self.writing();
        let state = self.state()?;
        state.zero(offset, len)?;
        if fua { state.flush() } else { Ok(()) }
    }

    /// Makes every completed write durable.
    pub fn flush(&self) -> io::Result<()> {
        self.state()?.flush()
    }

    /// Allocation runs from `offset`.
    pub fn allocation(&self, offset: u64, len: u64) -> io::Result<Vec<Allocation>> {
        self.state()?.allocation(offset, len)
    }
}
