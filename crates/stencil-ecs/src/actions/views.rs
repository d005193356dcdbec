//! JSON views of domain objects, with the scalar types the official SDK models declare
//! (reference §3): `Size` an integer but `DiskDeviceMapping.Size` a string, `IsSelfShared` a
//! string, `Progress` a percentage string, `ImageOwnerId` a number.

use serde_json::{Map, Value, json};
use stencil_domain::catalog::InstanceType;
use stencil_domain::{Architecture, Image, ImageOwnerAlias, Support};

/// Formats a time as the API does: ISO 8601 UTC to the second.
pub(crate) fn api_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn support(s: Option<Support>) -> Value {
    s.map_or(Value::Null, |s| s.as_str().into())
}

/// One `Image` element. `alias` is the owner alias from the caller's point of view;
/// `self_shared` whether the caller shares this image of theirs with others.
pub fn image_view(image: &Image, alias: ImageOwnerAlias, self_shared: bool) -> Value {
    let disks: Vec<Value> = image
        .disks
        .iter()
        .map(|d| {
            json!({
                "Type": d.disk_type.as_str(),
                "Device": d.device,
                "Size": d.size_gib.to_string(),
                "SnapshotId": d.snapshot_id.as_ref().map_or("", |s| s.as_str()),
                "Format": d.format.clone().unwrap_or_default(),
                "ImportOSSBucket": d.import_oss_bucket.clone().unwrap_or_default(),
                "ImportOSSObject": d.import_oss_object.clone().unwrap_or_default(),
                "Progress": format!("{}%", d.progress),
                "RemainTime": 0,
                "Encrypted": d.encrypted,
            })
        })
        .collect();
    let tags: Vec<Value> = image
        .tags
        .iter()
        .map(|t| json!({"TagKey": t.key, "TagValue": t.value}))
        .collect();
    let mut features = Map::new();
    let f = &image.features;
    for (name, value) in [
        ("NvmeSupport", support(f.nvme_support)),
        (
            "ImdsSupport",
            f.imds_support.map_or(Value::Null, |v| v.as_str().into()),
        ),
        ("CpuOnlineUpgrade", support(f.cpu_online_upgrade)),
        ("CpuOnlineDowngrade", support(f.cpu_online_downgrade)),
        ("MemoryOnlineUpgrade", support(f.memory_online_upgrade)),
        ("MemoryOnlineDowngrade", support(f.memory_online_downgrade)),
    ] {
        if !value.is_null() {
            features.insert(name.into(), value);
        }
    }
    let owner_id = image.owner.as_ref().map_or(0, |o| o.as_u64());
    json!({
        "ImageId": image.id.as_str(),
        "ImageName": image.name,
        "Description": image.description,
        "ImageFamily": image.family,
        "ImageVersion": image.version,
        "Status": image.status.as_str(),
        "Progress": format!("{}%", image.progress),
        "CreationTime": api_time(&image.creation_time),
        "Size": image.size_gib,
        "Architecture": image.architecture.as_str(),
        "OSType": image.os_type.as_str(),
        "Platform": image.platform.as_str(),
        "OSName": image.os_name,
        "OSNameEn": image.os_name_en,
        "ImageOwnerAlias": alias.as_str(),
        "ImageOwnerId": owner_id,
        "IsSelfShared": if self_shared { "true" } else { "false" },
        "IsCopied": image.is_copied,
        "IsSubscribed": false,
        "IsSupportIoOptimized": image.is_support_io_optimized,
        "IsSupportCloudinit": image.is_support_cloudinit,
        "IsPublic": image.is_public,
        "LoginAsNonRootSupported": image.login_as_non_root_supported,
        "ProductCode": image.product_code,
        "SupplierName": image.supplier_name,
        "Usage": image.usage.as_str(),
        "BootMode": image.boot_mode.as_str(),
        "LicenseType": image.license_type,
        "ResourceGroupId": image.resource_group_id,
        "DiskDeviceMappings": {"DiskDeviceMapping": disks},
        "Tags": {"Tag": tags},
        "Features": features,
        "DetectionOptions": {"Status": "Finished", "Items": {"Item": []}},
    })
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
