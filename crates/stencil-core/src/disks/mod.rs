//! Disks with real bytes: copy-on-write views over an index in the region's chunk store.
//!
//! ```text
//!  image snapshot index ──copy of entries (no data)──► disk-<id>-g0 ─┐ base (read-only)
//!  snapshot index (ResetDisk) ──────────────────────► disk-<id>-gN ─┤
//!                                                                   ▼
//!  NBD READ ──► overlay granule written? ── yes ─► <disks>/<id>/g<N>/data
//!                                      └─ no ──► base chunks (DiskReader)
//!  NBD WRITE ─► overlay (partial granules copied up from the base)
//!  CreateSnapshot ─► freeze writes ─► import_delta(base, disk, written ranges) ─► s-… index
//! ```
//!
//! | object | where | lifetime |
//! |---|---|---|
//! | base index `disk-<id>-g<N>` | the region's chunk store | from disk creation or reset until the next reset or the disk's release; `g0` (the source) until release |
//! | overlay `g<N>/data`, `g<N>/map` | `<data-dir>/disks/<id>/` on the serving node | one per generation; a reset starts an empty one |
//!
//! Creating a disk copies index entries, never chunk data. A base index is owned by its disk,
//! so deleting the image or snapshot it came from never takes the disk's bytes away; GC keeps
//! every chunk a committed index names, and `stencil admin gc` keeps the indexes of existing
//! disks.

mod device;
mod overlay;
mod registry;

pub use device::{Allocation, DiskDevice, DiskState};
pub use overlay::GRANULE;
pub use registry::DiskRegistry;

use std::sync::Arc;

use stencil_chunks::index::{IndexEntry, bitmap_from_extents};
use stencil_chunks::{ChunkStore, Digest, Index};

/// An index of `size` bytes for a new disk: `source`'s entries (or none, for a blank disk)
/// followed by zeros up to `size`. Fails if `size` is smaller than the source.
pub fn base_index(store: &ChunkStore, source: Option<&Index>, size: u64) -> Result<Index, String> {
    let chunker = source.map_or(store.config().chunker, Index::chunker);
    let keyed = source.map_or(store.config().key.is_some(), Index::keyed);
    let mut entries: Vec<IndexEntry> = source.map(|s| s.entries().to_vec()).unwrap_or_default();
    let src_size = source.map_or(0, Index::virtual_size);
    if size < src_size {
        return Err(format!(
            "The disk ({size} bytes) is smaller than its source ({src_size} bytes)"
        ));
    }
    if size > src_size {
        entries.push(IndexEntry {
            end: size,
            digest: Digest::ZERO,
        });
    }
    let bitmap = bitmap_from_extents(size, &source.map(Index::allocation).unwrap_or_default());
    Index::new(size, chunker, keyed, entries, bitmap).map_err(|e| e.to_string())
}

/// Commits `index` under `name` (its chunks are already stored).
pub fn commit_index(store: &ChunkStore, name: &str, index: &Index) -> Result<(), String> {
    let session = store.begin_session().map_err(|e| e.to_string())?;
    session.commit(name, index).map_err(|e| e.to_string())?;
    session.finish().map_err(|e| e.to_string())
}

/// Every base index name of disk `id`, for release.
pub fn base_index_names(store: &ChunkStore, id: &str) -> Vec<String> {
    let prefix = format!("disk-{id}-g");
    store
        .list_indexes()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

/// What a snapshot of a disk produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Disk size in bytes.
    pub virtual_size: u64,
    /// Bytes of data (not holes or zeros).
    pub data_bytes: u64,
    /// Bytes re-chunked (the ranges written since the base).
    pub rechunked_bytes: u64,
}

/// Snapshots a disk's current state into index `name`: only the ranges written since the base
/// are chunked; the rest of the base is shared by reference. The caller holds the device's
/// [`DiskDevice::freeze`] guard so the state cannot change meanwhile.
pub fn snapshot_state(
    store: &ChunkStore,
    state: &Arc<DiskState>,
    name: &str,
) -> Result<SnapshotStats, String> {
    state.flush().map_err(|e| e.to_string())?;
    let dirty = state.written_ranges();
    let session = store.begin_session().map_err(|e| e.to_string())?;
    let (index, _stats) = session
        .import_delta(state.base_index(), state.as_ref(), &dirty)
        .map_err(|e| e.to_string())?;
    session.commit(name, &index).map_err(|e| e.to_string())?;
    session.finish().map_err(|e| e.to_string())?;
    Ok(SnapshotStats {
        virtual_size: index.virtual_size(),
        data_bytes: index.data_bytes(),
        rechunked_bytes: dirty.iter().map(|r| r.end - r.start).sum(),
    })
}
