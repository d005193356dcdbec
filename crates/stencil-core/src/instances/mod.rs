//! Instances and disks, as far as images need them (reference §5.18): RunInstances and
//! CreateInstance with the compatibility rules, the status machine, DescribeInstances and
//! DescribeDisks, CreateSnapshot, ReplaceSystemDisk, ResetDisk and ReInitDisk.
//!
//! | action | needs | result |
//! |---|---|---|
//! | RunInstances / CreateInstance | image visible and Available (or Deprecated), compatible with the type, system disk ≥ image | instances Running / Stopped; disks In_use, each a base index copied from its source (no data moves) |
//! | StartInstance | Stopped | Running |
//! | StopInstance | Running | Stopped (overlays flushed) |
//! | DeleteInstance | Stopped, or `Force` | instance and its `DeleteWithInstance` disks released |
//! | CreateSnapshot | disk of the caller, no snapshot in progress | `progressing` → `accomplished` (a task) |
//! | ReplaceSystemDisk | Stopped; image as for RunInstances, without data disks | a new system disk |
//! | ResetDisk | instance Stopped; a snapshot of this disk | the disk's bytes are the snapshot's |
//! | ReInitDisk | instance Stopped; the source image (or snapshot) still exists | the disk's bytes are its source's |
//!
//! Every state change is a compare-and-swap of the stored record, so two racing requests
//! cannot both move an instance out of the same status.

mod power;
mod reset;
mod run;
mod snapshot;

use std::sync::Arc;

use chrono::Utc;
use stencil_domain::{
    Disk, DiskCategory, DiskId, DiskStatus, DiskType, DomainError, Image, ImageKind, Instance,
    SnapshotId, Usage,
};
use stencil_meta::{DiskQuery, InstanceQuery, MetaError, MetaStore, Page, Write};

use crate::disks::{DiskRegistry, base_index, commit_index};
use crate::{Caller, ImageService, Lifecycle, ServiceError, stores::RegionStores};

/// The instance and disk service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Instances {
    lifecycle: Lifecycle,
    images: ImageService,
    stores: RegionStores,
    disks: DiskRegistry,
}

/// What a new disk is made from.
#[derive(Debug, Clone)]
pub(crate) struct DiskPlan {
    pub(crate) id: DiskId,
    pub(crate) disk_type: DiskType,
    pub(crate) category: DiskCategory,
    pub(crate) size_gib: u64,
    pub(crate) device: String,
    pub(crate) image_id: Option<stencil_domain::ImageId>,
    pub(crate) snapshot: Option<SnapshotId>,
    pub(crate) delete_with_instance: bool,
    pub(crate) name: String,
    pub(crate) description: String,
}

impl Instances {
    /// A service over the lifecycle's metadata, the image queries and the disks of this node.
    pub fn new(
        lifecycle: Lifecycle,
        images: ImageService,
        stores: RegionStores,
        disks: DiskRegistry,
    ) -> Self {
        Instances {
            lifecycle,
            images,
            stores,
            disks,
        }
    }

    /// The disks this node serves (for the NBD listener).
    pub fn registry(&self) -> &DiskRegistry {
        &self.disks
    }

    fn meta(&self) -> &MetaStore {
        self.lifecycle.meta()
    }

    /// Opens every stored disk, so NBD serves them and snapshot tasks can resume. Returns how
    /// many; a disk that cannot be opened is logged and skipped.
    pub async fn open_all(&self) -> Result<usize, ServiceError> {
        let mut disks = self.meta().all_disks().await?;
        disks.retain(|d| self.serves(d));
        let registry = self.disks.clone();
        let n = tokio::task::spawn_blocking(move || {
            let mut n = 0;
            for d in &disks {
                match registry.attach(d) {
                    Ok(_) => n += 1,
                    Err(e) => tracing::warn!(disk = %d.id, "cannot open disk: {e}"),
                }
            }
            n
        })
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok(n)
    }

