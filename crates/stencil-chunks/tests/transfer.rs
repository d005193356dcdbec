//! Copies between stores: only missing chunks move, each is verified on arrival, an interrupted
//! copy resumes without sending again what arrived, and a copy into a keyed store re-encrypts
//! (no plaintext digest or byte of the source appears in it).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::{SMALL_CDC, bytes, local, store};
use stencil_chunks::backend::ChunkBackend;
use stencil_chunks::source::MemSource;
use stencil_chunks::transfer::{
    TRANSFER_BATCH, TRANSFER_WORKERS, TransferHooks, TransferStats, transfer_index,
};
use stencil_chunks::{ChunkStore, DiskReader, Error};

#[derive(Default)]
struct Hooks {
    sent: AtomicU64,
    advanced: AtomicU64,
    /// Cancel once this many bytes were sent (0: never).
    stop_after: u64,
    stopped: AtomicBool,
}

impl TransferHooks for Hooks {
    fn cancelled(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }
    fn advance(&self, n: u64) {
        self.advanced.fetch_add(n, Ordering::AcqRel);
    }
    fn sent(&self, n: u64) {
        let before = self.sent.fetch_add(n, Ordering::AcqRel);
        if self.stop_after > 0 && before + n >= self.stop_after {
            self.stopped.store(true, Ordering::Release);
        }
    }
}

fn disk(seed: u64) -> Vec<u8> {
    let mut d = bytes(6 << 20, seed, true);
    d[2 << 20..3 << 20].fill(0);
    d
}

fn import(s: &ChunkStore, name: &str, data: Vec<u8>) {
    let session = s.begin_session().expect("session");
    let (index, _) = session.import(&MemSource::new(data)).expect("import");
    session.commit(name, &index).expect("commit");
    session.finish().expect("finish");
}

fn read_all(s: &ChunkStore, name: &str) -> Vec<u8> {
    let index = s.load_index(name).expect("index");
    let mut out = vec![0u8; index.virtual_size() as usize];
    DiskReader::new(s.clone(), std::sync::Arc::new(index))
        .read_at(&mut out, 0)
        .expect("read");
    out
}

fn copy(
    src: &ChunkStore,
    name: &str,
    dst: &ChunkStore,
    to: &str,
    hooks: &Hooks,
) -> Option<TransferStats> {
    let session = dst.begin_session().expect("session");
    let r = transfer_index(src, name, &session, to, hooks).expect("transfer");
    session.finish().expect("finish");
    r
}

fn blob_bytes(b: &dyn ChunkBackend) -> (u64, u64) {
    let (mut n, mut total) = (0, 0);
    b.list_blobs(&mut |info| {
        n += 1;
        total += info.size;
        Ok(())
    })
    .expect("list");
    (n, total)
}

#[test]
fn a_copy_sends_only_missing_chunks_and_reads_back_identical() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let src = store(local(&a), SMALL_CDC, true, None);
    let dst = store(local(&b), SMALL_CDC, true, None);
    let data = disk(1);
    import(&src, "s-1", data.clone());
    let hooks = Hooks::default();
    let first = copy(&src, "s-1", &dst, "s-copy", &hooks).expect("not cancelled");
    assert!(first.chunks_sent > 0);
    assert_eq!(first.chunks_present, 0);
    assert_eq!(first.bytes_sent, blob_bytes(dst.backend().as_ref()).1);
    assert_eq!(read_all(&dst, "s-copy"), data);
    assert_eq!(hooks.advanced.load(Ordering::Acquire), first.data_bytes);

    // The same disk again: nothing moves.
    let again = copy(&src, "s-1", &dst, "s-copy2", &Hooks::default()).expect("done");
    assert_eq!((again.chunks_sent, again.bytes_sent), (0, 0));
    assert_eq!(again.chunks_present, first.chunks_sent);

    // A sibling with one edited MiB: only the chunks around the edit move.
    let mut sibling = data.clone();
    sibling[4 << 20..(4 << 20) + 4096].copy_from_slice(&bytes(4096, 99, false));
    import(&src, "s-2", sibling.clone());
    let delta = copy(&src, "s-2", &dst, "s-copy3", &Hooks::default()).expect("done");
    assert!(
        delta.chunks_sent >= 1 && delta.bytes_sent < first.bytes_sent / 4,
        "{delta:?} vs {first:?}"
    );
    assert_eq!(read_all(&dst, "s-copy3"), sibling);
}

