//! The requests of the image lifecycle, as domain values: `stencil-ecs` parses the wire
//! parameters into these (every check that needs no stored state happens there), and the
//! services in `stencil-core` carry them out.

use chrono::{DateTime, Utc};

use crate::attrs::{
    Architecture, BootMode, ExportFormat, ImdsSupport, ImportFormat, OsType, Platform,
    SnapshotStatus, SnapshotUsage, Support, TagResourceType, TaskAction, TaskStatus,
};
use crate::ids::{AccountId, SnapshotId};
use crate::image::{DiskType, Tag};
use crate::status::ImageStatus;

/// One disk of an `ImportImage` (`DiskDeviceMapping.N`); the first is the system disk.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImportDisk {
    /// `OSSBucket`: a configured bucket name.
    pub bucket: String,
    /// `OSSObject`: the key in the bucket.
    pub object: String,
    /// `Format`; `None` means detect.
    pub format: Option<ImportFormat>,
    /// `DiskImageSize` (or the deprecated `DiskImSize`) in GiB, 1–2048.
    pub size_gib: Option<u64>,
}

/// `ImportImage` (reference §5.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImportImage {
    /// `RegionId`.
    pub region: String,
    /// 1 system disk plus 0–16 data disks, in `N` order.
    pub disks: Vec<ImportDisk>,
    /// `ImageName`, already checked against §3.1.
    pub name: Option<String>,
    /// `Description`.
    pub description: String,
    /// `Architecture` (default x86_64).
    pub architecture: Architecture,
    /// `OSType` (default linux).
    pub os_type: OsType,
    /// `Platform` (default `Others Linux`).
    pub platform: Platform,
    /// `BootMode` (default BIOS; arm64 needs UEFI, checked at parse).
    pub boot_mode: BootMode,
    /// `LicenseType` (`Auto`, `Aliyun`, `BYOL`), empty if not given.
    pub license_type: String,
    /// `Features.NvmeSupport` (default unsupported).
    pub nvme_support: Support,
    /// `Features.ImdsSupport` (default v1).
    pub imds_support: ImdsSupport,
    /// `Tag.N`, checked and unique.
    pub tags: Vec<Tag>,
    /// `ResourceGroupId`, empty for the default group.
    pub resource_group_id: String,
    /// `ClientToken`.
    pub client_token: Option<String>,
    /// `DetectionStrategy` (`Standard`), if given.
    pub detection_strategy: Option<String>,
}

/// `ExportImage` (reference §5.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExportImage {
    /// `RegionId`.
    pub region: String,
    /// `ImageId`.
    pub image_id: String,
    /// `OSSBucket`.
    pub bucket: String,
    /// `OSSPrefix`: 1–30 letters and digits, empty if not given.
    pub prefix: String,
    /// `ImageFormat` (default raw).
    pub format: ExportFormat,
}

/// One `DiskDeviceMapping.N` of a `CreateImage`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreateDisk {
    /// `SnapshotId`.
    pub snapshot_id: Option<SnapshotId>,
    /// `Size` in GiB.
    pub size_gib: Option<u64>,
    /// `Device` (`/dev/xvda`…`/dev/xvdz`), checked at parse.
    pub device: Option<String>,
    /// `DiskType`.
    pub disk_type: Option<DiskType>,
}

/// `CreateImage` (reference §5.2). Exactly one source is set: the parser applies the
/// priority `InstanceId` > `DiskDeviceMapping` > `SnapshotId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreateImage {
    /// `RegionId`.
    pub region: String,
    /// `InstanceId` (instances arrive with the instances issue).
    pub instance_id: Option<String>,
    /// `SnapshotId`: a single system disk.
    pub snapshot_id: Option<SnapshotId>,
    /// `DiskDeviceMapping.N`.
    pub disks: Vec<CreateDisk>,
    /// `ImageName`.
    pub name: Option<String>,
    /// `Description`.
    pub description: String,
    /// `ImageFamily`, empty if none.
    pub family: String,
    /// `ImageVersion`.
    pub version: String,
    /// `Architecture` (default x86_64).
    pub architecture: Option<Architecture>,
    /// `Platform` (default `Others Linux`).
    pub platform: Option<Platform>,
    /// `BootMode`.
    pub boot_mode: Option<BootMode>,
    /// `Features.ImdsSupport` (default v1 from a snapshot).
    pub imds_support: Option<ImdsSupport>,
    /// `DetectionStrategy`.
    pub detection_strategy: Option<String>,
    /// `Tag.N`.
    pub tags: Vec<Tag>,
    /// `ResourceGroupId`.
    pub resource_group_id: String,
    /// `ClientToken`.
    pub client_token: Option<String>,
}

/// `ModifyImageAttribute` (reference §5.8). `None` keeps the current value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModifyImageAttribute {
    /// `RegionId`.
    pub region: String,
    /// `ImageId`.
    pub image_id: String,
    /// `ImageName`.
    pub name: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `Status`: only `Deprecated` or `Available`.
    pub status: Option<ImageStatus>,
    /// `ImageFamily`.
    pub family: Option<String>,
    /// `BootMode`.
    pub boot_mode: Option<BootMode>,
    /// `LicenseType` (only `BYOL`).
    pub license_type: Option<String>,
    /// `Features.NvmeSupport`.
    pub nvme_support: Option<Support>,
    /// `Features.ImdsSupport`.
    pub imds_support: Option<ImdsSupport>,
}

