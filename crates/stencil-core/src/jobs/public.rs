//! The bytes of a public catalog image: its image file imported once, or a blank disk of its
//! size stored as a single ZERO entry (no chunk at all).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use stencil_chunks::index::{IndexEntry, bitmap_len};
use stencil_chunks::{ChunkStore, Digest, Index};
use stencil_domain::{ImageStatus, SnapshotId};

use super::source::FormatSource;
use super::{JobCtx, JobError};

/// One public image's system disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSpec {
    /// The catalog image.
    pub image_id: String,
    /// The snapshot (and index) that holds its disk.
    pub snapshot_id: SnapshotId,
    /// The image file, already resolved; `None` for a blank disk.
    pub file: Option<PathBuf>,
    /// Catalog size in GiB (the blank disk's size, the minimum for a file).
    pub size_gib: u64,
    /// The catalog status the image takes once its bytes are stored.
    pub status: ImageStatus,
}

/// What was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicResult {
    /// Guest size in bytes.
    pub virtual_size: u64,
    /// Bytes in non-zero chunks.
    pub data_bytes: u64,
}

/// A blank disk of `size` bytes: one ZERO entry and an empty allocation bitmap.
pub fn blank_index(store: &ChunkStore, size: u64) -> Result<Index, stencil_chunks::Error> {
    let entries = vec![IndexEntry {
        end: size,
        digest: Digest::ZERO,
    }];
    Index::new(
        size,
        store.config().chunker,
        store.config().key.is_some(),
        entries,
        vec![0; bitmap_len(size) as usize],
    )
}

/// Stores the disk and commits its index.
pub fn run(store: &ChunkStore, spec: &PublicSpec, ctx: &JobCtx) -> Result<PublicResult, JobError> {
    let _ = store.delete_index(spec.snapshot_id.as_str());
    let session = store.begin_session().map_err(JobError::internal)?;
    let (index, data_bytes) = match &spec.file {
        None => {
            let index = blank_index(store, spec.size_gib << 30).map_err(JobError::internal)?;
            (index, 0)
        }
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| {
                JobError::failed(
                    "InvalidImage.NotFound",
                    format!("Cannot open catalog image file {}: {e}", path.display()),
                )
            })?;
            let reader = stencil_formats::open(file, None, path).map_err(|e| {
                JobError::failed("InvalidImage.Corrupt", format!("{}: {e}", path.display()))
            })?;
            let source = FormatSource {
                reader: reader.as_ref(),
                ctx,
            };
            let (index, stats) = session.import(&source).map_err(JobError::internal)?;
            (index, stats.data_bytes)
        }
    };
    session
        .commit(spec.snapshot_id.as_str(), &index)
        .map_err(JobError::internal)?;
    session.finish().map_err(JobError::internal)?;
    Ok(PublicResult {
        virtual_size: index.virtual_size(),
        data_bytes,
    })
}
