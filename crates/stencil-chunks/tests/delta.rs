//! Delta import: a newer version of a stored disk where only some ranges were written. Only those
//! are re-chunked; the rest of the base index is shared; the result reads back byte for byte,
//! commits, and survives GC.

mod common;

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stencil_chunks::backend::ChunkBackend;
use stencil_chunks::gc::{GcOptions, gc};
use stencil_chunks::source::MemSource;
use stencil_chunks::{
    ChunkStore, ChunkerParams, Digest, DiskReader, Error, Extent, ExtentKind, Index,
};

const MIB: u64 = 1 << 20;
/// Allocation is tracked per 4 KiB block, like a qcow2 overlay with small clusters.
const BLOCK: u64 = 4096;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Data,
    Zero,
    Hole,
}

/// A guest disk being written: bytes plus the allocation of each 4 KiB block.
#[derive(Clone)]
struct Disk {
    data: Vec<u8>,
    blocks: Vec<Kind>,
}

impl Disk {
    fn new(size: u64) -> Self {
        Disk {
            data: vec![0; size as usize],
            blocks: vec![Kind::Hole; size.div_ceil(BLOCK) as usize],
        }
    }

    fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// Writes `bytes` at `offset`; the blocks written become Data.
    fn write(&mut self, offset: u64, bytes: &[u8]) {
        let end = offset + bytes.len() as u64;
        self.data[offset as usize..end as usize].copy_from_slice(bytes);
        for b in offset / BLOCK..end.div_ceil(BLOCK) {
            self.blocks[b as usize] = Kind::Data;
        }
    }

    /// Marks `[offset, end)` (block aligned) as a zero extent or a hole; its bytes become zeros.
    fn unmap(&mut self, offset: u64, end: u64, kind: Kind) {
        self.data[offset as usize..end as usize].fill(0);
        for b in offset / BLOCK..end / BLOCK {
            self.blocks[b as usize] = kind;
        }
    }

    fn source(&self) -> MemSource {
        let mut extents: Vec<Extent> = Vec::new();
        for (i, &kind) in self.blocks.iter().enumerate() {
            let offset = i as u64 * BLOCK;
            let length = BLOCK.min(self.size() - offset);
            let kind = match kind {
                Kind::Data => ExtentKind::Data,
                Kind::Zero => ExtentKind::Zero,
                Kind::Hole => continue,
            };
            match extents.last_mut() {
                Some(last) if last.kind == kind && last.end() == offset => last.length += length,
                _ => extents.push(Extent {
                    offset,
                    length,
                    kind,
                }),
            }
        }
        MemSource::with_extents(self.data.clone(), extents)
    }
}

/// About 40 MiB, an odd size: data, a 1 MiB hole, data with a 2 MiB zero run, 10 MiB of zero
/// extent plus a 10 MiB hole, data to the end.
fn base_disk() -> Disk {
    let mut disk = Disk::new(40 * MIB + 12_345);
    let size = disk.size();
    disk.write(0, &common::bytes(size as usize, 7, true));
    disk.unmap(4 * MIB, 5 * MIB, Kind::Hole);
    disk.data[(8 * MIB + 123) as usize..(10 * MIB + 77) as usize].fill(0);
    disk.unmap(12 * MIB, 22 * MIB, Kind::Zero);
    disk.unmap(22 * MIB, 32 * MIB, Kind::Hole);
    disk
}

/// Writes of every awkward kind, with the dirty ranges an overlay would report (unsorted, one
/// overlapping another, two where nothing actually changed).
fn modify(base: &Disk, base_index: &Index) -> (Disk, Vec<Range<u64>>) {
    let mut disk = base.clone();
    let size = disk.size();
    let mut dirty = Vec::new();
    let mut write = |disk: &mut Disk, offset: u64, bytes: Vec<u8>| {
        dirty.push(offset..offset + bytes.len() as u64);
        disk.write(offset, &bytes);
    };
    // At the very end of the disk.
    write(&mut disk, size - 777, common::bytes(777, 11, false));
    // Aligned, then an unaligned write overlapping it.
    write(&mut disk, MIB, common::bytes(64 << 10, 12, false));
    write(
        &mut disk,
        MIB + (32 << 10) + 5,
        common::bytes(70_000, 13, false),
    );
    // Unaligned.
    write(&mut disk, 2 * MIB + 1234, common::bytes(10_007, 14, true));
    // Across a boundary between two data chunks of the base.
    let entries = base_index.entries();
    let boundary = (1..entries.len())
        .map(|i| entries[i - 1].end)
        .find(|&end| {
            end > 5 * MIB + (300 << 10) && {
                let i = base_index.find(end).expect("inside");
                !entries[i].digest.is_zero() && !entries[i - 1].digest.is_zero()
            }
        })
        .expect("a boundary between data chunks");
    write(&mut disk, boundary - 3000, common::bytes(6000, 15, false));
    // Zeroing 2 MiB of data (written as zeros, so still allocated).
    write(&mut disk, 33 * MIB + 100, vec![0; 2 << 20]);
    // Into the big hole, and into the small one.
    write(&mut disk, 25 * MIB + 500, common::bytes(70_000, 16, true));
    write(&mut disk, 4 * MIB + 4096, common::bytes(4096, 17, false));
    // Reported dirty, unchanged: inside the zero extent, and in data.
    dirty.push(15 * MIB..15 * MIB + 4096);
    dirty.push(36 * MIB..36 * MIB + 100);
    dirty.reverse();
    (disk, dirty)
}

