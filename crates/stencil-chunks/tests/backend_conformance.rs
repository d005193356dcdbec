//! One conformance suite for the `ChunkBackend` trait, run against every implementation.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use stencil_chunks::backend::object::{ObjectBackend, S3Options, s3_store};
use stencil_chunks::backend::{ChunkBackend, Namespace, PutOutcome};
use stencil_chunks::{ChunkHasher, Digest, Error};

fn digest(n: u8) -> Digest {
    ChunkHasher::plain().digest(&[n])
}

fn conformance(b: Arc<dyn ChunkBackend>) {
    // Blobs: put-if-absent never overwrites.
    let (d1, d2, d3) = (digest(1), digest(2), digest(3));
    assert!(matches!(b.get_blob(&d1), Err(Error::MissingChunk { .. })));
    assert!(!b.touch_blob(&d1).expect("touch absent"));
    assert_eq!(b.blob_modified(&d1).expect("stat"), None);
    assert_eq!(b.put_blob(&d1, b"first").expect("put"), PutOutcome::Stored);
    assert_eq!(
        b.put_blob(&d1, b"second").expect("put again"),
        PutOutcome::AlreadyPresent
    );
    assert_eq!(b.get_blob(&d1).expect("get"), b"first");
    b.put_blob(&d2, b"two").expect("put d2");
    b.sync().expect("sync");

    // A batch put stores the absent blobs and touches, never overwrites, the present ones.
    let (d7, d8) = (digest(7), digest(8));
    let batch = vec![
        (d7, b"seven".to_vec()),
        (d1, b"not first".to_vec()),
        (d8, b"eight".to_vec()),
    ];
    assert_eq!(
        b.put_blobs(&batch).expect("put batch"),
        vec![
            PutOutcome::Stored,
            PutOutcome::AlreadyPresent,
            PutOutcome::Stored
        ]
    );
    assert_eq!(b.get_blob(&d1).expect("get"), b"first");
    assert_eq!(b.get_blob(&d8).expect("get"), b"eight");
    assert_eq!(b.put_blobs(&[]).expect("empty batch"), Vec::new());
    b.delete_blob(&d7).expect("delete");
    b.delete_blob(&d8).expect("delete");

    // Touch refreshes the modified time. S3's HEAD (Garage's and AWS's) reports whole seconds,
    // so the touch comes more than a second later; GC's margins are minutes.
    let before = b.blob_modified(&d1).expect("stat").expect("present");
    std::thread::sleep(Duration::from_millis(1100));
    assert!(b.touch_blob(&d1).expect("touch"));
    let after = b.blob_modified(&d1).expect("stat").expect("present");
    assert!(after > before, "{after:?} > {before:?}");
    assert!(after <= SystemTime::now() + Duration::from_secs(1));

    // Batch missing query keeps input order.
    assert_eq!(b.missing(&[d3, d1, d2, d3]).expect("missing"), vec![d3, d3]);

    // Listing.
    let mut listed = HashSet::new();
    b.list_blobs(&mut |info| {
        assert!(info.size > 0);
        listed.insert(info.digest);
        Ok(())
    })
    .expect("list");
    assert_eq!(listed, HashSet::from([d1, d2]));

    // Delete is idempotent.
    b.delete_blob(&d2).expect("delete");
    b.delete_blob(&d2).expect("delete again");
    assert_eq!(b.missing(&[d2]).expect("missing"), vec![d2]);

    // Named objects in separate namespaces.
    for ns in [Namespace::Index, Namespace::Session] {
        assert_eq!(b.get_object(ns, "a.b-c_1").expect("get"), None);
        b.put_object(ns, "a.b-c_1", b"v1").expect("put");
        b.put_object(ns, "a.b-c_1", b"v2").expect("replace");
        b.put_object(ns, "other", b"x").expect("put other");
        assert_eq!(
            b.get_object(ns, "a.b-c_1").expect("get"),
            Some(b"v2".to_vec())
        );
        assert_eq!(
            b.list_objects(ns).expect("list"),
            vec!["a.b-c_1".to_string(), "other".to_string()]
        );
        b.delete_object(ns, "other").expect("delete");
        b.delete_object(ns, "other").expect("delete again");
        assert_eq!(
            b.list_objects(ns).expect("list"),
            vec!["a.b-c_1".to_string()]
        );
    }
    for bad in ["", "../x", "a/b", ".hidden", "sp ace"] {
        assert!(
            matches!(
                b.put_object(Namespace::Index, bad, b"x"),
                Err(Error::InvalidArgument(_))
            ),
            "{bad:?}"
        );
    }

    // Blobs and objects do not see each other.
    let mut n = 0;
    b.list_blobs(&mut |_| {
        n += 1;
        Ok(())
    })
    .expect("list");
    assert_eq!(n, 1);
}

