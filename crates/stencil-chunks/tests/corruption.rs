//! A flipped byte in a stored blob is found by verify and never returned by a read.

mod common;

use std::io::Read;
use std::sync::Arc;

use stencil_chunks::backend::local::LocalBackend;
use stencil_chunks::blob::BlobCodec;
use stencil_chunks::source::MemSource;
use stencil_chunks::verify::verify;
use stencil_chunks::{ChunkStore, DiskReader, Error, ReadCheck, StoreConfig};

fn flip_one_byte(path: &std::path::Path, at: usize) {
    let mut bytes = std::fs::read(path).expect("read blob");
    let at = at % bytes.len();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).expect("write blob");
}

#[test]
fn a_flipped_byte_is_named_by_verify_and_reads_touching_it_fail() {
    for (compress, key) in [(true, None), (false, None), (true, Some([3u8; 32]))] {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = Arc::new(LocalBackend::open(dir.path().join("s")).expect("open"));
        let config = StoreConfig {
            chunker: common::SMALL_CDC,
            compress,
            key,
            workers: 2,
            chunk_threads: 1,
            uploaders: 2,
            read_ahead: 2,
            touch_slack: std::time::Duration::ZERO,
        };
        let store = ChunkStore::new(local.clone(), config).expect("store");
        let data = common::bytes(3 << 20, 21, true);
        let session = store.begin_session().expect("session");
        let (index, _) = session
            .import(&MemSource::new(data.clone()))
            .expect("import");
        session.commit("img-a", &index).expect("commit");
        session.commit("img-b", &index).expect("commit");
        assert!(verify(&store).expect("verify").is_clean());

        let victim_entry = index.entries().len() / 2;
        let victim = index.entries()[victim_entry].digest;
        // Flip a byte in the header, the CRC, or the body, depending on the round.
        flip_one_byte(
            &local.blob_path(&victim),
            [5usize, 13, 200][usize::from(compress) + usize::from(key.is_some())],
        );

        let report = verify(&store).expect("verify");
        assert_eq!(report.bad.len(), 1, "compress={compress}");
        assert_eq!(report.bad[0].digest, victim);
        assert!(matches!(report.bad[0].error, Error::CorruptChunk { .. }));
        assert_eq!(
            report.bad[0].used_by,
            vec!["img-a".to_string(), "img-b".to_string()]
        );

        let reader = DiskReader::new(store.clone(), Arc::new(index.clone()));
        let start = index.entry_start(victim_entry);
        let end = index.entries()[victim_entry].end;
        // Both kinds of disk read refuse it: the CRC of the stored bytes is always checked.
        let crc_only =
            DiskReader::new(store.clone(), Arc::new(index.clone())).with_check(ReadCheck::Stored);
        for r in [&reader, &crc_only] {
            for (off, len) in [
                (start, 1u64),
                (end - 1, 1),
                (start.saturating_sub(10), 20),
                (0, data.len() as u64),
            ] {
                let mut buf = vec![0u8; len as usize];
                let err = r
                    .read_at(&mut buf, off)
                    .expect_err("read of a corrupt chunk must fail");
                assert!(
                    matches!(err, Error::CorruptChunk { digest, .. } if digest == victim),
                    "{err:?}"
                );
            }
        }
        // Ranges that do not touch it still read fine.
        let mut ok = vec![0u8; 100];
        reader
            .read_at(&mut ok, end)
            .expect("read after the bad chunk");
        assert_eq!(ok, data[end as usize..end as usize + 100]);
        // A stream stops with a typed error at the bad chunk, having returned only good bytes.
        let mut out = Vec::new();
        let err = reader
            .reader()
            .expect("stream")
            .read_to_end(&mut out)
            .expect_err("stream must fail");
        let inner = err
            .into_inner()
            .expect("wrapped")
            .downcast::<Error>()
            .expect("typed");
        assert!(matches!(*inner, Error::CorruptChunk { .. }));
        assert!(out.len() as u64 <= start && out == data[..out.len()]);
    }
}

