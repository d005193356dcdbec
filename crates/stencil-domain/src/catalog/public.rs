//! The public (system) image catalog: `[[image]]` entries of `data/public-images.toml`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::public_rules::{self, ALLOWED_KEYS, REQUIRED_KEYS};
use super::raw;
use super::{CatalogError, DEFAULT_PUBLIC_IMAGES, EntryRef};
use crate::attrs::{
    Architecture, BootMode, ImageOwnerAlias, ImdsSupport, OsType, Platform, Support,
};
use crate::compat::ImageTraits;
use crate::status::ImageStatus;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    format_version: i64,
    #[serde(default)]
    image: Vec<toml::Table>,
}

/// The regions a public image is published in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionScope {
    /// Every region the server configures (the default).
    All,
    /// Only these regions (non-empty, no duplicates, in file order).
    Only(Vec<String>),
}

/// One public image, validated. Field names follow the ECS `Image` object (reference §3).
#[derive(Debug, Clone, PartialEq)]
pub struct PublicImageEntry {
    /// `ImageId`: a file-like name such as `ubuntu_22_04_x64_20G_alibase_20240322.vhd`.
    pub id: String,
    /// `ImageName`: the id unless the file says otherwise.
    pub name: String,
    /// `ImageFamily`, always `acs:`-prefixed.
    pub family: String,
    /// `ImageVersion` (empty when the file gives none).
    pub version: String,
    /// `Description` (may be empty, as on the real service).
    pub description: String,
    /// `OSName`: the Chinese-locale display name, e.g. `CentOS  7.9 64位`.
    pub os_name: String,
    /// `OSNameEn`, e.g. `CentOS  7.9 64 bit`.
    pub os_name_en: String,
    /// `OSType`, consistent with `platform`.
    pub os_type: OsType,
    /// `Platform`, one of the values the API documents.
    pub platform: Platform,
    /// `Architecture`.
    pub architecture: Architecture,
    /// `BootMode`.
    pub boot_mode: BootMode,
    /// `Size`: the system disk size in GiB.
    pub size_gib: u32,
    /// `IsSupportCloudinit` (default true).
    pub is_support_cloudinit: bool,
    /// `IsSupportIoOptimized` (default true).
    pub is_support_io_optimized: bool,
    /// `Features.NvmeSupport`.
    pub nvme_support: Support,
    /// `Features.ImdsSupport`, when the image declares one.
    pub imds_support: Option<ImdsSupport>,
    /// `LoginAsNonRootSupported` (default false).
    pub login_as_non_root_supported: bool,
    /// `CreationTime`.
    pub creation_time: DateTime<Utc>,
    /// `Status`: `Available` (default), `Deprecated` or `UnAvailable`.
    pub status: ImageStatus,
    /// Where the image is published.
    pub regions: RegionScope,
    /// Whether the OS licence is billed, unless `license_billed_regions` says otherwise for a
    /// region. Defaults to true for Windows and Red Hat, false for the rest.
    pub license_billed: bool,
    /// Per-region exceptions to `license_billed`.
    pub license_billed_regions: BTreeMap<String, bool>,
    /// A disk image to publish as the image's data, resolved against the catalog's directory.
    pub image_file: Option<PathBuf>,
    /// Set for a marketplace image (an ISV's product) instead of a public one.
    pub marketplace: Option<Marketplace>,
}

/// What makes a catalog entry a marketplace image: an ISV's product, with its price.
#[derive(Debug, Clone, PartialEq)]
pub struct Marketplace {
    /// `ProductCode`, inherited by every image and instance made from it.
    pub product_code: String,
    /// `SupplierName`: the ISV.
    pub supplier_name: String,
    /// The list price per instance hour, in the operator's currency. Stencil bills nothing:
    /// the price is catalog data for the operator's own accounting.
    pub price_per_hour: f64,
}

impl PublicImageEntry {
    /// `ImageOwnerAlias`: `marketplace` for an ISV's product, else `system`.
    pub fn owner_alias(&self) -> ImageOwnerAlias {
        if self.marketplace.is_some() {
            ImageOwnerAlias::Marketplace
        } else {
            ImageOwnerAlias::System
        }
    }

    /// The regions, among `configured`, the image is published in (in `configured` order).
    pub fn regions_for(&self, configured: &[&str]) -> Vec<String> {
        configured
            .iter()
            .filter(|r| self.is_in_region(r))
            .map(|r| (*r).to_string())
            .collect()
    }

