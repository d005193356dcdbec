//! Buckets: the conformance suite against every implementation, plus what only one kind does
//! (file buckets are plain directories; object buckets live under a prefix).

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path as ObjPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};
use stencil_core::buckets::{
    Bucket, BucketError, BucketSpec, Buckets, FileBucket, ObjectBucket, conformance, open_bucket,
};
use stencil_formats::{ExtentKind, Format};

const MIB: usize = 1 << 20;

fn file_bucket(dir: &std::path::Path) -> FileBucket {
    FileBucket::open("files", "cn-hangzhou", dir.join("bucket")).unwrap()
}

fn memory_bucket(store: Arc<InMemory>, prefix: &str) -> ObjectBucket {
    ObjectBucket::new("objects", "cn-shanghai", store, prefix)
        .unwrap()
        .with_part_size(5 * MIB)
}

fn spec(name: &str, url: &str) -> BucketSpec {
    BucketSpec {
        name: name.into(),
        region: "cn-hangzhou".into(),
        url: url.into(),
        ..BucketSpec::default()
    }
}

/// Every file under `dir`, relative, directories left out.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_owned();
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn file_bucket_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = file_bucket(dir.path());
    conformance::run(&bucket);
    assert_eq!(
        files_under(bucket.dir()),
        Vec::<String>::new(),
        "files left behind"
    );
}

#[test]
fn object_bucket_over_an_in_memory_store_passes_the_conformance_suite() {
    conformance::run(&memory_bucket(Arc::new(InMemory::new()), ""));
}

#[test]
fn object_bucket_under_a_prefix_passes_the_suite_and_keeps_keys_under_it() {
    let store = Arc::new(InMemory::new());
    let bucket = memory_bucket(store.clone(), "/tenant/images/");
    conformance::run(&bucket);
    conformance::put(&bucket, "a/b.qcow2", b"x", 1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let meta = rt
        .block_on(store.head(&"tenant/images/a/b.qcow2".into()))
        .unwrap();
    assert_eq!(meta.size, 1);
    assert_eq!(bucket.list("").unwrap(), vec![("a/b.qcow2".into(), 1)]);
}

/// The suite against a real S3 server when `STENCIL_TEST_S3_ENDPOINT` names one (run-tests starts
/// a 3-node Garage cluster, see `tests/infra/scaleout.sh`): the image bucket under a prefix no
/// other run uses, opened from an `s3://` spec as the server opens it.
#[test]
fn s3_bucket_passes_the_conformance_suite() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(endpoint) = var("STENCIL_TEST_S3_ENDPOINT") else {
        eprintln!("STENCIL_TEST_S3_ENDPOINT is not set: skipping the S3 bucket conformance suite");
        return;
    };
    let bucket = var("STENCIL_TEST_S3_IMAGE_BUCKET").expect("STENCIL_TEST_S3_IMAGE_BUCKET is set");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let url = format!(
        "s3://{bucket}/test/bucket-conformance-{}-{nanos}",
        std::process::id()
    );
    eprintln!("S3 bucket conformance in {url}");
    let bucket = open_bucket(&BucketSpec {
        endpoint: Some(endpoint),
        access_key_id: var("STENCIL_TEST_S3_ACCESS_KEY_ID"),
        secret_access_key: var("STENCIL_TEST_S3_SECRET_ACCESS_KEY"),
        s3_region: var("STENCIL_TEST_S3_REGION"),
        ..spec("garage-images", &url)
    })
    .unwrap();
    conformance::run(bucket.as_ref());
    assert_eq!(bucket.list("").unwrap(), vec![], "objects left behind");
}

#[test]
fn files_copied_into_a_file_bucket_are_objects_and_raw_holes_stay_holes() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = file_bucket(dir.path());
    // What `cp disk.raw <bucket>/uploads/` leaves: a plain, sparse file.
    fs::create_dir_all(bucket.dir().join("uploads")).unwrap();
    let raw = fs::File::create(bucket.dir().join("uploads/disk.raw")).unwrap();
    raw.set_len(64 * MIB as u64).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&raw, &conformance::pattern(9, MIB), 0).unwrap();
    drop(raw);

    assert_eq!(
        bucket.head("uploads/disk.raw").unwrap(),
        Some(64 * MIB as u64)
    );
    assert_eq!(
        bucket.list("uploads/").unwrap(),
        vec![("uploads/disk.raw".into(), 64 * MIB as u64)]
    );
    let r = bucket
        .open_image("uploads/disk.raw", Some(Format::Raw))
        .unwrap();
    let map = r.extents().unwrap();
    assert!(
        map.iter().any(|e| e.kind == ExtentKind::Unallocated),
        "the file fast path should find holes: {map:?}"
    );
}

