//! Finding images as one account sees them: DescribeImages, DescribeImageFromFamily and the
//! instance types an image runs on.

use std::sync::Arc;

use stencil_domain::catalog::{InstanceType, InstanceTypeCatalog};
use stencil_domain::compat::{self, ImageTraits};
use stencil_domain::filter::{DescribeImages, OwnerFilter};
use stencil_domain::{
    ActionType, Architecture, BootMode, DomainError, Image, ImageFilter, ImageKind,
    ImageOwnerAlias, ImageStatus, ImageViewpoint, OsType, StatusFilter, Support, TraitCombo,
};
use stencil_meta::{ImageQuery, MetaStore, Page, Visibility};

use crate::{Caller, Regions, ServiceError};

/// The read side of images.
#[derive(Debug, Clone)]
pub struct ImageService {
    meta: MetaStore,
    regions: Regions,
    instance_types: Arc<InstanceTypeCatalog>,
}

impl ImageService {
    /// A service over `meta`.
    pub fn new(
        meta: MetaStore,
        regions: Regions,
        instance_types: Arc<InstanceTypeCatalog>,
    ) -> Self {
        ImageService {
            meta,
            regions,
            instance_types,
        }
    }

    /// The configured regions.
    pub fn regions(&self) -> &Regions {
        &self.regions
    }

    /// The instance type catalog.
    pub fn instance_types(&self) -> &InstanceTypeCatalog {
        &self.instance_types
    }

    /// The instance type called `id`, or `UnknownInstanceType`.
    pub fn instance_type(&self, id: &str) -> Result<&InstanceType, DomainError> {
        self.instance_types
            .get(id)
            .ok_or_else(|| DomainError::UnknownInstanceType(id.to_string()))
    }

    /// Lists images for DescribeImages.
    pub async fn describe(
        &self,
        caller: &Caller,
        req: DescribeImages,
    ) -> Result<Page<Image>, ServiceError> {
        self.regions.get(&req.region)?;
        let mut filter = req.filter;
        if let Some(ty) = &req.instance_type {
            let ty = self.instance_type(ty)?;
            filter.compatible = Some(compatible_combos(ty, req.action_type));
        }
        let query = ImageQuery {
            region: req.region,
            visibility: visibility(caller, req.owner),
            filter,
            offset: (req.page_number.saturating_sub(1)).saturating_mul(req.page_size),
            limit: req.page_size,
        };
        Ok(self.meta.list_images(&query).await?)
    }

    /// The newest Available image of `family` the caller can see, if any.
    pub async fn from_family(
        &self,
        caller: &Caller,
        region: &str,
        family: &str,
    ) -> Result<Option<Image>, ServiceError> {
        self.regions.get(region)?;
        let filter = ImageFilter {
            family: Some(family.to_string()),
            statuses: StatusFilter::Only(vec![ImageStatus::Available]),
            ..ImageFilter::default()
        };
        let query = ImageQuery {
            region: region.to_string(),
            visibility: visibility(caller, OwnerFilter::Any),
            filter,
            offset: 0,
            limit: 1,
        };
        Ok(self
            .meta
            .list_images(&query)
            .await?
            .items
            .into_iter()
            .next())
    }

    /// One image the caller can see, in any status.
    pub async fn get_visible(
        &self,
        caller: &Caller,
        region: &str,
        id: &str,
    ) -> Result<Image, ServiceError> {
        self.regions.get(region)?;
        let mut visibility = visibility(caller, OwnerFilter::Any);
        visibility.marketplace = true;
        one_image(&self.meta, region, id, visibility)
            .await?
            .ok_or_else(|| DomainError::ImageNotFound(id.to_string()).into())
    }

    /// The instance types an Available image runs on (DescribeImageSupportInstanceTypes).
    pub async fn supported_instance_types(
        &self,
        caller: &Caller,
        region: &str,
        image_id: &str,
        action: ActionType,
    ) -> Result<Vec<InstanceType>, ServiceError> {
        let image = self.get_visible(caller, region, image_id).await?;
        if !image.status.launchable() {
            return Err(DomainError::ImageNotFound(image_id.to_string()).into());
        }
        let traits = traits_of(&image);
        Ok(self
            .instance_types
            .iter()
            .filter(|ty| compat::check(&traits, ty, action).is_ok())
            .cloned()
            .collect())
    }
}

