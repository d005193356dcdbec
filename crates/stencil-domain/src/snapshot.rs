//! Snapshots (reference §5.17): the stored data of one disk at one moment, and what images are
//! made of. The bytes live in the region's chunk store as one immutable index named by the
//! snapshot ID; this record is what the API describes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attrs::SnapshotStatus;
use crate::ids::{AccountId, SnapshotId};
use crate::image::{DiskType, Tag};

/// One snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `s-…`; also the name of its index in the chunk store.
    pub id: SnapshotId,
    /// The region it lives in.
    pub region: String,
    /// The owning account; `None` for the disks of public catalog images.
    pub owner: Option<AccountId>,
    /// Display name (may be empty).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Progressing, accomplished or failed.
    pub status: SnapshotStatus,
    /// 0–100.
    pub progress: u8,
    /// When it was created.
    pub creation_time: DateTime<Utc>,
    /// The disk it was taken of (empty for imported disks).
    pub source_disk_id: String,
    /// Size of that disk in GiB.
    pub source_disk_size_gib: u64,
    /// System or data disk.
    pub source_disk_type: DiskType,
    /// Exact size of the disk in bytes.
    pub virtual_size: u64,
    /// Bytes of guest data (not holes or zeros) in the disk.
    pub data_bytes: u64,
    /// Whether the chunks are encrypted.
    pub encrypted: bool,
    /// The key that encrypts them.
    pub kms_key_id: String,
    /// The image whose import or copy produced it, if any.
    pub source_image_id: String,
    /// Resource group.
    pub resource_group_id: String,
    /// Tags.
    pub tags: Vec<Tag>,
}
