//! Sharing custom images (reference §5.9–5.11): with other accounts of this server, and with
//! everyone as a community image. `docs/access.md` is the table of what each account may then
//! do with the image; this module is the write side of it.
//!
//! | rule | when | refusal |
//! |---|---|---|
//! | only the caller's own custom images | always | `ImageNotFound` (others', public and marketplace images alike) |
//! | accounts must be configured, not the caller | every `AddAccount.N`/`RemoveAccount.N` | `UnknownAccount`, `ShareWithSelf` |
//! | Available only (so never Deprecated) | adding accounts, publishing | `ShareStatus` |
//! | no marketplace product code | adding accounts, publishing | `ShareRefused(Marketplace)` |
//! | a community image is not also shared with accounts | adding accounts | `ShareRefused(Community)` |
//! | not encrypted | publishing | `ShareRefused(Encrypted)` |
//! | not encrypted with the region's service key (customer keys are fine) | adding accounts | `ShareRefused(ServiceKey)` |
//! | at most `share_accounts_per_image` accounts | adding accounts | `QuotaExceeded(ShareAccounts)` |
//!
//! Removing accounts and unpublishing are always allowed (they only take access away), so an
//! owner can always get back to an image that can be deleted or deprecated. The shares, the
//! unshares and the image's `is_public` change are one transaction; the image record is
//! replaced by compare-and-swap and the whole request retried if it changed meanwhile. A
//! request that adds accounts also rewrites the image row first (so concurrent requests on one
//! image serialise on it, on PostgreSQL too) and checks the share count again inside the
//! transaction (`Write::ShareLimit`): two concurrent requests cannot together pass the limit.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::Utc;
use stencil_domain::requests::{DescribeImageSharePermission, ModifyImageSharePermission};
use stencil_domain::{AccountId, DomainError, Image, ImageStatus, QuotaKind, ShareRefusal};
use stencil_meta::{ImageShare, Page, Write};

use crate::lifecycle::retry_on_conflict;
use crate::{Caller, Lifecycle, ServiceError};

/// The sharing service.
#[derive(Debug, Clone)]
pub struct Sharing {
    lifecycle: Lifecycle,
    accounts: Arc<HashSet<AccountId>>,
}

/// What DescribeImageSharePermission reports.
#[derive(Debug, Clone, PartialEq)]
pub struct SharePermissions {
    /// One page of the accounts the image is shared with, and their total.
    pub accounts: Page<ImageShare>,
    /// Whether the image is published as a community image (share group `all`).
    pub public: bool,
}

impl Sharing {
    /// A service over the lifecycle's store; `accounts` are the accounts that exist (the
    /// configured `[[account]]`s), the only ones an image can be shared with.
    pub fn new(lifecycle: Lifecycle, accounts: impl IntoIterator<Item = AccountId>) -> Self {
        Sharing {
            lifecycle,
            accounts: Arc::new(accounts.into_iter().collect()),
        }
    }

    /// The caller's own custom image; anything else is not found, as §5.9 says.
    async fn own(&self, caller: &Caller, region: &str, id: &str) -> Result<Image, ServiceError> {
        match self.lifecycle.own_image(caller, region, id).await {
            Err(ServiceError::Domain(DomainError::NotCustomImage(_))) => {
                Err(DomainError::ImageNotFound(id.to_string()).into())
            }
            r => r,
        }
    }

    /// ModifyImageSharePermission and ModifyImageShareGroupPermission. With `dry_run`, only
    /// checks.
    pub async fn modify(
        &self,
        caller: &Caller,
        req: ModifyImageSharePermission,
        dry_run: bool,
    ) -> Result<(), ServiceError> {
        retry_on_conflict(|| self.try_modify(caller, &req, dry_run)).await
    }