fn gc_options() -> GcOptions {
    GcOptions {
        margin: Duration::from_millis(30),
        session_expiry: Duration::from_secs(3600),
        dry_run: false,
    }
}

fn stored(backend: &dyn ChunkBackend) -> HashSet<Digest> {
    let mut out = HashSet::new();
    backend
        .list_blobs(&mut |b| {
            out.insert(b.digest);
            Ok(())
        })
        .expect("list");
    out
}

fn read_back(store: &ChunkStore, index: &Index) -> Vec<u8> {
    let reader = DiskReader::new(store.clone(), Arc::new(index.clone()));
    let mut out = vec![0u8; index.virtual_size() as usize];
    reader.read_at(&mut out, 0).expect("read");
    out
}

fn import_and_commit(store: &ChunkStore, name: &str, disk: &Disk) -> Index {
    let session = store.begin_session().expect("session");
    let (index, _) = session.import(&disk.source()).expect("import");
    session.commit(name, &index).expect("commit");
    session.finish().expect("finish");
    index
}

/// The dirty ranges widened to the base's data entries they touch (ZERO entries can be split).
fn widened(base: &Index, dirty: &[Range<u64>]) -> Vec<Range<u64>> {
    let entries = base.entries();
    dirty
        .iter()
        .filter(|r| r.start < r.end)
        .map(|r| {
            let (first, last) = (
                base.find(r.start).expect("inside"),
                base.find(r.end - 1).expect("inside"),
            );
            let start = if entries[first].digest.is_zero() {
                r.start
            } else {
                base.entry_start(first)
            };
            let end = if entries[last].digest.is_zero() {
                r.end
            } else {
                entries[last].end
            };
            start..end
        })
        .collect()
}

/// Guest bytes of the distinct data chunks of `index` that `base` does not name.
fn new_chunk_bytes(base: &Index, index: &Index) -> (HashSet<Digest>, u64) {
    let known: HashSet<Digest> = base.data_digests().into_iter().collect();
    let mut seen = HashSet::new();
    let mut bytes = 0;
    for (i, e) in index.entries().iter().enumerate() {
        if !e.digest.is_zero() && !known.contains(&e.digest) && seen.insert(e.digest) {
            bytes += e.end - index.entry_start(i);
        }
    }
    (seen, bytes)
}

fn union_len(ranges: &[Range<u64>]) -> u64 {
    let mut sorted: Vec<Range<u64>> = ranges.to_vec();
    sorted.sort_by_key(|r| r.start);
    let (mut total, mut covered) = (0, 0);
    for r in sorted {
        let start = r.start.max(covered);
        if r.end > start {
            total += r.end - start;
            covered = r.end;
        }
    }
    total
}

/// Every base data entry entirely outside the widened dirty ranges is in the new index unchanged
/// (same start, end and digest); base ZERO entries there are still covered by ZERO entries
/// (merged with neighbours, maybe). Returns how many data entries were shared.
fn check_shared(base: &Index, index: &Index, dirty: &[Range<u64>], label: &str) -> usize {
    let wide = widened(base, dirty);
    let mut kept = 0;
    for (i, e) in base.entries().iter().enumerate() {
        let (start, end) = (base.entry_start(i), e.end);
        if wide.iter().any(|w| start < w.end && w.start < end) {
            continue;
        }
        let j = index.find(start).expect("inside");
        if e.digest.is_zero() {
            let mut k = j;
            while k < index.entries().len() && index.entry_start(k) < end {
                assert!(
                    index.entries()[k].digest.is_zero(),
                    "{label}: zero at {start:#x}"
                );
                k += 1;
            }
        } else {
            assert_eq!(
                (index.entry_start(j), index.entries()[j]),
                (start, *e),
                "{label}: base entry at {start:#x} not shared"
            );
            kept += 1;
        }
    }
    kept
}

