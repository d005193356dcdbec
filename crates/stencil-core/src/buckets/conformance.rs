//! The conformance suite every [`Bucket`] passes. Tests call [`run`] with a freshly opened,
//! empty bucket; it panics with a message naming the failed expectation. It needs `qemu-img`
//! on the `PATH` (the image checks open a qcow2 made by qemu, not by us).

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use stencil_formats::{ErrorKind, Format};

use super::{Bucket, BucketError, MAX_KEY_LEN};

/// Size of the large round trip: more than two parts of 5 MiB.
pub const LARGE_OBJECT: usize = 12 * (1 << 20) + 12_345;

/// Runs every check against `bucket`, which must be empty.
pub fn run(bucket: &dyn Bucket) {
    assert!(!bucket.name().is_empty(), "bucket has no name");
    assert!(!bucket.region().is_empty(), "bucket has no region");
    empty_bucket_has_nothing(bucket);
    finished_writer_makes_the_object_visible(bucket);
    finishing_again_replaces_the_object(bucket);
    aborted_or_dropped_writer_leaves_nothing(bucket);
    list_matches_string_prefixes_in_key_order(bucket);
    delete_removes_only_the_object_and_absent_is_fine(bucket);
    large_object_round_trips(bucket);
    empty_object_round_trips(bucket);
    invalid_keys_are_refused_by_every_operation(bucket);
    longest_key_works(bucket);
    qemu_qcow2_opens_as_its_raw_bytes(bucket);
    objects_that_are_not_images_are_format_errors(bucket);
}

/// Writes `bytes` under `key` in pieces of `piece` bytes and checks the size `finish` returns.
pub fn put(bucket: &dyn Bucket, key: &str, bytes: &[u8], piece: usize) {
    let mut w = bucket
        .create(key)
        .unwrap_or_else(|e| panic!("create {key:?}: {e}"));
    for chunk in bytes.chunks(piece.max(1)) {
        w.write_all(chunk)
            .unwrap_or_else(|e| panic!("write {key:?}: {e}"));
    }
    let n = w.finish().unwrap_or_else(|e| panic!("finish {key:?}: {e}"));
    assert_eq!(
        n,
        bytes.len() as u64,
        "finish of {key:?} reported the wrong size"
    );
}

