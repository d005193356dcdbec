//! CopyImage and CancelCopyImage (reference §5.5–5.6).
//!
//! | caller | may copy | into |
//! |---|---|---|
//! | owner | an Available custom image | another region (the same one: `IncorrectDestinationRegion`) |
//! | an account it is shared with | the same | its own region only (`OperationDenied.SameRegionOnly`); the copy is the caller's own image |
//! | a community viewer | nothing (`OperationDenied.CommunityImage`) | – |
//! | anyone else | nothing (`InvalidImageId.NotFound`) | – |
//!
//! The copy is a new custom image of the caller in the destination region, `IsCopied`, with the
//! source's attributes and new snapshots; it starts `Waiting` (at most five copies run per
//! region), then `Creating`, then `Available`. Its bytes are its own indexes in the destination
//! store, so deleting the source never touches it. With `Encrypted` and a `KMSKeyId`, the copy's
//! chunks are re-encrypted with that key (keyed digests, AES-256-GCM).

use chrono::Utc;
use stencil_domain::requests::{CancelCopyImage, CopyImage};
use stencil_domain::{
    DomainError, Image, ImageId, ImageKind, ImageStatus, SnapshotId, Task, TaskAction, TaskStatus,
    Usage,
};
use stencil_meta::{TaskQuery, Visibility, Write};

use super::Lifecycle;
use super::tokens::TokenCheck;
use crate::images::one_image;
use crate::jobs::JobSpec;
use crate::jobs::copy::CopySpec;
use crate::{Caller, ServiceError};

impl Lifecycle {
    /// Starts a copy; returns the copy's ImageId (`None` for a dry run).
    pub async fn copy_image(
        &self,
        caller: &Caller,
        req: CopyImage,
        dry_run: bool,
    ) -> Result<Option<String>, ServiceError> {
        let region = req.region.clone();
        self.regions.get(&region)?;
        let source = self.visible_image(caller, &region, &req.image_id).await?;
        let id = source.id.to_string();
        if matches!(source.kind, ImageKind::Public | ImageKind::Marketplace) {
            return Err(DomainError::NotCustomImage(id).into());
        }
        let owner = source.owner.as_ref() == Some(&caller.account);
        let dest = match (&req.destination_region, owner) {
            (Some(d), true) if d == &region => {
                return Err(DomainError::IncorrectDestinationRegion(d.clone()).into());
            }
            (None, true) => return Err(DomainError::IncorrectDestinationRegion(region).into()),
            (Some(d), true) => d.clone(),
            (_, false) if source.is_public && !self.shared_with(&source, caller).await? => {
                return Err(DomainError::CopyCommunityImage(id).into());
            }
            (Some(d), false) if d != &region => {
                return Err(DomainError::CopySameRegionOnly(id).into());
            }
            (_, false) => region.clone(),
        };
        if self.regions.get(&dest).is_err() {
            return Err(DomainError::DestinationRegionNotFound(dest).into());
        }
        if source.status != ImageStatus::Available {
            return Err(DomainError::ImageNotAvailable {
                image: id,
                status: source.status.as_str().to_string(),
            }
            .into());
        }
        let stores = &self.runner.env().stores;
        let service_key = || {
            stores
                .service_key(&dest)
                .map(str::to_string)
                .ok_or_else(|| DomainError::KmsNotEnabled(dest.clone()))
        };
        let mut kms_key_id = match (&req.kms_key_id, req.encrypted) {
            (Some(k), _) if !stores.has_key(&dest, k) => {
                return Err(DomainError::KmsKeyNotFound {
                    key: k.clone(),
                    region: dest,
                }
                .into());
            }
            (Some(k), _) => k.clone(),
            (None, true) => service_key()?,
            (None, false) => String::new(),
        };
        let mut disks = Vec::new();
        for m in &source.disks {
            let Some(snap_id) = &m.snapshot_id else {
                return Err(DomainError::SnapshotNotFound(String::new()).into());
            };
            let snap = self
                .meta
                .get_snapshot(snap_id.as_str())
                .await?
                .ok_or_else(|| DomainError::SnapshotNotFound(snap_id.to_string()))?;
            // A key lives in one region: an encrypted image leaves it only re-encrypted, with
            // the destination's service key unless the request names a key.
            if !snap.kms_key_id.is_empty() && kms_key_id.is_empty() {
                kms_key_id = service_key()?;
            }
            disks.push((
                snap_id.clone(),
                snap.kms_key_id.clone(),
                SnapshotId::generate(&dest),
            ));
        }
        let token = self
            .check_token(
                caller,
                &region,
                "CopyImage",
                req.client_token.as_deref(),
                format!("{req:?}"),
            )
            .await?;
        if let TokenCheck::Replay(image_id) = &token {
            return Ok(Some(image_id.clone()));
        }
        let name = match &req.name {
            Some(n) => {
                self.check_name_free(&dest, &caller.account, n).await?;
                n.clone()
            }
            None => {
                let taken = self
                    .meta
                    .image_name_taken(&dest, caller.account.as_str(), &source.name)
                    .await?;
                if taken {
                    format!("{}-copy-{}", source.name, ImageId::generate(&dest).as_str())
                } else {
                    source.name.clone()
                }
            }
        };
        self.check_image_quota(&dest, &caller.account).await?;
        self.check_family_quota(&dest, &caller.account, &source.family)
            .await?;
        if dry_run {
            return Ok(None);
        }

        let now = Utc::now();
        let copy_id = ImageId::generate(&dest);
        let mut image = Image {
            id: copy_id.clone(),
            region: dest.clone(),
            kind: ImageKind::Custom,
            owner: Some(caller.account.clone()),
            name,
            description: req
                .description
                .clone()
                .unwrap_or(source.description.clone()),
            status: ImageStatus::Waiting,
            progress: 0,
            creation_time: now,
            usage: Usage::None,
            is_copied: true,
            is_public: false,
            resource_group_id: req.resource_group_id.clone(),
            tags: req.tags.clone(),
            ..source.clone()
        };
        for d in &mut image.disks {
            d.snapshot_id = None;
            d.progress = 0;
            d.encrypted = !kms_key_id.is_empty();
        }
        let spec = JobSpec::Copy(CopySpec {
            image_id: copy_id.to_string(),
            source_region: region.clone(),
            source_image_id: id,
            disks,
            kms_key_id,
        });
        let mut task = Task::new(
            &dest,
            Some(caller.account.clone()),
            TaskAction::CopyImage,
            copy_id.as_str(),
            spec.encode(),
            now,
        );
        task.status = TaskStatus::Waiting;
        task.support_cancel = true;
        let mut writes = vec![Write::InsertImage(image), Write::InsertTask(task.clone())];
        if let Some(t) = token.record(copy_id.to_string()) {
            writes.push(Write::InsertToken(t));
        }
        self.meta.apply(writes).await?;
        self.runner.start(task);
        Ok(Some(copy_id.to_string()))
    }