#[test]
fn unfinished_writers_leave_only_hidden_temp_files_and_clean_them_up() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = file_bucket(dir.path());
    let mut w = bucket.create("exports/disk.vmdk").unwrap();
    w.write_all(b"partial").unwrap();
    let during = files_under(bucket.dir());
    assert_eq!(during.len(), 1);
    assert!(
        during[0].starts_with("exports/.disk.vmdk.stencil-tmp-"),
        "{during:?}"
    );
    assert_eq!(bucket.list("").unwrap(), vec![]);
    drop(w);
    assert_eq!(files_under(bucket.dir()), Vec::<String>::new());

    let mut w = bucket.create("exports/disk.vmdk").unwrap();
    w.write_all(b"whole").unwrap();
    w.finish().unwrap();
    assert_eq!(files_under(bucket.dir()), vec!["exports/disk.vmdk"]);
}

#[test]
fn a_killed_writers_temp_file_is_removed_by_discard_partial_and_nothing_else_is() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = file_bucket(dir.path());
    let mut done = bucket.create("exports/other.raw").unwrap();
    done.write_all(b"kept").unwrap();
    done.finish().unwrap();
    let mut killed = bucket.create("exports/disk.raw").unwrap();
    killed.write_all(b"partial").unwrap();
    // A killed process runs no destructor.
    std::mem::forget(killed);
    let mut other = bucket.create("exports/disk.raw.more").unwrap();
    other.write_all(b"another key's writer").unwrap();
    assert_eq!(files_under(bucket.dir()).len(), 3);
    bucket.discard_partial("exports/disk.raw").unwrap();
    let left = files_under(bucket.dir());
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&"exports/other.raw".to_string()), "{left:?}");
    assert!(
        left.iter()
            .any(|f| f.starts_with("exports/.disk.raw.more.stencil-tmp-")),
        "{left:?}"
    );
    other.finish().unwrap();
    // The object store's default does nothing and does not fail.
    memory_bucket(Arc::new(InMemory::new()), "")
        .discard_partial("exports/disk.raw")
        .unwrap();
}

#[test]
fn file_bucket_writes_keep_zero_runs_as_holes() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = file_bucket(dir.path());
    let mut w = bucket.create("sparse.raw").unwrap();
    w.write_all(b"head").unwrap();
    w.write_all(&vec![0u8; 32 * MIB]).unwrap();
    w.write_all(b"tail").unwrap();
    w.write_all(&vec![0u8; MIB]).unwrap();
    assert_eq!(w.finish().unwrap(), (33 * MIB + 8) as u64);
    let bytes = bucket.get("sparse.raw").unwrap();
    assert_eq!(bytes.len(), 33 * MIB + 8);
    assert_eq!(&bytes[..4], b"head");
    assert_eq!(&bytes[32 * MIB + 4..32 * MIB + 8], b"tail");
    assert!(bytes[4..32 * MIB + 4].iter().all(|&b| b == 0));
    let meta = fs::metadata(bucket.dir().join("sparse.raw")).unwrap();
    assert!(
        meta.blocks() * 512 < 4 * MIB as u64,
        "zero runs were written out: {} bytes allocated",
        meta.blocks() * 512
    );
}

#[test]
fn file_bucket_refuses_dot_components_and_symlinks_that_leave_it() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = file_bucket(dir.path());
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret"), b"secret").unwrap();
    std::os::unix::fs::symlink(&outside, bucket.dir().join("escape")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), bucket.dir().join("leak")).unwrap();

    for key in [
        ".hidden",
        "a/.b",
        "escape/secret",
        "leak",
        "escape/new/file",
    ] {
        let invalid = |r: Result<(), BucketError>, op: &str| {
            assert!(
                matches!(r, Err(BucketError::InvalidKey { .. })),
                "{op} of {key:?}: {r:?}"
            )
        };
        invalid(bucket.head(key).map(drop), "head");
        invalid(bucket.get(key).map(drop), "get");
        invalid(bucket.open_image(key, None).map(drop), "open_image");
        if key != "leak" {
            invalid(bucket.create(key).map(drop), "create");
        }
    }
    assert!(
        !outside.join("new").exists(),
        "a directory was made outside"
    );
    assert_eq!(bucket.list("").unwrap(), vec![], "links out are not listed");
    assert!(matches!(
        bucket.list("escape/"),
        Err(BucketError::InvalidKey { .. })
    ));
    // Writing over a link replaces the link; its target is never written.
    conformance::put(&bucket, "leak", b"mine", 4);
    assert_eq!(fs::read(outside.join("secret")).unwrap(), b"secret");
    assert_eq!(bucket.get("leak").unwrap(), b"mine");
    std::os::unix::fs::symlink(outside.join("secret"), bucket.dir().join("leak2")).unwrap();
    bucket.delete("leak2").unwrap(); // removes the link, not its target
    assert!(outside.join("secret").exists());
    bucket.delete("leak").unwrap();

    // A symlink that stays inside is an object like any other.
    conformance::put(&bucket, "real/disk", b"bytes", 2);
    std::os::unix::fs::symlink(bucket.dir().join("real/disk"), bucket.dir().join("alias")).unwrap();
    assert_eq!(bucket.get("alias").unwrap(), b"bytes");
    assert_eq!(
        bucket.list("").unwrap(),
        vec![("alias".into(), 5), ("real/disk".into(), 5)]
    );
}

