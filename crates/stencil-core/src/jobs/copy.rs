//! CopyImage: each disk's index goes from the source region's store to the destination's,
//! moving only the chunks the destination lacks (`stencil_chunks::transfer`). Run again after
//! a restart, it sends only what had not arrived.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use stencil_chunks::transfer::{TransferHooks, transfer_index};
use stencil_domain::SnapshotId;

use super::{JobCtx, JobEnv, JobError};

/// The copy and where its bytes come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopySpec {
    /// The copy (in the task's region, the destination).
    pub image_id: String,
    /// The source image's region.
    pub source_region: String,
    /// The source image.
    pub source_image_id: String,
    /// (source snapshot, KMS key of the source snapshot or "", the copy's snapshot) per disk,
    /// system disk first.
    pub disks: Vec<(SnapshotId, String, SnapshotId)>,
    /// The key the copy is encrypted with ("" for none).
    pub kms_key_id: String,
}

/// One copied disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopiedDisk {
    /// Virtual size.
    pub virtual_size: u64,
    /// Guest bytes that are data.
    pub data_bytes: u64,
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyResult {
    /// Per disk, in spec order.
    pub disks: Vec<CopiedDisk>,
    /// Stored bytes this run sent.
    pub bytes_sent: u64,
}

struct Hooks<'a> {
    ctx: &'a JobCtx,
    sent: AtomicU64,
}

impl TransferHooks for Hooks<'_> {
    fn cancelled(&self) -> bool {
        self.ctx.is_cancelled()
    }
    fn advance(&self, n: u64) {
        self.ctx.advance(n);
    }
    fn sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::AcqRel);
        self.ctx.count_sent(n);
    }
}

/// Copies every disk of `spec` into `region`.
pub fn run(
    env: &JobEnv,
    region: &str,
    spec: &CopySpec,
    ctx: &JobCtx,
) -> Result<CopyResult, JobError> {
    let dst = env
        .stores
        .for_key(region, &spec.kms_key_id)
        .ok_or_else(|| {
            JobError::failed(
                "InvalidParameter.KMSKeyId.NotFound",
                format!(
                    "The KMS key {:?} of region {region} is no longer configured",
                    spec.kms_key_id
                ),
            )
        })?;
    let mut sources = Vec::new();
    let mut total = 0u64;
    for (snap, key, _) in &spec.disks {
        let src = env
            .stores
            .for_key(&spec.source_region, key)
            .ok_or_else(|| {
                JobError::failed(
                    "InvalidParameter.KMSKeyId.NotFound",
                    format!("The key of snapshot {snap} is no longer configured"),
                )
            })?;
        let index = src.load_index(snap.as_str()).map_err(|e| {
            JobError::failed(
                "InvalidSnapshotId.NotFound",
                format!("The source snapshot {snap} has no stored data: {e}"),
            )
        })?;
        total += index.data_bytes();
        sources.push(src);
    }
    ctx.set_total(total.max(1));
    let session = dst.begin_session().map_err(JobError::internal)?;
    let hooks = Hooks {
        ctx,
        sent: AtomicU64::new(0),
    };
    let mut disks = Vec::new();
    for ((snap, _, to), src) in spec.disks.iter().zip(sources) {
        let stats = transfer_index(src, snap.as_str(), &session, to.as_str(), &hooks)
            .map_err(|e| match e {
                stencil_chunks::Error::CorruptChunk { .. }
                | stencil_chunks::Error::MissingChunk { .. } => JobError::failed(
                    "InvalidSnapshot.Corrupt",
                    format!("Snapshot {snap} cannot be copied: {e}"),
                ),
                e => JobError::internal(e),
            })?
            .ok_or(JobError::Cancelled)?;
        disks.push(CopiedDisk {
            virtual_size: stats.virtual_size,
            data_bytes: stats.data_bytes,
        });
    }
    session.finish().map_err(JobError::internal)?;
    Ok(CopyResult {
        disks,
        bytes_sent: hooks.sent.load(Ordering::Acquire),
    })
}
