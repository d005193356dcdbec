//! `RunInstances` (reference §5.18): creates and starts 1–100 instances from an image (or the
//! newest image of a family), with a system disk and up to 16 data disks. `CreateInstance`
//! (one instance, left `Stopped`) parses through the same code ([`parse_launch`]).
//!
//! Stencil has no networks, key pairs, billing or user data: the parameters real clients send
//! for those (`VSwitchId`, `SecurityGroupId`, `SecurityGroupIds.N`, `InternetChargeType`,
//! `InternetMaxBandwidthIn`/`Out`, `InstanceChargeType`, `Password`, `PasswordInherit`,
//! `KeyPairName`, `UserData`, `SecurityEnhancementStrategy`, `SpotStrategy`, `RamRoleName`,
//! `ResourceGroupId`, `*.PerformanceLevel`, …) are accepted and ignored, since no answer
//! depends on them. Launch templates are refused (`UnsupportedParameter`): the request would
//! otherwise lack the image and type the template names. Encryption of instance disks is
//! refused (`InvalidParameter.EncryptedNotSupported`).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stencil_domain::requests::{DataDiskSpec, RunInstances, SystemDiskSpec};
use stencil_domain::{DiskCategory, ImageId, InstanceId};

use super::common::{Parsed, client_token, invalid_as, not_found, reject_unsupported, snapshot_id};
use super::instance_attrs::{
    disk_category, disk_description, disk_name, disk_size, host_name, instance_description,
    instance_name, refuse_encryption,
};
use super::tag_params::resource_tags;
use super::{parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = RunInstances;

/// Most instances one request creates (`Amount`).
pub const MAX_AMOUNT: i64 = 100;
/// Most data disks of one instance (`DataDisk.N`, N 1–16).
pub const MAX_DATA_DISKS: u32 = 16;
/// The category of a disk that names none.
pub const DEFAULT_CATEGORY: DiskCategory = DiskCategory::CloudEfficiency;

/// Which action is parsed: they differ in the amount and in whether the instances start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// `RunInstances`: `Amount`/`MinAmount`, instances start (`Running`).
    Run,
    /// `CreateInstance`: one instance (`Amount` is not a parameter and is ignored), `Stopped`.
    Create,
}

/// Parses a RunInstances request.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    parse_launch(params, Launch::Run)
}

/// Parses and validates every parameter of RunInstances or CreateInstance.
pub fn parse_launch(params: &Params, launch: Launch) -> Result<Parsed<Request>, EcsError> {
    let region = region_id(params)?;
    reject_unsupported(
        params,
        &[
            "LaunchTemplateId",
            "LaunchTemplateName",
            "LaunchTemplateVersion",
        ],
    )?;
    let (image_id, image_family) = image(params)?;
    let instance_type = params.required("InstanceType")?.to_owned();
    let (amount, min_amount) = match launch {
        Launch::Run => amounts(params)?,
        Launch::Create => (1, None),
    };
    refuse_encryption(params, "SystemDisk.Encrypted")?;
    let io_optimized = parse_enum(
        params,
        "IoOptimized",
        ErrorCode::InvalidIoOptimizeValueNotSupported,
        "none or optimized",
        |v| match v.to_ascii_lowercase().as_str() {
            "none" => Some(false),
            "optimized" => Some(true),
            _ => None,
        },
    )?
    .unwrap_or(true);
    let request = RunInstances {
        region,
        zone_id: params.non_empty("ZoneId").map(str::to_owned),
        image_id,
        image_family,
        instance_type,
        name: instance_name(params)?,
        description: instance_description(params)?,
        host_name: host_name(params)?,
        amount,
        min_amount,
        system_disk: system_disk(params)?,
        data_disks: data_disks(params)?,
        io_optimized,
        tags: resource_tags(params, ErrorCode::DuplicateTagKey)?,
        // The RunInstances table documents ValueNotSupported for a bad ClientToken.
        client_token: client_token(params).map_err(|e| {
            EcsError::new(ErrorCode::InvalidClientTokenValueNotSupported, e.message())
        })?,
        start: launch == Launch::Run,
    };
    Parsed::new(params, request)
}

/// `ImageId` or `ImageFamily`, not both (`UnexpectedImageFamily.ImageIdSupplied`), one of them
/// required (`MissingParameter` naming `ImageId`, as the API does). A value that is no image
/// ID cannot exist: `InvalidImageId.NotFound`. Families are not held to the CreateImage
/// grammar, since public families start with `acs:`.
fn image(params: &Params) -> Result<(Option<ImageId>, Option<String>), EcsError> {
    let family = params.non_empty("ImageFamily");
    let Some(raw) = params.non_empty("ImageId") else {
        let Some(family) = family else {
            return Err(EcsError::missing("ImageId"));
        };
        let ok = family.chars().count() <= 128 && !family.chars().any(char::is_control);
        if !ok {
            return Err(invalid_as(
                ErrorCode::InvalidImageFamilyMalformed,
                "ImageFamily",
                format_args!(
                    "must be at most 128 characters without control characters, got {family:?}"
                ),
            ));
        }
        return Ok((None, Some(family.to_owned())));
    };
    if family.is_some() {
        return Err(EcsError::new(
            ErrorCode::UnexpectedImageFamilyImageIdSupplied,
            "The input parameter \"ImageFamily\" must be empty when \"ImageId\" is set.",
        ));
    }
    let id = ImageId::parse(raw)
        .ok_or_else(|| not_found(ErrorCode::InvalidImageIdNotFound, "ImageId", raw))?;
    Ok((Some(id), None))
}

