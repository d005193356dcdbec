//! `ImportImage` (reference §5.3): disk images in a bucket of the region become a custom image.
//! Parsing checks everything that needs no stored state; the service checks that the bucket
//! and objects exist, the quota and the name's uniqueness.

use serde_json::{Value, json};
use stencil_domain::requests::{ImportDisk, ImportImage};
use stencil_domain::{
    Architecture, BootMode, ImdsSupport, ImportFormat, OsType, Platform, Support,
};

use super::common::{
    Parsed, client_token, int_in_range_as, invalid_as, missing_as, oss_bucket, oss_object,
    resource_group_id,
};
use super::image_attrs::{self, check_arm_boot, check_arm_platform};
use super::tag_params::resource_tags;
use super::{parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = ImportImage;

/// `DiskDeviceMapping.1` is the system disk, `.2`–`.17` data disks; higher `N` are ignored.
pub const MAX_DISKS: u32 = 17;
/// Largest `DiskImageSize` in GiB (the smallest is 1).
pub const MAX_DISK_GIB: i64 = 2048;

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = region_id(params)?;
    let disks = disks(params)?;
    let architecture = image_attrs::architecture(params)?;
    let platform = image_attrs::platform(params, true)?;
    let os_type = os_type(params, platform.as_ref())?;
    check_arm_platform(architecture, Some(os_type))?;
    let boot_mode = image_attrs::boot_mode(
        params,
        &[BootMode::Bios, BootMode::Uefi],
        ErrorCode::InvalidBootModeMalformed,
    )?;
    check_arm_boot(architecture, boot_mode)?;
    let architecture = architecture.unwrap_or(Architecture::X86_64);
    // An arm64 import without a boot mode gets the only one it can boot with.
    let boot_mode = boot_mode.unwrap_or(match architecture {
        Architecture::Arm64 => BootMode::Uefi,
        Architecture::X86_64 | Architecture::I386 => BootMode::Bios,
    });
    let platform = platform.unwrap_or_else(|| match os_type {
        OsType::Windows => Platform::parse("Other Windows", true).unwrap_or_default(),
        OsType::Linux => Platform::default(),
    });
    if params.non_empty("StorageLocationArn").is_some() {
        return Err(invalid_as(
            ErrorCode::InvalidStorageLocationNotFound,
            "StorageLocationArn",
            "this server has no CloudBox storage locations",
        ));
    }
    // `RoleName` needs no check: Stencil reads its buckets with its own configuration.
    let request = ImportImage {
        region,
        disks,
        name: image_attrs::image_name(params)?,
        description: image_attrs::description(params)?.unwrap_or_default(),
        architecture,
        os_type,
        platform,
        boot_mode,
        license_type: license_type(params)?,
        nvme_support: image_attrs::nvme_support(params)?.unwrap_or(Support::Unsupported),
        imds_support: image_attrs::imds_support(params)?.unwrap_or(ImdsSupport::V1),
        tags: resource_tags(params, ErrorCode::TagKeyDuplication)?,
        resource_group_id: resource_group_id(params)?,
        client_token: client_token(params)?,
        detection_strategy: image_attrs::detection_strategy(params)?,
    };
    Parsed::new(params, request)
}

/// `DiskDeviceMapping.1` to `.17` in `N` order.
fn disks(params: &Params) -> Result<Vec<ImportDisk>, EcsError> {
    let mappings = params.indexed_objects("DiskDeviceMapping")?;
    if !mappings.contains_key(&1) {
        return Err(missing_as(
            ErrorCode::MissingParameter,
            "DiskDeviceMapping.1.OSSBucket",
        ));
    }
    let mut disks = Vec::with_capacity(mappings.len());
    for (&n, m) in mappings.range(1..=MAX_DISKS) {
        let bucket = oss_bucket(m, "OSSBucket", m.required("OSSBucket")?)?;
        let object = oss_object(m, "OSSObject", m.required("OSSObject")?)?;
        let format = parse_enum(
            m,
            "Format",
            ErrorCode::InvalidImageFormatMalformed,
            "RAW, VHD, QCOW2 or VMDK",
            ImportFormat::parse,
        )?;
        let size_code = if n == 1 {
            ErrorCode::InvalidImageSize
        } else {
            ErrorCode::InvalidDataDiskSize
        };
        // `DiskImSize` is the deprecated spelling; the current one wins when both are sent.
        let size_name = if m.non_empty("DiskImageSize").is_some() {
            "DiskImageSize"
        } else {
            "DiskImSize"
        };
        let size_gib = int_in_range_as(m, size_name, 1..=MAX_DISK_GIB, size_code)?;
        // `Device` is deprecated: checked, then left to the disk's position.
        image_attrs::device(m, ErrorCode::InvalidParameterMalformed)?;
        disks.push(ImportDisk {
            bucket,
            object,
            format,
            size_gib: size_gib.and_then(|s| u64::try_from(s).ok()),
        });
    }
    Ok(disks)
}

