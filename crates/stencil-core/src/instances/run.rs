//! RunInstances and CreateInstance: the image and type rules, then the instances and their
//! disks in one transaction.

use chrono::Utc;
use stencil_domain::compat::{self};
use stencil_domain::requests::RunInstances;
use stencil_domain::{
    ActionType, DiskCategory, DiskId, DiskType, DomainError, Image, InstanceId, InstanceStatus,
    SnapshotStatus,
};
use stencil_meta::Write;

use super::{DiskPlan, Instances};
use crate::lifecycle::{TokenCheck, device_name};
use crate::{Caller, ServiceError, traits_of};

/// Default system disk size in GiB when the request names none (and the image is smaller).
pub(crate) const DEFAULT_SYSTEM_DISK_GIB: u64 = 40;

/// The default category of new disks.
const DEFAULT_CATEGORY: DiskCategory = DiskCategory::CloudEfficiency;

impl Instances {
    /// The image an instance or system disk is made from: visible to the caller, usable, and
    /// compatible with the instance type.
    pub(crate) async fn launch_image(
        &self,
        caller: &Caller,
        region: &str,
        image_id: &str,
        instance_type: &str,
    ) -> Result<Image, ServiceError> {
        let ty = self.images.instance_type(instance_type)?.clone();
        let image = self.images.get_visible(caller, region, image_id).await?;
        if !image.status.launchable() || image.disks.first().is_none_or(|d| d.snapshot_id.is_none())
        {
            return Err(DomainError::ImageNotUsable {
                image: image_id.to_string(),
                status: image.status.to_string(),
            }
            .into());
        }
        if let Err(why) = compat::check(&traits_of(&image), &ty, ActionType::CreateEcs) {
            return Err(DomainError::ImageNotSupportInstanceType {
                image: image_id.to_string(),
                instance_type: instance_type.to_string(),
                reason: why.to_string(),
            }
            .into());
        }
        Ok(image)
    }