#[test]
fn an_interrupted_copy_resumes_without_sending_arrived_chunks_again() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let src = store(local(&a), SMALL_CDC, true, None);
    let dst = store(local(&b), SMALL_CDC, true, None);
    let data = disk(2);
    import(&src, "s-1", data.clone());
    let stop = Hooks {
        stop_after: 1 << 20,
        ..Hooks::default()
    };
    assert!(
        copy(&src, "s-1", &dst, "s-copy", &stop).is_none(),
        "cancelled"
    );
    assert!(matches!(
        dst.load_index("s-copy"),
        Err(Error::IndexNotFound { .. })
    ));
    let (arrived_n, arrived) = blob_bytes(dst.backend().as_ref());
    assert!(arrived_n > 0, "some chunks arrived before the stop");

    let rest = copy(&src, "s-1", &dst, "s-copy", &Hooks::default()).expect("done");
    let (_, total) = blob_bytes(dst.backend().as_ref());
    assert_eq!(
        rest.bytes_sent,
        total - arrived,
        "the second run sends exactly the rest"
    );
    assert_eq!(rest.chunks_present, arrived_n);
    assert_eq!(stop.sent.load(Ordering::Acquire), arrived);
    assert!(
        arrived <= (1 << 20) + (TRANSFER_WORKERS * TRANSFER_BATCH) as u64 * (256 << 10),
        "the batches in flight past the stop at most"
    );
    assert_eq!(read_all(&dst, "s-copy"), data);
}

#[test]
fn a_corrupt_blob_is_refused_on_arrival() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let src = store(local(&a), SMALL_CDC, true, None);
    let dst = store(local(&b), SMALL_CDC, true, None);
    import(&src, "s-1", disk(3));
    let index = src.load_index("s-1").unwrap();
    let victim = index.data_digests()[1];
    let path = walk(&a.path().join("store"))
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy() == victim.to_hex())
        })
        .expect("blob file");
    let mut blob = std::fs::read(&path).expect("blob file");
    let last = blob.len() - 1;
    blob[last] ^= 0x01;
    std::fs::write(&path, blob).unwrap();
    let session = dst.begin_session().unwrap();
    let err = transfer_index(&src, "s-1", &session, "s-copy", &Hooks::default()).unwrap_err();
    assert!(matches!(err, Error::CorruptChunk { .. }), "{err}");
    assert!(dst.load_index("s-copy").is_err());
}

#[test]
fn a_copy_into_a_keyed_store_holds_no_plaintext_digest_or_byte() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let src = store(local(&a), SMALL_CDC, true, None);
    let keyed = store(local(&b), SMALL_CDC, true, Some([7u8; 32]));
    let data = disk(4);
    import(&src, "s-1", data.clone());
    let stats = copy(&src, "s-1", &keyed, "s-enc", &Hooks::default()).expect("done");
    assert!(stats.chunks_sent > 0);
    let plain_digests: std::collections::HashSet<String> = src
        .load_index("s-1")
        .unwrap()
        .data_digests()
        .iter()
        .map(|d| d.to_hex())
        .collect();
    let enc = keyed.load_index("s-enc").unwrap();
    assert!(enc.keyed());
    let raw: std::collections::HashSet<[u8; 32]> = plain_digests
        .iter()
        .map(|d| *stencil_chunks::Digest::parse_hex(d).unwrap().as_bytes())
        .collect();
    let mut files = 0;
    for entry in walk(&b.path().join("store")) {
        let name = entry.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !plain_digests.contains(&name),
            "plaintext digest {name} in the keyed store"
        );
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(32).any(|w| raw.contains(w)),
            "{} holds a plaintext digest",
            entry.display()
        );
        for needle in [&data[..64], &b"Nov 23 kernel: session opened"[..]] {
            assert!(
                !contains(&bytes, needle),
                "{} holds plaintext",
                entry.display()
            );
        }
        files += 1;
    }
    assert!(files > 1);
    assert_eq!(read_all(&keyed, "s-enc"), data);
    // Copying the same disk again sends nothing; copying it back out decrypts.
    let again = copy(&src, "s-1", &keyed, "s-enc2", &Hooks::default()).unwrap();
    assert_eq!(again.bytes_sent, 0);
    let (c, _) = (tempfile::tempdir().unwrap(), ());
    let plain = store(local(&c), SMALL_CDC, true, None);
    copy(&keyed, "s-enc", &plain, "s-back", &Hooks::default()).unwrap();
    assert_eq!(read_all(&plain, "s-back"), data);
    assert!(!plain.load_index("s-back").unwrap().keyed());
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