fn configs(dir: &tempfile::TempDir) -> Vec<(&'static str, ChunkStore)> {
    vec![
        (
            "cdc plain local",
            common::store(common::local(dir), common::SMALL_CDC, true, None),
        ),
        (
            "cdc keyed memory",
            common::store(common::memory(), common::SMALL_CDC, true, Some([3; 32])),
        ),
        (
            "default cdc memory",
            common::store(common::memory(), ChunkerParams::DEFAULT_CDC, true, None),
        ),
        (
            "fixed plain memory",
            common::store(
                common::memory(),
                ChunkerParams::Fixed { size: 256 << 10 },
                false,
                None,
            ),
        ),
    ]
}

#[test]
fn a_delta_reads_back_shares_untouched_entries_stores_little_and_survives_gc() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, store) in configs(&dir) {
        let base = base_disk();
        let base_index = import_and_commit(&store, "base", &base);
        let (modified, dirty) = modify(&base, &base_index);
        let before = stored(store.backend().as_ref());

        let session = store.begin_session().expect("session");
        let (index, stats) = session
            .import_delta(&base_index, &modified.source(), &dirty)
            .expect("delta");
        assert!(read_back(&store, &index) == modified.data, "{label}: bytes");
        assert_eq!(index.virtual_size(), modified.size(), "{label}");
        assert_eq!(stats.virtual_size, modified.size(), "{label}");

        let max = base_index.chunker().max_chunk() as u64;
        let kept = check_shared(&base_index, &index, &dirty, label);
        let base_data = base_index
            .entries()
            .iter()
            .filter(|e| !e.digest.is_zero())
            .count();
        assert!(kept > 0, "{label}: nothing shared");

        // What was stored is exactly the chunks the base does not name, and not much.
        let (new_digests, new_bytes) = new_chunk_bytes(&base_index, &index);
        let added: HashSet<Digest> = stored(store.backend().as_ref())
            .difference(&before)
            .copied()
            .collect();
        assert_eq!(added, new_digests, "{label}: blobs added");
        assert_eq!(stats.new_chunks, new_digests.len() as u64, "{label}");
        assert_eq!(stats.new_bytes, new_bytes, "{label}");
        let bound = union_len(&dirty) + 2 * max * dirty.len() as u64;
        assert!(
            new_bytes <= bound,
            "{label}: {new_bytes} new bytes > {bound}"
        );
        assert!(
            stats.data_bytes < modified.size() / 2,
            "{label}: re-chunked {stats:?}"
        );
        eprintln!(
            "{label}: {} dirty bytes in {} ranges, {} bytes re-chunked, {new_bytes} new, {} of {base_data} base data entries shared",
            union_len(&dirty),
            dirty.len(),
            stats.data_bytes,
            kept
        );

        // Allocation: base bits away from the writes, the source's where written.
        assert!(index.is_allocated(25 * MIB + 500) && index.is_allocated(4 * MIB + 4096));
        assert!(!index.is_allocated(28 * MIB) && !index.is_allocated(15 * MIB));
        assert!(!index.is_allocated(4 * MIB + (512 << 10)));
        for offset in [0, 7 * MIB, 38 * MIB] {
            assert_eq!(
                index.is_allocated(offset),
                base_index.is_allocated(offset),
                "{label}"
            );
        }

        session.commit("snap", &index).expect("commit");
        session.finish().expect("finish");
        std::thread::sleep(Duration::from_millis(100));
        gc(&store, &gc_options()).expect("gc");
        assert!(
            read_back(&store, &base_index) == base.data,
            "{label}: base after gc"
        );
        assert!(
            read_back(&store, &index) == modified.data,
            "{label}: snap after gc"
        );
        store.delete_index("base").expect("delete");
        std::thread::sleep(Duration::from_millis(100));
        gc(&store, &gc_options()).expect("gc");
        assert_eq!(
            stored(store.backend().as_ref()),
            index.data_digests().into_iter().collect::<HashSet<_>>(),
            "{label}: GC leaves exactly the snapshot's chunks"
        );
        assert!(
            read_back(&store, &index) == modified.data,
            "{label}: snap alone"
        );
    }
}