    /// Whether the image is published in `region`. With [`RegionScope::All`] this is true for
    /// every region; the caller knows which regions exist.
    pub fn is_in_region(&self, region: &str) -> bool {
        match &self.regions {
            RegionScope::All => true,
            RegionScope::Only(list) => list.iter().any(|r| r == region),
        }
    }

    /// Whether launching this image in `region` bills an OS licence.
    pub fn license_billed_in(&self, region: &str) -> bool {
        self.license_billed_regions
            .get(region)
            .copied()
            .unwrap_or(self.license_billed)
    }

    /// The traits the instance type compatibility rules look at.
    pub fn traits(&self) -> ImageTraits {
        ImageTraits {
            architecture: self.architecture,
            boot_mode: self.boot_mode,
            os_type: self.os_type,
            nvme_support: Some(self.nvme_support),
        }
    }
}

/// The validated public image catalog, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicCatalog {
    entries: Vec<PublicImageEntry>,
    by_id: HashMap<String, usize>,
}

impl PublicCatalog {
    /// Parses and validates a catalog. `base_dir` is the directory of the catalog file; relative
    /// `image_file` paths are joined to it (and are an error without it). Nothing is opened.
    pub fn parse(toml_text: &str, base_dir: Option<&Path>) -> Result<Self, CatalogError> {
        let doc: RawDocument =
            toml::from_str(toml_text).map_err(|source| CatalogError::Syntax { source })?;
        raw::check_format_version(doc.format_version)?;

        let mut entries = Vec::with_capacity(doc.image.len());
        let mut by_id = HashMap::with_capacity(doc.image.len());
        for (i, table) in doc.image.into_iter().enumerate() {
            let entry = raw::entry_ref(i, &table);
            raw::check_keys(&entry, &table, ALLOWED_KEYS, REQUIRED_KEYS)?;
            let image = public_rules::validate(&entry, raw::convert(&entry, table)?, base_dir)?;
            if let Some(first) = by_id.insert(image.id.clone(), i) {
                return Err(CatalogError::DuplicateId {
                    entry,
                    first_index: first + 1,
                });
            }
            public_rules::check_family_architecture(&entry, &image, &entries)?;
            entries.push(image);
        }
        Ok(PublicCatalog { entries, by_id })
    }

    /// The shipped catalog ([`DEFAULT_PUBLIC_IMAGES`]).
    ///
    /// # Panics
    /// Only if the embedded file is invalid, which the crate's tests rule out.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_PUBLIC_IMAGES, None).expect("the shipped public image catalog is valid")
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[PublicImageEntry] {
        &self.entries
    }

    /// Every entry, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, PublicImageEntry> {
        self.entries.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry with this `ImageId`.
    pub fn get(&self, id: &str) -> Option<&PublicImageEntry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    /// The entries of one family, in file order.
    pub fn in_family<'a>(
        &'a self,
        family: &'a str,
    ) -> impl Iterator<Item = &'a PublicImageEntry> + 'a {
        self.entries.iter().filter(move |e| e.family == family)
    }

    /// Every family name, sorted, each once.
    pub fn families(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.entries.iter().map(|e| e.family.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// What `DescribeImageFromFamily` returns: the newest `Available` entry of the family that
    /// is published in `region` (ties broken by the greater id, so the answer is stable).
    pub fn newest_in_family(&self, family: &str, region: &str) -> Option<&PublicImageEntry> {
        self.entries
            .iter()
            .filter(|e| e.family == family)
            .filter(|e| e.status == ImageStatus::Available && e.is_in_region(region))
            .max_by(|a, b| {
                a.creation_time
                    .cmp(&b.creation_time)
                    .then_with(|| a.id.cmp(&b.id))
            })
    }

    /// Checks that every region an entry names (in `regions` or `license_billed_regions`) is
    /// one of `configured`. The server calls this at start, once it knows its regions.
    pub fn check_regions(&self, configured: &[&str]) -> Result<(), CatalogError> {
        for (i, e) in self.entries.iter().enumerate() {
            let entry = EntryRef {
                index: i + 1,
                id: Some(e.id.clone()),
            };
            let listed = match &e.regions {
                RegionScope::All => &[][..],
                RegionScope::Only(list) => list.as_slice(),
            };
            let named = listed.iter().map(|r| ("regions", r)).chain(
                e.license_billed_regions
                    .keys()
                    .map(|r| ("license_billed_regions", r)),
            );
            for (field, region) in named {
                if !configured.contains(&region.as_str()) {
                    return Err(CatalogError::UnknownRegion {
                        entry,
                        field,
                        region: region.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a PublicCatalog {
    type Item = &'a PublicImageEntry;
    type IntoIter = std::slice::Iter<'a, PublicImageEntry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}
