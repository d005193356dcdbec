//! Atomic multi-record writes: a request that creates an image, its task and its client token
//! commits all three or none.

use chrono::{DateTime, Utc};
use stencil_domain::{Disk, Image, Instance, Snapshot, Task};

use crate::tokens::ClientToken;
use crate::{MetaError, MetaStore};

/// One write of a batch given to [`MetaStore::apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// A new image; [`MetaError::Conflict`] if its region and ID exist.
    InsertImage(Image),
    /// Replaces the image with this region and ID, or inserts it.
    PutImage(Image),
    /// Replaces `expected` by `new` only if the stored record is still exactly `expected`;
    /// [`MetaError::Conflict`] otherwise (read-modify-write without lost updates, on every
    /// backend and across nodes).
    ReplaceImage {
        /// The record as it was read.
        expected: Box<Image>,
        /// The record to store.
        new: Box<Image>,
    },
    /// Removes an image if present.
    DeleteImage {
        /// Its region.
        region: String,
        /// Its ID.
        id: String,
    },
    /// A new task; [`MetaError::Conflict`] if its ID exists.
    InsertTask(Task),
    /// Replaces the task with this ID, or inserts it.
    PutTask(Task),
    /// A new snapshot; [`MetaError::Conflict`] if its ID exists.
    InsertSnapshot(Snapshot),
    /// Replaces the snapshot with this ID (tags included), or inserts it.
    PutSnapshot(Snapshot),
    /// Removes a snapshot and its tags if present.
    DeleteSnapshot(String),
    /// A new client token; [`MetaError::Conflict`] if its key exists.
    InsertToken(ClientToken),
    /// A new instance; [`MetaError::Conflict`] if its ID exists.
    InsertInstance(Box<Instance>),
    /// Compare-and-swap of an instance, as [`Write::ReplaceImage`].
    ReplaceInstance {
        /// The record as it was read.
        expected: Box<Instance>,
        /// The record to store.
        new: Box<Instance>,
    },
    /// Removes an instance and its tags if present.
    DeleteInstance(String),
    /// A new disk; [`MetaError::Conflict`] if its ID exists.
    InsertDisk(Box<Disk>),
    /// Compare-and-swap of a disk, as [`Write::ReplaceImage`].
    ReplaceDisk {
        /// The record as it was read.
        expected: Box<Disk>,
        /// The record to store.
        new: Box<Disk>,
    },
    /// Removes a disk and its tags if present.
    DeleteDisk(String),
    /// Shares an image with an account; sharing again keeps the first `at`.
    ShareImage {
        /// The image's region.
        region: String,
        /// Its ID.
        image_id: String,
        /// The account it is shared with.
        account: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Stops sharing an image with an account (nothing if it was not shared).
    UnshareImage {
        /// The image's region.
        region: String,
        /// Its ID.
        image_id: String,
        /// The account.
        account: String,
    },
    /// Fails the whole batch with [`MetaError::Conflict`] if, with the writes before it, the
    /// image is shared with more than `limit` accounts: the share limit checked where it
    /// cannot be raced (on PostgreSQL, put a `ReplaceImage` of the image first to serialise
    /// concurrent batches on its row).
    ShareLimit {
        /// The image's region.
        region: String,
        /// Its ID.
        image_id: String,
        /// Most accounts.
        limit: u64,
    },
    /// Records that an account used a marketplace product (`IsSubscribed`); kept once.
    Subscribe {
        /// The account.
        account: String,
        /// The product.
        product_code: String,
        /// When.
        at: DateTime<Utc>,
    },
}

impl Write {
    fn touches_images(&self) -> bool {
        matches!(
            self,
            Write::InsertImage(_)
                | Write::PutImage(_)
                | Write::ReplaceImage { .. }
                | Write::DeleteImage { .. }
                | Write::ShareImage { .. }
                | Write::UnshareImage { .. }
        )
    }
}

impl MetaStore {
    /// Applies every write in order, in one transaction: all of them or, on the first error,
    /// none.
    pub async fn apply(&self, writes: Vec<Write>) -> Result<(), MetaError> {
        let images_changed = writes.iter().any(Write::touches_images);
        let mut tx = self.pool.begin().await?;
        for write in &writes {
            match write {
                Write::InsertImage(image) => crate::images::insert(&mut tx, image).await?,
                Write::PutImage(image) => {
                    crate::images::delete(&mut tx, &image.region, image.id.as_str()).await?;
                    crate::images::insert(&mut tx, image).await?;
                }
                Write::ReplaceImage { expected, new } => {
                    crate::images::delete_if(&mut tx, expected).await?;
                    crate::images::insert(&mut tx, new).await?;
                }
                Write::DeleteImage { region, id } => {
                    crate::images::delete(&mut tx, region, id).await?;
                    crate::shares::unshare_all(&mut tx, region, id).await?;
                }
                Write::InsertTask(task) => crate::tasks::insert(&mut tx, task).await?,
                Write::PutTask(task) => crate::tasks::put(&mut tx, task).await?,
                Write::InsertSnapshot(snap) => crate::snapshots::insert(&mut tx, snap).await?,
                Write::PutSnapshot(snap) => crate::snapshots::put(&mut tx, snap).await?,
                Write::DeleteSnapshot(id) => {
                    crate::snapshots::delete(&mut tx, id).await?;
                }
                Write::InsertToken(token) => crate::tokens::insert(&mut tx, token).await?,
                Write::InsertInstance(i) => crate::instances::insert_instance(&mut tx, i).await?,
                Write::ReplaceInstance { expected, new } => {
                    crate::instances::replace_instance(&mut tx, expected, new).await?;
                }
                Write::DeleteInstance(id) => {
                    crate::instances::delete_row(&mut tx, "instances", id, None).await?;
                }
                Write::InsertDisk(d) => crate::instances::insert_disk(&mut tx, d).await?,
                Write::ReplaceDisk { expected, new } => {
                    crate::instances::replace_disk(&mut tx, expected, new).await?;
                }
                Write::DeleteDisk(id) => {
                    crate::instances::delete_row(&mut tx, "disks", id, None).await?;
                }
                Write::ShareImage {
                    region,
                    image_id,
                    account,
                    at,
                } => crate::shares::share(&mut tx, region, image_id, account, *at).await?,
                Write::UnshareImage {
                    region,
                    image_id,
                    account,
                } => crate::shares::unshare(&mut tx, region, image_id, account).await?,
                Write::ShareLimit {
                    region,
                    image_id,
                    limit,
                } => crate::shares::check_limit(&mut tx, region, image_id, *limit).await?,
                Write::Subscribe {
                    account,
                    product_code,
                    at,
                } => crate::shares::subscribe(&mut tx, account, product_code, *at).await?,
            }
        }
        tx.commit().await?;
        if images_changed {
            self.counts.invalidate();
        }
        Ok(())
    }
}
