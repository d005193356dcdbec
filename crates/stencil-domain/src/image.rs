//! The image model (reference §3): what an image is, independent of how it is stored or sent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attrs::{Architecture, BootMode, ImdsSupport, OsType, Platform, Support, Usage};
use crate::ids::{AccountId, ImageId, SnapshotId};
use crate::status::ImageStatus;

/// Where an image comes from, which decides who sees it and what they may do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// From the operator's public catalog (`ImageOwnerAlias=system`).
    Public,
    /// Made by an account (create, import, copy).
    Custom,
    /// From the marketplace catalog.
    Marketplace,
}

impl ImageKind {
    /// The storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Public => "public",
            ImageKind::Custom => "custom",
            ImageKind::Marketplace => "marketplace",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [ImageKind::Public, ImageKind::Custom, ImageKind::Marketplace]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Whether a disk of an image is its system disk or a data disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskType {
    /// The boot disk, `/dev/xvda`.
    System,
    /// A data disk, `/dev/xvdb` onwards.
    Data,
}

impl DiskType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DiskType::System => "system",
            DiskType::Data => "data",
        }
    }
}

/// One disk of an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskDeviceMapping {
    /// System or data.
    pub disk_type: DiskType,
    /// Device name, `/dev/xvda` for the system disk.
    pub device: String,
    /// Size in GiB.
    pub size_gib: u64,
    /// The snapshot that holds the disk's data, once it exists.
    pub snapshot_id: Option<SnapshotId>,
    /// The format the disk was imported from, if imported.
    pub format: Option<String>,
    /// The bucket the disk was imported from.
    pub import_oss_bucket: Option<String>,
    /// The object the disk was imported from.
    pub import_oss_object: Option<String>,
    /// Copy or import progress of this disk, 0–100.
    pub progress: u8,
    /// Whether the disk's data is encrypted.
    pub encrypted: bool,
}

/// A tag on a resource. Keys are unique per resource, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tag {
    /// 1–128 characters.
    pub key: String,
    /// 0–128 characters.
    pub value: String,
}

/// The `Features` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFeatures {
    /// NVMe driver present.
    pub nvme_support: Option<Support>,
    /// Metadata service versions.
    pub imds_support: Option<ImdsSupport>,
    /// Online CPU upgrade.
    pub cpu_online_upgrade: Option<Support>,
    /// Online CPU downgrade.
    pub cpu_online_downgrade: Option<Support>,
    /// Online memory upgrade.
    pub memory_online_upgrade: Option<Support>,
    /// Online memory downgrade.
    pub memory_online_downgrade: Option<Support>,
}

/// An image as the API describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// `m-…` or a public file-like name.
    pub id: ImageId,
    /// The region the image lives in.
    pub region: String,
    /// Public, custom or marketplace.
    pub kind: ImageKind,
    /// The owning account; `None` for public and marketplace images.
    pub owner: Option<AccountId>,
    /// Display name, unique per owner and region.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Family name, empty when none.
    pub family: String,
    /// Free-form version label.
    pub version: String,
    /// Lifecycle status.
    pub status: ImageStatus,
    /// 0–100.
    pub progress: u8,
    /// When the image was created.
    pub creation_time: DateTime<Utc>,
    /// System disk size in GiB.
    pub size_gib: u64,
    /// CPU architecture.
    pub architecture: Architecture,
    /// OS family.
    pub os_type: OsType,
    /// Distribution.
    pub platform: Platform,
    /// Display name in the Chinese locale.
    pub os_name: String,
    /// Display name in English.
    pub os_name_en: String,
    /// Firmware.
    pub boot_mode: BootMode,
    /// cloud-init present.
    pub is_support_cloudinit: bool,
    /// Usable on I/O optimised instances.
    pub is_support_io_optimized: bool,
    /// `ecs-user` login supported.
    pub login_as_non_root_supported: bool,
    /// Licence type given at import (`Auto`, `Aliyun`, `BYOL`), empty otherwise.
    pub license_type: String,
    /// Whether the OS licence is billed (Windows Server, RHEL).
    pub license_billed: bool,
    /// Feature flags.
    pub features: ImageFeatures,
    /// Resource group.
    pub resource_group_id: String,
    /// Whether instances use it.
    pub usage: Usage,
    /// Made by CopyImage.
    pub is_copied: bool,
    /// Published as a community image (or a public image).
    pub is_public: bool,
    /// Marketplace product code, inherited by derived images.
    pub product_code: String,
    /// Community or marketplace publisher.
    pub supplier_name: String,
    /// Disks, system first.
    pub disks: Vec<DiskDeviceMapping>,
    /// Tags.
    pub tags: Vec<Tag>,
}

impl Image {
    /// The snapshot IDs of all disks that have one.
    pub fn snapshot_ids(&self) -> impl Iterator<Item = &SnapshotId> {
        self.disks.iter().filter_map(|d| d.snapshot_id.as_ref())
    }
}

/// How one account sees an image: what a listing reports beside the record itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageViewpoint {
    /// `ImageOwnerAlias` from the account's side.
    pub alias: crate::attrs::ImageOwnerAlias,
    /// `IsSelfShared`: the account owns the image and shares it with accounts or publishes it.
    pub self_shared: bool,
    /// `IsSubscribed`: the image has a marketplace product code the account has launched an
    /// instance or system disk from.
    pub subscribed: bool,
}