/// `OSType`, defaulting to the platform's family (Linux without one). A platform of the
/// other family is `InvalidPlatform.Malformed`.
fn os_type(params: &Params, platform: Option<&Platform>) -> Result<OsType, EcsError> {
    let given = parse_enum(
        params,
        "OSType",
        ErrorCode::InvalidOsTypeMalformed,
        "windows or linux",
        OsType::parse,
    )?;
    match (given, platform) {
        (Some(os), Some(p)) if p.os_type() != os => Err(invalid_as(
            ErrorCode::InvalidPlatformMalformed,
            "Platform",
            format_args!("{:?} is not a {os} platform (OSType)", p.as_str()),
        )),
        (Some(os), _) => Ok(os),
        (None, Some(p)) => Ok(p.os_type()),
        (None, None) => Ok(OsType::Linux),
    }
}

/// `LicenseType`: `Auto`, `Aliyun` or `BYOL` in their canonical spelling, empty if not given.
fn license_type(params: &Params) -> Result<String, EcsError> {
    let license = parse_enum(
        params,
        "LicenseType",
        ErrorCode::InvalidLicenseTypeNotSupported,
        "Auto, Aliyun or BYOL",
        |v| {
            ["Auto", "Aliyun", "BYOL"]
                .into_iter()
                .find(|l| l.eq_ignore_ascii_case(v))
        },
    )?;
    Ok(license.unwrap_or("").to_owned())
}

