//! A writer process killed at random points leaves no partial blob under a digest name and no
//! index that names a missing blob.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use stencil_chunks::backend::local::LocalBackend;
use stencil_chunks::backend::{ChunkBackend, Namespace};
use stencil_chunks::source::MemSource;
use stencil_chunks::{ChunkStore, Error, StoreConfig};

const CHILD_ENV: &str = "STENCIL_CHUNKS_CRASH_CHILD_ROOT";

fn open(root: &str) -> (Arc<LocalBackend>, ChunkStore) {
    let backend = Arc::new(LocalBackend::open(root).expect("open"));
    let config = StoreConfig {
        chunker: common::SMALL_CDC,
        compress: true,
        key: None,
        workers: 2,
        chunk_threads: 2,
        uploaders: 3,
        read_ahead: 2,
        touch_slack: std::time::Duration::ZERO,
    };
    (
        backend.clone(),
        ChunkStore::new(backend, config).expect("store"),
    )
}

/// The child: imports and commits forever until killed. Does nothing in a normal test run.
#[test]
fn crash_child_writer() {
    let Ok(root) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (_, store) = open(&root);
    let seed = u64::from(std::process::id());
    for n in 0u64.. {
        let session = store.begin_session().expect("session");
        // Half shared with earlier images (dedup path), half new.
        let mut data = common::bytes(1 << 20, n % 3, true);
        data.extend(common::bytes(1 << 20, seed * 1000 + n, n % 2 == 0));
        let (index, _) = session.import(&MemSource::new(data)).expect("import");
        session
            .commit(&format!("img-{seed}-{n}"), &index)
            .expect("commit");
        session.finish().expect("finish");
    }
}

fn check_store(backend: &LocalBackend, store: &ChunkStore) -> usize {
    // Every blob under a digest name is complete and correct.
    let mut blobs = Vec::new();
    backend
        .list_blobs(&mut |b| {
            blobs.push(b.digest);
            Ok(())
        })
        .expect("list");
    for d in &blobs {
        store
            .read_chunk(d)
            .unwrap_or_else(|e| panic!("blob {d:?} is not intact: {e}"));
    }
    // Every committed index loads and names only stored blobs.
    let names = backend
        .list_objects(Namespace::Index)
        .expect("list indexes");
    for name in &names {
        let index = store.load_index(name).expect("index loads");
        let missing = store.missing(&index.data_digests()).expect("missing");
        assert!(
            missing.is_empty(),
            "index {name} names missing chunks {missing:?}"
        );
    }
    names.len()
}

#[test]
fn a_writer_killed_at_random_points_leaves_no_partial_blob_and_no_dangling_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store").to_string_lossy().into_owned();
    let (backend, store) = open(&root);
    let exe = std::env::current_exe().expect("test binary");
    let mut committed = 0;
    for round in 0..8u64 {
        let mut child = Command::new(&exe)
            .args([
                "crash_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let wait_ms = 150 + (rand::random::<u64>() % 500) + round * 40;
        std::thread::sleep(Duration::from_millis(wait_ms));
        child.kill().expect("kill child");
        let status = child.wait().expect("wait child");
        assert!(
            !status.success(),
            "child must die by the signal, not finish"
        );
        committed = check_store(&backend, &store);
    }
    assert!(
        committed > 0,
        "the child never got as far as a commit; the test proved nothing"
    );
    // The store stays usable: a GC with no open writers keeps everything committed.
    let opts = stencil_chunks::gc::GcOptions {
        margin: Duration::ZERO,
        session_expiry: Duration::ZERO,
        dry_run: false,
    };
    stencil_chunks::gc::gc(&store, &opts).expect("gc");
    assert_eq!(check_store(&backend, &store), committed);
    assert!(matches!(
        store.read_chunk(&stencil_chunks::Digest::from_bytes([1; 32])),
        Err(Error::MissingChunk { .. })
    ));
}
