//! CreateImage from snapshots: the image shares the snapshots' indexes, so no bytes move; the
//! job checks that every chunk they name is present before the image becomes Available.

use serde::{Deserialize, Serialize};
use stencil_chunks::ChunkStore;
use stencil_domain::SnapshotId;

use super::{JobCtx, JobError};

/// The image and its snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSpec {
    /// The `Creating` image.
    pub image_id: String,
    /// Its snapshots, system first.
    pub snapshots: Vec<SnapshotId>,
}

/// Checks every snapshot's chunks.
pub fn run(store: &ChunkStore, spec: &CreateSpec, ctx: &JobCtx) -> Result<(), JobError> {
    ctx.set_total(spec.snapshots.len() as u64);
    for s in &spec.snapshots {
        if ctx.is_cancelled() {
            return Err(JobError::Cancelled);
        }
        let index = store.load_index(s.as_str()).map_err(|e| {
            JobError::failed(
                "InvalidSnapshotId.NotFound",
                format!("Snapshot {s} has no stored data: {e}"),
            )
        })?;
        let missing = store
            .missing(&index.data_digests())
            .map_err(JobError::internal)?;
        if let Some(d) = missing.first() {
            return Err(JobError::failed(
                "InvalidSnapshot.Corrupt",
                format!(
                    "Snapshot {s} names {} chunks the store does not hold (first: {d})",
                    missing.len()
                ),
            ));
        }
        ctx.advance(1);
    }
    Ok(())
}
