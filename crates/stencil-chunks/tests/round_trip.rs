//! Import → commit → read back, byte for byte, over many shapes of disk and store options.

mod common;

use std::io::Read;
use std::sync::Arc;

use stencil_chunks::source::MemSource;
use stencil_chunks::{ChunkStore, ChunkerParams, DiskReader, Extent, ExtentKind, Index};

fn sparse_disk() -> MemSource {
    // 40 MiB: data, a 1 MiB hole, data with an embedded 2 MiB zero run, a 20 MiB hole, tail data.
    let mut data = common::bytes(40 << 20, 7, true);
    data[(4 << 20)..(5 << 20)].fill(0);
    data[(8 << 20) + 123..(10 << 20) + 77].fill(0);
    data[(12 << 20)..(32 << 20)].fill(0);
    let ext = vec![
        Extent {
            offset: 0,
            length: 4 << 20,
            kind: ExtentKind::Data,
        },
        Extent {
            offset: 4 << 20,
            length: 1 << 20,
            kind: ExtentKind::Unallocated,
        },
        Extent {
            offset: 5 << 20,
            length: 7 << 20,
            kind: ExtentKind::Data,
        },
        Extent {
            offset: 12 << 20,
            length: 10 << 20,
            kind: ExtentKind::Zero,
        },
        Extent {
            offset: 32 << 20,
            length: 8 << 20,
            kind: ExtentKind::Data,
        },
    ];
    MemSource::with_extents(data, ext)
}

fn shapes() -> Vec<(&'static str, Vec<u8>, Option<MemSource>)> {
    vec![
        ("random", common::bytes(5 << 20, 1, false), None),
        ("text", common::bytes(5 << 20, 2, true), None),
        ("all-zero", vec![0; 6 << 20], None),
        ("tiny", vec![42], None),
        ("empty", Vec::new(), None),
        ("odd-sized", common::bytes((3 << 20) + 4097, 3, true), None),
        ("sparse", Vec::new(), Some(sparse_disk())),
    ]
}

fn read_all(reader: &DiskReader) -> Vec<u8> {
    let mut out = Vec::new();
    reader
        .reader()
        .expect("stream")
        .read_to_end(&mut out)
        .expect("read stream");
    out
}

fn check(store: &ChunkStore, label: &str, src: &MemSource, expected: &[u8]) {
    let session = store.begin_session().expect("session");
    let (index, stats) = session.import(src).expect("import");
    session.commit("disk", &index).expect("commit");
    session.finish().expect("finish");
    assert_eq!(stats.virtual_size, expected.len() as u64, "{label}");
    let loaded = store.load_index("disk").expect("load");
    assert_eq!(loaded, index, "{label}");
    let reader = DiskReader::new(store.clone(), Arc::new(loaded));
    assert!(read_all(&reader) == expected, "{label}: stream differs");
    // Random reads at awkward offsets.
    let n = expected.len() as u64;
    for (off, len) in [
        (0, n.min(1)),
        (n / 3, n.min(70_000) / 2),
        (n.saturating_sub(5), n.min(5)),
        (n / 2, 0),
    ] {
        let mut buf = vec![0xAA; len as usize];
        reader.read_at(&mut buf, off).expect("read_at");
        assert!(
            buf == expected[off as usize..(off + len) as usize],
            "{label}: read_at {off} {len}"
        );
    }
    let mut past = [0u8; 2];
    assert!(
        reader.read_at(&mut past, n.saturating_sub(1)).is_err(),
        "{label}: read past end"
    );
    store.delete_index("disk").expect("delete");
}