    /// Every named account exists and is not the caller's.
    fn check_accounts(
        &self,
        caller: &Caller,
        req: &ModifyImageSharePermission,
    ) -> Result<(), DomainError> {
        let named = req.add_accounts.iter().map(|(n, a)| ("AddAccount", n, a));
        let removed = req
            .remove_accounts
            .iter()
            .map(|(n, a)| ("RemoveAccount", n, a));
        for (list, n, account) in named.chain(removed) {
            let parameter = format!("{list}.{n}");
            if *account == caller.account {
                return Err(DomainError::ShareWithSelf {
                    parameter,
                    account: account.to_string(),
                });
            }
            if !self.accounts.contains(account) {
                return Err(DomainError::UnknownAccount {
                    parameter,
                    account: account.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Whether a disk of `image` is encrypted with its region's service key.
    async fn service_key_encrypted(&self, image: &Image) -> Result<bool, ServiceError> {
        let stores = &self.lifecycle.runner().env().stores;
        for disk in image.disks.iter().filter(|d| d.encrypted) {
            let Some(snap_id) = &disk.snapshot_id else {
                continue;
            };
            if let Some(snap) = self.lifecycle.meta().get_snapshot(snap_id.as_str()).await?
                && stores.is_service_key(&image.region, &snap.kms_key_id)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn try_modify(
        &self,
        caller: &Caller,
        req: &ModifyImageSharePermission,
        dry_run: bool,
    ) -> Result<(), ServiceError> {
        // The image first: to anyone but its owner it does not exist, whatever the accounts.
        let image = self.own(caller, &req.region, &req.image_id).await?;
        self.check_accounts(caller, req)?;
        let adding = !req.add_accounts.is_empty();
        let publishing = req.is_public == Some(true);
        let refuse = |reason| DomainError::ShareRefused {
            image: req.image_id.clone(),
            reason,
        };
        if adding || publishing {
            if !image.product_code.is_empty() {
                return Err(refuse(ShareRefusal::Marketplace).into());
            }
            if image.status != ImageStatus::Available {
                return Err(DomainError::ShareStatus {
                    image: req.image_id.clone(),
                    status: image.status.to_string(),
                }
                .into());
            }
        }
        if adding && (image.is_public || publishing) {
            return Err(refuse(ShareRefusal::Community).into());
        }
        if publishing && image.disks.iter().any(|d| d.encrypted) {
            return Err(refuse(ShareRefusal::Encrypted).into());
        }
        if adding && self.service_key_encrypted(&image).await? {
            return Err(refuse(ShareRefusal::ServiceKey).into());
        }
        let meta = self.lifecycle.meta();
        let current: BTreeSet<String> = meta
            .list_image_shares(&req.region, &req.image_id, 0, u64::MAX)
            .await?
            .items
            .into_iter()
            .map(|s| s.account)
            .collect();
        let mut after = current.clone();
        for (_, a) in &req.remove_accounts {
            after.remove(a.as_str());
        }
        after.extend(req.add_accounts.iter().map(|(_, a)| a.to_string()));
        let limit = self.lifecycle.quotas().limit(QuotaKind::ShareAccounts);
        let growing = after.len() > current.len();
        if growing {
            self.lifecycle
                .quotas()
                .check(QuotaKind::ShareAccounts, after.len() as u64, 0)?;
        }
        if dry_run {
            return Ok(());
        }
        let mut writes = Vec::new();
        let public = req.is_public.unwrap_or(image.is_public);
        if growing || public != image.is_public {
            // The image row first: concurrent requests on this image serialise on it (the
            // later one's compare-and-swap fails and it is checked again).
            let new = Image {
                is_public: public,
                ..image.clone()
            };
            writes.push(Write::ReplaceImage {
                expected: Box::new(image),
                new: Box::new(new),
            });
        }
        writes.extend(
            req.remove_accounts
                .iter()
                .map(|(_, a)| Write::UnshareImage {
                    region: req.region.clone(),
                    image_id: req.image_id.clone(),
                    account: a.to_string(),
                }),
        );
        let now = Utc::now();
        writes.extend(req.add_accounts.iter().map(|(_, a)| Write::ShareImage {
            region: req.region.clone(),
            image_id: req.image_id.clone(),
            account: a.to_string(),
            at: now,
        }));
        if growing {
            writes.push(Write::ShareLimit {
                region: req.region.clone(),
                image_id: req.image_id.clone(),
                limit,
            });
        }
        if !writes.is_empty() {
            meta.apply(writes).await?;
        }
        Ok(())
    }

    /// DescribeImageSharePermission: one page of the accounts, and whether it is published.
    pub async fn describe(
        &self,
        caller: &Caller,
        req: &DescribeImageSharePermission,
    ) -> Result<SharePermissions, ServiceError> {
        let image = self.own(caller, &req.region, &req.image_id).await?;
        let offset = req
            .page_number
            .saturating_sub(1)
            .saturating_mul(req.page_size);
        let accounts = self
            .lifecycle
            .meta()
            .list_image_shares(&req.region, &req.image_id, offset, req.page_size)
            .await?;
        Ok(SharePermissions {
            accounts,
            public: image.is_public,
        })
    }
}