/// `DeleteImage` (reference §5.7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeleteImage {
    /// `RegionId`.
    pub region: String,
    /// `ImageId`.
    pub image_id: String,
    /// `Force`.
    pub force: bool,
}

/// `DescribeTasks` (reference §5.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeTasks {
    /// `RegionId`.
    pub region: String,
    /// `TaskIds` (comma-separated, ≤ 100).
    pub task_ids: Vec<String>,
    /// `TaskAction`.
    pub action: Option<TaskAction>,
    /// `TaskStatus` (other values are ignored, as the reference says).
    pub status: Option<TaskStatus>,
    /// `StartTime`: created at or after.
    pub start: Option<DateTime<Utc>>,
    /// `EndTime`: created at or before.
    pub end: Option<DateTime<Utc>>,
    /// `ResourceIds.N`.
    pub resource_ids: Vec<String>,
    /// 1-based.
    pub page_number: u64,
    /// 1–100.
    pub page_size: u64,
}

/// `DescribeTaskAttribute` and `CancelTask`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    /// `RegionId`.
    pub region: String,
    /// `TaskId`.
    pub task_id: String,
}

/// `DescribeSnapshots` (reference §5.17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeSnapshots {
    /// `RegionId`.
    pub region: String,
    /// `SnapshotIds` (a JSON array, ≤ 100).
    pub snapshot_ids: Vec<String>,
    /// `SnapshotName`.
    pub name: Option<String>,
    /// `Status` (`all` is `None`).
    pub status: Option<SnapshotStatus>,
    /// `SourceDiskType`.
    pub disk_type: Option<DiskType>,
    /// `Usage`.
    pub usage: Option<SnapshotUsage>,
    /// `Encrypted`.
    pub encrypted: Option<bool>,
    /// `DiskId`.
    pub disk_id: Option<String>,
    /// `Tag.N`.
    pub tags: Vec<Tag>,
    /// Rows to skip (from `NextToken` or `PageNumber`).
    pub offset: u64,
    /// `MaxResults` or `PageSize`.
    pub limit: u64,
    /// Whether the caller pages with `NextToken` (then the response carries the next one).
    pub token_paging: bool,
    /// `PageNumber` as given (for the response).
    pub page_number: u64,
}

/// `DeleteSnapshot` (no `RegionId`: snapshot IDs are unique across regions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteSnapshot {
    /// `SnapshotId`.
    pub snapshot_id: String,
    /// `Force`.
    pub force: bool,
}

/// `TagResources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagResources {
    /// `RegionId`.
    pub region: String,
    /// `ResourceType`.
    pub resource_type: TagResourceType,
    /// `ResourceId.N`, 1–50.
    pub resource_ids: Vec<String>,
    /// `Tag.N`, 1–20, unique keys.
    pub tags: Vec<Tag>,
}

/// `UntagResources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntagResources {
    /// `RegionId`.
    pub region: String,
    /// `ResourceType`.
    pub resource_type: TagResourceType,
    /// `ResourceId.N`, 1–50.
    pub resource_ids: Vec<String>,
    /// `TagKey.N`, ≤ 20.
    pub keys: Vec<String>,
    /// `All`: remove every tag when no key is given.
    pub all: bool,
}

/// `ListTagResources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListTagResources {
    /// `RegionId`.
    pub region: String,
    /// `ResourceType`.
    pub resource_type: TagResourceType,
    /// `ResourceId.N`.
    pub resource_ids: Vec<String>,
    /// `Tag.N`: key with an optional exact value.
    pub tags: Vec<(String, Option<String>)>,
    /// Rows to skip (decoded from `NextToken`).
    pub offset: u64,
    /// Page size (`MaxResults`, default 50).
    pub limit: u64,
}

mod copy;
/// `ModifyImageSharePermission` and `ModifyImageShareGroupPermission` (reference §5.9,
/// §5.11): accounts to add and remove (N = 1–10 each, in `N` order, as given), and whether
/// to publish (`Some(true)`) or unpublish (`Some(false)`) the image as a community image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModifyImageSharePermission {
    /// `RegionId`.
    pub region: String,
    /// `ImageId`.
    pub image_id: String,
    /// `AddAccount.1`…`AddAccount.10` as (N, account), so errors can name the parameter.
    pub add_accounts: Vec<(u32, AccountId)>,
    /// `RemoveAccount.1`…`RemoveAccount.10` as (N, account).
    pub remove_accounts: Vec<(u32, AccountId)>,
    /// `IsPublic`, or `AddGroup.N=all` (true) / `RemoveGroup.N=all` (false).
    pub is_public: Option<bool>,
}

/// `DescribeImageSharePermission` (reference §5.10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DescribeImageSharePermission {
    /// `RegionId`.
    pub region: String,
    /// `ImageId`.
    pub image_id: String,
    /// `PageNumber`, from 1.
    pub page_number: u64,
    /// `PageSize`, 1–100.
    pub page_size: u64,
}

mod instances;
pub use copy::{CancelCopyImage, CopyImage};
pub use instances::{
    CreateSnapshot, DataDiskSpec, DescribeDisks, DescribeInstances, InstanceAction,
    ReplaceSystemDisk, ResetDisk, RunInstances, SystemDiskSpec,
};
