//! The requests of instances, disks and disk snapshots (reference §5.17–5.18).

use crate::attrs::{DiskCategory, DiskStatus, InstanceStatus};
use crate::ids::{ImageId, SnapshotId};
use crate::image::{DiskType, Tag};

/// `SystemDisk.*` of RunInstances / CreateInstance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SystemDiskSpec {
    /// `SystemDisk.Size` in GiB; default max{40, image size}.
    pub size_gib: Option<u64>,
    /// `SystemDisk.Category`; default `cloud_efficiency`.
    pub category: Option<DiskCategory>,
    /// `SystemDisk.DiskName`.
    pub name: String,
    /// `SystemDisk.Description`.
    pub description: String,
}

/// `DataDisk.N.*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataDiskSpec {
    /// `DataDisk.N.Size` in GiB; default the snapshot's size (required without a snapshot).
    pub size_gib: Option<u64>,
    /// `DataDisk.N.SnapshotId`.
    pub snapshot_id: Option<SnapshotId>,
    /// `DataDisk.N.Category`; default `cloud_efficiency`.
    pub category: Option<DiskCategory>,
    /// `DataDisk.N.Device` (`/dev/xvdb`…`/dev/xvdz`); default the next free one.
    pub device: Option<String>,
    /// `DataDisk.N.DeleteWithInstance`; default true.
    pub delete_with_instance: bool,
    /// `DataDisk.N.DiskName`.
    pub name: String,
    /// `DataDisk.N.Description`.
    pub description: String,
}

/// `RunInstances` and `CreateInstance` (which creates one instance, `Stopped`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunInstances {
    /// `RegionId`.
    pub region: String,
    /// `ZoneId`; default `<region>-a`.
    pub zone_id: Option<String>,
    /// `ImageId`.
    pub image_id: Option<ImageId>,
    /// `ImageFamily` (when no `ImageId`): the family's newest Available image.
    pub image_family: Option<String>,
    /// `InstanceType`.
    pub instance_type: String,
    /// `InstanceName`; default the instance ID.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `HostName`.
    pub host_name: String,
    /// `Amount` (1–100; CreateInstance: 1).
    pub amount: u32,
    /// `MinAmount`: fewer than `amount` is acceptable down to this (capacity never runs out
    /// here, so `amount` instances are created).
    pub min_amount: Option<u32>,
    /// `SystemDisk.*`.
    pub system_disk: SystemDiskSpec,
    /// `DataDisk.N.*`, up to 16.
    pub data_disks: Vec<DataDiskSpec>,
    /// `IoOptimized` (`optimized` unless `none`).
    pub io_optimized: bool,
    /// `Tag.N`.
    pub tags: Vec<Tag>,
    /// `ClientToken`.
    pub client_token: Option<String>,
    /// RunInstances starts the instances (Running); CreateInstance leaves it Stopped.
    pub start: bool,
}

/// `DescribeInstances`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeInstances {
    /// `RegionId`.
    pub region: String,
    /// `InstanceIds` (JSON array, ≤ 100).
    pub instance_ids: Vec<String>,
    /// `Status`.
    pub status: Option<InstanceStatus>,
    /// `ImageId`.
    pub image_id: Option<String>,
    /// `InstanceName` (exact).
    pub name: Option<String>,
    /// `InstanceType`.
    pub instance_type: Option<String>,
    /// `Tag.N`.
    pub tags: Vec<Tag>,
    /// Rows to skip (from `NextToken` or `PageNumber`).
    pub offset: u64,
    /// `MaxResults` or `PageSize` (≤ 100, default 10).
    pub limit: u64,
    /// Whether the caller pages with `NextToken`.
    pub token_paging: bool,
    /// `PageNumber` as given.
    pub page_number: u64,
}

/// `StartInstance`, `StopInstance` and `DeleteInstance` (no `RegionId`: instance IDs are
/// unique across regions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceAction {
    /// `InstanceId`.
    pub instance_id: String,
    /// `Force` (DeleteInstance: a Running instance is stopped first) or `ForceStop`.
    pub force: bool,
}

/// `DescribeDisks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeDisks {
    /// `RegionId`.
    pub region: String,
    /// `DiskIds` (JSON array, ≤ 100).
    pub disk_ids: Vec<String>,
    /// `InstanceId`.
    pub instance_id: Option<String>,
    /// `DiskType` (`all` is `None`).
    pub disk_type: Option<DiskType>,
    /// `Category`.
    pub category: Option<DiskCategory>,
    /// `Status`.
    pub status: Option<DiskStatus>,
    /// `SnapshotId`: disks created from this snapshot.
    pub snapshot_id: Option<String>,
    /// `DiskName` (exact).
    pub name: Option<String>,
    /// `Tag.N`.
    pub tags: Vec<Tag>,
    /// Rows to skip.
    pub offset: u64,
    /// `MaxResults` or `PageSize` (≤ 100, default 10).
    pub limit: u64,
    /// Whether the caller pages with `NextToken`.
    pub token_paging: bool,
    /// `PageNumber` as given.
    pub page_number: u64,
}

/// `CreateSnapshot` (no `RegionId`: the disk's region).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreateSnapshot {
    /// `DiskId`.
    pub disk_id: String,
    /// `SnapshotName` (2–128, not starting with `auto`).
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `RetentionDays` (1–65536), kept for display.
    pub retention_days: Option<u32>,
    /// `Tag.N`.
    pub tags: Vec<Tag>,
    /// `ClientToken`.
    pub client_token: Option<String>,
}

/// `ReplaceSystemDisk` (no `RegionId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplaceSystemDisk {
    /// `InstanceId`.
    pub instance_id: String,
    /// `ImageId`.
    pub image_id: ImageId,
    /// `SystemDisk.Size`; default max{40, image size, current size}.
    pub size_gib: Option<u64>,
    /// `ClientToken`.
    pub client_token: Option<String>,
}

/// `ResetDisk` (roll back to a snapshot of the disk) and `ReInitDisk` (back to the disk's
/// source: its image or snapshot), no `RegionId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetDisk {
    /// `DiskId`.
    pub disk_id: String,
    /// `SnapshotId` for ResetDisk; `None` for ReInitDisk.
    pub snapshot_id: Option<String>,
}
