//! The per-disk overlay: the blocks written since the disk's base, in a sparse data file of the
//! disk's size, plus two bitmaps at [`GRANULE`] granularity persisted in a map file.
//!
//! | bit | meaning |
//! |---|---|
//! | written | the overlay holds the granule (reads come from the data file) |
//! | zeroed  | the granule was trimmed or zero-written: a hole in the data file, reads are zeros |
//!
//! Durability: writes go to the data file at once; the map is written (temp file, fsync,
//! rename, directory fsync) on [`Overlay::flush`], *after* the data file is synced, so a map on
//! disk never names a granule whose data is not durable. After a crash, writes since the last
//! flush may be lost, as on any disk with a write cache; nothing flushed is.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

/// Overlay granularity: a partial write of an unwritten granule copies the rest up from the base.
pub const GRANULE: u64 = 4096;

/// `STENCIL-OVL` map file magic (11 bytes + version byte).
const MAP_MAGIC: &[u8; 11] = b"STENCILOVL1";
/// Map file format version.
const MAP_VERSION: u8 = 1;
/// Header: magic, version, 4 reserved bytes, disk size (u64 LE), granule (u64 LE).
const MAP_HEADER_LEN: usize = 32;
const _: () = assert!(MAP_MAGIC.len() + 1 + 4 + 8 + 8 == MAP_HEADER_LEN);

/// The two bitmaps, one bit per granule.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bits {
    pub(crate) written: Vec<u64>,
    pub(crate) zeroed: Vec<u64>,
}

fn get(words: &[u64], i: u64) -> bool {
    words
        .get((i / 64) as usize)
        .is_some_and(|w| w & (1 << (i % 64)) != 0)
}

fn set(words: &mut [u64], i: u64, on: bool) {
    if let Some(w) = words.get_mut((i / 64) as usize) {
        if on {
            *w |= 1 << (i % 64);
        } else {
            *w &= !(1 << (i % 64));
        }
    }
}

impl Bits {
    fn new(granules: u64) -> Self {
        let words = granules.div_ceil(64) as usize;
        Bits {
            written: vec![0; words],
            zeroed: vec![0; words],
        }
    }

    pub(crate) fn written(&self, g: u64) -> bool {
        get(&self.written, g)
    }

    /// True when no granule of the 64 that share `g`'s word is written.
    pub(crate) fn word_unwritten(&self, g: u64) -> bool {
        self.written.get((g / 64) as usize).is_none_or(|w| *w == 0)
    }

    pub(crate) fn zeroed(&self, g: u64) -> bool {
        get(&self.zeroed, g)
    }

    fn mark(&mut self, first: u64, end: u64, zeroed: bool) {
        for g in first..end {
            set(&mut self.written, g, true);
            set(&mut self.zeroed, g, zeroed);
        }
    }

    /// Byte ranges of written granules, merged, clipped to `size`.
    pub(crate) fn written_ranges(&self, size: u64) -> Vec<std::ops::Range<u64>> {
        let mut out: Vec<std::ops::Range<u64>> = Vec::new();
        for (wi, &word) in self.written.iter().enumerate() {
            if word == 0 {
                continue;
            }
            for bit in 0..64 {
                if word & (1 << bit) == 0 {
                    continue;
                }
                let g = wi as u64 * 64 + bit;
                let (start, end) = (g * GRANULE, ((g + 1) * GRANULE).min(size));
                if start >= size {
                    break;
                }
                match out.last_mut() {
                    Some(last) if last.end == start => last.end = end,
                    _ => out.push(start..end),
                }
            }
        }
        out
    }
}

/// One overlay generation of one disk.
#[derive(Debug)]
pub(crate) struct Overlay {
    size: u64,
    data: File,
    dir: PathBuf,
    bits: RwLock<Bits>,
    dirty: AtomicBool,
    /// Serialises copy-ups of partially written granules.
    copy_up: Mutex<()>,
}

