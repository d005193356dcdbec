//! Errors of the image service's rules, independent of any wire protocol.
//!
//! The services return these; `stencil-ecs` maps each variant to an ECS code and HTTP status in
//! one exhaustive `match`, so adding a variant does not compile until someone chooses its code.

use crate::quota::QuotaKind;

/// What an image is busy with, which blocks deleting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// An import task runs.
    Importing,
    /// An export task runs.
    Exporting,
    /// A copy runs.
    Copying,
    /// The image is still being created.
    Creating,
}

/// Why an image cannot be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportRefusal {
    /// Derived from a marketplace image.
    Marketplace,
    /// Encrypted.
    Encrypted,
    /// Published as a community image.
    Community,
    /// More data disks than an export takes.
    TooManyDisks,
}

/// Why an image cannot be shared with accounts or published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareRefusal {
    /// Derived from a marketplace image (it has a product code).
    Marketplace,
    /// Published as a community image: it cannot also be shared with accounts.
    Community,
    /// Encrypted: it cannot be published.
    Encrypted,
    /// Encrypted with the region's service key: it cannot be shared with accounts.
    ServiceKey,
}

impl std::fmt::Display for ShareRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ShareRefusal::Marketplace => "it is derived from a marketplace image",
            ShareRefusal::Community => {
                "it is published as a community image and cannot also be shared with accounts"
            }
            ShareRefusal::Encrypted => "encrypted images cannot be published",
            ShareRefusal::ServiceKey => {
                "it is encrypted with the region's service key (images encrypted with a customer key can be shared)"
            }
        })
    }
}

/// A CreateImage disk mapping that cannot work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingProblem {
    /// No disk is the system disk, or more than one is.
    SystemDiskCount,
    /// A device name is not `/dev/xvda`…`/dev/xvdz`.
    DeviceMalformed,
    /// Two disks name the same device.
    DeviceInUse,
    /// A size is smaller than its snapshot or out of range.
    Size,
    /// More than 16 data disks.
    TooManyDataDisks,
}