#[test]
fn every_shape_round_trips_with_and_without_compression_and_encryption() {
    let mut combos = Vec::new();
    for compress in [false, true] {
        for key in [None, Some([5u8; 32])] {
            combos.push(("local", compress, key, common::SMALL_CDC));
        }
    }
    combos.push(("local", true, None, ChunkerParams::DEFAULT_CDC));
    combos.push(("local", true, None, ChunkerParams::Fixed { size: 1 << 20 }));
    combos.push(("memory", true, Some([6u8; 32]), common::SMALL_CDC));
    combos.push((
        "memory",
        false,
        None,
        ChunkerParams::Fixed { size: 1 << 20 },
    ));
    for (backend_name, compress, key, chunker) in combos {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = if backend_name == "local" {
            common::local(&dir)
        } else {
            common::memory()
        };
        let store = common::store(backend, chunker, compress, key);
        for (name, data, sparse) in shapes() {
            let label = format!(
                "{backend_name} {name} compress={compress} key={} {chunker:?}",
                key.is_some()
            );
            match sparse {
                Some(src) => {
                    let mut expected = vec![0u8; src_len(&src)];
                    stencil_chunks::GuestSource::read_at(&src, &mut expected, 0).expect("read");
                    check(&store, &label, &src, &expected);
                }
                None => check(&store, &label, &MemSource::new(data.clone()), &data),
            }
        }
    }
}

fn src_len(src: &MemSource) -> usize {
    stencil_chunks::GuestSource::virtual_size(src) as usize
}

#[test]
fn sparse_import_stores_no_zero_chunks_and_maps_holes_and_zero_granules_as_unallocated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = common::store(common::local(&dir), ChunkerParams::DEFAULT_CDC, true, None);
    let session = store.begin_session().expect("session");
    let (index, stats) = session.import(&sparse_disk()).expect("import");
    assert!(
        stats.data_bytes <= (40 - 21) << 20,
        "data bytes {}",
        stats.data_bytes
    );
    assert!(index.is_allocated(0) && !index.is_allocated(20 << 20) && index.is_allocated(33 << 20));
    let alloc = index.allocation();
    let allocated: u64 = alloc
        .iter()
        .filter(|e| e.kind == ExtentKind::Data)
        .map(|e| e.length)
        .sum();
    // The source's data extents hold 19 MiB; the all-zero 64 KiB granules of the 2 MiB zero
    // run inside them read as zeros and are left out, as qemu-img convert leaves zero clusters.
    assert!(
        ((17 << 20)..(19 << 20)).contains(&allocated),
        "allocated {allocated}"
    );
    assert!(
        !index.is_allocated(9 << 20),
        "a zero granule inside data is a hole"
    );
    let zero = vec![0u8; 6 << 20];
    let (zindex, zstats) = session.import(&MemSource::new(zero)).expect("import zeros");
    assert_eq!((zstats.chunks, zstats.new_chunks), (0, 0));
    assert_eq!(zindex.entries().len(), 1);
}

#[test]
fn re_import_stores_nothing_new_and_identical_disks_share_content_digests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = common::store(common::local(&dir), common::SMALL_CDC, true, None);
    let data = common::bytes(6 << 20, 11, true);
    let session = store.begin_session().expect("session");
    let (a, first) = session
        .import(&MemSource::new(data.clone()))
        .expect("import");
    let (b, second) = session.import(&MemSource::new(data)).expect("re-import");
    assert!(first.new_chunks > 0);
    assert_eq!(second.new_chunks, 0);
    assert_eq!(a.content_digest(), b.content_digest());
    session.commit("a", &a).expect("commit");
    session.commit("a", &b).expect("same content commits again");
    let other: Index = session
        .import(&MemSource::new(vec![1; 1000]))
        .expect("import")
        .0;
    assert!(matches!(
        session.commit("a", &other),
        Err(stencil_chunks::Error::IndexExists { .. })
    ));
}

#[test]
fn encrypted_stores_with_different_keys_never_share_chunk_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = common::bytes(1 << 20, 12, true);
    let names = |key: [u8; 32]| {
        let store = common::store(common::local(&dir), common::SMALL_CDC, true, Some(key));
        let s = store.begin_session().expect("session");
        s.import(&MemSource::new(data.clone()))
            .expect("import")
            .0
            .data_digests()
    };
    let (a, b) = (names([1; 32]), names([2; 32]));
    assert!(a.iter().all(|d| !b.contains(d)));
}