impl Overlay {
    /// Opens (or creates) the overlay in `dir` for a disk of `size` bytes.
    pub(crate) fn open(dir: &Path, size: u64) -> io::Result<Overlay> {
        std::fs::create_dir_all(dir)?;
        let data = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("data"))?;
        if data.metadata()?.len() != size {
            data.set_len(size)?;
        }
        let granules = size.div_ceil(GRANULE);
        let bits = match std::fs::read(dir.join("map")) {
            Ok(bytes) => decode_map(&bytes, size, granules)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Bits::new(granules),
            Err(e) => return Err(e),
        };
        Ok(Overlay {
            size,
            data,
            dir: dir.to_path_buf(),
            bits: RwLock::new(bits),
            dirty: AtomicBool::new(false),
            copy_up: Mutex::new(()),
        })
    }

    pub(crate) fn bits(&self) -> std::sync::RwLockReadGuard<'_, Bits> {
        self.bits.read().unwrap_or_else(|p| p.into_inner())
    }

    fn bits_mut(&self) -> std::sync::RwLockWriteGuard<'_, Bits> {
        self.bits.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn read_data(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.data.read_exact_at(buf, offset)
    }

    /// Writes `data` at `offset`; `base` fills the rest of partially covered granules that
    /// the overlay does not hold yet.
    pub(crate) fn write(
        &self,
        offset: u64,
        data: &[u8],
        base: &dyn Fn(&mut [u8], u64) -> io::Result<()>,
    ) -> io::Result<()> {
        let end = offset + data.len() as u64;
        let (first, last) = (offset / GRANULE, (end - 1) / GRANULE);
        let head_partial = !offset.is_multiple_of(GRANULE);
        let tail_partial = !end.is_multiple_of(GRANULE) && end != self.size;
        if head_partial || tail_partial {
            let _guard = self.copy_up.lock().unwrap_or_else(|p| p.into_inner());
            for g in [first, last] {
                let (gs, ge) = (g * GRANULE, ((g + 1) * GRANULE).min(self.size));
                let covered = offset <= gs && end >= ge;
                if covered || self.bits().written(g) {
                    continue;
                }
                let mut block = vec![0u8; (ge - gs) as usize];
                base(&mut block, gs)?;
                let (from, to) = (offset.max(gs), end.min(ge));
                block[(from - gs) as usize..(to - gs) as usize]
                    .copy_from_slice(&data[(from - offset) as usize..(to - offset) as usize]);
                self.data.write_all_at(&block, gs)?;
                self.bits_mut().mark(g, g + 1, false);
            }
            self.data.write_all_at(data, offset)?;
        } else {
            self.data.write_all_at(data, offset)?;
        }
        self.bits_mut().mark(first, last + 1, false);
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// Makes `[offset, offset + len)` read as zeros: whole granules become holes, the partial
    /// ends are written with zeros through [`Overlay::write`].
    pub(crate) fn zero(
        &self,
        offset: u64,
        len: u64,
        base: &dyn Fn(&mut [u8], u64) -> io::Result<()>,
    ) -> io::Result<()> {
        let end = offset + len;
        let whole_start = offset.next_multiple_of(GRANULE);
        let whole_end = if end == self.size {
            end
        } else {
            end / GRANULE * GRANULE
        };
        if whole_start >= whole_end {
            return self.write(offset, &vec![0u8; len as usize], base);
        }
        if offset < whole_start {
            self.write(offset, &vec![0u8; (whole_start - offset) as usize], base)?;
        }
        if whole_end < end {
            self.write(whole_end, &vec![0u8; (end - whole_end) as usize], base)?;
        }
        punch_hole(&self.data, whole_start, whole_end - whole_start)?;
        self.bits_mut()
            .mark(whole_start / GRANULE, whole_end.div_ceil(GRANULE), true);
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// Makes every completed write durable: data first, then the map.
    pub(crate) fn flush(&self) -> io::Result<()> {
        // The map is taken before the data is synced: a write that completes in between is
        // synced but not yet named, never named but not synced.
        let bytes = self
            .dirty
            .swap(false, Ordering::AcqRel)
            .then(|| encode_map(&self.bits(), self.size));
        if let Err(e) = self.data.sync_data() {
            if bytes.is_some() {
                self.dirty.store(true, Ordering::Release);
            }
            return Err(e);
        }
        let Some(bytes) = bytes else {
            return Ok(());
        };
        let tmp = self.dir.join("map.tmp");
        let result = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, self.dir.join("map"))?;
            File::open(&self.dir)?.sync_all()
        })();
        if result.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        result
    }
}

