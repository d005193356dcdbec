//! Instances and disks, as far as images need them (reference §5.18).
//!
//! An instance is a record with disks; Stencil does not boot it. Each disk holds real bytes: a
//! copy-on-write view over a *base* (an index in the region's chunk store that the disk owns,
//! made from the image's or a snapshot's index without copying data) plus an overlay of the
//! blocks written since. The overlay lives on the serving node (`stencil-core` `disks`); this
//! record says where the base is and which generation of the overlay is current.
//!
//! ```text
//!  RunInstances ──► Instance (Running) ──► Disk (In_use) ── base: disk-<id>-g<N> (index)
//!                                                        └─ overlay generation N (local file)
//!  StartInstance / StopInstance: Stopped ⇄ Running      ResetDisk / ReInitDisk: N + 1
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attrs::{Architecture, DiskCategory, DiskStatus, InstanceStatus, OsType};
use crate::ids::{AccountId, DiskId, ImageId, InstanceId, SnapshotId};
use crate::image::{DiskType, Tag};

/// Bytes in a GiB.
pub const GIB: u64 = 1 << 30;

/// One instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// `i-…`.
    pub id: InstanceId,
    /// The region it lives in.
    pub region: String,
    /// The zone (`<region>-a` unless the request named one).
    pub zone_id: String,
    /// The owning account.
    pub owner: AccountId,
    /// `InstanceName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `HostName`.
    pub host_name: String,
    /// `InstanceType`.
    pub instance_type: String,
    /// vCPUs of the type.
    pub cpu: u32,
    /// Memory of the type in MiB.
    pub memory_mib: u64,
    /// The image its system disk came from (the newest, after ReplaceSystemDisk).
    pub image_id: ImageId,
    /// OS of that image.
    pub os_type: OsType,
    /// OS name of that image.
    pub os_name: String,
    /// CPU architecture of that image.
    pub architecture: Architecture,
    /// Status.
    pub status: InstanceStatus,
    /// When it was created.
    pub creation_time: DateTime<Utc>,
    /// When it last started, if ever.
    pub start_time: Option<DateTime<Utc>>,
    /// The system disk.
    pub system_disk: DiskId,
    /// Data disks, in device order.
    pub data_disks: Vec<DiskId>,
    /// Marketplace product code inherited from the image.
    pub product_code: String,
    /// I/O optimised.
    pub io_optimized: bool,
    /// Tags.
    pub tags: Vec<Tag>,
}

impl Instance {
    /// Every disk, system first.
    pub fn disk_ids(&self) -> impl Iterator<Item = &DiskId> {
        std::iter::once(&self.system_disk).chain(self.data_disks.iter())
    }
}

/// One disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    /// `d-…`; also the NBD export name.
    pub id: DiskId,
    /// The region it lives in.
    pub region: String,
    /// The zone.
    pub zone_id: String,
    /// The owning account.
    pub owner: AccountId,
    /// The instance it is attached to.
    pub instance_id: Option<InstanceId>,
    /// `DiskName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// System or data disk.
    pub disk_type: DiskType,
    /// Category.
    pub category: DiskCategory,
    /// Size in GiB.
    pub size_gib: u64,
    /// Device name (`/dev/xvda` for the system disk).
    pub device: String,
    /// Status.
    pub status: DiskStatus,
    /// When it was created.
    pub creation_time: DateTime<Utc>,
    /// When it was attached.
    pub attached_time: Option<DateTime<Utc>>,
    /// The image it was created from (system disks and the data disks of full images).
    pub image_id: Option<ImageId>,
    /// The snapshot it was created from (the image's disk snapshot or `DataDisk.N.SnapshotId`).
    pub source_snapshot_id: Option<SnapshotId>,
    /// Released together with its instance.
    pub delete_with_instance: bool,
    /// Marketplace product code inherited from the image.
    pub product_code: String,
    /// Whether the data is encrypted.
    pub encrypted: bool,
    /// The KMS key its data is encrypted with (`""` when plain): its chunks live in that key's
    /// store of the region.
    #[serde(default)]
    pub kms_key_id: String,
    /// The chunk-store index the disk's bytes start from (owned by the disk, so deleting the
    /// source image or snapshot never takes the disk's data away).
    pub base_index: String,
    /// The overlay generation: a reset starts a new, empty one.
    pub generation: u64,
    /// The node whose `data_dir` holds the disk's overlay (what was written to it): only that
    /// node serves the disk and works on its bytes. Empty for disks from before scale-out
    /// (any node).
    #[serde(default)]
    pub node: String,
    /// Tags.
    pub tags: Vec<Tag>,
}

impl Disk {
    /// Size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.size_gib * GIB
    }

    /// The name of the base index of `generation` of disk `id`.
    pub fn base_index_name(id: &DiskId, generation: u64) -> String {
        format!("disk-{id}-g{generation}")
    }
}
