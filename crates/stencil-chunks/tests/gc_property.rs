//! GC safety: random interleavings of imports, commits, deletes and GC runs never remove a chunk
//! reachable from a committed index or an open writer, and unreferenced chunks do go.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use stencil_chunks::backend::ChunkBackend;
use stencil_chunks::gc::{GcOptions, gc};
use stencil_chunks::source::MemSource;
use stencil_chunks::{ChunkStore, Digest, Index, WriteSession};

const MARGIN: Duration = Duration::from_millis(30);

#[derive(Debug, Clone)]
enum Op {
    Begin(usize),
    Import(usize, u64),
    Commit(usize, usize),
    Finish(usize),
    Delete(usize),
    Gc,
    /// Let time pass beyond the margin so older chunks become eligible.
    Sleep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..2usize).prop_map(Op::Begin),
        3 => (0..2usize, 0..3u64).prop_map(|(s, c)| Op::Import(s, c)),
        2 => (0..2usize, 0..3usize).prop_map(|(s, n)| Op::Commit(s, n)),
        1 => (0..2usize).prop_map(Op::Finish),
        1 => (0..3usize).prop_map(Op::Delete),
        2 => Just(Op::Gc),
        1 => Just(Op::Sleep),
    ]
}

/// Content `c` shares segments with `c - 1` and `c + 1`, so chunks are shared between images.
fn content(c: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for seg in c..c + 3 {
        out.extend(common::bytes(96 << 10, seg, seg % 2 == 0));
    }
    out
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

fn run(backend: Arc<dyn ChunkBackend>, ops: Vec<Op>) {
    let store: ChunkStore = common::store(backend.clone(), common::SMALL_CDC, true, None);
    let opts = GcOptions {
        margin: MARGIN,
        session_expiry: Duration::from_secs(3600),
        dry_run: false,
    };
    let mut sessions: BTreeMap<usize, (WriteSession, Vec<Index>)> = BTreeMap::new();
    let mut committed: BTreeMap<String, Index> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Begin(s) => {
                sessions
                    .entry(s)
                    .or_insert_with(|| (store.begin_session().expect("begin"), Vec::new()));
            }
            Op::Import(s, c) => {
                if let Some((session, pending)) = sessions.get_mut(&s) {
                    pending.push(
                        session
                            .import(&MemSource::new(content(c)))
                            .expect("import")
                            .0,
                    );
                }
            }
            Op::Commit(s, n) => {
                let name = format!("img{n}");
                if let Some((session, pending)) = sessions.get_mut(&s)
                    && let Some(index) = pending.pop()
                    && !committed.contains_key(&name)
                {
                    session.commit(&name, &index).expect("commit");
                    committed.insert(name, index);
                }
            }
            Op::Finish(s) => {
                if let Some((session, _)) = sessions.remove(&s) {
                    session.finish().expect("finish");
                }
            }
            Op::Delete(n) => {
                let name = format!("img{n}");
                store.delete_index(&name).expect("delete");
                committed.remove(&name);
            }
            Op::Sleep => std::thread::sleep(MARGIN + Duration::from_millis(10)),
            Op::Gc => {
                gc(&store, &opts).expect("gc");
                let have = stored(backend.as_ref());
                let reachable = committed
                    .values()
                    .chain(sessions.values().flat_map(|(_, p)| p.iter()));
                for index in reachable {
                    for d in index.data_digests() {
                        assert!(have.contains(&d), "GC removed reachable chunk {d:?}");
                    }
                }
            }
        }
    }
    // Close every writer; once the margin has passed, GC leaves exactly the reachable chunks.
    for (_, (session, _)) in std::mem::take(&mut sessions) {
        session.finish().expect("finish");
    }
    std::thread::sleep(MARGIN * 3);
    gc(&store, &opts).expect("final gc");
    let reachable: HashSet<Digest> = committed.values().flat_map(|i| i.data_digests()).collect();
    assert_eq!(
        stored(backend.as_ref()),
        reachable,
        "unreferenced chunks must go, referenced ones stay"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn gc_never_removes_reachable_chunks_on_a_local_store(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        run(common::local(&dir), ops);
    }

    #[test]
    fn gc_never_removes_reachable_chunks_on_an_object_store(ops in prop::collection::vec(op(), 1..40)) {
        run(common::memory(), ops);
    }
}

/// The interleavings that matter most, spelled out: a writer that re-uses old unreferenced chunks
/// (dedup hit) keeps them, and an index deleted before GC frees its chunks.
#[test]
fn gc_keeps_old_chunks_that_an_open_writer_reuses() {
    for backend in [
        common::memory(),
        common::local(&tempfile::tempdir().expect("tempdir")),
    ] {
        let seq = vec![
            Op::Begin(0),
            Op::Import(0, 1),
            Op::Commit(0, 0),
            Op::Import(0, 2),
            Op::Finish(0),
            Op::Delete(0),
            Op::Sleep,
            Op::Begin(1),
            Op::Import(1, 1),
            Op::Sleep,
            Op::Gc,
            Op::Commit(1, 1),
            Op::Sleep,
            Op::Gc,
        ];
        run(backend, seq);
    }
}