#[test]
fn reused_chunks_survive_a_gc_after_the_base_index_is_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, store) in configs(&dir).into_iter().take(2) {
        let base = base_disk();
        let base_index = import_and_commit(&store, "base", &base);
        let (modified, dirty) = modify(&base, &base_index);
        // The base chunks are now older than any cutoff a later GC can compute.
        std::thread::sleep(Duration::from_millis(100));
        let session = store.begin_session().expect("session");
        let (index, _) = session
            .import_delta(&base_index, &modified.source(), &dirty)
            .expect("delta");
        store.delete_index("base").expect("delete");
        std::thread::sleep(Duration::from_millis(100));
        gc(&store, &gc_options()).expect("gc");
        session.commit("snap", &index).expect("commit after gc");
        session.finish().expect("finish");
        assert!(read_back(&store, &index) == modified.data, "{label}");
    }
}

#[test]
fn a_reused_chunk_the_store_lacks_is_rechunked_from_the_source() {
    let store = common::store(common::memory(), common::SMALL_CDC, true, None);
    let base = base_disk();
    let base_index = import_and_commit(&store, "base", &base);
    let (modified, dirty) = modify(&base, &base_index);
    let wide = widened(&base_index, &dirty);
    let lost = (0..base_index.entries().len())
        .find(|&i| {
            let (s, e) = (base_index.entry_start(i), base_index.entries()[i]);
            !e.digest.is_zero()
                && s > 36 * MIB
                && !wide.iter().any(|w| w.start < e.end && s < w.end)
        })
        .map(|i| base_index.entries()[i].digest)
        .expect("a shared data entry");
    store.backend().delete_blob(&lost).expect("delete blob");

    let session = store.begin_session().expect("session");
    let (index, _) = session
        .import_delta(&base_index, &modified.source(), &dirty)
        .expect("delta");
    session.commit("snap", &index).expect("commit");
    assert!(read_back(&store, &index) == modified.data);
    assert!(store.missing(&[lost]).expect("missing").is_empty());
}

#[test]
fn no_dirty_ranges_give_the_base_index_and_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, store) in configs(&dir) {
        let base = base_disk();
        let base_index = import_and_commit(&store, "base", &base);
        let before = stored(store.backend().as_ref());
        let session = store.begin_session().expect("session");
        for dirty in [vec![], vec![5..5, Range { start: 9, end: 3 }]] {
            let (index, stats) = session
                .import_delta(&base_index, &base.source(), &dirty)
                .expect("delta");
            assert_eq!(index, base_index, "{label}");
            assert_eq!(index.content_digest(), base_index.content_digest());
            assert_eq!(
                (stats.chunks, stats.new_chunks, stats.data_bytes),
                (0, 0, 0)
            );
        }
        assert_eq!(stored(store.backend().as_ref()), before, "{label}");
    }
}

#[test]
#[allow(clippy::single_range_in_vec_init)] // dirty ranges, not ranges of numbers
fn a_whole_disk_delta_equals_a_plain_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, store) in configs(&dir) {
        let base = base_disk();
        let base_index = import_and_commit(&store, "base", &base);
        let (modified, _) = modify(&base, &base_index);
        let session = store.begin_session().expect("session");
        let (plain, _) = session.import(&modified.source()).expect("import");
        let size = modified.size();
        for dirty in [vec![0..size], vec![size / 2..size, 0..size / 2 + 1]] {
            let (index, stats) = session
                .import_delta(&base_index, &modified.source(), &dirty)
                .expect("delta");
            assert!(read_back(&store, &index) == modified.data, "{label}");
            assert_eq!(index, plain, "{label}: same entries and bitmap");
            assert_eq!(index.content_digest(), plain.content_digest());
            assert_eq!(stats.data_bytes, plain.data_bytes(), "{label}");
        }
    }
}