    /// Creates instances. With `dry_run`, checks everything and returns `None`.
    pub async fn run_instances(
        &self,
        caller: &Caller,
        req: RunInstances,
        dry_run: bool,
    ) -> Result<Option<Vec<InstanceId>>, ServiceError> {
        let region = req.region.clone();
        self.lifecycle.regions().get(&region)?;
        let action = if req.start {
            "RunInstances"
        } else {
            "CreateInstance"
        };
        let token = self
            .lifecycle
            .check_token(
                caller,
                &region,
                action,
                req.client_token.as_deref(),
                format!("{req:?}"),
            )
            .await?;
        if let TokenCheck::Replay(ids) = &token {
            return Ok(Some(ids.split(',').filter_map(InstanceId::parse).collect()));
        }
        let ty = self.images.instance_type(&req.instance_type)?.clone();
        let image_id = match (&req.image_id, &req.image_family) {
            (Some(id), _) => id.to_string(),
            (None, Some(family)) => self
                .images
                .from_family(caller, &region, family)
                .await?
                .map(|i| i.id.to_string())
                .ok_or_else(|| DomainError::ImageNotFound(format!("family {family}")))?,
            (None, None) => return Err(DomainError::ImageNotFound(String::new()).into()),
        };
        let image = self
            .launch_image(caller, &region, &image_id, &req.instance_type)
            .await?;
        let system_gib = match req.system_disk.size_gib {
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
        let data = self.data_disk_plans(caller, &region, &image, &req).await?;
        if dry_run {
            return Ok(None);
        }

        let zone = req.zone_id.clone().unwrap_or_else(|| format!("{region}-a"));
        let now = Utc::now();
        let mut writes = Vec::new();
        let mut ids = Vec::new();
        let mut all_disks = Vec::new();
        for _ in 0..req.amount.max(1) {
            let id = InstanceId::generate(&region);
            let mut plans = vec![DiskPlan {
                id: DiskId::generate(&region),
                disk_type: DiskType::System,
                category: req.system_disk.category.unwrap_or(DEFAULT_CATEGORY),
                size_gib: system_gib,
                device: device_name(0),
                image_id: Some(image.id.clone()),
                snapshot: image.disks[0].snapshot_id.clone(),
                delete_with_instance: true,
                name: req.system_disk.name.clone(),
                description: req.system_disk.description.clone(),
            }];
            plans.extend(data.iter().cloned().map(|p| DiskPlan {
                id: DiskId::generate(&region),
                ..p
            }));
            let mut disks = self
                .make_disks(caller, &region, &zone, Some(&id), plans)
                .await?;
            for d in &mut disks {
                d.product_code = image.product_code.clone();
            }
            let instance = stencil_domain::Instance {
                name: if req.name.is_empty() {
                    id.to_string()
                } else {
                    req.name.clone()
                },
                id: id.clone(),
                region: region.clone(),
                zone_id: zone.clone(),
                owner: caller.account.clone(),
                description: req.description.clone(),
                host_name: if req.host_name.is_empty() {
                    format!("iZ{}Z", &id.as_str()[2..])
                } else {
                    req.host_name.clone()
                },
                instance_type: ty.id.clone(),
                cpu: ty.cpu_core_count,
                memory_mib: (ty.memory_gib * 1024.0).round() as u64,
                image_id: image.id.clone(),
                os_type: image.os_type,
                os_name: image.os_name_en.clone(),
                architecture: image.architecture,
                status: if req.start {
                    InstanceStatus::Running
                } else {
                    InstanceStatus::Stopped
                },
                creation_time: now,
                start_time: req.start.then_some(now),
                system_disk: disks[0].id.clone(),
                data_disks: disks[1..].iter().map(|d| d.id.clone()).collect(),
                product_code: image.product_code.clone(),
                io_optimized: req.io_optimized,
                tags: req.tags.clone(),
            };
            writes.push(Write::InsertInstance(Box::new(instance)));
            writes.extend(
                disks
                    .iter()
                    .cloned()
                    .map(|d| Write::InsertDisk(Box::new(d))),
            );
            all_disks.extend(disks);
            ids.push(id);
        }
        let joined = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        if let Some(t) = token.record(joined) {
            writes.push(Write::InsertToken(t));
        }
        if let Some(w) = subscription(caller, &image, now) {
            writes.push(w);
        }
        if let Err(e) = self.meta().apply(writes).await {
            self.release(all_disks).await;
            return Err(e.into());
        }
        self.attach(all_disks).await?;
        self.refresh_usage(&region, image.id.as_str()).await?;
        Ok(Some(ids))
    }

    /// The data disks of a new instance: the image's own data disks, then `DataDisk.N`.
    async fn data_disk_plans(
        &self,
        caller: &Caller,
        region: &str,
        image: &Image,
        req: &RunInstances,
    ) -> Result<Vec<DiskPlan>, ServiceError> {
        let mut plans: Vec<DiskPlan> = image
            .disks
            .iter()
            .skip(1)
            .map(|d| DiskPlan {
                id: DiskId::generate(region),
                disk_type: DiskType::Data,
                category: DEFAULT_CATEGORY,
                size_gib: d.size_gib,
                device: d.device.clone(),
                image_id: Some(image.id.clone()),
                snapshot: d.snapshot_id.clone(),
                delete_with_instance: true,
                name: String::new(),
                description: String::new(),
            })
            .collect();
        for (i, d) in req.data_disks.iter().enumerate() {
            let param = format!("DataDisk.{}.Size", i + 1);
            let snapshot = match &d.snapshot_id {
                Some(id) => {
                    let s = match self
                        .lifecycle
                        .own_snapshot(caller, region, id.as_str())
                        .await
                    {
                        Err(ServiceError::Domain(DomainError::SnapshotNotFound(_))) => {
                            return Err(
                                DomainError::DataDiskSnapshotNotFound(id.to_string()).into()
                            );
                        }
                        r => r?,
                    };
                    if s.status != SnapshotStatus::Accomplished {
                        return Err(DomainError::SnapshotNotReady(id.to_string()).into());
                    }
                    Some(s)
                }
                None => None,
            };
            let min = snapshot.as_ref().map_or(0, |s| s.source_disk_size_gib);
            let size_gib = match (d.size_gib, &snapshot) {
                (Some(s), _) if s < min => {
                    return Err(DomainError::DataDiskTooSmall {
                        parameter: param,
                        size_gib: s,
                        snapshot_gib: min,
                    }
                    .into());
                }
                (Some(s), _) => s,
                (None, Some(_)) => min,
                (None, None) => {
                    return Err(DomainError::DataDiskSize {
                        parameter: param,
                        message: "a data disk without SnapshotId needs a Size".into(),
                    }
                    .into());
                }
            };
            let device = match &d.device {
                Some(dev) if plans.iter().any(|p| &p.device == dev) => {
                    return Err(DomainError::DeviceInUse(dev.clone()).into());
                }
                Some(dev) => dev.clone(),
                None => String::new(),
            };
            plans.push(DiskPlan {
                id: DiskId::generate(region),
                disk_type: DiskType::Data,
                category: d.category.unwrap_or(DEFAULT_CATEGORY),
                size_gib,
                device,
                image_id: None,
                snapshot: d.snapshot_id.clone(),
                delete_with_instance: d.delete_with_instance,
                name: d.name.clone(),
                description: d.description.clone(),
            });
        }
        if plans.len() > 16 {
            return Err(DomainError::TooManyDataDisks(plans.len()).into());
        }
        // Devices: given ones stay, the others take the next free name from /dev/xvdb.
        let mut next = 1;
        for i in 0..plans.len() {
            if plans[i].device.is_empty() {
                while plans.iter().any(|p| p.device == device_name(next)) {
                    next += 1;
                }
                plans[i].device = device_name(next);
            }
        }
        Ok(plans)
    }
}

/// The marketplace subscription launching from `image` records (`IsSubscribed`), if it has a
/// product code.
pub(crate) fn subscription(
    caller: &Caller,
    image: &Image,
    at: chrono::DateTime<chrono::Utc>,
) -> Option<Write> {
    (!image.product_code.is_empty()).then(|| Write::Subscribe {
        account: caller.account.to_string(),
        product_code: image.product_code.clone(),
        at,
    })
}
