//! Pure types and rules of Stencil: identifiers, the image model, its status machine, the public
//! image and instance type catalogs, quotas and compatibility. No I/O, no HTTP, no SQL.
//!
//! Everything a request carries is parsed into these types at the edge (the `stencil-ecs`
//! crate), so the services below work on values that are already valid.

pub mod attrs;
pub mod catalog;
pub mod compat;
pub mod error;
pub mod filter;
pub mod ids;
pub mod image;
pub mod instance;
pub mod names;
pub mod quota;
pub mod requests;
pub mod snapshot;
pub mod status;
pub mod task;

pub use attrs::{
    ActionType, Architecture, BootMode, ExportFormat, ImageOwnerAlias, ImdsSupport, ImportFormat,
    OsType, Platform, SnapshotStatus, SnapshotUsage, Support, TagResourceType, TaskAction,
    TaskStatus, Usage,
};
pub use attrs::{DiskCategory, DiskStatus, InstanceStatus};
pub use error::{Busy, DomainError, ExportRefusal, MappingProblem, ShareRefusal};
pub use filter::{ImageFilter, TraitCombo};
pub use ids::{AccountId, DiskId, ImageId, InstanceId, SnapshotId, TaskId};
pub use image::{
    DiskDeviceMapping, DiskType, Image, ImageFeatures, ImageKind, ImageViewpoint, Tag,
};
pub use instance::{Disk, GIB, Instance};
pub use quota::{QuotaKind, Quotas};
pub use snapshot::Snapshot;
pub use status::{ImageStatus, StatusFilter};
pub use task::{RelatedItem, Task, TaskFailure};