/// Deterministic incompressible bytes.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Asserts that `b.list(prefix)` is `want`, asking again for up to 5 s: an S3 store's listing
/// may trail a write or delete it has acknowledged (a Garage cluster can answer a listing from
/// nodes that have not applied a delete yet), while the objects themselves read after write.
fn assert_lists(b: &dyn Bucket, prefix: &str, want: Vec<(String, u64)>, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let got = b.list(prefix).unwrap();
        if got == want || std::time::Instant::now() > deadline {
            assert_eq!(got, want, "listing {prefix:?}: {what}");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn is_not_found(r: Result<impl std::fmt::Debug, BucketError>, what: &str) {
    match r {
        Err(BucketError::NotFound { .. }) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

fn empty_bucket_has_nothing(b: &dyn Bucket) {
    assert_lists(b, "", vec![], "a new bucket lists objects");
    assert_eq!(b.head("missing").unwrap(), None);
    is_not_found(b.get("missing"), "get of a missing key");
    is_not_found(
        b.download("missing", &mut Vec::new()),
        "download of a missing key",
    );
    is_not_found(b.open_image("missing", None), "open_image of a missing key");
    b.delete("missing").expect("deleting a missing key is fine");
}

fn finished_writer_makes_the_object_visible(b: &dyn Bucket) {
    let bytes = pattern(1, 300_001);
    let mut w = b.create("dir/sub/a.bin").unwrap();
    w.write_all(&bytes[..1000]).unwrap();
    w.write_all(&bytes[1000..]).unwrap();
    assert_eq!(
        b.head("dir/sub/a.bin").unwrap(),
        None,
        "visible before finish"
    );
    assert_lists(b, "", vec![], "listed before finish");
    assert_eq!(w.finish().unwrap(), bytes.len() as u64);

    assert_eq!(b.head("dir/sub/a.bin").unwrap(), Some(bytes.len() as u64));
    assert!(b.get("dir/sub/a.bin").unwrap() == bytes, "get differs");
    let mut out = Vec::new();
    assert_eq!(
        b.download("dir/sub/a.bin", &mut out).unwrap(),
        bytes.len() as u64
    );
    assert!(out == bytes, "download differs");
    let listing = vec![("dir/sub/a.bin".to_string(), bytes.len() as u64)];
    assert_lists(b, "", listing, "a finished object");
    b.delete("dir/sub/a.bin").unwrap();
}

fn finishing_again_replaces_the_object(b: &dyn Bucket) {
    put(b, "replace/me", b"first version, longer", 7);
    put(b, "replace/me", b"second", 7);
    assert_eq!(b.get("replace/me").unwrap(), b"second");
    assert_lists(
        b,
        "replace/",
        vec![("replace/me".into(), 6)],
        "a replaced object",
    );
    b.delete("replace/me").unwrap();
}

fn aborted_or_dropped_writer_leaves_nothing(b: &dyn Bucket) {
    // Over a part, so object stores have a multipart upload to abort.
    let bytes = pattern(2, 6 << 20);
    let mut w = b.create("gone/aborted").unwrap();
    w.write_all(&bytes).unwrap();
    w.abort();
    let mut w = b.create("gone/dropped").unwrap();
    w.write_all(&bytes).unwrap();
    drop(w);
    let mut w = b.create("gone/empty-dropped").unwrap();
    w.write_all(b"").unwrap();
    drop(w);
    for key in ["gone/aborted", "gone/dropped", "gone/empty-dropped"] {
        assert_eq!(b.head(key).unwrap(), None, "{key} exists");
    }
    assert_lists(b, "", vec![], "an unfinished writer left an object");
}

fn list_matches_string_prefixes_in_key_order(b: &dyn Bucket) {
    for (key, len) in [("list/b/c", 3), ("listx", 4), ("list/ab", 2), ("list/a", 1)] {
        put(b, key, &pattern(len, len as usize), 1);
    }
    let keys =
        |p: &str| -> Vec<String> { b.list(p).unwrap().into_iter().map(|(k, _)| k).collect() };
    assert_eq!(keys(""), ["list/a", "list/ab", "list/b/c", "listx"]);
    assert_eq!(keys("list"), ["list/a", "list/ab", "list/b/c", "listx"]);
    assert_eq!(keys("list/"), ["list/a", "list/ab", "list/b/c"]);
    assert_eq!(keys("list/a"), ["list/a", "list/ab"]);
    assert_eq!(keys("list/b/"), ["list/b/c"]);
    assert_eq!(keys("list/b/c"), ["list/b/c"]);
    assert!(keys("nothing/").is_empty());
    assert!(keys("list/zz").is_empty());
    let listing = vec![("list/a".into(), 1), ("list/ab".into(), 2)];
    assert_lists(b, "list/a", listing, "a string prefix");
    for key in ["list/b/c", "listx", "list/ab", "list/a"] {
        b.delete(key).unwrap();
    }
}

fn delete_removes_only_the_object_and_absent_is_fine(b: &dyn Bucket) {
    put(b, "del/one", b"1", 1);
    put(b, "del/two", b"22", 1);
    b.delete("del/one").unwrap();
    assert_eq!(b.head("del/one").unwrap(), None);
    b.delete("del/one").expect("deleting twice is fine");
    assert_lists(b, "del/", vec![("del/two".into(), 2)], "after one delete");
    b.delete("del/two").unwrap();
    assert_lists(b, "", vec![], "after both deletes");
}

fn large_object_round_trips(b: &dyn Bucket) {
    let bytes = pattern(3, LARGE_OBJECT);
    put(b, "large/object", &bytes, 1_000_003);
    assert_eq!(b.head("large/object").unwrap(), Some(bytes.len() as u64));
    let mut out = Vec::new();
    assert_eq!(
        b.download("large/object", &mut out).unwrap(),
        bytes.len() as u64
    );
    assert!(out == bytes, "download of the large object differs");
    assert!(
        b.get("large/object").unwrap() == bytes,
        "get of the large object differs"
    );
    b.delete("large/object").unwrap();
}

fn empty_object_round_trips(b: &dyn Bucket) {
    put(b, "empty", b"", 1);
    assert_eq!(b.head("empty").unwrap(), Some(0));
    assert_eq!(b.get("empty").unwrap(), b"");
    b.delete("empty").unwrap();
}

fn invalid_keys_are_refused_by_every_operation(b: &dyn Bucket) {
    let long = "k".repeat(MAX_KEY_LEN + 1);
    let keys = [
        "", "/abs", "a/", "a//b", ".", "..", "a/../b", "../up", "./a", "a\0b", "a\nb", &long,
    ];
    for key in keys {
        let invalid = |r: Result<(), BucketError>, op: &str| match r {
            Err(BucketError::InvalidKey { .. }) => {}
            other => panic!("{op} of {key:?}: expected InvalidKey, got {other:?}"),
        };
        invalid(b.head(key).map(drop), "head");
        invalid(b.get(key).map(drop), "get");
        invalid(b.download(key, &mut Vec::new()).map(drop), "download");
        invalid(b.create(key).map(drop), "create");
        invalid(b.delete(key), "delete");
        invalid(b.open_image(key, None).map(drop), "open_image");
    }
    for prefix in ["/abs", "a//b", "../x"] {
        assert!(
            matches!(b.list(prefix), Err(BucketError::InvalidKey { .. })),
            "list of {prefix:?} was accepted"
        );
    }
    assert_lists(b, "", vec![], "an invalid key left an object");
}

fn longest_key_works(b: &dyn Bucket) {
    // Four components of 255 bytes: the longest key, and the longest file name on disk.
    let key = [
        "a".repeat(255),
        "b".repeat(255),
        "c".repeat(255),
        "d".repeat(255),
    ]
    .join("/");
    assert_eq!(key.len(), MAX_KEY_LEN);
    put(b, &key, b"long", 2);
    assert_eq!(b.head(&key).unwrap(), Some(4));
    assert_lists(b, "", vec![(key.clone(), 4)], "the longest key");
    b.delete(&key).unwrap();
}

/// A raw disk with data, zeros and holes, and the qcow2 `qemu-img convert` makes of it.
pub fn qemu_image_pair() -> &'static (Vec<u8>, Vec<u8>) {
    static PAIR: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    PAIR.get_or_init(|| {
        let mut raw = vec![0u8; 9 << 20];
        raw[..1 << 20].copy_from_slice(&pattern(4, 1 << 20));
        raw[(5 << 20) + 777..(5 << 20) + 777 + 70_000].copy_from_slice(&pattern(5, 70_000));
        let tail = raw.len() - 4096;
        raw[tail..].copy_from_slice(&pattern(6, 4096));
        let dir = TempDir::new();
        let (src, dst) = (dir.0.join("disk.raw"), dir.0.join("disk.qcow2"));
        std::fs::write(&src, &raw).expect("write the raw disk");
        let out = Command::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", "qcow2", "-c"])
            .arg(&src)
            .arg(&dst)
            .output()
            .expect("qemu-img must be installed for the bucket conformance suite");
        assert!(
            out.status.success(),
            "qemu-img convert failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let qcow2 = std::fs::read(&dst).expect("read the qcow2");
        (raw, qcow2)
    })
}

fn qemu_qcow2_opens_as_its_raw_bytes(b: &dyn Bucket) {
    let (raw, qcow2) = qemu_image_pair();
    put(b, "images/disk.qcow2", qcow2, 65_537);
    for declared in [None, Some(Format::Qcow2)] {
        let r = b.open_image("images/disk.qcow2", declared).unwrap();
        assert_eq!(r.format(), Format::Qcow2);
        assert_eq!(r.virtual_size(), raw.len() as u64);
        let mut got = vec![0u8; raw.len()];
        // Odd-sized reads, so pieces straddle clusters and cache blocks.
        let step = 1_000_003;
        for at in (0..got.len()).step_by(step) {
            let end = (at + step).min(got.len());
            r.read_at(&mut got[at..end], at as u64).unwrap();
        }
        assert!(&got == raw, "qcow2 guest bytes differ from the raw disk");
        stencil_formats::validate_extents(&r.extents().unwrap(), raw.len() as u64).unwrap();
    }
    match b.open_image("images/disk.qcow2", Some(Format::Vhd)) {
        Err(BucketError::Format(e)) => assert_eq!(e.kind(), ErrorKind::FormatMismatch),
        other => panic!("declared VHD over a qcow2: expected a format error, got {other:?}"),
    }
    put(b, "images/disk.raw", raw, 4 << 20);
    let r = b.open_image("images/disk.raw", Some(Format::Raw)).unwrap();
    assert_eq!(r.virtual_size(), raw.len() as u64);
    let mut head = vec![0u8; 3 << 20];
    r.read_at(&mut head, 123).unwrap();
    assert!(head == raw[123..123 + head.len()], "raw guest bytes differ");
    b.delete("images/disk.qcow2").unwrap();
    b.delete("images/disk.raw").unwrap();
}

fn objects_that_are_not_images_are_format_errors(b: &dyn Bucket) {
    let (_, qcow2) = qemu_image_pair();
    // A qcow2 header whose tables are cut off.
    put(b, "bad/truncated.qcow2", &qcow2[..1024], 1024);
    match b.open_image("bad/truncated.qcow2", None) {
        Err(BucketError::Format(e)) => assert_ne!(e.kind(), ErrorKind::Io),
        other => panic!("truncated qcow2: expected a format error, got {other:?}"),
    }
    b.delete("bad/truncated.qcow2").unwrap();
}

/// A temp directory removed on drop (the library has no tempfile dependency).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "stencil-bucket-conformance-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
