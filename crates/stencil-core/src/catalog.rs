//! Publishing the public image catalog: every entry becomes an image record in each region it
//! is published in, replacing whatever the previous catalog put there. Entries with a product
//! code are marketplace images (`ImageOwnerAlias=marketplace`, `ProductCode`, `SupplierName`);
//! the rest are public (system) images.
//!
//! Public images have bytes like any other: the system disk of each is a snapshot with a fixed
//! ID (derived from region and image ID) whose index holds either the entry's `image_file`,
//! imported at first start, or a blank disk of the entry's size stored as one ZERO entry. An
//! entry whose snapshot is not stored yet is published `Creating` with a `PublicImage` task;
//! the task runner (started after publishing) stores it and restores the catalog status.

use std::collections::HashSet;

use chrono::Utc;
use stencil_domain::catalog::{PublicCatalog, PublicImageEntry};
use stencil_domain::{
    DiskDeviceMapping, DiskType, DomainError, Image, ImageFeatures, ImageId, ImageKind,
    ImageStatus, Snapshot, SnapshotId, SnapshotStatus, Task, TaskAction, Usage,
};
use stencil_meta::{MetaStore, Write};

use crate::jobs::JobSpec;
use crate::jobs::public::{PublicSpec, blank_index};
use crate::{RegionStores, Regions, ServiceError};

fn to_image(entry: &PublicImageEntry, region: &str) -> Image {
    Image {
        id: ImageId::parse(&entry.id).unwrap_or_else(|| ImageId::generate(region)),
        region: region.to_string(),
        kind: if entry.marketplace.is_some() {
            ImageKind::Marketplace
        } else {
            ImageKind::Public
        },
        owner: None,
        name: entry.name.clone(),
        description: entry.description.clone(),
        family: entry.family.clone(),
        version: entry.version.clone(),
        status: entry.status,
        progress: 100,
        creation_time: entry.creation_time,
        size_gib: u64::from(entry.size_gib),
        architecture: entry.architecture,
        os_type: entry.os_type,
        platform: entry.platform.clone(),
        os_name: entry.os_name.clone(),
        os_name_en: entry.os_name_en.clone(),
        boot_mode: entry.boot_mode,
        is_support_cloudinit: entry.is_support_cloudinit,
        is_support_io_optimized: entry.is_support_io_optimized,
        login_as_non_root_supported: entry.login_as_non_root_supported,
        license_type: String::new(),
        license_billed: entry.license_billed_in(region),
        features: ImageFeatures {
            nvme_support: Some(entry.nvme_support),
            imds_support: entry.imds_support,
            ..ImageFeatures::default()
        },
        resource_group_id: String::new(),
        usage: Usage::None,
        is_copied: false,
        is_public: true,
        product_code: entry
            .marketplace
            .as_ref()
            .map(|m| m.product_code.clone())
            .unwrap_or_default(),
        supplier_name: entry
            .marketplace
            .as_ref()
            .map(|m| m.supplier_name.clone())
            .unwrap_or_default(),
        disks: vec![DiskDeviceMapping {
            disk_type: DiskType::System,
            device: "/dev/xvda".into(),
            size_gib: u64::from(entry.size_gib),
            snapshot_id: None,
            format: None,
            import_oss_bucket: None,
            import_oss_object: None,
            progress: 100,
            encrypted: false,
        }],
        tags: Vec::new(),
    }
}

/// The snapshot that holds a public image's system disk in `region`.
pub fn public_snapshot_id(region: &str, image_id: &str) -> SnapshotId {
    SnapshotId::derived(region, &format!("public-image:{image_id}"))
}

