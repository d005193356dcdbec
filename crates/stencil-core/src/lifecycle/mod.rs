//! The custom image lifecycle: import, export, create from snapshots, modify, delete, plus the
//! snapshots, tags and tasks the lifecycle produces.
//!
//! Every service call checks what it can against stored state, then writes the new records
//! (image, task, client token) in one transaction and hands the task to the runner. Requests
//! arrive already parsed and checked for shape (`stencil_domain::requests`).

mod copy;
mod create;
mod delete;
mod export;
mod import;
mod modify;
mod snapshots;
mod tags;
mod tasks;
mod tokens;

use std::sync::Arc;

use stencil_domain::{
    AccountId, Busy, DomainError, Image, ImageKind, QuotaKind, Quotas, StatusFilter, TaskAction,
    TaskStatus,
};
use stencil_meta::{ImageQuery, MetaStore, TaskQuery, Visibility};

use crate::buckets::{Bucket, Buckets};
use crate::runner::TaskRunner;
use crate::{Caller, Regions, ServiceError};

pub use import::Imported;
pub(crate) use import::device_name;
pub use snapshots::SnapshotView;
pub(crate) use tokens::TokenCheck;

/// Runs `attempt` again while it fails with a metadata `Conflict` (a record it read was
/// changed before its compare-and-swap write, by a task recording progress, say), at most 16
/// more times; then returns what the last attempt returned.
pub(crate) async fn retry_on_conflict<T, F, Fut>(mut attempt: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    for _ in 0..16 {
        match attempt().await {
            Err(ServiceError::Meta(stencil_meta::MetaError::Conflict(_))) => {}
            r => return r,
        }
    }
    attempt().await
}

/// The write side of images.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    meta: MetaStore,
    regions: Regions,
    buckets: Arc<Buckets>,
    quotas: Quotas,
    runner: TaskRunner,
}

/// A `Creating` custom image of `owner` with the defaults ImportImage and CreateImage share;
/// callers set what their request names.
pub(crate) fn new_custom_image(
    id: &stencil_domain::ImageId,
    region: &str,
    owner: &AccountId,
    platform: stencil_domain::Platform,
    now: chrono::DateTime<chrono::Utc>,
) -> Image {
    Image {
        id: id.clone(),
        region: region.to_string(),
        kind: ImageKind::Custom,
        owner: Some(owner.clone()),
        name: String::new(),
        description: String::new(),
        family: String::new(),
        version: String::new(),
        status: stencil_domain::ImageStatus::Creating,
        progress: 0,
        creation_time: now,
        size_gib: 0,
        architecture: stencil_domain::Architecture::X86_64,
        os_type: platform.os_type(),
        os_name: platform.as_str().to_string(),
        os_name_en: platform.as_str().to_string(),
        platform,
        boot_mode: stencil_domain::BootMode::Bios,
        is_support_cloudinit: true,
        is_support_io_optimized: true,
        login_as_non_root_supported: false,
        license_type: String::new(),
        license_billed: false,
        features: stencil_domain::ImageFeatures::default(),
        resource_group_id: String::new(),
        usage: stencil_domain::Usage::None,
        is_copied: false,
        is_public: false,
        product_code: String::new(),
        supplier_name: String::new(),
        disks: Vec::new(),
        tags: Vec::new(),
    }
}

impl Lifecycle {
    /// A service over `meta`, running tasks on `runner`.
    pub fn new(
        meta: MetaStore,
        regions: Regions,
        buckets: Arc<Buckets>,
        quotas: Quotas,
        runner: TaskRunner,
    ) -> Self {
        Lifecycle {
            meta,
            regions,
            buckets,
            quotas,
            runner,
        }
    }

    /// The task runner.
    pub fn runner(&self) -> &TaskRunner {
        &self.runner
    }

    /// The metadata store.
    pub(crate) fn meta(&self) -> &MetaStore {
        &self.meta
    }

    /// The configured regions.
    pub(crate) fn regions(&self) -> &Regions {
        &self.regions
    }