#[test]
fn open_bucket_creates_a_missing_file_bucket_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/nested/bucket");
    let url = format!("file://{}", path.display());
    let bucket = open_bucket(&spec("images-hz", &url)).unwrap();
    assert!(path.is_dir());
    assert_eq!(bucket.name(), "images-hz");
    assert_eq!(bucket.region(), "cn-hangzhou");
    conformance::put(bucket.as_ref(), "x/y", b"z", 1);
    assert_eq!(fs::read(path.join("x/y")).unwrap(), b"z");
}

#[test]
fn open_bucket_builds_an_s3_bucket_without_contacting_it() {
    let bucket = open_bucket(&BucketSpec {
        endpoint: Some("http://127.0.0.1:9".into()),
        access_key_id: Some("GK123".into()),
        secret_access_key: Some("secret".into()),
        s3_region: Some("garage".into()),
        ..spec("images-s3", "s3://real-bucket/some/prefix")
    })
    .unwrap();
    assert_eq!(bucket.name(), "images-s3");
    let anonymous = open_bucket(&spec("public", "s3://public-bucket")).unwrap();
    assert_eq!(anonymous.region(), "cn-hangzhou");
}

#[test]
fn open_bucket_refuses_specs_it_cannot_serve() {
    let half_keys = BucketSpec {
        access_key_id: Some("GK123".into()),
        ..spec("b", "s3://bucket")
    };
    let endpoint_on_file = BucketSpec {
        endpoint: Some("http://127.0.0.1:9".into()),
        ..spec("b", "file:///tmp/x")
    };
    for s in [
        spec("b", "ftp://host/x"),
        spec("b", "s3://"),
        spec("b", "s3:///prefix"),
        spec("b", "s3://bucket/a//b"),
        spec("b", "file://"),
        half_keys,
        endpoint_on_file,
    ] {
        match open_bucket(&s) {
            Err(BucketError::InvalidSpec { bucket, reason }) => {
                assert_eq!(bucket, "b");
                assert!(!reason.is_empty());
            }
            other => panic!("{s:?} was accepted: {other:?}"),
        }
    }
}

