//! Quotas: limits per account and region, with the defaults the ECS documentation gives
//! (reference §7). The operator overrides them in the `[quotas]` config table.

use serde::{Deserialize, Serialize};

/// Which limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKind {
    /// Custom images per account and region.
    Images,
    /// Images in one family.
    ImagesPerFamily,
    /// Families per account and region.
    Families,
    /// Export tasks running at once per account and region.
    ConcurrentExports,
    /// Tags on one resource.
    TagsPerResource,
    /// Snapshots per account and region.
    Snapshots,
    /// Accounts one image is shared with.
    ShareAccounts,
}

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quotas {
    /// Custom images per account per region (ECS default 100).
    pub images_per_region: u64,
    /// Images in one family (the ECS number is unpublished; 100 here).
    pub images_per_family: u64,
    /// Families per account per region (unpublished; 100 here).
    pub families_per_region: u64,
    /// Export tasks of one account running at once in a region (unpublished; 5 here).
    pub concurrent_exports: u64,
    /// Tags on one resource (ECS: 20).
    pub tags_per_resource: u64,
    /// Snapshots per account per region (unpublished; 1000 here).
    pub snapshots_per_region: u64,
    /// Accounts one custom image is shared with (ECS: 50).
    pub share_accounts_per_image: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            images_per_region: 100,
            images_per_family: 100,
            families_per_region: 100,
            concurrent_exports: 5,
            tags_per_resource: 20,
            snapshots_per_region: 1000,
            share_accounts_per_image: 50,
        }
    }
}

impl Quotas {
    /// The limit of `kind`.
    pub fn limit(&self, kind: QuotaKind) -> u64 {
        match kind {
            QuotaKind::Images => self.images_per_region,
            QuotaKind::ImagesPerFamily => self.images_per_family,
            QuotaKind::Families => self.families_per_region,
            QuotaKind::ConcurrentExports => self.concurrent_exports,
            QuotaKind::TagsPerResource => self.tags_per_resource,
            QuotaKind::Snapshots => self.snapshots_per_region,
            QuotaKind::ShareAccounts => self.share_accounts_per_image,
        }
    }

    /// `Err(QuotaExceeded)` when `used + adding` goes over the limit of `kind`.
    pub fn check(&self, kind: QuotaKind, used: u64, adding: u64) -> Result<(), crate::DomainError> {
        let limit = self.limit(kind);
        if used.saturating_add(adding) > limit {
            Err(crate::DomainError::QuotaExceeded { kind, limit })
        } else {
            Ok(())
        }
    }
}