fn punch_hole(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use rustix::fs::{FallocateFlags, fallocate};
    match fallocate(
        file,
        FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
        offset,
        len,
    ) {
        Ok(()) => Ok(()),
        // A filesystem without hole punching gets the zeros written.
        Err(rustix::io::Errno::OPNOTSUPP) => {
            let zeros = vec![0u8; 1 << 20];
            let mut pos = offset;
            while pos < offset + len {
                let n = (offset + len - pos).min(zeros.len() as u64) as usize;
                file.write_all_at(&zeros[..n], pos)?;
                pos += n as u64;
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn encode_map(bits: &Bits, size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAP_HEADER_LEN + bits.written.len() * 16);
    out.extend_from_slice(MAP_MAGIC);
    out.push(MAP_VERSION);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&GRANULE.to_le_bytes());
    for w in bits.written.iter().chain(bits.zeroed.iter()) {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out
}

fn decode_map(bytes: &[u8], size: u64, granules: u64) -> io::Result<Bits> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("Overlay map: {why}"));
    if bytes.len() < MAP_HEADER_LEN || &bytes[..11] != MAP_MAGIC {
        return Err(bad("bad magic"));
    }
    if bytes[11] != MAP_VERSION {
        return Err(bad(&format!("unknown version {}", bytes[11])));
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
    if word(16) != size || word(24) != GRANULE {
        return Err(bad("written for another disk size or granule"));
    }
    let words = granules.div_ceil(64) as usize;
    if bytes.len() != MAP_HEADER_LEN + words * 16 {
        return Err(bad("wrong length"));
    }
    let read = |from: usize| (0..words).map(|i| word(from + i * 8)).collect::<Vec<_>>();
    Ok(Bits {
        written: read(MAP_HEADER_LEN),
        zeroed: read(MAP_HEADER_LEN + words * 8),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base_pattern(buf: &mut [u8], offset: u64) -> io::Result<()> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = ((offset + i as u64) % 251) as u8;
        }
        Ok(())
    }

    #[test]
    fn a_partial_write_copies_the_rest_of_the_granule_up_from_the_base() {
        let dir = tempfile::tempdir().unwrap();
        let o = Overlay::open(dir.path(), 64 * 1024).unwrap();
        o.write(100, &[0xab; 10], &base_pattern).unwrap();
        let mut g = vec![0u8; GRANULE as usize];
        o.read_data(&mut g, 0).unwrap();
        let mut want = vec![0u8; GRANULE as usize];
        base_pattern(&mut want, 0).unwrap();
        want[100..110].fill(0xab);
        assert_eq!(g, want);
        assert!(o.bits().written(0) && !o.bits().written(1));
        assert_eq!(o.bits().written_ranges(64 * 1024), vec![0..GRANULE]);
    }

    #[test]
    fn zeroing_marks_whole_granules_and_writes_the_ends() {
        let dir = tempfile::tempdir().unwrap();
        let o = Overlay::open(dir.path(), 64 * 1024).unwrap();
        o.write(0, &[0xcd; 65536], &base_pattern).unwrap();
        o.zero(1000, 20000, &base_pattern).unwrap();
        let mut all = vec![0u8; 65536];
        o.read_data(&mut all, 0).unwrap();
        assert!(all[..1000].iter().all(|&b| b == 0xcd));
        assert!(all[1000..21000].iter().all(|&b| b == 0));
        assert!(all[21000..].iter().all(|&b| b == 0xcd));
        let bits = o.bits();
        assert!(!bits.zeroed(0) && bits.zeroed(1) && bits.zeroed(4) && !bits.zeroed(5));
    }

    #[test]
    fn the_map_survives_a_reopen_only_after_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let o = Overlay::open(dir.path(), 1 << 20).unwrap();
        o.write(8192, &[1; 4096], &base_pattern).unwrap();
        drop(o);
        let o = Overlay::open(dir.path(), 1 << 20).unwrap();
        assert!(!o.bits().written(2), "unflushed map must not persist");
        o.write(8192, &[1; 4096], &base_pattern).unwrap();
        o.flush().unwrap();
        drop(o);
        let o = Overlay::open(dir.path(), 1 << 20).unwrap();
        assert!(o.bits().written(2));
        let mut b = vec![0u8; 4096];
        o.read_data(&mut b, 8192).unwrap();
        assert!(b.iter().all(|&x| x == 1));
        assert!(Overlay::open(dir.path(), 2 << 20).is_err(), "size mismatch");
    }
}
