//! CreateSnapshot of a disk, and CreateImage from an instance (a snapshot of every disk, taken
//! together, then an image whose disk mappings name them). Both are one durable task of the
//! `jobs::snapshot` kind.

use chrono::{DateTime, Utc};
use stencil_domain::requests::{CreateImage, CreateSnapshot};
use stencil_domain::{
    Disk, DiskDeviceMapping, DiskType, DomainError, ImageFeatures, ImageId, ImdsSupport, QuotaKind,
    Snapshot, SnapshotId, SnapshotStatus, Tag, Task, TaskAction,
};
use stencil_meta::{SnapshotQuery, Write};

use super::Instances;
use crate::jobs::JobSpec;
use crate::jobs::snapshot::SnapshotSpec;
use crate::lifecycle::{TokenCheck, new_custom_image};
use crate::{Caller, ServiceError};

/// A `progressing` snapshot of `disk`.
fn new_snapshot(
    disk: &Disk,
    id: &SnapshotId,
    name: &str,
    description: &str,
    tags: Vec<Tag>,
    now: DateTime<Utc>,
) -> Snapshot {
    Snapshot {
        id: id.clone(),
        region: disk.region.clone(),
        owner: Some(disk.owner.clone()),
        name: name.to_string(),
        description: description.to_string(),
        status: SnapshotStatus::Progressing,
        progress: 0,
        creation_time: now,
        source_disk_id: disk.id.to_string(),
        source_disk_size_gib: disk.size_gib,
        source_disk_type: disk.disk_type,
        virtual_size: disk.size_bytes(),
        data_bytes: 0,
        encrypted: disk.encrypted,
        kms_key_id: disk.kms_key_id.clone(),
        source_image_id: String::new(),
        resource_group_id: String::new(),
        tags,
    }
}

impl Instances {
    /// Fails if a snapshot of `disk` is still being created, or the snapshot quota is used up.
    async fn check_snapshot_allowed(&self, disk: &Disk, adding: u64) -> Result<(), ServiceError> {
        let mut q = SnapshotQuery::new(&disk.region);
        q.disk_id = Some(disk.id.to_string());
        q.status = Some(SnapshotStatus::Progressing);
        if self.meta().list_snapshots(&q).await?.total > 0 {
            return Err(DomainError::DiskCreatingSnapshot(disk.id.to_string()).into());
        }
        let used = self
            .meta()
            .count_snapshots(&disk.region, disk.owner.as_str())
            .await?;
        Ok(self
            .lifecycle
            .quotas()
            .check(QuotaKind::Snapshots, used, adding)?)
    }

    /// CreateSnapshot: returns the new snapshot's ID at once; the task makes it accomplished.
    pub async fn create_snapshot(
        &self,
        caller: &Caller,
        req: CreateSnapshot,
        dry_run: bool,
    ) -> Result<Option<SnapshotId>, ServiceError> {
        let disk = self.own_disk(caller, &req.disk_id).await?;
        self.check_node(&disk)?;
        let token = self
            .lifecycle
            .check_token(
                caller,
                &disk.region,
                "CreateSnapshot",
                req.client_token.as_deref(),
                format!("{req:?}"),
            )
            .await?;
        if let TokenCheck::Replay(id) = &token {
            return Ok(SnapshotId::parse(id));
        }
        self.check_snapshot_allowed(&disk, 1).await?;
        if dry_run {
            return Ok(None);
        }
        let now = Utc::now();
        let id = SnapshotId::generate(&disk.region);
        let snapshot = new_snapshot(&disk, &id, &req.name, &req.description, req.tags, now);
        let spec = JobSpec::Snapshot(SnapshotSpec {
            disks: vec![(disk.id.clone(), id.clone())],
            image_id: None,
        });
        let task = Task::new(
            &disk.region,
            Some(caller.account.clone()),
            TaskAction::CreateSnapshot,
            id.as_str(),
            spec.encode(),
            now,
        );
        let mut writes = vec![
            Write::InsertSnapshot(snapshot),
            Write::InsertTask(task.clone()),
        ];
        if let Some(t) = token.record(id.to_string()) {
            writes.push(Write::InsertToken(t));
        }
        self.meta().apply(writes).await?;
        self.lifecycle.runner().start(task);
        Ok(Some(id))
    }