    /// The caller's instance `id`, or `InstanceNotFound`.
    pub(crate) async fn own_instance(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Instance, ServiceError> {
        match self.meta().get_instance(id).await? {
            Some(i) if i.owner == caller.account => Ok(i),
            _ => Err(DomainError::InstanceNotFound(id.to_string()).into()),
        }
    }

    /// The caller's disk `id`, or `DiskNotFound`.
    pub(crate) async fn own_disk(&self, caller: &Caller, id: &str) -> Result<Disk, ServiceError> {
        match self.meta().get_disk(id).await? {
            Some(d) if d.owner == caller.account => Ok(d),
            _ => Err(DomainError::DiskNotFound(id.to_string()).into()),
        }
    }

    /// DescribeInstances: the caller's instances in a region.
    pub async fn describe_instances(
        &self,
        caller: &Caller,
        req: &stencil_domain::requests::DescribeInstances,
    ) -> Result<Page<Instance>, ServiceError> {
        self.lifecycle.regions().get(&req.region)?;
        let query = InstanceQuery {
            owner: Some(caller.account.to_string()),
            ids: req.instance_ids.clone(),
            status: req.status,
            image_id: req.image_id.clone(),
            name: req.name.clone(),
            instance_type: req.instance_type.clone(),
            tags: req.tags.clone(),
            offset: req.offset,
            limit: req.limit,
            ..InstanceQuery::new(&req.region)
        };
        Ok(self.meta().list_instances(&query).await?)
    }

    /// DescribeDisks: the caller's disks in a region.
    pub async fn describe_disks(
        &self,
        caller: &Caller,
        req: &stencil_domain::requests::DescribeDisks,
    ) -> Result<Page<Disk>, ServiceError> {
        self.lifecycle.regions().get(&req.region)?;
        let query = DiskQuery {
            owner: Some(caller.account.to_string()),
            ids: req.disk_ids.clone(),
            instance_id: req.instance_id.clone(),
            disk_type: req.disk_type,
            category: req.category,
            status: req.status,
            snapshot_id: req.snapshot_id.clone(),
            name: req.name.clone(),
            tags: req.tags.clone(),
            offset: req.offset,
            limit: req.limit,
            ..DiskQuery::new(&req.region)
        };
        Ok(self.meta().list_disks(&query).await?)
    }

    /// Commits the base index of each planned disk (blocking work on a worker thread) and
    /// returns the disk records.
    pub(crate) async fn make_disks(
        &self,
        caller: &Caller,
        region: &str,
        zone: &str,
        instance: Option<&stencil_domain::InstanceId>,
        plans: Vec<DiskPlan>,
    ) -> Result<Vec<Disk>, ServiceError> {
        let store =
            self.stores.get(region).cloned().ok_or_else(|| {
                DomainError::Internal(format!("Region {region} has no chunk store"))
            })?;
        // A disk made from an encrypted snapshot is encrypted with the same key.
        let mut keys = Vec::with_capacity(plans.len());
        for p in &plans {
            let key = match &p.snapshot {
                Some(s) => self
                    .meta()
                    .get_snapshot(s.as_str())
                    .await?
                    .map(|snap| snap.kms_key_id)
                    .unwrap_or_default(),
                None => String::new(),
            };
            keys.push(key);
        }
        let names = plans.clone();
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            for p in &names {
                let source =
                    match &p.snapshot {
                        Some(s) => Some(store.load_index(s.as_str()).map_err(|e| {
                            format!("The data of snapshot {s} cannot be read: {e}")
                        })?),
                        None => None,
                    };
                let size = p.size_gib * stencil_domain::GIB;
                let size = size.max(source.as_ref().map_or(0, |s| s.virtual_size()));
                let index = base_index(&store, source.as_ref(), size)?;
                commit_index(&store, &Disk::base_index_name(&p.id, 0), &index)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))?
        .map_err(DomainError::Internal)?;
        let now = Utc::now();
        Ok(plans
            .into_iter()
            .zip(keys)
            .map(|(p, kms_key_id)| Disk {
                base_index: Disk::base_index_name(&p.id, 0),
                id: p.id,
                region: region.to_string(),
                zone_id: zone.to_string(),
                owner: caller.account.clone(),
                instance_id: instance.cloned(),
                name: p.name,
                description: p.description,
                disk_type: p.disk_type,
                category: p.category,
                size_gib: p.size_gib,
                device: p.device,
                status: if instance.is_some() {
                    DiskStatus::InUse
                } else {
                    DiskStatus::Available
                },
                creation_time: now,
                attached_time: instance.map(|_| now),
                image_id: p.image_id,
                source_snapshot_id: p.snapshot,
                delete_with_instance: p.delete_with_instance,
                product_code: String::new(),
                encrypted: !kms_key_id.is_empty(),
                kms_key_id,
                generation: 0,
                node: self.node().to_string(),
                tags: Vec::new(),
            })
            .collect())
    }

