//! CreateImage from snapshots (reference §5.2; from an instance: `instances::snapshot`): the image's disks are the given snapshots,
//! shared by reference; a short task checks their chunks, then the image is Available.

use chrono::Utc;
use stencil_domain::requests::{CreateDisk, CreateImage};
use stencil_domain::{
    Architecture, BootMode, DiskDeviceMapping, DiskType, DomainError, Image, ImageFeatures,
    ImageId, ImdsSupport, MappingProblem, Snapshot, SnapshotStatus, Task, TaskAction,
};
use stencil_meta::Write;

use super::import::device_name;
use super::tokens::TokenCheck;
use super::{Lifecycle, new_custom_image};
use crate::jobs::JobSpec;
use crate::jobs::create::CreateSpec;
use crate::{Caller, ServiceError};

/// Most data disks of an image.
const MAX_DATA_DISKS: usize = 16;

fn mapping(problem: MappingProblem, message: impl Into<String>) -> ServiceError {
    DomainError::InvalidMapping {
        problem,
        message: message.into(),
    }
    .into()
}

impl Lifecycle {
    /// Creates an image from snapshots. With `dry_run`, checks everything and returns `None`.
    pub async fn create_image(
        &self,
        caller: &Caller,
        req: CreateImage,
        dry_run: bool,
    ) -> Result<Option<String>, ServiceError> {
        let region = req.region.clone();
        self.regions.get(&region)?;
        if let Some(instance) = &req.instance_id {
            // `Instances::create_image_from_instance` serves these; a request that reaches
            // here names an instance the dispatcher did not route.
            return Err(DomainError::InstanceNotFound(instance.clone()).into());
        }
        let token = self
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
        let wanted: Vec<CreateDisk> = if req.disks.is_empty() {
            vec![CreateDisk {
                snapshot_id: req.snapshot_id.clone(),
                size_gib: None,
                device: None,
                disk_type: Some(DiskType::System),
            }]
        } else {
            req.disks.clone()
        };
        let mut disks: Vec<(DiskDeviceMapping, Option<Snapshot>)> = Vec::new();
        for (i, d) in wanted.iter().enumerate() {
            let snapshot = match &d.snapshot_id {
                Some(id) => Some(self.own_snapshot(caller, &region, id.as_str()).await?),
                None => None,
            };
            if let Some(s) = &snapshot
                && s.status != SnapshotStatus::Accomplished
            {
                return Err(DomainError::SnapshotNotReady(s.id.to_string()).into());
            }
            let disk_type = d
                .disk_type
                .or(snapshot.as_ref().map(|s| s.source_disk_type))
                .unwrap_or(if i == 0 {
                    DiskType::System
                } else {
                    DiskType::Data
                });
            let min = snapshot.as_ref().map_or(0, |s| s.source_disk_size_gib);
            let size_gib = match d.size_gib {
                Some(s) if s < min => {
                    return Err(mapping(
                        MappingProblem::Size,
                        format!(
                            "DiskDeviceMapping.{}.Size {s} GiB is smaller than its snapshot ({min} GiB).",
                            i + 1
                        ),
                    ));
                }
                Some(s) => s,
                None if snapshot.is_some() => min,
                None => 20,
            };
            disks.push((
                DiskDeviceMapping {
                    disk_type,
                    device: d.device.clone().unwrap_or_default(),
                    size_gib,
                    snapshot_id: d.snapshot_id.clone(),
                    format: None,
                    import_oss_bucket: None,
                    import_oss_object: None,
                    progress: 0,
                    encrypted: snapshot.as_ref().is_some_and(|s| s.encrypted),
                },
                snapshot,
            ));
        }
        let systems = disks
            .iter()
            .filter(|(d, _)| d.disk_type == DiskType::System)
            .count();
        if systems != 1 {
            return Err(mapping(
                MappingProblem::SystemDiskCount,
                format!("The image must have exactly one system disk snapshot, not {systems}."),
            ));
        }
        if disks.len() - 1 > MAX_DATA_DISKS {
            return Err(mapping(
                MappingProblem::TooManyDataDisks,
                format!("An image has at most {MAX_DATA_DISKS} data disks."),
            ));
        }
        if disks
            .iter()
            .any(|(d, _)| d.disk_type == DiskType::System && d.snapshot_id.is_none())
        {
            return Err(DomainError::SnapshotNotFound(String::new()).into());
        }
        // System disk first, then data disks in the given order; devices assigned where absent.
        disks.sort_by_key(|(d, _)| d.disk_type != DiskType::System);
        let mut used: Vec<String> = Vec::new();
        for (d, _) in &disks {
            if !d.device.is_empty() {
                if used.contains(&d.device) {
                    return Err(mapping(
                        MappingProblem::DeviceInUse,
                        format!("The device {} is used by two disks.", d.device),
                    ));
                }
                used.push(d.device.clone());
            }
        }
        for (i, (d, _)) in disks.iter_mut().enumerate() {
            if d.device.is_empty() {
                let mut n = i;
                while used.contains(&device_name(n)) {
                    n += 1;
                }
                d.device = device_name(n);
                used.push(d.device.clone());
            }
        }
        if disks[0].0.device != "/dev/xvda" {
            return Err(mapping(
                MappingProblem::DeviceMalformed,
                "The system disk must be /dev/xvda.",
            ));
        }
        if let Some(name) = &req.name {
            self.check_name_free(&region, &caller.account, name).await?;
        }
        self.check_image_quota(&region, &caller.account).await?;
        self.check_family_quota(&region, &caller.account, &req.family)
            .await?;
        if dry_run {
            return Ok(None);
        }

        let now = Utc::now();
        let image_id = ImageId::generate(&region);
        let platform = req.platform.clone().unwrap_or_default();
        let system_size = disks[0].0.size_gib;
        let snapshots: Vec<_> = disks
            .iter()
            .filter_map(|(d, _)| d.snapshot_id.clone())
            .collect();
        let architecture = req.architecture.unwrap_or(Architecture::X86_64);
        let image = Image {
            name: req
                .name
                .clone()
                .unwrap_or_else(|| format!("image-{image_id}")),
            description: req.description.clone(),
            family: req.family.clone(),
            version: req.version.clone(),
            size_gib: system_size,
            architecture,
            boot_mode: req.boot_mode.unwrap_or(match architecture {
                Architecture::Arm64 => BootMode::Uefi,
                _ => BootMode::Bios,
            }),
            features: ImageFeatures {
                imds_support: Some(req.imds_support.unwrap_or(ImdsSupport::V1)),
                ..ImageFeatures::default()
            },
            resource_group_id: req.resource_group_id.clone(),
            disks: disks.into_iter().map(|(d, _)| d).collect(),
            tags: req.tags.clone(),
            ..new_custom_image(&image_id, &region, &caller.account, platform, now)
        };
        let spec = JobSpec::Create(CreateSpec {
            image_id: image_id.to_string(),
            snapshots,
        });
        let task = Task::new(
            &region,
            Some(caller.account.clone()),
            TaskAction::CreateImage,
            image_id.as_str(),
            spec.encode(),
            now,
        );
        let mut writes = vec![Write::InsertImage(image), Write::InsertTask(task.clone())];
        if let Some(t) = token.record(image_id.to_string()) {
            writes.push(Write::InsertToken(t));
        }
        self.meta.apply(writes).await?;
        self.runner.start(task);
        Ok(Some(image_id.to_string()))
    }
}