/// `Amount` (1–100, default 1; `InvalidAmount.Malformed`) and `MinAmount` (1 to `Amount`;
/// `InvalidMinAmount.Malformed`).
fn amounts(params: &Params) -> Result<(u32, Option<u32>), EcsError> {
    let amount = params
        .int_in_range("Amount", 1..=MAX_AMOUNT)
        .map_err(|e| EcsError::new(ErrorCode::InvalidAmountMalformed, e.message()))?
        .unwrap_or(1);
    let min_amount = params
        .int_in_range("MinAmount", 1..=amount)
        .map_err(|e| EcsError::new(ErrorCode::InvalidMinAmountMalformed, e.message()))?;
    let to_u32 = |n: i64| u32::try_from(n).unwrap_or(1);
    Ok((to_u32(amount), min_amount.map(to_u32)))
}

/// `SystemDisk.*`: the size is checked against the range of the category (given or
/// `cloud_efficiency`); whether it holds the image is the service's to check.
fn system_disk(params: &Params) -> Result<SystemDiskSpec, EcsError> {
    let disk = params.object("SystemDisk");
    let category = disk_category(&disk, ErrorCode::InvalidSystemDiskCategoryValueNotSupported)?;
    Ok(SystemDiskSpec {
        size_gib: disk_size(
            &disk,
            category.unwrap_or(DEFAULT_CATEGORY),
            true,
            ErrorCode::InvalidSystemDiskSizeValueNotSupported,
        )?,
        category,
        name: disk_name(&disk)?,
        description: disk_description(&disk)?,
    })
}

/// `DataDisk.N.*` in `N` order: N from 1 to 16 (`InstanceDiskNumber.LimitExceed`), each with
/// a size in its category's range or a snapshot to take it from, and a unique data device.
fn data_disks(params: &Params) -> Result<Vec<DataDiskSpec>, EcsError> {
    let objects: BTreeMap<u32, Params> = params.indexed_objects("DataDisk")?;
    if let Some((n, _)) = objects.iter().find(|(n, _)| **n > MAX_DATA_DISKS) {
        return Err(invalid_as(
            ErrorCode::InstanceDiskNumberLimitExceed,
            &format!("DataDisk.{n}"),
            format_args!(
                "an instance has at most {MAX_DATA_DISKS} data disks, DataDisk.1 to DataDisk.{MAX_DATA_DISKS}"
            ),
        ));
    }
    let mut disks: Vec<DataDiskSpec> = Vec::with_capacity(objects.len());
    for disk in objects.values() {
        refuse_encryption(disk, "Encrypted")?;
        let category = disk_category(disk, ErrorCode::InvalidDataDiskCategoryValueNotSupported)?;
        let size_gib = disk_size(
            disk,
            category.unwrap_or(DEFAULT_CATEGORY),
            false,
            ErrorCode::InvalidDataDiskSizeValueNotSupported,
        )?;
        let snapshot_id = disk
            .non_empty("SnapshotId")
            .map(|raw| {
                snapshot_id(raw, &disk.full_name("SnapshotId")).map_err(|_| {
                    // RunInstances documents no "malformed" code: an ID of another shape names
                    // no snapshot, as a malformed ImageId names no image.
                    invalid_as(
                        ErrorCode::InvalidDataDiskSnapshotIdNotFound,
                        &disk.full_name("SnapshotId"),
                        format_args!("names no snapshot: {raw:?}"),
                    )
                })
            })
            .transpose()?;
        if size_gib.is_none() && snapshot_id.is_none() {
            return Err(invalid_as(
                ErrorCode::InvalidDataDiskSizeValueNotSupported,
                &disk.full_name("Size"),
                "a data disk needs a size or a snapshot to take its size from",
            ));
        }
        let device = data_device(disk)?;
        if let Some(dev) = &device
            && disks.iter().any(|d| d.device.as_ref() == Some(dev))
        {
            return Err(invalid_as(
                ErrorCode::InvalidDeviceInUse,
                &disk.full_name("Device"),
                format_args!("{dev:?} is given to two data disks"),
            )
            .with_status(403));
        }
        disks.push(DataDiskSpec {
            size_gib,
            snapshot_id,
            category,
            device,
            delete_with_instance: disk.bool_or("DeleteWithInstance", true)?,
            name: disk_name(disk)?,
            description: disk_description(disk)?,
        });
    }
    Ok(disks)
}

/// `DataDisk.N.Device`: `/dev/xvdb` to `/dev/xvdz` (`/dev/xvda` is the system disk), else
/// `InvalidDataDevice.Malformed`.
fn data_device(disk: &Params) -> Result<Option<String>, EcsError> {
    parse_enum(
        disk,
        "Device",
        ErrorCode::InvalidDataDeviceMalformed,
        "/dev/xvdb to /dev/xvdz",
        |v| {
            let letter = v.strip_prefix("/dev/xvd")?;
            (letter.len() == 1 && letter.bytes().all(|b| (b'b'..=b'z').contains(&b)))
                .then(|| v.to_owned())
        },
    )
}

/// The response: `{"InstanceIdSets": {"InstanceIdSet": [...]}}`.
pub fn render(instance_ids: &[InstanceId]) -> Value {
    let ids: Vec<&str> = instance_ids.iter().map(InstanceId::as_str).collect();
    json!({"InstanceIdSets": {"InstanceIdSet": ids}})
}

#[cfg(test)]
mod tests;
