//! DescribeSnapshots and DeleteSnapshot (reference §5.17).

use stencil_domain::requests::{DeleteSnapshot, DescribeSnapshots};
use stencil_domain::{DomainError, Snapshot, SnapshotUsage};
use stencil_meta::{Page, SnapshotQuery};

use super::Lifecycle;
use crate::{Caller, ServiceError};

/// A snapshot and what uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotView {
    /// The record.
    pub snapshot: Snapshot,
    /// Image, disk, both or none.
    pub usage: SnapshotUsage,
}

impl Lifecycle {
    /// The caller's snapshot `id` in `region`, or `SnapshotNotFound`.
    pub(crate) async fn own_snapshot(
        &self,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<Snapshot, ServiceError> {
        match self.meta.get_snapshot(id).await? {
            Some(s) if s.region == region && s.owner.as_ref() == Some(&caller.account) => Ok(s),
            _ => Err(DomainError::SnapshotNotFound(id.to_string()).into()),
        }
    }

    /// Lists the caller's snapshots.
    pub async fn describe_snapshots(
        &self,
        caller: &Caller,
        req: &DescribeSnapshots,
    ) -> Result<Page<SnapshotView>, ServiceError> {
        self.regions.get(&req.region)?;
        let page = self
            .meta
            .list_snapshots(&SnapshotQuery {
                region: req.region.clone(),
                owner: Some(caller.account.as_str().to_string()),
                ids: req.snapshot_ids.clone(),
                name: req.name.clone(),
                status: req.status,
                disk_type: req.disk_type,
                usage: req.usage,
                encrypted: req.encrypted,
                disk_id: req.disk_id.clone(),
                tags: req.tags.clone(),
                offset: req.offset,
                limit: req.limit,
            })
            .await?;
        let mut items = Vec::with_capacity(page.items.len());
        for snapshot in page.items {
            let used = !self
                .meta
                .images_using_snapshot(snapshot.id.as_str())
                .await?
                .is_empty();
            let disks = !self
                .meta
                .disks_from_snapshot(snapshot.id.as_str())
                .await?
                .is_empty();
            items.push(SnapshotView {
                usage: match (used, disks) {
                    (true, true) => SnapshotUsage::ImageDisk,
                    (true, false) => SnapshotUsage::Image,
                    (false, true) => SnapshotUsage::Disk,
                    (false, false) => SnapshotUsage::None,
                },
                snapshot,
            });
        }
        Ok(Page {
            total: page.total,
            items,
        })
    }

    /// Deletes a snapshot no image uses (and no disk, unless `Force`). Unknown IDs are
    /// ignored, as the reference says.
    pub async fn delete_snapshot(
        &self,
        caller: &Caller,
        req: &DeleteSnapshot,
    ) -> Result<(), ServiceError> {
        let Some(snapshot) = self.meta.get_snapshot(&req.snapshot_id).await? else {
            return Ok(());
        };
        if snapshot.owner.as_ref() != Some(&caller.account) {
            return Ok(());
        }
        let images = self.meta.images_using_snapshot(&req.snapshot_id).await?;
        if !images.is_empty() {
            return Err(DomainError::SnapshotCreatedImage {
                snapshot: req.snapshot_id.clone(),
                images: images.join(", "),
            }
            .into());
        }
        // Disks made from it keep their own copy of its index; without Force the ECS rule
        // refuses, and with it those disks can no longer be re-initialised (ReInitDisk).
        let disks = self.meta.disks_from_snapshot(&req.snapshot_id).await?;
        if !disks.is_empty() && !req.force {
            return Err(DomainError::SnapshotCreatedDisk {
                snapshot: req.snapshot_id.clone(),
                disks: disks
                    .iter()
                    .map(|d| d.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into());
        }
        self.meta
            .apply(vec![stencil_meta::Write::DeleteSnapshot(
                req.snapshot_id.clone(),
            )])
            .await?;
        // The record is gone first: a crash now leaves an unreferenced index (its chunks stay
        // until the index is removed), never a snapshot whose data is missing.
        if let Some(store) = self.runner.env().stores.get(&snapshot.region)
            && let Err(e) = store.delete_index(&req.snapshot_id)
        {
            tracing::warn!(snapshot = %req.snapshot_id, "cannot delete index: {e}");
        }
        Ok(())
    }
}
