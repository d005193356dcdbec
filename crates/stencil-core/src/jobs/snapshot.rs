//! Disk snapshots (CreateSnapshot, and CreateImage from an instance): every disk of the task
//! is frozen at once (writes wait, reads go on), then each is chunked incrementally: only the
//! ranges written since the disk's base are read and chunked, the rest of the base index is
//! shared by reference. Freezing all the disks together makes the snapshots of one instance a
//! consistent group.

use serde::{Deserialize, Serialize};
use stencil_domain::{DiskId, SnapshotId};

use super::{JobCtx, JobEnv, JobError};
use crate::disks::{SnapshotStats, snapshot_state};

/// The disks to snapshot and, for CreateImage, the image they make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSpec {
    /// `(disk, snapshot)` pairs, system disk first.
    pub disks: Vec<(DiskId, SnapshotId)>,
    /// The `Creating` image, for CreateImage from an instance.
    pub image_id: Option<String>,
}

/// Snapshots every disk of `spec`.
pub fn run(
    env: &JobEnv,
    spec: &SnapshotSpec,
    ctx: &JobCtx,
) -> Result<Vec<SnapshotStats>, JobError> {
    let mut devices = Vec::new();
    for (disk, _) in &spec.disks {
        let dev = env.disks.get(disk.as_str()).ok_or_else(|| {
            JobError::failed(
                "InvalidDiskId.NotFound",
                format!("Disk {disk} is not open on this node"),
            )
        })?;
        devices.push(dev);
    }
    let guards: Vec<_> = devices.iter().map(|d| d.freeze()).collect();
    let mut states = Vec::new();
    for dev in &devices {
        states.push(dev.state().map_err(|e| {
            JobError::failed("InvalidDiskId.NotFound", format!("Disk {}: {e}", dev.id()))
        })?);
    }
    let total: u64 = states
        .iter()
        .flat_map(|s| s.written_ranges())
        .map(|r| r.end - r.start)
        .sum();
    ctx.set_total(total.max(1));
    let mut out = Vec::new();
    for (state, (disk, snapshot)) in states.iter().zip(&spec.disks) {
        if ctx.is_cancelled() {
            return Err(JobError::Cancelled);
        }
        // The disk's own store: an encrypted disk's snapshot stays encrypted with its key.
        let stats = snapshot_state(state.store(), state, snapshot.as_str())
            .map_err(|e| JobError::internal(format!("Snapshot {snapshot} of disk {disk}: {e}")))?;
        ctx.advance(stats.rechunked_bytes);
        out.push(stats);
    }
    drop(guards);
    Ok(out)
}