/// The response: the new image, the task that fills it, and the region.
pub fn render(region: &str, image_id: &str, task_id: &str) -> Value {
    json!({"ImageId": image_id, "TaskId": task_id, "RegionId": region})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p, tag};
    use super::*;

    const BASE: &str = "RegionId=cn-hangzhou&DiskDeviceMapping.1.OSSBucket=images&DiskDeviceMapping.1.OSSObject=disk.qcow2";

    fn with(extra: &str) -> String {
        format!("{BASE}&{extra}")
    }

    #[test]
    fn a_full_request_parses_into_the_domain_request() {
        let q = "RegionId=cn-hangzhou&DryRun=true\
            &DiskDeviceMapping.1.OSSBucket=images&DiskDeviceMapping.1.OSSObject=os/disk.qcow2\
            &DiskDeviceMapping.1.Format=qcow2&DiskDeviceMapping.1.DiskImageSize=40\
            &DiskDeviceMapping.2.OSSBucket=images&DiskDeviceMapping.2.OSSObject=data.raw\
            &DiskDeviceMapping.2.DiskImSize=100&DiskDeviceMapping.2.Device=/dev/xvdb\
            &ImageName=web-1.0&Description=Web+server&Architecture=X86_64&Platform=ubuntu\
            &BootMode=uefi&LicenseType=byol&Features.NvmeSupport=supported&Features.ImdsSupport=v2\
            &Tag.1.Key=env&Tag.1.Value=prod&ResourceGroupId=rg-1a&ClientToken=tok-1\
            &DetectionStrategy=standard&RoleName=AliyunECSImageImportDefaultRole";
        let parsed = parse(&p(q)).unwrap();
        assert!(parsed.dry_run);
        assert_eq!(
            parsed.request,
            ImportImage {
                region: "cn-hangzhou".into(),
                disks: vec![
                    ImportDisk {
                        bucket: "images".into(),
                        object: "os/disk.qcow2".into(),
                        format: Some(ImportFormat::Qcow2),
                        size_gib: Some(40),
                    },
                    ImportDisk {
                        bucket: "images".into(),
                        object: "data.raw".into(),
                        format: None,
                        size_gib: Some(100),
                    },
                ],
                name: Some("web-1.0".into()),
                description: "Web server".into(),
                architecture: Architecture::X86_64,
                os_type: OsType::Linux,
                platform: Platform::parse("Ubuntu", false).unwrap(),
                boot_mode: BootMode::Uefi,
                license_type: "BYOL".into(),
                nvme_support: Support::Supported,
                imds_support: ImdsSupport::V2,
                tags: vec![tag("env", "prod")],
                resource_group_id: "rg-1a".into(),
                client_token: Some("tok-1".into()),
                detection_strategy: Some("Standard".into()),
            }
        );
    }

    #[test]
    fn defaults_are_x86_64_linux_bios_without_nvme_and_imds_v1() {
        let r = parse(&p(BASE)).unwrap();
        assert!(!r.dry_run);
        let r = r.request;
        assert_eq!(r.disks.len(), 1);
        assert_eq!(
            (r.architecture, r.os_type, r.boot_mode),
            (Architecture::X86_64, OsType::Linux, BootMode::Bios)
        );
        assert_eq!(r.platform.as_str(), "Others Linux");
        assert_eq!(
            (r.nvme_support, r.imds_support),
            (Support::Unsupported, ImdsSupport::V1)
        );
        assert_eq!(
            (r.name, r.description, r.license_type),
            (None, String::new(), String::new())
        );
    }

    #[test]
    fn arm64_defaults_to_uefi_and_windows_follows_the_platform_or_os_type() {
        let r = parse(&p(&with("Architecture=arm64"))).unwrap().request;
        assert_eq!(r.boot_mode, BootMode::Uefi);
        let r = parse(&p(&with("Platform=Windows+Server+2019")))
            .unwrap()
            .request;
        assert_eq!(r.os_type, OsType::Windows);
        let r = parse(&p(&with("OSType=windows"))).unwrap().request;
        assert_eq!(r.platform.as_str(), "Other Windows");
    }

    #[test]
    fn mappings_beyond_the_seventeenth_are_ignored() {
        let extra: String = (2..=18)
            .map(|n| {
                format!("&DiskDeviceMapping.{n}.OSSBucket=b&DiskDeviceMapping.{n}.OSSObject=d{n}")
            })
            .collect();
        let r = parse(&p(&format!(
            "{BASE}{extra}&DiskDeviceMapping.30.Format=bogus"
        )))
        .unwrap()
        .request;
        assert_eq!(r.disks.len(), 17);
        assert_eq!(r.disks[16].object, "d17");
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        let long_token = format!("ClientToken={}", "t".repeat(65));
        let cases: Vec<(String, ErrorCode, u16, &str)> = vec![
            ("DiskDeviceMapping.1.OSSBucket=b&DiskDeviceMapping.1.OSSObject=o".into(), MissingParameter, 400, "\"RegionId\""),
            ("RegionId=r".into(), MissingParameter, 400, "DiskDeviceMapping.1.OSSBucket"),
            ("RegionId=r&DiskDeviceMapping.2.OSSBucket=b&DiskDeviceMapping.2.OSSObject=o".into(), MissingParameter, 400, "DiskDeviceMapping.1.OSSBucket"),
            ("RegionId=r&DiskDeviceMapping.1.OSSBucket=b".into(), MissingParameter, 400, "DiskDeviceMapping.1.OSSObject"),
            (with("DiskDeviceMapping.2.OSSObject=o"), MissingParameter, 400, "DiskDeviceMapping.2.OSSBucket"),
            ("RegionId=r&DiskDeviceMapping.1.OSSBucket=My_Bucket&DiskDeviceMapping.1.OSSObject=o".into(), InvalidOssBucketMalformed, 400, "DiskDeviceMapping.1.OSSBucket"),
            ("RegionId=r&DiskDeviceMapping.1.OSSBucket=b&DiskDeviceMapping.1.OSSObject=%2Fetc%2Fpasswd".into(), InvalidOssObjectMalformed, 400, "DiskDeviceMapping.1.OSSObject"),
            ("RegionId=r&DiskDeviceMapping.1.OSSBucket=b&DiskDeviceMapping.1.OSSObject=a%2F..%2Fb".into(), InvalidOssObjectMalformed, 400, "DiskDeviceMapping.1.OSSObject"),
            (with("DiskDeviceMapping.1.Format=VHDX"), InvalidImageFormatMalformed, 400, "DiskDeviceMapping.1.Format"),
            (with("DiskDeviceMapping.1.DiskImageSize=0"), InvalidImageSize, 400, "DiskDeviceMapping.1.DiskImageSize"),
            (with("DiskDeviceMapping.1.DiskImSize=2049"), InvalidImageSize, 400, "DiskDeviceMapping.1.DiskImSize"),
            (with("DiskDeviceMapping.2.OSSBucket=b&DiskDeviceMapping.2.OSSObject=o&DiskDeviceMapping.2.DiskImageSize=big"), InvalidDataDiskSize, 400, "DiskDeviceMapping.2.DiskImageSize"),
            (with("DiskDeviceMapping.1.Device=/dev/sda"), InvalidParameterMalformed, 403, "DiskDeviceMapping.1.Device"),
            (with("DiskDeviceMapping.x.OSSBucket=b"), InvalidParameter, 400, "DiskDeviceMapping.x.OSSBucket"),
            (with("ImageName=aliyun-image"), InvalidImageNameMalformed, 400, "ImageName"),
            (with("Description=https%3A%2F%2Fx"), InvalidDescriptionMalformed, 400, "Description"),
            (with("Architecture=mips"), InvalidArchitectureMalformed, 400, "Architecture"),
            (with("OSType=solaris"), InvalidOsTypeMalformed, 400, "OSType"),
            (with("Platform=Plan9"), InvalidPlatformMalformed, 400, "Platform"),
            (with("Platform=Ubuntu&OSType=windows"), InvalidPlatformMalformed, 400, "Platform"),
            (with("Architecture=arm64&Platform=Windows+Server+2022"), InvalidArchitecturePlatformUnsupported, 403, "Architecture"),
            (with("BootMode=CSM"), InvalidBootModeMalformed, 400, "BootMode"),
            (with("BootMode=UEFI-Preferred"), InvalidBootModeNotSupport, 400, "BootMode"),
            (with("Architecture=arm64&BootMode=BIOS"), InvalidBootModeNotSupport, 400, "BootMode"),
            (with("LicenseType=Free"), InvalidLicenseTypeNotSupported, 400, "LicenseType"),
            (with("Features.NvmeSupport=maybe"), InvalidParameter, 400, "Features.NvmeSupport"),
            (with("Features.ImdsSupport=v3"), InvalidParameterFeaturesImdsSupport, 400, "Features.ImdsSupport"),
            (with("DetectionStrategy=Deep"), InvalidParameterDetectionStrategy, 400, "DetectionStrategy"),
            (with(&long_token), InvalidClientTokenMalformed, 400, "ClientToken"),
            (with("Tag.1.Key=a&Tag.2.Key=A"), TagKeyDuplication, 403, "Tag.2.Key"),
            (with("Tag.1.Key=acs:x"), InvalidTagKeyMalformed, 400, "Tag.1.Key"),
            (with("ResourceGroupId=group"), InvalidResourceGroupNotFound, 404, "ResourceGroupId"),
            (with("StorageLocationArn=arn:acs:cloudbox:r:1:cloudbox/c"), InvalidStorageLocationNotFound, 403, "StorageLocationArn"),
            (with("DryRun=maybe"), InvalidParameter, 400, "DryRun"),
        ];
        assert_rejects(parse, &cases);
    }

    #[test]
    fn render_gives_the_three_ids_as_strings() {
        assert_eq!(
            render("cn-hangzhou", "m-1", "t-1"),
            json!({"ImageId": "m-1", "TaskId": "t-1", "RegionId": "cn-hangzhou"})
        );
    }
}
