//! ResetDisk (back to a snapshot of the disk), ReInitDisk (back to the disk's source) and
//! ReplaceSystemDisk (a new system disk from another image).

use stencil_domain::requests::{ReplaceSystemDisk, ResetDisk};
use stencil_domain::{
    Disk, DiskId, DiskType, DomainError, Instance, InstanceStatus, SnapshotStatus,
};
use stencil_meta::Write;

use super::run::DEFAULT_SYSTEM_DISK_GIB;
use super::{DiskPlan, Instances};
use crate::disks::{base_index, commit_index};
use crate::lifecycle::device_name;
use crate::{Caller, ServiceError};

impl Instances {
    /// The instance a disk is attached to must be Stopped for a reset.
    async fn check_stopped(
        &self,
        caller: &Caller,
        disk: &Disk,
        operation: &'static str,
    ) -> Result<Option<Instance>, ServiceError> {
        let Some(id) = &disk.instance_id else {
            return Ok(None);
        };
        let instance = self.own_instance(caller, id.as_str()).await?;
        if instance.status != InstanceStatus::Stopped {
            return Err(DomainError::IncorrectInstanceStatus {
                instance: instance.id.to_string(),
                status: instance.status.to_string(),
                operation,
                needed: "Stopped",
            }
            .into());
        }
        Ok(Some(instance))
    }

    /// ResetDisk (`snapshot_id` given) or ReInitDisk (`None`).
    pub async fn reset_disk(
        &self,
        caller: &Caller,
        req: &ResetDisk,
        dry_run: bool,
    ) -> Result<(), ServiceError> {
        let disk = self.own_disk(caller, &req.disk_id).await?;
        self.check_node(&disk)?;
        let operation = if req.snapshot_id.is_some() {
            "ResetDisk"
        } else {
            "ReInitDisk"
        };
        // ReInitDisk needs an attached disk (In_use); ResetDisk also takes Available ones.
        if req.snapshot_id.is_none() && disk.status != stencil_domain::DiskStatus::InUse {
            return Err(DomainError::IncorrectDiskStatus {
                disk: disk.id.to_string(),
                status: disk.status.to_string(),
                operation,
                needed: "In_use",
            }
            .into());
        }
        self.check_stopped(caller, &disk, operation).await?;
        let source = match &req.snapshot_id {
            Some(sid) => {
                let snap = self
                    .lifecycle
                    .own_snapshot(caller, &disk.region, sid)
                    .await?;
                if snap.source_disk_id != disk.id.as_str() {
                    return Err(DomainError::SnapshotDiskMismatch {
                        snapshot: sid.clone(),
                        disk: disk.id.to_string(),
                    }
                    .into());
                }
                if snap.status != SnapshotStatus::Accomplished {
                    return Err(DomainError::SnapshotNotReady(sid.clone()).into());
                }
                Some(snap.id)
            }
            None => {
                // The ECS rule: no re-initialisation once the source is gone (even though the
                // disk keeps its own copy of the source's index).
                if let Some(image) = &disk.image_id
                    && self
                        .meta()
                        .get_image(&disk.region, image.as_str())
                        .await?
                        .is_none()
                {
                    return Err(DomainError::DiskSourceImageDeleted {
                        disk: disk.id.to_string(),
                        image: image.to_string(),
                    }
                    .into());
                }
                if disk.image_id.is_none()
                    && let Some(snap) = &disk.source_snapshot_id
                    && self.meta().get_snapshot(snap.as_str()).await?.is_none()
                {
                    return Err(DomainError::DiskSourceImageDeleted {
                        disk: disk.id.to_string(),
                        image: snap.to_string(),
                    }
                    .into());
                }
                None
            }
        };
        if dry_run {
            return Ok(());
        }
        let generation = disk.generation + 1;
        let base = match source {
            None => Disk::base_index_name(&disk.id, 0),
            Some(snap) => {
                let name = Disk::base_index_name(&disk.id, generation);
                let store = self.stores.get(&disk.region).cloned().ok_or_else(|| {
                    DomainError::Internal(format!("Region {} has no chunk store", disk.region))
                })?;
                let (n, size) = (name.clone(), disk.size_bytes());
                tokio::task::spawn_blocking(move || -> Result<(), String> {
                    let src = store.load_index(snap.as_str()).map_err(|e| e.to_string())?;
                    let index = base_index(&store, Some(&src), size.max(src.virtual_size()))?;
                    commit_index(&store, &n, &index)
                })
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?
                .map_err(DomainError::Internal)?;
                name
            }
        };
        let old_base = disk.base_index.clone();
        let mut new = disk.clone();
        new.generation = generation;
        new.base_index = base.clone();
        self.meta()
            .apply(vec![Write::ReplaceDisk {
                expected: Box::new(disk),
                new: Box::new(new.clone()),
            }])
            .await?;
        let device = self.device(&new)?;
        drop(device);
        if old_base != base
            && old_base != Disk::base_index_name(&new.id, 0)
            && let Some(store) = self.stores.get(&new.region)
        {
            let _ = store.delete_index(&old_base);
        }
        Ok(())
    }

