//! ModifyImageAttribute (reference §5.8).

use stencil_domain::requests::ModifyImageAttribute;
use stencil_domain::{DomainError, ImageStatus, ImdsSupport, Usage};
use stencil_meta::Write;

use super::Lifecycle;
use crate::{Caller, ServiceError};

impl Lifecycle {
    /// Changes the attributes the request names; the rest stay. With `dry_run`, only checks.
    pub async fn modify_image(
        &self,
        caller: &Caller,
        req: ModifyImageAttribute,
        dry_run: bool,
    ) -> Result<(), ServiceError> {
        super::retry_on_conflict(|| self.try_modify_image(caller, &req, dry_run)).await
    }

    async fn try_modify_image(
        &self,
        caller: &Caller,
        req: &ModifyImageAttribute,
        dry_run: bool,
    ) -> Result<(), ServiceError> {
        let read = self.own_image(caller, &req.region, &req.image_id).await?;
        let mut image = read.clone();
        let id = req.image_id.clone();
        if !matches!(
            image.status,
            ImageStatus::Available | ImageStatus::Deprecated
        ) {
            return Err(DomainError::StatusTransition {
                image: id,
                from: image.status.to_string(),
                to: req.status.unwrap_or(image.status).to_string(),
            }
            .into());
        }
        if let Some(to) = req.status
            && to != image.status
        {
            match to {
                ImageStatus::Deprecated => {
                    if self.meta.image_share_count(&req.region, &id).await? > 0 {
                        return Err(DomainError::ImageShared(id).into());
                    }
                    if image.is_public {
                        return Err(DomainError::ImageIsPublic(id).into());
                    }
                }
                ImageStatus::Available => {}
                other => {
                    return Err(DomainError::StatusTransition {
                        image: id,
                        from: image.status.to_string(),
                        to: other.to_string(),
                    }
                    .into());
                }
            }
            image.status = to;
        }
        if let Some(name) = &req.name
            && *name != image.name
        {
            self.check_name_free(&req.region, &caller.account, name)
                .await?;
            image.name = name.clone();
        }
        if let Some(d) = &req.description {
            image.description = d.clone();
        }
        if let Some(family) = &req.family
            && *family != image.family
        {
            self.check_family_quota(&req.region, &caller.account, family)
                .await?;
            image.family = family.clone();
        }
        if let Some(mode) = req.boot_mode
            && mode != image.boot_mode
        {
            if image.usage == Usage::Instance {
                return Err(DomainError::BootModeInUse(id).into());
            }
            image.boot_mode = mode;
        }
        if let Some(l) = &req.license_type {
            image.license_type = l.clone();
        }
        if let Some(n) = req.nvme_support {
            image.features.nvme_support = Some(n);
        }
        if let Some(imds) = req.imds_support {
            if image.features.imds_support == Some(ImdsSupport::V2) && imds == ImdsSupport::V1 {
                return Err(DomainError::ImdsDowngrade(id).into());
            }
            image.features.imds_support = Some(imds);
        }
        if dry_run {
            return Ok(());
        }
        self.meta
            .apply(vec![Write::ReplaceImage {
                expected: Box::new(read),
                new: Box::new(image),
            }])
            .await?;
        Ok(())
    }
}
