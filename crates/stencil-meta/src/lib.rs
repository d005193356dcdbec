//! Stencil's metadata store: images, snapshots, tasks and tags, on SQLite (one node) or
//! PostgreSQL (scale-out), behind one [`MetaStore`].
//!
//! | table             | holds                                               |
//! |-------------------|-----------------------------------------------------|
//! | `images`          | one row per image and region: filter columns + JSON |
//! | `image_tags`      | tag index for `Tag.N` filters                        |
//! | `image_snapshots` | which snapshots back which image (`SnapshotId`)      |
//! | `image_shares`    | accounts an image is shared with, and since when     |
//! | `marketplace_subscriptions` | marketplace products each account has used |
//! | `tasks`           | durable tasks: filter columns + JSON                 |
//! | `snapshots`       | one row per snapshot (IDs are global): columns + JSON |
//! | `snapshot_tags`   | tag index of snapshots                               |
//! | `client_tokens`   | `ClientToken` idempotency: fingerprint and result    |
//! | `instances`, `disks` | instances and their disks: columns + JSON         |
//! | `resource_tags`   | tag index of instances and disks                     |
//! | `leases`          | which node works on a task (or runs GC), until when  |
//! | `signature_nonces` | nonces seen within the timestamp window, all nodes  |
//! | `image_changes`   | PostgreSQL: a counter triggers move on image writes (listing totals) |
//!
//! Both backends run the same SQL (see `db`), and the same [`conformance`] suite. Migrations
//! are embedded and run at open; SQLite runs in WAL mode with `synchronous=NORMAL`.
//! Every write that touches several tables is one transaction, and [`MetaStore::apply`]
//! makes one transaction of several records (an image, its task and the request's token).
//! Inserts that must not overwrite use `ON CONFLICT DO NOTHING` and report
//! [`MetaError::Conflict`] when nothing was inserted, so two racing writers cannot both win.

mod batch;
mod counts;
mod db;
mod images;
mod instances;
mod leases;
mod query;
mod shares;
mod snapshots;
mod store;
mod tags;
mod tasks;
mod tokens;

pub mod conformance;

pub use batch::Write;
pub use db::Backend;
pub use instances::{DiskQuery, InstanceQuery};
pub use leases::LeaseState;
pub use query::{ImageQuery, Visibility};
pub use shares::ImageShare;
pub use snapshots::SnapshotQuery;
pub use store::{MetaStore, Page};
pub use tags::{TagListQuery, TagRow};
pub use tasks::TaskQuery;
pub use tokens::ClientToken;

/// Errors of the metadata store.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetaError {
    /// The URL or options are unusable.
    #[error("Bad metadata configuration: {0}")]
    Config(String),
    /// The database failed.
    #[error("Metadata backend error: {0}")]
    Backend(String),
    /// A row with this key exists.
    #[error("Conflict: {0}")]
    Conflict(String),
    /// A value cannot be stored.
    #[error("Invalid record: {0}")]
    Invalid(String),
    /// A stored record cannot be read back.
    #[error("Corrupt record: {0}")]
    Corrupt(String),
}