/// Replaces the stored public images with `catalog`'s entries in every configured region.
/// Blank disks not stored yet are stored now (an index of one ZERO entry each); entries with
/// an image file not stored yet get a `PublicImage` task (the runner's `recover` starts them).
/// Returns the number of images published.
pub async fn publish_public_catalog(
    meta: &MetaStore,
    catalog: &PublicCatalog,
    regions: &Regions,
    stores: &RegionStores,
) -> Result<usize, ServiceError> {
    let ids = regions.ids();
    let queued: HashSet<String> = meta
        .unfinished_tasks()
        .await?
        .into_iter()
        .filter(|t| t.action == TaskAction::PublicImage)
        .map(|t| format!("{}/{}", t.region, t.resource_id))
        .collect();
    let now = Utc::now();
    let mut images = Vec::new();
    let mut tasks = Vec::new();
    let mut blanks = Vec::new();
    for entry in catalog.iter() {
        for region in entry.regions_for(&ids) {
            let mut image = to_image(entry, &region);
            let snapshot_id = public_snapshot_id(&region, image.id.as_str());
            let stored = meta
                .get_snapshot(snapshot_id.as_str())
                .await?
                .is_some_and(|s| s.status == SnapshotStatus::Accomplished);
            if stored {
                image.disks[0].snapshot_id = Some(snapshot_id);
            } else if entry.image_file.is_none() {
                blanks.push((
                    region.clone(),
                    u64::from(entry.size_gib),
                    snapshot_id.clone(),
                ));
                image.disks[0].snapshot_id = Some(snapshot_id);
            } else {
                image.status = ImageStatus::Creating;
                image.progress = 0;
                if !queued.contains(&format!("{region}/{}", image.id)) {
                    let spec = JobSpec::Public(PublicSpec {
                        image_id: image.id.to_string(),
                        snapshot_id,
                        file: entry.image_file.clone(),
                        size_gib: u64::from(entry.size_gib),
                        status: entry.status,
                    });
                    tasks.push(Task::new(
                        &region,
                        None,
                        TaskAction::PublicImage,
                        image.id.as_str(),
                        spec.encode(),
                        now,
                    ));
                }
            }
            images.push(image);
        }
    }
    let snapshots = store_blanks(stores, blanks, now).await?;
    if !snapshots.is_empty() {
        meta.apply(snapshots.into_iter().map(Write::PutSnapshot).collect())
            .await?;
    }
    let (market, public): (Vec<Image>, Vec<Image>) = images
        .into_iter()
        .partition(|i| i.kind == ImageKind::Marketplace);
    meta.sync_catalog(ImageKind::Public, &public).await?;
    meta.sync_catalog(ImageKind::Marketplace, &market).await?;
    if !tasks.is_empty() {
        meta.apply(tasks.into_iter().map(Write::InsertTask).collect())
            .await?;
    }
    Ok(public.len() + market.len())
}

/// Stores blank system disks: one index with a single ZERO entry each, no chunks.
async fn store_blanks(
    stores: &RegionStores,
    blanks: Vec<(String, u64, SnapshotId)>,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<Snapshot>, ServiceError> {
    if blanks.is_empty() {
        return Ok(Vec::new());
    }
    let stores = stores.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::with_capacity(blanks.len());
        for (region, size_gib, id) in blanks {
            let store = stores
                .get(&region)
                .ok_or_else(|| DomainError::Internal(format!("region {region} has no store")))?;
            let size = size_gib << 30;
            let index =
                blank_index(store, size).map_err(|e| DomainError::Internal(e.to_string()))?;
            let session = store
                .begin_session()
                .map_err(|e| DomainError::Internal(e.to_string()))?;
            session
                .commit(id.as_str(), &index)
                .and_then(|()| session.finish())
                .map_err(|e| DomainError::Internal(e.to_string()))?;
            out.push(Snapshot {
                id,
                region,
                owner: None,
                name: String::new(),
                description: "System disk of a public image (blank)".into(),
                status: SnapshotStatus::Accomplished,
                progress: 100,
                creation_time: now,
                source_disk_id: String::new(),
                source_disk_size_gib: size_gib,
                source_disk_type: DiskType::System,
                virtual_size: size,
                data_bytes: 0,
                encrypted: false,
                kms_key_id: String::new(),
                source_image_id: String::new(),
                resource_group_id: String::new(),
                tags: Vec::new(),
            });
        }
        Ok(out)
    })
    .await
    .map_err(|e| DomainError::Internal(e.to_string()))?
}
