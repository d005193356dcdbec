//! `CreateImage` (reference §5.2): a custom image from an instance, from snapshots mapped to
//! devices, or from one system-disk snapshot. Only the source with the highest priority is
//! read (`InstanceId` > `DiskDeviceMapping` > `SnapshotId`), as the real service ignores the
//! others; what needs the snapshots themselves (sizes, disk types, the system-disk count) is
//! the service's to check.

use serde_json::{Value, json};
use stencil_domain::requests::{CreateDisk, CreateImage};
use stencil_domain::{BootMode, DiskType, InstanceId, SnapshotId, Support};

use super::common::{
    Parsed, at_most, client_token, int_in_range_as, invalid_as, not_found, resource_group_id,
    snapshot_id,
};
use super::image_attrs::{self, check_arm_boot, check_arm_platform, parse_disk_type};
use super::tag_params::resource_tags;
use super::{parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = CreateImage;

/// Most `DiskDeviceMapping.N`: one system disk and 16 data disks.
pub const MAX_MAPPINGS: usize = 17;
/// Largest `DiskDeviceMapping.N.Size` in GiB (the service checks the per-category range).
pub const MAX_DISK_GIB: i64 = 32768;

/// The three sources, of which the parser keeps the one with the highest priority.
type Source = (Option<String>, Vec<CreateDisk>, Option<SnapshotId>);

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = region_id(params)?;
    let (instance_id, disks, snapshot_id) = source(params)?;
    let architecture = image_attrs::architecture(params)?;
    let platform = image_attrs::platform(params, false)?;
    check_arm_platform(architecture, platform.as_ref().map(|p| p.os_type()))?;
    let boot_mode = image_attrs::boot_mode(
        params,
        &[BootMode::Bios, BootMode::Uefi, BootMode::UefiPreferred],
        ErrorCode::InvalidBootModeNotSupport,
    )?;
    check_arm_boot(architecture, boot_mode)?;
    secure_boot(params, boot_mode)?;
    let request = CreateImage {
        region,
        instance_id,
        snapshot_id,
        disks,
        name: image_attrs::image_name(params)?,
        description: image_attrs::description(params)?.unwrap_or_default(),
        family: image_attrs::image_family(params)?.unwrap_or_default(),
        version: image_attrs::image_version(params)?,
        architecture,
        platform,
        boot_mode,
        imds_support: image_attrs::imds_support(params)?,
        detection_strategy: image_attrs::detection_strategy(params)?,
        tags: resource_tags(params, ErrorCode::DuplicateTagKey)?,
        resource_group_id: resource_group_id(params)?,
        client_token: client_token(params)?,
    };
    Parsed::new(params, request)
}

/// The source with the highest priority, or the documented `MissingParameter`.
fn source(params: &Params) -> Result<Source, EcsError> {
    if let Some(raw) = params.non_empty("InstanceId") {
        let id = InstanceId::parse(raw)
            .ok_or_else(|| not_found(ErrorCode::InvalidInstanceIdNotFound, "InstanceId", raw))?;
        return Ok((Some(id.as_str().to_owned()), Vec::new(), None));
    }
    if params.has_any("DiskDeviceMapping") {
        return Ok((None, mappings(params)?, None));
    }
    if let Some(raw) = params.non_empty("SnapshotId") {
        return Ok((None, Vec::new(), Some(snapshot_id(raw, "SnapshotId")?)));
    }
    Err(EcsError::new(
        ErrorCode::MissingParameter,
        "The input parameter SnapshotId or InstanceId or DiskDeviceMapping that is mandatory for processing this request is not supplied.",
    ))
}

/// `DiskDeviceMapping.N` in `N` order, with unique devices that fit their disk type.
fn mappings(params: &Params) -> Result<Vec<CreateDisk>, EcsError> {
    let objects = at_most(
        params.objects("DiskDeviceMapping")?,
        MAX_MAPPINGS,
        ErrorCode::InvalidParameterDiskType,
        "DiskDeviceMapping.N",
    )?;
    let mut disks: Vec<CreateDisk> = Vec::with_capacity(objects.len());
    for m in &objects {
        let snapshot_id = m
            .non_empty("SnapshotId")
            .map(|raw| snapshot_id(raw, &m.full_name("SnapshotId")))
            .transpose()?;
        let size_gib = int_in_range_as(
            m,
            "Size",
            1..=MAX_DISK_GIB,
            ErrorCode::InvalidSizeValueNotSupported,
        )?;
        let disk_type = parse_enum(
            m,
            "DiskType",
            ErrorCode::InvalidParameterDiskType,
            "system or data",
            parse_disk_type,
        )?;
        let device = image_attrs::device(m, ErrorCode::InvalidDeviceMalformed)?;
        if let Some(dev) = &device {
            let system_device = dev == "/dev/xvda";
            let fits = match disk_type {
                Some(DiskType::System) => system_device,
                Some(DiskType::Data) => !system_device,
                None => true,
            };
            if !fits {
                return Err(invalid_as(
                    ErrorCode::InvalidDeviceMalformed,
                    &m.full_name("Device"),
                    "the system disk is /dev/xvda and data disks are /dev/xvdb to /dev/xvdz",
                ));
            }
            if disks.iter().any(|d| d.device.as_ref() == Some(dev)) {
                return Err(invalid_as(
                    ErrorCode::InvalidDeviceInUse,
                    &m.full_name("Device"),
                    format_args!("{dev:?} is mapped twice"),
                ));
            }
        }
        disks.push(CreateDisk {
            snapshot_id,
            size_gib: size_gib.and_then(|s| u64::try_from(s).ok()),
            device,
            disk_type,
        });
    }
    Ok(disks)
}