fn concurrent_puts_of_one_digest_agree(b: Arc<dyn ChunkBackend>) {
    let d = digest(9);
    let outcomes: Vec<PutOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| b.put_blob(&d, b"same bytes").expect("put")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect()
    });
    assert!(outcomes.contains(&PutOutcome::Stored));
    assert_eq!(b.get_blob(&d).expect("get"), b"same bytes");
}

#[test]
fn local_backend_conforms() {
    let dir = tempfile::tempdir().expect("tempdir");
    conformance(common::local(&dir));
    concurrent_puts_of_one_digest_agree(common::local(&dir));
}

#[test]
fn object_store_backend_conforms() {
    conformance(common::memory());
    concurrent_puts_of_one_digest_agree(common::memory());
}

/// A real S3 server from the environment (`tests/infra/scaleout.sh` exports these for a 3-node
/// Garage cluster): the store and a key prefix no other run uses.
fn s3_from_env() -> Option<(Arc<dyn object_store::ObjectStore>, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let endpoint = var("STENCIL_TEST_S3_ENDPOINT")?;
    let opts = S3Options {
        endpoint: Some(endpoint),
        access_key_id: var("STENCIL_TEST_S3_ACCESS_KEY_ID"),
        secret_access_key: var("STENCIL_TEST_S3_SECRET_ACCESS_KEY"),
        region: var("STENCIL_TEST_S3_REGION"),
    };
    let bucket = var("STENCIL_TEST_S3_BUCKET").expect("STENCIL_TEST_S3_BUCKET names the bucket");
    let store = s3_store(&bucket, &opts).expect("S3 client");
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let prefix = format!("test/backend-conformance-{}-{nanos}", std::process::id());
    Some((store, prefix))
}

/// Deletes every object under `prefix`.
fn delete_prefix(store: &dyn object_store::ObjectStore, prefix: &str) {
    use futures_util::StreamExt;
    use object_store::ObjectStoreExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let prefix = object_store::path::Path::from(prefix);
        let keys: Vec<_> = store
            .list(Some(&prefix))
            .map(|meta| meta.expect("list").location)
            .collect()
            .await;
        for key in keys {
            store.delete(&key).await.expect("delete");
        }
    });
}

#[test]
fn s3_backend_conforms() {
    let Some((store, prefix)) = s3_from_env() else {
        eprintln!("STENCIL_TEST_S3_ENDPOINT is not set: skipping the S3 backend conformance suite");
        return;
    };
    eprintln!("S3 backend conformance under {prefix}/");
    let backend = |sub: &str| -> Arc<dyn ChunkBackend> {
        Arc::new(ObjectBackend::new(store.clone(), &format!("{prefix}/{sub}")).expect("backend"))
    };
    conformance(backend("conformance"));
    concurrent_puts_of_one_digest_agree(backend("concurrent"));
    delete_prefix(store.as_ref(), &prefix);
}

#[test]
fn local_backend_creates_prefix_directories_lazily_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = common::local(&dir);
    let root = dir.path().join("store");
    assert_eq!(
        std::fs::read_dir(root.join("chunks")).expect("ls").count(),
        0
    );
    let d = digest(1);
    b.put_blob(&d, b"x").expect("put");
    let hex = d.to_hex();
    assert!(root.join("chunks").join(&hex[..4]).join(&hex).is_file());
    assert_eq!(
        std::fs::read_dir(root.join("chunks")).expect("ls").count(),
        1
    );
    assert_eq!(std::fs::read_dir(root.join("tmp")).expect("ls").count(), 0);
}