#[test]
#[allow(clippy::single_range_in_vec_init)] // dirty ranges, not ranges of numbers
fn bad_arguments_are_errors() {
    let store = common::store(common::memory(), common::SMALL_CDC, true, None);
    let base = base_disk();
    let base_index = import_and_commit(&store, "base", &base);
    let session = store.begin_session().expect("session");
    let mut longer = base.data.clone();
    longer.extend_from_slice(&[1; 512]);
    assert!(matches!(
        session.import_delta(&base_index, &MemSource::new(longer), &[0..10]),
        Err(Error::InvalidArgument(_))
    ));
    let size = base.size();
    assert!(matches!(
        session.import_delta(&base_index, &base.source(), &[size - 1..size + 1]),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn a_base_cut_by_another_chunker_means_a_full_import() {
    let backend = common::memory();
    let cdc = common::store(backend.clone(), common::SMALL_CDC, true, None);
    let fixed = common::store(backend, ChunkerParams::Fixed { size: 1 << 20 }, true, None);
    let base = base_disk();
    let base_index = import_and_commit(&cdc, "base", &base);
    let (modified, dirty) = modify(&base, &base_index);
    let session = fixed.begin_session().expect("session");
    let (index, stats) = session
        .import_delta(&base_index, &modified.source(), &dirty)
        .expect("delta");
    let (plain, _) = session.import(&modified.source()).expect("import");
    assert_eq!(index, plain);
    assert_eq!(stats.data_bytes, plain.data_bytes());
    assert!(read_back(&fixed, &index) == modified.data);
}

#[test]
fn deltas_chain() {
    let store = common::store(common::memory(), common::SMALL_CDC, true, Some([4; 32]));
    let base = base_disk();
    let mut index = import_and_commit(&store, "v0", &base);
    let mut disk = base.clone();
    for v in 1..4u64 {
        let offset = v * 9 * MIB + v * 1001;
        disk.write(offset, &common::bytes(300_000, 30 + v, v % 2 == 0));
        disk.write(v * 1000, &common::bytes(5000, 40 + v, false));
        let dirty = [offset..offset + 300_000, v * 1000..v * 1000 + 5000];
        let session = store.begin_session().expect("session");
        let (next, _) = session
            .import_delta(&index, &disk.source(), &dirty)
            .expect("delta");
        session.commit(&format!("v{v}"), &next).expect("commit");
        session.finish().expect("finish");
        assert!(read_back(&store, &next) == disk.data, "v{v}");
        index = next;
    }
}

/// 1,000 random 4 KiB writes over 256 MiB: correct bytes, and the time next to a full re-import
/// of the same disk into a store that holds the base too (run with `--nocapture`, and
/// `--release` for real numbers).
#[test]
fn scattered_small_writes() {
    const SIZE: u64 = 256 * MIB;
    let mut base = Disk::new(SIZE);
    base.write(0, &common::bytes(SIZE as usize, 21, true));
    let mut disk = base.clone();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut dirty = Vec::new();
    for i in 0..1000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let offset = x % (SIZE - BLOCK) / BLOCK * BLOCK;
        disk.write(offset, &common::bytes(BLOCK as usize, 1000 + i, false));
        dirty.push(offset..offset + BLOCK);
    }
    let src = disk.source();
    for (label, chunker) in [
        ("default cdc", ChunkerParams::DEFAULT_CDC),
        ("small cdc", common::SMALL_CDC),
    ] {
        // Two stores holding the base: one takes the delta, the other a full re-import.
        let (a, b) = (
            common::store(common::memory(), chunker, true, None),
            common::store(common::memory(), chunker, true, None),
        );
        let base_index = import_and_commit(&a, "base", &base);
        import_and_commit(&b, "base", &base);

        let session = a.begin_session().expect("session");
        let t = Instant::now();
        let (index, stats) = session
            .import_delta(&base_index, &src, &dirty)
            .expect("delta");
        let delta_time = t.elapsed();
        assert!(read_back(&a, &index) == disk.data, "{label}");
        let (_, new_bytes) = new_chunk_bytes(&base_index, &index);
        assert_eq!(stats.new_bytes, new_bytes, "{label}");
        let max = chunker.max_chunk() as u64;
        assert!(new_bytes <= union_len(&dirty) + 2 * max * dirty.len() as u64);

        let session = b.begin_session().expect("session");
        let t = Instant::now();
        let (plain, plain_stats) = session.import(&src).expect("import");
        let plain_time = t.elapsed();
        assert_eq!(plain.virtual_size(), index.virtual_size());

        let mut ranges = widened(&base_index, &dirty);
        ranges.sort_by_key(|r| r.start);
        ranges.dedup_by(|r, last| {
            let overlaps = r.start <= last.end;
            last.end = last.end.max(if overlaps { r.end } else { last.end });
            overlaps
        });
        eprintln!(
            "{label}: 1000 x 4 KiB over 256 MiB -> {} ranges, {:.1} MiB to re-chunk: delta {delta_time:?} \
             ({} chunks, {:.1} MiB new, {:.1} MiB stored; index {} entries); full re-import {plain_time:?} \
             ({:.1} MiB new; index {} entries)",
            ranges.len(),
            union_len(&ranges) as f64 / MIB as f64,
            stats.chunks,
            stats.new_bytes as f64 / MIB as f64,
            stats.stored_bytes as f64 / MIB as f64,
            index.entries().len(),
            plain_stats.new_bytes as f64 / MIB as f64,
            plain.entries().len(),
        );
    }
}