    /// ReplaceSystemDisk: a Stopped instance gets a new system disk from `image_id`; the old
    /// one is released. Returns the new disk's ID.
    pub async fn replace_system_disk(
        &self,
        caller: &Caller,
        req: ReplaceSystemDisk,
        dry_run: bool,
    ) -> Result<Option<DiskId>, ServiceError> {
        let instance = self.own_instance(caller, &req.instance_id).await?;
        if instance.status != InstanceStatus::Stopped {
            return Err(DomainError::IncorrectInstanceStatus {
                instance: instance.id.to_string(),
                status: instance.status.to_string(),
                operation: "ReplaceSystemDisk",
                needed: "Stopped",
            }
            .into());
        }
        let region = instance.region.clone();
        let image = self
            .launch_image(
                caller,
                &region,
                req.image_id.as_str(),
                &instance.instance_type,
            )
            .await?;
        if image.disks.len() > 1 {
            return Err(DomainError::ImageHasDataDisks(image.id.to_string()).into());
        }
        let size_gib = match req.size_gib {
            Some(s) if s < image.size_gib => {
                return Err(DomainError::SystemDiskTooSmall {
                    size_gib: s,
                    image_gib: image.size_gib,
                }
                .into());
            }
            Some(s) => s,
            None => image.size_gib.max(DEFAULT_SYSTEM_DISK_GIB),
        };
        let old = self
            .meta()
            .get_disk(instance.system_disk.as_str())
            .await?
            .ok_or_else(|| DomainError::DiskNotFound(instance.system_disk.to_string()))?;
        self.check_node(&old)?;
        if dry_run {
            return Ok(None);
        }
        let plan = DiskPlan {
            id: DiskId::generate(&region),
            disk_type: DiskType::System,
            category: old.category,
            size_gib,
            device: device_name(0),
            image_id: Some(image.id.clone()),
            snapshot: image.disks[0].snapshot_id.clone(),
            delete_with_instance: true,
            name: old.name.clone(),
            description: old.description.clone(),
        };
        let mut disks = self
            .make_disks(
                caller,
                &region,
                &instance.zone_id,
                Some(&instance.id),
                vec![plan],
            )
            .await?;
        let mut disk = disks.remove(0);
        disk.product_code = image.product_code.clone();
        let mut new_instance = instance.clone();
        new_instance.system_disk = disk.id.clone();
        new_instance.image_id = image.id.clone();
        new_instance.os_type = image.os_type;
        new_instance.os_name = image.os_name_en.clone();
        new_instance.architecture = image.architecture;
        new_instance.product_code = image.product_code.clone();
        let mut writes = vec![
            Write::ReplaceInstance {
                expected: Box::new(instance.clone()),
                new: Box::new(new_instance),
            },
            Write::DeleteDisk(old.id.to_string()),
            Write::InsertDisk(Box::new(disk.clone())),
        ];
        writes.extend(super::run::subscription(caller, &image, chrono::Utc::now()));
        if let Err(e) = self.meta().apply(writes).await {
            self.release(vec![disk]).await;
            return Err(e.into());
        }
        let id = disk.id.clone();
        self.attach(vec![disk]).await?;
        self.release(vec![old]).await;
        self.refresh_usage(&region, instance.image_id.as_str())
            .await?;
        self.refresh_usage(&region, image.id.as_str()).await?;
        Ok(Some(id))
    }
}
