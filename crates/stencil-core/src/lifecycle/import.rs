//! ImportImage (reference §5.3): checks the request against the buckets and quotas, creates the
//! `Creating` image and its task in one transaction, and starts the task.

use chrono::Utc;
use stencil_domain::requests::ImportImage;
use stencil_domain::{
    DiskDeviceMapping, DiskType, DomainError, Image, ImageFeatures, ImageId, QuotaKind,
    RelatedItem, SnapshotId, Task, TaskAction,
};
use stencil_meta::Write;

use super::tokens::TokenCheck;
use super::{Lifecycle, new_custom_image};
use crate::jobs::JobSpec;
use crate::jobs::import::{ImportDiskSpec, ImportSpec};
use crate::{Caller, ServiceError};

/// What ImportImage answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The new image.
    pub image_id: String,
    /// Its import task.
    pub task_id: String,
}

/// The device of the `i`th disk (0 = system).
pub(crate) fn device_name(i: usize) -> String {
    format!("/dev/xvd{}", (b'a' + i as u8) as char)
}

impl Lifecycle {
    /// Starts an import. With `dry_run`, checks everything and returns `None`.
    pub async fn import_image(
        &self,
        caller: &Caller,
        req: ImportImage,
        dry_run: bool,
    ) -> Result<Option<Imported>, ServiceError> {
        let region = req.region.clone();
        self.regions.get(&region)?;
        let token = self
            .check_token(
                caller,
                &region,
                "ImportImage",
                req.client_token.as_deref(),
                format!("{req:?}"),
            )
            .await?;
        if let TokenCheck::Replay(result) = &token {
            let (image_id, task_id) = result.split_once(' ').unwrap_or((result, ""));
            return Ok(Some(Imported {
                image_id: image_id.to_string(),
                task_id: task_id.to_string(),
            }));
        }
        for d in &req.disks {
            let bucket = self.bucket(&d.bucket, &region)?;
            let key = d.object.clone();
            let size = tokio::task::spawn_blocking(move || bucket.head(&key))
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?
                .map_err(|e| DomainError::Internal(e.to_string()))?;
            match size {
                None => {
                    return Err(DomainError::ObjectNotFound {
                        bucket: d.bucket.clone(),
                        object: d.object.clone(),
                    }
                    .into());
                }
                Some(0) => {
                    return Err(DomainError::ObjectEmpty {
                        bucket: d.bucket.clone(),
                        object: d.object.clone(),
                    }
                    .into());
                }
                Some(_) => {}
            }
        }
        if let Some(name) = &req.name {
            self.check_name_free(&region, &caller.account, name).await?;
        }
        self.check_image_quota(&region, &caller.account).await?;
        let snapshots = self
            .meta
            .count_snapshots(&region, caller.account.as_str())
            .await?;
        self.quotas
            .check(QuotaKind::Snapshots, snapshots, req.disks.len() as u64)?;
        if dry_run {
            return Ok(None);
        }

        let now = Utc::now();
        let image_id = ImageId::generate(&region);
        let disks: Vec<ImportDiskSpec> = req
            .disks
            .iter()
            .enumerate()
            .map(|(i, d)| ImportDiskSpec {
                bucket: d.bucket.clone(),
                object: d.object.clone(),
                format: d.format,
                size_gib: d.size_gib,
                snapshot_id: SnapshotId::generate(&region),
                disk_type: if i == 0 {
                    DiskType::System
                } else {
                    DiskType::Data
                },
            })
            .collect();
        let image = Image {
            name: req
                .name
                .clone()
                .unwrap_or_else(|| format!("import-{image_id}")),
            description: req.description.clone(),
            size_gib: req.disks[0].size_gib.unwrap_or(0),
            architecture: req.architecture,
            os_type: req.os_type,
            boot_mode: req.boot_mode,
            license_type: req.license_type.clone(),
            features: ImageFeatures {
                nvme_support: Some(req.nvme_support),
                imds_support: Some(req.imds_support),
                ..ImageFeatures::default()
            },
            resource_group_id: req.resource_group_id.clone(),
            disks: req
                .disks
                .iter()
                .zip(&disks)
                .enumerate()
                .map(|(i, (d, spec))| DiskDeviceMapping {
                    disk_type: spec.disk_type,
                    device: device_name(i),
                    size_gib: d.size_gib.unwrap_or(0),
                    snapshot_id: None,
                    format: d.format.map(|f| f.as_str().to_string()),
                    import_oss_bucket: Some(d.bucket.clone()),
                    import_oss_object: Some(d.object.clone()),
                    progress: 0,
                    encrypted: false,
                })
                .collect(),
            tags: req.tags.clone(),
            ..new_custom_image(
                &image_id,
                &region,
                &caller.account,
                req.platform.clone(),
                now,
            )
        };
        let spec = JobSpec::Import(ImportSpec {
            image_id: image_id.to_string(),
            disks,
        });
        let mut task = Task::new(
            &region,
            Some(caller.account.clone()),
            TaskAction::ImportImage,
            image_id.as_str(),
            spec.encode(),
            now,
        );
        task.related = req
            .disks
            .iter()
            .flat_map(|d| {
                [
                    RelatedItem {
                        name: "OSSBucket".into(),
                        value: d.bucket.clone(),
                    },
                    RelatedItem {
                        name: "OSSObject".into(),
                        value: d.object.clone(),
                    },
                ]
            })
            .collect();
        let result = Imported {
            image_id: image_id.to_string(),
            task_id: task.id.to_string(),
        };
        let mut writes = vec![Write::InsertImage(image), Write::InsertTask(task.clone())];
        if let Some(t) = token.record(format!("{} {}", result.image_id, result.task_id)) {
            writes.push(Write::InsertToken(t));
        }
        self.meta.apply(writes).await?;
        self.runner.start(task);
        Ok(Some(result))
    }
}