#[test]
fn buckets_are_found_by_name_and_region() {
    let dir = tempfile::tempdir().unwrap();
    let a = FileBucket::open("b-hz", "cn-hangzhou", dir.path().join("a")).unwrap();
    let b = FileBucket::open("a-hz", "cn-hangzhou", dir.path().join("b")).unwrap();
    let c = memory_bucket(Arc::new(InMemory::new()), "");
    let all = Buckets::new(vec![Arc::new(a), Arc::new(b), Arc::new(c)]);
    assert_eq!(all.names(), ["a-hz", "b-hz", "objects"]);
    assert_eq!(all.get("objects").unwrap().region(), "cn-shanghai");
    assert!(all.get("nope").is_none());
    let hz: Vec<&str> = all
        .in_region("cn-hangzhou")
        .iter()
        .map(|b| b.name())
        .collect();
    assert_eq!(hz, ["a-hz", "b-hz"]);
    assert!(all.in_region("cn-beijing").is_empty());

    let opened = Buckets::open(&[spec(
        "one",
        &format!("file://{}", dir.path().join("c").display()),
    )])
    .unwrap();
    assert_eq!(opened.names(), ["one"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_work_from_spawn_blocking_and_drop_inside_a_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let buckets: Vec<Arc<dyn Bucket>> = vec![
        Arc::new(memory_bucket(Arc::new(InMemory::new()), "p")),
        Arc::new(file_bucket(dir.path())),
    ];
    for bucket in buckets {
        let b = bucket.clone();
        let (bytes, image) = tokio::task::spawn_blocking(move || {
            conformance::put(b.as_ref(), "k", &conformance::pattern(7, 6 * MIB), 100_000);
            let (_, qcow2) = conformance::qemu_image_pair();
            conformance::put(b.as_ref(), "disk.qcow2", qcow2, MIB);
            let image = b.open_image("disk.qcow2", None).unwrap();
            (b.get("k").unwrap(), image)
        })
        .await
        .unwrap();
        assert_eq!(bytes.len(), 6 * MIB);
        // A writer and a bucket dropped on a runtime thread neither panic nor leak.
        let b = bucket.clone();
        let w = tokio::task::spawn_blocking(move || {
            let mut w = b.create("dropped").unwrap();
            w.write_all(&vec![1u8; 6 * MIB]).unwrap();
            w
        })
        .await
        .unwrap();
        drop(w);
        assert_eq!(bucket.head("dropped").unwrap(), None);
        drop(bucket);
        drop(image); // the reader outlives its bucket
    }
}

#[tokio::test]
async fn object_bucket_calls_from_an_async_task_block_but_do_not_panic() {
    let bucket = memory_bucket(Arc::new(InMemory::new()), "");
    conformance::put(&bucket, "k", b"v", 1);
    assert_eq!(bucket.get("k").unwrap(), b"v");
}

/// Requests seen by a [`CountingStore`].
#[derive(Debug, Default)]
struct Counts {
    gets: AtomicUsize,
    puts: AtomicUsize,
    uploads: AtomicUsize,
    parts: AtomicUsize,
    aborts: AtomicUsize,
}

impl Counts {
    fn get(&self) -> [usize; 5] {
        [
            &self.gets,
            &self.puts,
            &self.uploads,
            &self.parts,
            &self.aborts,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }
}

/// An in-memory store that counts requests.
#[derive(Debug, Default)]
struct CountingStore {
    inner: InMemory,
    counts: Arc<Counts>,
}

impl std::fmt::Display for CountingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[derive(Debug)]
struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    counts: Arc<Counts>,
}

#[async_trait::async_trait]
impl MultipartUpload for CountingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.counts.parts.fetch_add(1, Ordering::Relaxed);
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.counts.aborts.fetch_add(1, Ordering::Relaxed);
        self.inner.abort().await
    }
}

#[async_trait::async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &ObjPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.counts.puts.fetch_add(1, Ordering::Relaxed);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.counts.uploads.fetch_add(1, Ordering::Relaxed);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountingUpload {
            inner,
            counts: self.counts.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &ObjPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if !options.head {
            self.counts.gets.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&ObjPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjPath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjPath,
        to: &ObjPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

fn counting_bucket() -> (ObjectBucket, Arc<Counts>) {
    let store = Arc::new(CountingStore::default());
    let counts = store.counts.clone();
    let bucket = ObjectBucket::new("counted", "cn-beijing", store, "")
        .unwrap()
        .with_part_size(5 * MIB);
    (bucket, counts)
}

#[test]
fn object_bucket_puts_small_objects_once_and_large_ones_in_parts() {
    let (bucket, counts) = counting_bucket();
    conformance::put(
        &bucket,
        "small",
        &conformance::pattern(1, 5 * MIB - 1),
        65_536,
    );
    assert_eq!(
        counts.get(),
        [0, 1, 0, 0, 0],
        "[gets, puts, uploads, parts, aborts]"
    );
    let large = conformance::pattern(2, conformance::LARGE_OBJECT);
    conformance::put(&bucket, "large", &large, 1_000_003);
    assert_eq!(
        counts.get(),
        [0, 1, 1, 3, 0],
        "[gets, puts, uploads, parts, aborts]"
    );
    assert!(bucket.get("large").unwrap() == large);

    let mut w = bucket.create("dropped").unwrap();
    w.write_all(&large).unwrap();
    drop(w);
    assert_eq!(counts.get()[2..], [2, 5, 1], "[uploads, parts, aborts]");
    assert_eq!(bucket.head("dropped").unwrap(), None);
}

#[test]
fn object_bucket_reads_an_image_with_a_few_ranged_requests() {
    let (bucket, counts) = counting_bucket();
    let (raw, qcow2) = conformance::qemu_image_pair();
    conformance::put(&bucket, "disk.qcow2", qcow2, MIB);
    let gets_before = counts.get()[0];
    let r = bucket
        .open_image("disk.qcow2", Some(Format::Qcow2))
        .unwrap();
    let mut got = vec![0u8; raw.len()];
    for (i, piece) in got.chunks_mut(64 << 10).enumerate() {
        r.read_at(piece, (i * (64 << 10)) as u64).unwrap();
    }
    assert!(&got == raw);
    let gets = counts.get()[0] - gets_before;
    let blocks = qcow2.len().div_ceil(4 * MIB);
    assert!(
        gets <= blocks,
        "{gets} GETs for a {} byte image ({blocks} cache blocks)",
        qcow2.len()
    );
}
