//! The services of Stencil: the only crate that composes formats, chunks and metadata.
//!
//! | module     | what it answers                                                   |
//! |------------|-------------------------------------------------------------------|
//! | `regions`  | which regions exist                                               |
//! | `catalog`  | publishing the public image catalog into the metadata store       |
//! | `images`   | listing and finding images as one account sees them                |
//! | `compat`   | which instance types an image runs on, as filters and as lists    |
//! | `lifecycle`| import, export, create, modify, delete; snapshots, tags, tasks    |
//! | `sharing`  | sharing images with accounts, publishing community images         |
//! | `runner`   | durable tasks: run, report progress, resume after a restart       |
//! | `jobs`     | the byte work behind each task kind                               |
//! | `stores`   | the chunk store of each region                                    |
//! | `maintenance` | GC and verification of the chunk stores                    |
//! | `buckets`  | the OSS-bucket stand-ins that imports read and exports write      |
//!
//! Services take a [`Caller`] (the authenticated account) and return domain values or a
//! [`ServiceError`]; the wire layer above maps those to ECS codes.

pub mod buckets;
mod catalog;
pub mod disks;
mod images;
mod instances;
pub mod jobs;
mod lifecycle;
pub mod maintenance;
mod regions;
pub mod runner;
mod sharing;
mod stores;

pub use catalog::publish_public_catalog;
pub use images::{ImageService, alias_for, compatible_combos, traits_of};
pub use instances::Instances;
pub use lifecycle::{Imported, Lifecycle, SnapshotView};
pub use regions::{Region, Regions};
pub use runner::{DEFAULT_LEASE_TTL, TaskRunner};
pub use sharing::{SharePermissions, Sharing};
pub use stencil_chunks::backend::object::S3Options;
pub use stores::{KmsKey, RegionStores, StoreOpenError, StoreSpec};

use stencil_domain::{AccountId, DomainError};

/// The authenticated account a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account UID.
    pub account: AccountId,
}

/// What a service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request broke a rule of the image service.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] stencil_meta::MetaError),
}