    /// CreateImage from `InstanceId` (reference §5.2): a snapshot of every disk, then an image
    /// whose disk mappings name them. The image inherits the source image's attributes and
    /// ProductCode. Returns the image ID.
    pub async fn create_image_from_instance(
        &self,
        caller: &Caller,
        req: CreateImage,
        dry_run: bool,
    ) -> Result<Option<String>, ServiceError> {
        let region = req.region.clone();
        self.lifecycle.regions().get(&region)?;
        let instance_id = req.instance_id.clone().unwrap_or_default();
        let instance = match self.own_instance(caller, &instance_id).await {
            Ok(i) if i.region == region => i,
            Ok(_) => return Err(DomainError::InstanceNotFound(instance_id).into()),
            Err(e) => return Err(e),
        };
        let token = self
            .lifecycle
            .check_token(
                caller,
                &region,
                "CreateImage",
                req.client_token.as_deref(),
                format!("{req:?}"),
            )
            .await?;
        if let TokenCheck::Replay(image_id) = &token {
            return Ok(Some(image_id.clone()));
        }
        let mut disks = Vec::new();
        for id in instance.disk_ids() {
            let disk = self
                .meta()
                .get_disk(id.as_str())
                .await?
                .ok_or_else(|| DomainError::DiskNotFound(id.to_string()))?;
            self.check_snapshot_allowed(&disk, 0).await?;
            disks.push(disk);
        }
        let used = self
            .meta()
            .count_snapshots(&region, caller.account.as_str())
            .await?;
        self.lifecycle
            .quotas()
            .check(QuotaKind::Snapshots, used, disks.len() as u64)?;
        if let Some(name) = &req.name {
            self.lifecycle
                .check_name_free(&region, &caller.account, name)
                .await?;
        }
        self.lifecycle
            .check_image_quota(&region, &caller.account)
            .await?;
        self.lifecycle
            .check_family_quota(&region, &caller.account, &req.family)
            .await?;
        // The source image's attributes, where it still exists.
        let source = self
            .meta()
            .get_image(&region, instance.image_id.as_str())
            .await?;
        for d in &disks {
            self.check_node(d)?;
        }
        if dry_run {
            return Ok(None);
        }

        let now = Utc::now();
        let image_id = ImageId::generate(&region);
        let pairs: Vec<(Disk, SnapshotId)> = disks
            .into_iter()
            .map(|d| {
                let s = SnapshotId::generate(&region);
                (d, s)
            })
            .collect();
        let platform = req
            .platform
            .clone()
            .or(source.as_ref().map(|s| s.platform.clone()))
            .unwrap_or_default();
        let base = new_custom_image(&image_id, &region, &caller.account, platform, now);
        let mut image = match &source {
            Some(s) => stencil_domain::Image {
                architecture: s.architecture,
                boot_mode: s.boot_mode,
                os_type: s.os_type,
                os_name: s.os_name.clone(),
                os_name_en: s.os_name_en.clone(),
                is_support_cloudinit: s.is_support_cloudinit,
                is_support_io_optimized: s.is_support_io_optimized,
                license_type: s.license_type.clone(),
                license_billed: s.license_billed,
                features: s.features.clone(),
                ..base
            },
            None => base,
        };
        image.name = req
            .name
            .clone()
            .unwrap_or_else(|| format!("image-{image_id}"));
        image.description = req.description.clone();
        image.family = req.family.clone();
        image.version = req.version.clone();
        image.product_code = instance.product_code.clone();
        if let Some(a) = req.architecture {
            image.architecture = a;
        }
        if let Some(b) = req.boot_mode {
            image.boot_mode = b;
        }
        if let Some(imds) = req.imds_support {
            image.features = ImageFeatures {
                imds_support: Some(imds),
                ..image.features
            };
        } else if image.features.imds_support.is_none() {
            image.features.imds_support = Some(ImdsSupport::V1);
        }
        image.resource_group_id = req.resource_group_id.clone();
        image.tags = req.tags.clone();
        image.size_gib = pairs.first().map_or(0, |(d, _)| d.size_gib);
        image.disks = pairs
            .iter()
            .map(|(d, s)| DiskDeviceMapping {
                disk_type: d.disk_type,
                device: d.device.clone(),
                size_gib: d.size_gib,
                snapshot_id: Some(s.clone()),
                format: None,
                import_oss_bucket: None,
                import_oss_object: None,
                progress: 0,
                encrypted: d.encrypted,
            })
            .collect();
        debug_assert!(
            image
                .disks
                .first()
                .is_some_and(|d| d.disk_type == DiskType::System)
        );
        let spec = JobSpec::Snapshot(SnapshotSpec {
            disks: pairs
                .iter()
                .map(|(d, s)| (d.id.clone(), s.clone()))
                .collect(),
            image_id: Some(image_id.to_string()),
        });
        let task = Task::new(
            &region,
            Some(caller.account.clone()),
            TaskAction::CreateImage,
            image_id.as_str(),
            spec.encode(),
            now,
        );
        let mut writes: Vec<Write> = pairs
            .iter()
            .map(|(d, s)| {
                let mut snap = new_snapshot(
                    d,
                    s,
                    "",
                    &format!("Created for image {image_id} from instance {}", instance.id),
                    Vec::new(),
                    now,
                );
                snap.source_image_id = image_id.to_string();
                Write::InsertSnapshot(snap)
            })
            .collect();
        writes.push(Write::InsertImage(image));
        writes.push(Write::InsertTask(task.clone()));
        if let Some(t) = token.record(image_id.to_string()) {
            writes.push(Write::InsertToken(t));
        }
        self.meta().apply(writes).await?;
        self.lifecycle.runner().start(task);
        Ok(Some(image_id.to_string()))
    }
}
