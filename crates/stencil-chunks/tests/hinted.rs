//! Import with a hint (the index of an earlier version): same cuts as plain CDC where the
//! bytes are unchanged or edited in place, correct bytes whatever the hint.

mod common;

use std::sync::Arc;

use common::{SMALL_CDC, bytes, memory, store};
use stencil_chunks::read::DiskReader;
use stencil_chunks::source::MemSource;
use stencil_chunks::{ChunkStore, Index};

fn import(store: &ChunkStore, data: &[u8], hint: Option<&Index>) -> (Index, u64) {
    let session = store.begin_session().expect("session");
    let src = MemSource::new(data.to_vec());
    let (index, stats) = match hint {
        Some(h) => session.import_with_hint(&src, h),
        None => session.import(&src),
    }
    .expect("import");
    session.finish().expect("finish");
    (index, stats.new_bytes)
}

fn read_back(store: &ChunkStore, index: &Index, len: usize) -> Vec<u8> {
    let reader = DiskReader::new(store.clone(), Arc::new(index.clone()));
    let mut out = vec![0u8; len];
    reader.read_at(&mut out, 0).expect("read");
    out
}

#[test]
fn a_hint_reproduces_the_cdc_index_for_unchanged_and_edited_content() {
    for key in [None, Some([7u8; 32])] {
        let store = store(memory(), SMALL_CDC, true, key);
        let base = bytes(3 << 20, 1, true);
        let (plain, _) = import(&store, &base, None);
        let (hinted, new_bytes) = import(&store, &base, Some(&plain));
        assert_eq!(hinted, plain, "unchanged content gives the same index");
        assert_eq!(new_bytes, 0);

        let mut edited = base.clone();
        edited[1_000_000..1_050_000].copy_from_slice(&bytes(50_000, 9, false));
        edited[2_500_000..2_500_010].fill(0xEE);
        let (plain_edit, _) = import(&store, &edited, None);
        let (hinted_edit, _) = import(&store, &edited, Some(&plain));
        assert_eq!(
            hinted_edit, plain_edit,
            "in-place edits give the same index as plain CDC"
        );
        assert!(read_back(&store, &hinted_edit, edited.len()) == edited);
    }
}

#[test]
fn any_hint_gives_correct_bytes() {
    let store = store(memory(), SMALL_CDC, false, None);
    let base = bytes(2 << 20, 3, false);
    let (base_index, _) = import(&store, &base, None);
    // Shifted content (an insertion), a shorter disk, and an unrelated disk.
    let mut shifted = vec![0x42u8; 777];
    shifted.extend_from_slice(&base);
    let other = bytes(1 << 20, 99, true);
    for data in [shifted, base[..1_234_567].to_vec(), other] {
        let (index, _) = import(&store, &data, Some(&base_index));
        assert!(read_back(&store, &index, data.len()) == data);
        assert_eq!(index.virtual_size(), data.len() as u64);
    }
}