/// `SecureBootOptions.SecureBootSupport`: checked (UEFI boot modes only), not kept: the domain
/// request has no field for it yet.
fn secure_boot(params: &Params, boot_mode: Option<BootMode>) -> Result<(), EcsError> {
    let name = "SecureBootOptions.SecureBootSupport";
    let support = parse_enum(
        params,
        name,
        ErrorCode::InvalidParameter,
        "supported or unsupported",
        Support::parse,
    )?;
    if support == Some(Support::Supported) && boot_mode == Some(BootMode::Bios) {
        return Err(EcsError::invalid(
            name,
            "secure boot needs BootMode UEFI or UEFI-Preferred",
        ));
    }
    Ok(())
}

/// The response: the new image.
pub fn render(image_id: &str) -> Value {
    json!({"ImageId": image_id})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p, tag};
    use super::*;
    use stencil_domain::{Architecture, ImdsSupport, Platform};

    fn snap(id: &str) -> Option<SnapshotId> {
        SnapshotId::parse(id)
    }

    #[test]
    fn a_packer_style_request_from_an_instance_parses() {
        let r = parse(&p(
            "RegionId=cn-hangzhou&ClientToken=0b5e&InstanceId=i-abc&SnapshotId=s-ignored&ImageName=packer-1\
             &ImageVersion=1.2&Description=Built+by+Packer&ResourceGroupId=rg-x1&ImageFamily=web&BootMode=UEFI-Preferred",
        ))
        .unwrap();
        assert!(!r.dry_run);
        assert_eq!(
            r.request,
            CreateImage {
                region: "cn-hangzhou".into(),
                instance_id: Some("i-abc".into()),
                snapshot_id: None,
                disks: vec![],
                name: Some("packer-1".into()),
                description: "Built by Packer".into(),
                family: "web".into(),
                version: "1.2".into(),
                architecture: None,
                platform: None,
                boot_mode: Some(BootMode::UefiPreferred),
                imds_support: None,
                detection_strategy: None,
                tags: vec![],
                resource_group_id: "rg-x1".into(),
                client_token: Some("0b5e".into()),
            }
        );
    }

    #[test]
    fn mappings_win_over_a_snapshot_and_keep_their_order() {
        let r = parse(&p(
            "RegionId=r&SnapshotId=s-ignored&DryRun=true\
             &DiskDeviceMapping.2.SnapshotId=s-data&DiskDeviceMapping.2.Device=/dev/xvdb&DiskDeviceMapping.2.Size=100\
             &DiskDeviceMapping.1.SnapshotId=s-sys&DiskDeviceMapping.1.DiskType=SYSTEM&DiskDeviceMapping.1.Device=/dev/xvda\
             &Architecture=arm64&Platform=ubuntu&Features.ImdsSupport=v2&DetectionStrategy=Standard&Tag.1.Key=k&Tag.1.Value=v",
        ))
        .unwrap();
        assert!(r.dry_run);
        let r = r.request;
        assert_eq!((r.instance_id, r.snapshot_id), (None, None));
        assert_eq!(
            r.disks,
            vec![
                CreateDisk {
                    snapshot_id: snap("s-sys"),
                    size_gib: None,
                    device: Some("/dev/xvda".into()),
                    disk_type: Some(DiskType::System),
                },
                CreateDisk {
                    snapshot_id: snap("s-data"),
                    size_gib: Some(100),
                    device: Some("/dev/xvdb".into()),
                    disk_type: None,
                },
            ]
        );
        assert_eq!(r.architecture, Some(Architecture::Arm64));
        assert_eq!(r.platform, Platform::parse("Ubuntu", false));
        assert_eq!(r.imds_support, Some(ImdsSupport::V2));
        assert_eq!(r.detection_strategy.as_deref(), Some("Standard"));
        assert_eq!(r.tags, vec![tag("k", "v")]);
    }

    #[test]
    fn a_lone_snapshot_is_the_source_of_last_resort() {
        let r = parse(&p("RegionId=r&SnapshotId=s-1")).unwrap().request;
        assert_eq!(r.snapshot_id, snap("s-1"));
        assert!(r.disks.is_empty() && r.instance_id.is_none());
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        let many: String = (1..=18)
            .map(|n| format!("&DiskDeviceMapping.{n}.SnapshotId=s-{n}"))
            .collect();
        let too_many = format!("RegionId=r{many}");
        assert_rejects(
            parse,
            &[
                ("SnapshotId=s-1", MissingParameter, 400, "\"RegionId\""),
                (
                    "RegionId=r",
                    MissingParameter,
                    400,
                    "SnapshotId or InstanceId or DiskDeviceMapping",
                ),
                (
                    "RegionId=r&InstanceId=vm-1",
                    InvalidInstanceIdNotFound,
                    404,
                    "InstanceId",
                ),
                (
                    "RegionId=r&SnapshotId=snap-1",
                    InvalidSnapshotIdNotFound,
                    404,
                    "SnapshotId",
                ),
                (
                    "RegionId=r&DiskDeviceMapping.1.SnapshotId=S-1",
                    InvalidSnapshotIdNotFound,
                    404,
                    "DiskDeviceMapping.1.SnapshotId",
                ),
                (
                    "RegionId=r&DiskDeviceMapping.1.Device=/dev/vda",
                    InvalidDeviceMalformed,
                    400,
                    "DiskDeviceMapping.1.Device",
                ),
                (
                    "RegionId=r&DiskDeviceMapping.1.Device=/dev/xvdb&DiskDeviceMapping.1.DiskType=system",
                    InvalidDeviceMalformed,
                    400,
                    "DiskDeviceMapping.1.Device",
                ),
                (
                    "RegionId=r&DiskDeviceMapping.1.Device=/dev/xvda&DiskDeviceMapping.1.DiskType=data",
                    InvalidDeviceMalformed,
                    400,
                    "DiskDeviceMapping.1.Device",
                ),
                (
                    "RegionId=r&DiskDeviceMapping.1.Device=/dev/xvdb&DiskDeviceMapping.2.Device=/dev/xvdb",
                    InvalidDeviceInUse,
                    400,
                    "DiskDeviceMapping.2.Device",
                ),
                (
                    "RegionId=r&DiskDeviceMapping.1.DiskType=root",
                    InvalidParameterDiskType,
                    400,
                    "DiskDeviceMapping.1.DiskType",
                ),
                (
                    &too_many,
                    InvalidParameterDiskType,
                    400,
                    "DiskDeviceMapping.N",
                ),
                (
                    "RegionId=r&DiskDeviceMapping.1.Size=0",
                    InvalidSizeValueNotSupported,
                    400,
                    "DiskDeviceMapping.1.Size",
                ),
                (
                    "RegionId=r&DiskDeviceMapping.1.Size=32769",
                    InvalidSizeValueNotSupported,
                    400,
                    "DiskDeviceMapping.1.Size",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&ImageName=a",
                    InvalidImageNameMalformed,
                    400,
                    "ImageName",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&Description=x",
                    InvalidDescriptionMalformed,
                    400,
                    "Description",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&ImageFamily=acs:family",
                    InvalidImageFamilyMalformed,
                    400,
                    "ImageFamily",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&ImageVersion=a%0Ab",
                    InvalidImageVersionMalformed,
                    400,
                    "ImageVersion",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&Platform=Other+Windows",
                    InvalidPlatformMalformed,
                    400,
                    "Platform",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&Architecture=ppc",
                    InvalidArchitectureMalformed,
                    400,
                    "Architecture",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&Architecture=arm64&Platform=Windows+Server+2019",
                    InvalidArchitecturePlatformUnsupported,
                    403,
                    "Architecture",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&BootMode=Legacy",
                    InvalidBootModeNotSupport,
                    400,
                    "BootMode",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&Architecture=arm64&BootMode=BIOS",
                    InvalidBootModeNotSupport,
                    400,
                    "BootMode",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&SecureBootOptions.SecureBootSupport=yes",
                    InvalidParameter,
                    400,
                    "SecureBootOptions.SecureBootSupport",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&BootMode=BIOS&SecureBootOptions.SecureBootSupport=supported",
                    InvalidParameter,
                    400,
                    "SecureBootOptions.SecureBootSupport",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&Features.ImdsSupport=v0",
                    InvalidParameterFeaturesImdsSupport,
                    400,
                    "Features.ImdsSupport",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&DetectionStrategy=Full",
                    InvalidParameterDetectionStrategy,
                    400,
                    "DetectionStrategy",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&Tag.1.Key=k&Tag.2.Key=K",
                    DuplicateTagKey,
                    400,
                    "Tag.2.Key",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&Tag.1.Key=k&Tag.1.Value=http%3A%2F%2Fx",
                    InvalidTagValueMalformed,
                    400,
                    "Tag.1.Value",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&ResourceGroupId=rg_1",
                    InvalidResourceGroupNotFound,
                    404,
                    "ResourceGroupId",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&ClientToken=%E2%9C%93",
                    InvalidClientTokenMalformed,
                    400,
                    "ClientToken",
                ),
                (
                    "RegionId=r&SnapshotId=s-1&DryRun=y",
                    InvalidParameter,
                    400,
                    "DryRun",
                ),
            ],
        );
    }

    #[test]
    fn render_gives_the_image_id_as_a_string() {
        assert_eq!(render("m-1"), json!({"ImageId": "m-1"}));
    }
}
