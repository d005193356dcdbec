//! Publishing the public image catalog: every entry becomes an image record in each region it
//! is published in, replacing whatever the previous catalog put there.

use stencil_domain::catalog::{PublicCatalog, PublicImageEntry};
use stencil_domain::{
    DiskDeviceMapping, DiskType, Image, ImageFeatures, ImageId, ImageKind, Usage,
};
use stencil_meta::MetaStore;

use crate::{Regions, ServiceError};

fn to_image(entry: &PublicImageEntry, region: &str) -> Image {
    Image {
        id: ImageId::parse(&entry.id).unwrap_or_else(|| ImageId::generate(region)),
        region: region.to_string(),
        kind: ImageKind::Public,
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
        product_code: String::new(),
        supplier_name: String::new(),
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

/// Replaces the stored public images with `catalog`'s entries in every configured region.
pub async fn publish_public_catalog(
    meta: &MetaStore,
    catalog: &PublicCatalog,
    regions: &Regions,
) -> Result<usize, ServiceError> {
    let ids = regions.ids();
    let images: Vec<Image> = catalog
        .iter()
        .flat_map(|e| {
            e.regions_for(&ids)
                .into_iter()
                .map(move |r| to_image(e, &r))
        })
        .collect();
    meta.sync_catalog(ImageKind::Public, &images).await?;
    Ok(images.len())
}