/// A rule of the image service was violated by a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// The region is not configured.
    #[error("The specified RegionId {0:?} does not exist")]
    UnknownRegion(String),
    /// No such image, or not visible to the caller.
    #[error("The specified ImageId {0:?} does not exist")]
    ImageNotFound(String),
    /// No such instance type.
    #[error("The specified InstanceType {0:?} is not supported")]
    UnknownInstanceType(String),
    /// The image cannot run on the instance type.
    #[error("The image {image} is not supported by instance type {instance_type}: {reason}")]
    ImageNotSupportInstanceType {
        image: String,
        instance_type: String,
        reason: String,
    },
    /// The image is not in a status that allows the operation.
    #[error("The specified image {image} is {status}, not available")]
    ImageNotAvailable { image: String, status: String },
    /// No such snapshot, or not the caller's.
    #[error("The specified SnapshotId {0:?} does not exist")]
    SnapshotNotFound(String),
    /// The snapshot is still being created (or failed).
    #[error("The specified snapshot {0:?} is not ready")]
    SnapshotNotReady(String),
    /// The snapshot backs images and cannot be deleted.
    #[error("The snapshot {snapshot} has been used to create user defined image(s): {images}")]
    SnapshotCreatedImage { snapshot: String, images: String },
    /// No such task, or not the caller's.
    #[error("The specified TaskId {0:?} does not exist")]
    TaskNotFound(String),
    /// The task's action cannot be cancelled.
    #[error("The task {task} ({action}) cannot be cancelled")]
    TaskNotCancellable { task: String, action: String },
    /// The task has already ended.
    #[error("The task {task} is {status} and cannot be cancelled")]
    TaskEnded { task: String, status: String },
    /// No bucket of that name is configured.
    #[error("The specified OSS bucket {0:?} does not exist in this region")]
    BucketNotFound(String),
    /// The bucket exists in another region.
    #[error("The specified OSS bucket {bucket:?} is in region {bucket_region}, not {region}")]
    BucketOtherRegion {
        bucket: String,
        bucket_region: String,
        region: String,
    },
    /// No such object in the bucket.
    #[error("The specified OSS object {object:?} does not exist in bucket {bucket:?}")]
    ObjectNotFound { bucket: String, object: String },
    /// The object is empty.
    #[error("The specified OSS object {object:?} in bucket {bucket:?} is empty (0 bytes)")]
    ObjectEmpty { bucket: String, object: String },
    /// The account already has an image of that name in the region.
    #[error("The specified Image name {0:?} has already bean used")]
    ImageNameTaken(String),
    /// A quota is used up.
    #[error("The quota {kind:?} is exceeded (limit {limit})")]
    QuotaExceeded { kind: QuotaKind, limit: u64 },
    /// The image is busy.
    #[error("The specified image {image} is busy: {busy:?}")]
    ImageBusy { image: String, busy: Busy },
    /// The image is shared with other accounts.
    #[error("The specified image {0} is shared with other accounts; unshare it first")]
    ImageShared(String),
    /// The image is published as a community image.
    #[error("The specified image {0} is published as a community image; unpublish it first")]
    ImageIsPublic(String),
    /// The image cannot be shared or published in its status (only Available images can).
    #[error(
        "The specified image {image} is {status}; only Available images can be shared or published"
    )]
    ShareStatus { image: String, status: String },
    /// The image cannot be shared or published at all.
    #[error("The image {image} cannot be shared or published: {reason}")]
    ShareRefused { image: String, reason: ShareRefusal },
    /// `AddAccount.N` or `RemoveAccount.N` names the caller's own account.
    #[error("The account {account} in parameter {parameter:?} is your own account")]
    ShareWithSelf { parameter: String, account: String },
    /// `AddAccount.N` or `RemoveAccount.N` names an account the server does not know.
    #[error("The specified account {account} in parameter {parameter:?} does not exist")]
    UnknownAccount { parameter: String, account: String },
    /// The disk's bytes are on another node of a scale-out deployment.
    #[error(
        "The disk {disk} is served by Stencil node {node} (its written data is there); send requests that work on its data to that node"
    )]
    DiskOnOtherNode { disk: String, node: String },
    /// Instances use the image.
    #[error("The specified image {0} has been used to create instances; use Force to delete it")]
    ImageInUse(String),
    /// ModifyImageAttribute cannot move the image to this status from where it is.
    #[error("The image {image} is {from} and cannot become {to}")]
    StatusTransition {
        image: String,
        from: String,
        to: String,
    },
    /// ImdsSupport cannot go from v2 back to v1.
    #[error("The ImdsSupport of image {0} is v2 and cannot be changed back to v1")]
    ImdsDowngrade(String),
    /// BootMode cannot change while instances use the image.
    #[error("The BootMode of image {0} cannot change while instances use it")]
    BootModeInUse(String),
    /// The image cannot be exported.
    #[error("The image {image} cannot be exported: {reason:?}")]
    ExportRefused {
        image: String,
        reason: ExportRefusal,
    },
    /// A ClientToken was used before with other parameters.
    #[error("The ClientToken {0:?} was used in a previous request with other parameters")]
    IdempotencyMismatch(String),
    /// A CreateImage disk mapping cannot work.
    #[error("{message}")]
    InvalidMapping {
        problem: MappingProblem,
        message: String,
    },
    /// An image of the marketplace or the public catalog cannot be changed by an account.
    #[error("The image {0} is not a custom image of this account")]
    NotCustomImage(String),
    /// No such instance, or not the caller's.
    #[error("The specified InstanceId {0:?} does not exist")]
    InstanceNotFound(String),
    /// No such disk, or not the caller's.
    #[error("The specified DiskId {0:?} does not exist")]
    DiskNotFound(String),
    /// The instance is in a status the operation does not accept.
    #[error("The instance {instance} is {status}; {operation} needs it {needed}")]
    IncorrectInstanceStatus {
        instance: String,
        status: String,
        operation: &'static str,
        needed: &'static str,
    },
    /// The disk is in a status the operation does not accept.
    #[error("The disk {disk} is {status}; {operation} needs it {needed}")]
    IncorrectDiskStatus {
        disk: String,
        status: String,
        operation: &'static str,
        needed: &'static str,
    },
    /// The image cannot be used to create an instance or a system disk: it is not Available
    /// (Creating, CreateFailed, UnAvailable) or Deprecated.
    #[error("The specified image {image} is disabled or is deleted ({status})")]
    ImageNotUsable { image: String, status: String },
    /// The requested system disk is smaller than the image.
    #[error("The system disk size {size_gib} GiB is less than the image size {image_gib} GiB")]
    SystemDiskTooSmall { size_gib: u64, image_gib: u64 },
    /// A data disk is smaller than its snapshot, or has neither a size nor a snapshot.
    #[error("{parameter}: {message}")]
    DataDiskSize { parameter: String, message: String },
    /// `DataDisk.N.SnapshotId` names no snapshot of the caller in the region.
    #[error("The specified data disk snapshot {0:?} does not exist")]
    DataDiskSnapshotNotFound(String),
    /// `DataDisk.N.Size` is smaller than the snapshot it is made from.
    #[error(
        "{parameter} {size_gib} GiB is less than the size of its snapshot ({snapshot_gib} GiB)"
    )]
    DataDiskTooSmall {
        parameter: String,
        size_gib: u64,
        snapshot_gib: u64,
    },
    /// Two disks of a new instance would have the same device.
    #[error("The device {0} is already in use by another disk of the instance")]
    DeviceInUse(String),
    /// An instance would have more data disks than it may.
    #[error("An instance has at most 16 data disks, not {0}")]
    TooManyDataDisks(usize),
    /// ReplaceSystemDisk was given an image with data disks.
    #[error(
        "The image {0} contains the snapshot of the data disk and cannot replace a system disk"
    )]
    ImageHasDataDisks(String),
    /// ResetDisk was given a snapshot of another disk.
    #[error("The snapshot {snapshot} was not created from disk {disk}")]
    SnapshotDiskMismatch { snapshot: String, disk: String },
    /// ReInitDisk: the disk's source image was deleted.
    #[error("The disk {disk} cannot be re-initialised: its source image {image} has been deleted")]
    DiskSourceImageDeleted { disk: String, image: String },
    /// The snapshot was used to create disks; it needs Force to be deleted.
    #[error(
        "The snapshot {snapshot} has been used to create disks ({disks}); use Force to delete it"
    )]
    SnapshotCreatedDisk { snapshot: String, disks: String },
    /// A snapshot of the disk is being created.
    #[error("A snapshot of disk {0} is being created")]
    DiskCreatingSnapshot(String),
    /// A resource named in a tag request does not exist or is not the caller's.
    #[error("The specified resource {0:?} does not exist")]
    ResourceNotFound(String),
    /// CopyImage names a destination region that is not configured.
    #[error("The specified DestinationRegionId {0:?} does not exist")]
    DestinationRegionNotFound(String),
    /// The owner copies an image into its own region.
    #[error(
        "The DestinationRegionId {0} is the image's own region; CopyImage copies across regions"
    )]
    IncorrectDestinationRegion(String),
    /// An image shared with the caller is copied out of its region.
    #[error("The image {0} is shared with you; it can only be copied within its region")]
    CopySameRegionOnly(String),
    /// A community image of another account is copied.
    #[error("The image {0} is a community image; community images cannot be copied")]
    CopyCommunityImage(String),
    /// The KMS key is not configured for the region.
    #[error("The specified KMSKeyId {key:?} does not exist in region {region}")]
    KmsKeyNotFound { key: String, region: String },
    /// `Encrypted=true` without a key, and the region has no service key.
    #[error("Encrypted=true needs a KMSKeyId: region {0} has no default (service) key")]
    KmsNotEnabled(String),
    /// CancelCopyImage on an image that no copy created.
    #[error("The specified image {0} was not created by CopyImage")]
    ImageCreatedNotFromCopy(String),
    /// CancelCopyImage on a copy that has ended.
    #[error("{0}")]
    CopyEnded(String),
    /// A metadata store failure the caller cannot fix.
    #[error("Internal error: {0}")]
    Internal(String),
}