impl ImageService {
    /// How the caller sees each of `images` (all of `region`): owner alias, `IsSelfShared`
    /// (an own image shared with accounts or published) and `IsSubscribed` (a product code
    /// the caller has launched from). Two queries for a whole page.
    pub async fn viewpoints(
        &self,
        caller: &Caller,
        region: &str,
        images: &[Image],
    ) -> Result<Vec<ImageViewpoint>, ServiceError> {
        let own =
            |i: &Image| i.kind == ImageKind::Custom && i.owner.as_ref() == Some(&caller.account);
        let own_ids: Vec<String> = images
            .iter()
            .filter(|i| own(i))
            .map(|i| i.id.to_string())
            .collect();
        let shared = self.meta.shared_image_ids(region, &own_ids).await?;
        let mut codes: Vec<String> = images
            .iter()
            .filter(|i| !i.product_code.is_empty())
            .map(|i| i.product_code.clone())
            .collect();
        codes.sort();
        codes.dedup();
        let subscribed = self
            .meta
            .subscribed_products(caller.account.as_str(), &codes)
            .await?;
        Ok(images
            .iter()
            .map(|i| ImageViewpoint {
                alias: alias_for(caller, i),
                self_shared: own(i) && (i.is_public || shared.contains(i.id.as_str())),
                subscribed: !i.product_code.is_empty() && subscribed.contains(&i.product_code),
            })
            .collect())
    }
}

/// The traits the compatibility rules read from an image.
pub fn traits_of(image: &Image) -> ImageTraits {
    ImageTraits {
        architecture: image.architecture,
        boot_mode: image.boot_mode,
        os_type: image.os_type,
        nvme_support: image.features.nvme_support,
    }
}

/// Image `id` of `region` in any status, if `visibility` admits it.
pub(crate) async fn one_image(
    meta: &MetaStore,
    region: &str,
    id: &str,
    visibility: Visibility,
) -> Result<Option<Image>, ServiceError> {
    let query = ImageQuery {
        region: region.to_string(),
        visibility,
        filter: ImageFilter {
            ids: vec![id.to_string()],
            statuses: StatusFilter::All,
            ..ImageFilter::default()
        },
        offset: 0,
        limit: 1,
    };
    Ok(meta.list_images(&query).await?.items.into_iter().next())
}

/// The alias an image has from the caller's point of view.
pub fn alias_for(caller: &Caller, image: &Image) -> ImageOwnerAlias {
    match image.kind {
        ImageKind::Public => ImageOwnerAlias::System,
        ImageKind::Marketplace => ImageOwnerAlias::Marketplace,
        ImageKind::Custom if image.owner.as_ref() == Some(&caller.account) => {
            ImageOwnerAlias::SelfOwned
        }
        ImageKind::Custom => ImageOwnerAlias::Others,
    }
}

fn visibility(caller: &Caller, owner: OwnerFilter) -> Visibility {
    let me = Some(caller.account.clone());
    match owner {
        OwnerFilter::Any => Visibility {
            system: true,
            marketplace: false,
            owned_by: me.clone(),
            shared_with: me.clone(),
            community_for: me,
        },
        OwnerFilter::Alias { alias, is_public } => match alias {
            ImageOwnerAlias::System => Visibility {
                system: true,
                ..Visibility::default()
            },
            ImageOwnerAlias::SelfOwned => Visibility {
                owned_by: me,
                ..Visibility::default()
            },
            ImageOwnerAlias::Marketplace => Visibility {
                marketplace: true,
                ..Visibility::default()
            },
            ImageOwnerAlias::Others if is_public => Visibility {
                community_for: me,
                ..Visibility::default()
            },
            ImageOwnerAlias::Others => Visibility {
                shared_with: me,
                ..Visibility::default()
            },
        },
    }
}

/// Every combination of image traits that runs on `ty`, found by asking the rules themselves,
/// so the listing filter and the launch check can never disagree.
pub fn compatible_combos(ty: &InstanceType, action: ActionType) -> Vec<TraitCombo> {
    let mut out = Vec::new();
    for &architecture in Architecture::ALL {
        for &boot_mode in BootMode::ALL {
            for &os_type in OsType::ALL {
                for nvme in [true, false] {
                    let traits = ImageTraits {
                        architecture,
                        boot_mode,
                        os_type,
                        nvme_support: Some(if nvme {
                            Support::Supported
                        } else {
                            Support::Unsupported
                        }),
                    };
                    if compat::check(&traits, ty, action).is_ok() {
                        out.push(TraitCombo {
                            architecture,
                            boot_mode,
                            os_type,
                            nvme,
                        });
                    }
                }
            }
        }
    }
    out
}