    /// This node's ID: the disks it creates are served here.
    fn node(&self) -> &str {
        self.lifecycle.runner().node()
    }

    /// Whether this node holds the disk's overlay (disks from before scale-out: any node).
    fn serves(&self, disk: &Disk) -> bool {
        disk.node.is_empty() || disk.node == self.node()
    }

    /// Refuses work on the bytes of a disk another node serves (its overlay is in that node's
    /// `data_dir`): opening it here would show the disk without what was written to it.
    pub(crate) fn check_node(&self, disk: &Disk) -> Result<(), ServiceError> {
        if self.serves(disk) {
            return Ok(());
        }
        Err(DomainError::DiskOnOtherNode {
            disk: disk.id.to_string(),
            node: disk.node.clone(),
        }
        .into())
    }

    /// Opens disks on this node after their records are stored.
    pub(crate) async fn attach(&self, disks: Vec<Disk>) -> Result<(), ServiceError> {
        for d in &disks {
            self.check_node(d)?;
        }
        let registry = self.disks.clone();
        tokio::task::spawn_blocking(move || {
            disks
                .iter()
                .try_for_each(|d| registry.attach(d).map(|_| ()))
        })
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))?
        .map_err(|e| DomainError::Internal(format!("Cannot open disk: {e}")).into())
    }

    /// Closes disks for good and removes their base indexes.
    pub(crate) async fn release(&self, disks: Vec<Disk>) {
        let registry = self.disks.clone();
        let stores = self.stores.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for d in &disks {
                registry.release(d.id.as_str());
                if let Some(store) = stores.get(&d.region) {
                    for name in crate::disks::base_index_names(store, d.id.as_str()) {
                        if let Err(e) = store.delete_index(&name) {
                            tracing::warn!(index = name, "cannot delete base index: {e}");
                        }
                    }
                }
            }
        })
        .await;
    }

    /// Sets the image's `Usage` to what its instances say (custom images only: a public
    /// image's record is shared by every account). Retried on a concurrent change.
    pub(crate) async fn refresh_usage(
        &self,
        region: &str,
        image_id: &str,
    ) -> Result<(), ServiceError> {
        for _ in 0..16 {
            let Some(image) = self.meta().get_image(region, image_id).await? else {
                return Ok(());
            };
            if image.kind != ImageKind::Custom {
                return Ok(());
            }
            let used = self
                .meta()
                .count_instances_using_image(region, image_id)
                .await?
                > 0;
            let usage = if used { Usage::Instance } else { Usage::None };
            if image.usage == usage {
                return Ok(());
            }
            let new = Image {
                usage,
                ..image.clone()
            };
            match self
                .meta()
                .apply(vec![Write::ReplaceImage {
                    expected: Box::new(image),
                    new: Box::new(new),
                }])
                .await
            {
                Err(MetaError::Conflict(_)) => continue,
                r => return Ok(r?),
            }
        }
        Ok(())
    }

    /// The registry's device for a disk, opened if needed.
    pub(crate) fn device(
        &self,
        disk: &Disk,
    ) -> Result<Arc<crate::disks::DiskDevice>, ServiceError> {
        self.check_node(disk)?;
        self.disks
            .attach(disk)
            .map_err(|e| DomainError::Internal(format!("Cannot open disk {}: {e}", disk.id)).into())
    }
}