    /// Cancels an unfinished copy: the copy and what arrived of it go; the source is untouched.
    pub async fn cancel_copy_image(
        &self,
        caller: &Caller,
        req: &CancelCopyImage,
    ) -> Result<(), ServiceError> {
        let image = self.own_image(caller, &req.region, &req.image_id).await?;
        let id = image.id.to_string();
        if !image.is_copied {
            return Err(DomainError::ImageCreatedNotFromCopy(id).into());
        }
        match image.status {
            ImageStatus::Waiting | ImageStatus::Creating => {}
            ImageStatus::CreateFailed | ImageStatus::UnAvailable => {
                return Err(
                    DomainError::CopyEnded("The Image copy has been failed.".into()).into(),
                );
            }
            ImageStatus::Available | ImageStatus::Deprecated => {
                return Err(DomainError::CopyEnded("The image copy has completed.".into()).into());
            }
        }
        let task = self
            .copy_task(&req.region, &id)
            .await?
            .ok_or_else(|| DomainError::CopyEnded("The specified image is not coping.".into()))?;
        if !self.runner.cancel(task.id.as_str()).await? {
            return Err(DomainError::CopyEnded("The specified image is not coping.".into()).into());
        }
        // The runner deletes the copy when its job stops (at the next chunk); wait for that so
        // the caller sees the result of its request.
        for _ in 0..300 {
            if self.meta.get_image(&req.region, &id).await?.is_none() {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// The unfinished copy task of `image_id` in `region`.
    async fn copy_task(&self, region: &str, image_id: &str) -> Result<Option<Task>, ServiceError> {
        let page = self
            .meta
            .list_tasks(&TaskQuery {
                region: region.to_string(),
                owner: None,
                ids: Vec::new(),
                actions: vec![TaskAction::CopyImage],
                status: None,
                resource_ids: vec![image_id.to_string()],
                created_from: None,
                created_to: None,
                offset: 0,
                limit: 100,
            })
            .await?;
        Ok(page
            .items
            .into_iter()
            .find(|t| matches!(t.status, TaskStatus::Waiting | TaskStatus::Processing)))
    }

    /// An image the caller can see in `region` (own, shared with it, community, public).
    async fn visible_image(
        &self,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<Image, ServiceError> {
        let me = Some(caller.account.clone());
        let visibility = Visibility {
            system: true,
            marketplace: true,
            owned_by: me.clone(),
            shared_with: me.clone(),
            community_for: me,
        };
        one_image(&self.meta, region, id, visibility)
            .await?
            .ok_or_else(|| DomainError::ImageNotFound(id.to_string()).into())
    }

    /// Whether `image` is shared with the caller's account.
    async fn shared_with(&self, image: &Image, caller: &Caller) -> Result<bool, ServiceError> {
        let visibility = Visibility {
            shared_with: Some(caller.account.clone()),
            ..Visibility::default()
        };
        let id = image.id.as_str();
        Ok(one_image(&self.meta, &image.region, id, visibility)
            .await?
            .is_some())
    }
}
