//! JSON views of domain objects, with the scalar types the official SDK models declare
//! (reference §3): `Size` an integer but `DiskDeviceMapping.Size` a string, `IsSelfShared` a
//! string, `Progress` a percentage string, `ImageOwnerId` a number.

use serde::Serialize;
use serde_json::{Value, json};
use stencil_domain::catalog::InstanceType;
use stencil_domain::{Architecture, Image, ImageViewpoint, Support, Tag};

/// Formats a time as the API does: ISO 8601 UTC to the second.
pub(crate) fn api_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One `DiskDeviceMapping` element.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DiskView<'a> {
    #[serde(rename = "Type")]
    disk_type: &'a str,
    device: &'a str,
    size: String,
    snapshot_id: &'a str,
    format: &'a str,
    #[serde(rename = "ImportOSSBucket")]
    import_oss_bucket: &'a str,
    #[serde(rename = "ImportOSSObject")]
    import_oss_object: &'a str,
    progress: String,
    remain_time: u64,
    encrypted: bool,
}

/// One `Tag` element of a resource's `Tags`.
#[derive(Debug, Serialize)]
pub(crate) struct TagView<'a> {
    #[serde(rename = "TagKey")]
    key: &'a str,
    #[serde(rename = "TagValue")]
    value: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct FeaturesView {
    #[serde(skip_serializing_if = "Option::is_none")]
    nvme_support: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    imds_support: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_online_upgrade: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_online_downgrade: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_online_upgrade: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_online_downgrade: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Wrapped<T> {
    #[serde(rename = "DiskDeviceMapping")]
    disks: T,
}

/// `{"Tag": [...]}`.
#[derive(Debug, Serialize)]
pub(crate) struct TagList<T> {
    #[serde(rename = "Tag")]
    tags: T,
}

/// A resource's `Tags` object.
pub(crate) fn tag_list(tags: &[Tag]) -> TagList<Vec<TagView<'_>>> {
    TagList {
        tags: tags
            .iter()
            .map(|t| TagView {
                key: &t.key,
                value: &t.value,
            })
            .collect(),
    }
}

/// One `Image` element, borrowed from the domain image, with the SDK-declared JSON types.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageView<'a> {
    image_id: &'a str,
    image_name: &'a str,
    description: &'a str,
    image_family: &'a str,
    image_version: &'a str,
    status: &'a str,
    progress: String,
    creation_time: String,
    size: u64,
    architecture: &'a str,
    #[serde(rename = "OSType")]
    os_type: &'a str,
    platform: &'a str,
    #[serde(rename = "OSName")]
    os_name: &'a str,
    #[serde(rename = "OSNameEn")]
    os_name_en: &'a str,
    image_owner_alias: &'a str,
    image_owner_id: u64,
    is_self_shared: &'a str,
    is_copied: bool,
    is_subscribed: bool,
    is_support_io_optimized: bool,
    is_support_cloudinit: bool,
    is_public: bool,
    login_as_non_root_supported: bool,
    product_code: &'a str,
    supplier_name: &'a str,
    usage: &'a str,
    boot_mode: &'a str,
    license_type: &'a str,
    resource_group_id: &'a str,
    disk_device_mappings: Wrapped<Vec<DiskView<'a>>>,
    tags: TagList<Vec<TagView<'a>>>,
    features: FeaturesView,
    detection_options: Value,
}

impl<'a> ImageView<'a> {
    /// The view of `image` from the caller's `viewpoint` (owner alias, shared, subscribed).
    pub fn new(image: &'a Image, viewpoint: &ImageViewpoint) -> Self {
        let f = &image.features;
        let s = |v: Option<Support>| v.map(Support::as_str);
        ImageView {
            image_id: image.id.as_str(),
            image_name: &image.name,
            description: &image.description,
            image_family: &image.family,
            image_version: &image.version,
            status: image.status.as_str(),
            progress: format!("{}%", image.progress),
            creation_time: api_time(&image.creation_time),
            size: image.size_gib,
            architecture: image.architecture.as_str(),
            os_type: image.os_type.as_str(),
            platform: image.platform.as_str(),
            os_name: &image.os_name,
            os_name_en: &image.os_name_en,
            image_owner_alias: viewpoint.alias.as_str(),
            image_owner_id: image.owner.as_ref().map_or(0, |o| o.as_u64()),
            is_self_shared: if viewpoint.self_shared {
                "true"
            } else {
                "false"
            },
            is_copied: image.is_copied,
            is_subscribed: viewpoint.subscribed,
            is_support_io_optimized: image.is_support_io_optimized,
            is_support_cloudinit: image.is_support_cloudinit,
            is_public: image.is_public,
            login_as_non_root_supported: image.login_as_non_root_supported,
            product_code: &image.product_code,
            supplier_name: &image.supplier_name,
            usage: image.usage.as_str(),
            boot_mode: image.boot_mode.as_str(),
            license_type: &image.license_type,
            resource_group_id: &image.resource_group_id,
            disk_device_mappings: Wrapped {
                disks: image
                    .disks
                    .iter()
                    .map(|d| DiskView {
                        disk_type: d.disk_type.as_str(),
                        device: &d.device,
                        size: d.size_gib.to_string(),
                        snapshot_id: d.snapshot_id.as_ref().map_or("", |s| s.as_str()),
                        format: d.format.as_deref().unwrap_or(""),
                        import_oss_bucket: d.import_oss_bucket.as_deref().unwrap_or(""),
                        import_oss_object: d.import_oss_object.as_deref().unwrap_or(""),
                        progress: format!("{}%", d.progress),
                        remain_time: 0,
                        encrypted: d.encrypted,
                    })
                    .collect(),
            },
            tags: tag_list(&image.tags),
            features: FeaturesView {
                nvme_support: s(f.nvme_support),
                imds_support: f.imds_support.map(|v| v.as_str()),
                cpu_online_upgrade: s(f.cpu_online_upgrade),
                cpu_online_downgrade: s(f.cpu_online_downgrade),
                memory_online_upgrade: s(f.memory_online_upgrade),
                memory_online_downgrade: s(f.memory_online_downgrade),
            },
            detection_options: json!({"Status": "Finished", "Items": {"Item": []}}),
        }
    }
}

/// One `Image` element as a JSON value (see [`ImageView`]).
pub fn image_view(image: &Image, viewpoint: &ImageViewpoint) -> Value {
    serde_json::to_value(ImageView::new(image, viewpoint)).unwrap_or(Value::Null)
}

/// One `InstanceType` element of DescribeInstanceTypes.
pub fn instance_type_view(ty: &InstanceType) -> Value {
    let arch = match ty.architecture {
        Architecture::Arm64 => "ARM",
        Architecture::X86_64 | Architecture::I386 => "X86",
    };
    json!({
        "InstanceTypeId": ty.id,
        "InstanceTypeFamily": ty.family,
        "CpuCoreCount": ty.cpu_core_count,
        "MemorySize": ty.memory_gib,
        "CpuArchitecture": arch,
        "GPUAmount": ty.gpu_amount,
        "GPUSpec": ty.gpu_spec.clone().unwrap_or_default(),
        "NvmeSupport": ty.nvme.as_str(),
        "SupportedBootModes": {"SupportedBootMode": ty.boot_modes.iter().map(|m| m.as_str()).collect::<Vec<_>>()},
    })
}
