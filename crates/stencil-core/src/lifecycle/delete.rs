//! DeleteImage (reference §5.7): the image goes, its snapshots stay. With `Force` an image that
//! instances use goes too; their disks keep their data (each owns a copy of the image's index)
//! but can no longer be re-initialised (ReInitDisk).

use stencil_domain::requests::DeleteImage;
use stencil_domain::{DomainError, ImageKind, ImageStatus, Usage};
use stencil_meta::Write;

use super::Lifecycle;
use crate::{Caller, ServiceError};

impl Lifecycle {
    /// Deletes an image. An ID that names no image the caller can see is ignored, as the
    /// reference says; an image shared with the caller or published by another account is
    /// not found (it exists for the caller, but not as theirs to delete); public and
    /// marketplace images are refused.
    pub async fn delete_image(
        &self,
        caller: &Caller,
        req: DeleteImage,
        dry_run: bool,
    ) -> Result<(), ServiceError> {
        self.regions.get(&req.region)?;
        let image = match self.own_image(caller, &req.region, &req.image_id).await {
            Ok(image) => image,
            Err(ServiceError::Domain(DomainError::ImageNotFound(id))) => {
                return if self.shared_or_community(caller, &req.region, &id).await? {
                    Err(DomainError::ImageNotFound(id).into())
                } else {
                    Ok(())
                };
            }
            Err(e) => return Err(e),
        };
        let id = req.image_id.clone();
        debug_assert_eq!(image.kind, ImageKind::Custom);
        if let Some(busy) = self.busy_with(&image).await? {
            return Err(DomainError::ImageBusy { image: id, busy }.into());
        }
        if image.is_copied && matches!(image.status, ImageStatus::Waiting | ImageStatus::Creating) {
            return Err(DomainError::ImageBusy {
                image: id,
                busy: stencil_domain::Busy::Copying,
            }
            .into());
        }
        if image.status == ImageStatus::Creating {
            return Err(DomainError::ImageBusy {
                image: id,
                busy: stencil_domain::Busy::Creating,
            }
            .into());
        }
        if image.is_public {
            return Err(DomainError::ImageIsPublic(id).into());
        }
        if self.meta.image_share_count(&req.region, &id).await? > 0 {
            return Err(DomainError::ImageShared(id).into());
        }
        let in_use = image.usage == Usage::Instance
            || self
                .meta
                .count_instances_using_image(&req.region, &id)
                .await?
                > 0;
        if in_use && !req.force {
            return Err(DomainError::ImageInUse(id).into());
        }
        if dry_run {
            return Ok(());
        }
        self.meta
            .apply(vec![Write::DeleteImage {
                region: req.region,
                id,
            }])
            .await?;
        Ok(())
    }
}