#[test]
fn verify_reports_chunks_missing_from_an_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = Arc::new(LocalBackend::open(dir.path().join("s")).expect("open"));
    let store = common::store(local.clone(), common::SMALL_CDC, true, None);
    let session = store.begin_session().expect("session");
    let (index, _) = session
        .import(&MemSource::new(common::bytes(1 << 20, 4, true)))
        .expect("import");
    session.commit("img", &index).expect("commit");
    let gone = index.entries()[0].digest;
    std::fs::remove_file(local.blob_path(&gone)).expect("rm");
    let report = verify(&store).expect("verify");
    assert_eq!(report.missing, vec![(gone, vec!["img".to_string()])]);
    let reader = DiskReader::new(store, Arc::new(index));
    let mut b = [0u8; 1];
    assert!(matches!(
        reader.read_at(&mut b, 0),
        Err(Error::MissingChunk { .. })
    ));
}

#[test]
fn a_blob_holding_another_chunk_under_its_name_is_refused_by_digest_reads_and_verify() {
    for compress in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = Arc::new(LocalBackend::open(dir.path().join("s")).expect("open"));
        let store = common::store(local.clone(), common::SMALL_CDC, compress, None);
        let data = common::bytes(2 << 20, 8, true);
        let session = store.begin_session().expect("session");
        let (index, _) = session
            .import(&MemSource::new(data.clone()))
            .expect("import");
        session.commit("img", &index).expect("commit");
        // A well-formed blob (right CRC and lengths) of chunk 1's bytes, stored as chunk 0:
        // only recomputing the digest can tell. Chunk 1 is cut to chunk 0's length.
        let (victim, len) = (index.entries()[0].digest, index.entries()[0].end as usize);
        let other = &data[len..2 * len];
        let forged = BlobCodec::new(compress, None)
            .encode(&victim, other, &mut None)
            .expect("encode");
        std::fs::write(local.blob_path(&victim), forged).expect("write");

        let mut buf = vec![0u8; len];
        let err = DiskReader::new(store.clone(), Arc::new(index.clone()))
            .read_at(&mut buf, 0)
            .expect_err("a digest-checking read refuses it");
        assert!(
            matches!(err, Error::CorruptChunk { digest, reason: "digest mismatch" } if digest == victim)
        );
        let report = verify(&store).expect("verify");
        assert_eq!(report.bad.len(), 1);
        assert_eq!(report.bad[0].digest, victim);
        // A CRC-only read trusts the name, as `[server] verify_disk_reads = false` documents.
        DiskReader::new(store.clone(), Arc::new(index))
            .with_check(ReadCheck::Stored)
            .read_at(&mut buf, 0)
            .expect("a CRC-only read");
        assert_eq!(buf, other);
    }
}

#[test]
fn a_plain_blob_with_bytes_after_its_body_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = Arc::new(LocalBackend::open(dir.path().join("s")).expect("open"));
    let store = common::store(local.clone(), common::SMALL_CDC, false, None);
    let data = common::bytes(1 << 20, 9, false);
    let session = store.begin_session().expect("session");
    let (index, _) = session.import(&MemSource::new(data)).expect("import");
    let victim = index.entries()[0].digest;
    let path = local.blob_path(&victim);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.push(0);
    std::fs::write(&path, bytes).expect("write");
    let mut buf = vec![0u8; index.entries()[0].end as usize];
    for check in [ReadCheck::Digest, ReadCheck::Stored] {
        let err = DiskReader::new(store.clone(), Arc::new(index.clone()))
            .with_check(check)
            .read_at(&mut buf, 0)
            .expect_err("an over-long blob is refused");
        assert!(matches!(err, Error::CorruptChunk { digest, .. } if digest == victim));
    }
}

#[test]
fn commit_refuses_an_index_that_names_a_missing_chunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = Arc::new(LocalBackend::open(dir.path().join("s")).expect("open"));
    let store = common::store(local.clone(), common::SMALL_CDC, true, None);
    let session = store.begin_session().expect("session");
    let (index, _) = session
        .import(&MemSource::new(common::bytes(1 << 20, 5, true)))
        .expect("import");
    std::fs::remove_file(local.blob_path(&index.entries()[0].digest)).expect("rm");
    assert!(matches!(
        session.commit("img", &index),
        Err(Error::MissingChunk { .. })
    ));
    assert!(store.list_indexes().expect("list").is_empty());
}