    /// The quotas in force.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// The caller's own custom image in `region`, or `ImageNotFound` (images of others are
    /// not found, public and marketplace images are refused as not custom).
    pub(crate) async fn own_image(
        &self,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<Image, ServiceError> {
        self.regions.get(region)?;
        let image = self
            .meta
            .get_image(region, id)
            .await?
            .ok_or_else(|| DomainError::ImageNotFound(id.to_string()))?;
        match image.kind {
            ImageKind::Custom if image.owner.as_ref() == Some(&caller.account) => Ok(image),
            ImageKind::Custom => Err(DomainError::ImageNotFound(id.to_string()).into()),
            ImageKind::Public | ImageKind::Marketplace => {
                Err(DomainError::NotCustomImage(id.to_string()).into())
            }
        }
    }

    /// Whether another account's image `id` is shared with the caller or published.
    async fn shared_or_community(
        &self,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<bool, ServiceError> {
        let me = Some(caller.account.clone());
        let mut query = ImageQuery::new(
            region,
            Visibility {
                shared_with: me.clone(),
                community_for: me,
                ..Visibility::default()
            },
        );
        query.filter.ids = vec![id.to_string()];
        query.filter.statuses = StatusFilter::All;
        query.limit = 1;
        Ok(self.meta.list_images(&query).await?.total > 0)
    }

    /// The configured bucket `name`, which must be in `region`.
    fn bucket(&self, name: &str, region: &str) -> Result<Arc<dyn Bucket>, DomainError> {
        let bucket = self
            .buckets
            .get(name)
            .ok_or_else(|| DomainError::BucketNotFound(name.to_string()))?;
        if bucket.region() != region {
            return Err(DomainError::BucketOtherRegion {
                bucket: name.to_string(),
                bucket_region: bucket.region().to_string(),
                region: region.to_string(),
            });
        }
        Ok(bucket.clone())
    }

    /// Fails if the account's custom images in the region are at the quota.
    pub(crate) async fn check_image_quota(
        &self,
        region: &str,
        owner: &AccountId,
    ) -> Result<(), ServiceError> {
        let used = self
            .meta
            .count_custom_images(region, owner.as_str())
            .await?;
        Ok(self.quotas.check(QuotaKind::Images, used, 1)?)
    }

    /// Fails if `family` would exceed the per-family or families quota.
    pub(crate) async fn check_family_quota(
        &self,
        region: &str,
        owner: &AccountId,
        family: &str,
    ) -> Result<(), ServiceError> {
        if family.is_empty() {
            return Ok(());
        }
        let in_family = self
            .meta
            .count_family_images(region, owner.as_str(), family)
            .await?;
        if in_family == 0 {
            let families = self.meta.count_families(region, owner.as_str()).await?;
            self.quotas.check(QuotaKind::Families, families, 1)?;
        }
        Ok(self
            .quotas
            .check(QuotaKind::ImagesPerFamily, in_family, 1)?)
    }

    /// Fails with `ImageNameTaken` if the owner has an image called `name` in `region`.
    pub(crate) async fn check_name_free(
        &self,
        region: &str,
        owner: &AccountId,
        name: &str,
    ) -> Result<(), ServiceError> {
        if self
            .meta
            .image_name_taken(region, owner.as_str(), name)
            .await?
        {
            return Err(DomainError::ImageNameTaken(name.to_string()).into());
        }
        Ok(())
    }

    /// Import or export tasks of the image still running, as the `Busy` they cause.
    async fn busy_with(&self, image: &Image) -> Result<Option<Busy>, ServiceError> {
        let owner = image.owner.as_ref().map(|o| o.as_str().to_string());
        let page = self
            .meta
            .list_tasks(&TaskQuery {
                region: image.region.clone(),
                owner,
                ids: Vec::new(),
                actions: vec![TaskAction::ImportImage, TaskAction::ExportImage],
                status: None,
                resource_ids: vec![image.id.to_string()],
                created_from: None,
                created_to: None,
                offset: 0,
                limit: 100,
            })
            .await?;
        let running = |a| {
            page.items.iter().any(|t| {
                t.action == a && matches!(t.status, TaskStatus::Processing | TaskStatus::Waiting)
            })
        };
        Ok(if running(TaskAction::ImportImage) {
            Some(Busy::Importing)
        } else if running(TaskAction::ExportImage) {
            Some(Busy::Exporting)
        } else {
            None
        })
    }
}
