//! The value rules of one `[[image]]` entry: raw serde shape in, [`PublicImageEntry`] out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::public::{Marketplace, PublicImageEntry, RegionScope};
use super::raw::{self, check_len, invalid, is_region_id, parse_enum};
use super::{CatalogError, EntryRef};
use crate::attrs::{
    Architecture, BootMode, ImdsSupport, LINUX_PLATFORMS, OsType, Platform, Support,
    WINDOWS_PLATFORMS,
};
use crate::status::ImageStatus;

/// Keys an `[[image]]` table may have.
pub(super) const ALLOWED_KEYS: &[&str] = &[
    "id",
    "name",
    "family",
    "version",
    "description",
    "os_name",
    "os_name_en",
    "os_type",
    "platform",
    "architecture",
    "boot_mode",
    "size_gib",
    "is_support_cloudinit",
    "is_support_io_optimized",
    "nvme_support",
    "imds_support",
    "login_as_non_root_supported",
    "creation_time",
    "status",
    "regions",
    "license_billed",
    "license_billed_regions",
    "image_file",
    "product_code",
    "supplier_name",
    "price_per_hour",
];

/// Keys an `[[image]]` table must have.
pub(super) const REQUIRED_KEYS: &[&str] = &[
    "id",
    "family",
    "os_name",
    "os_name_en",
    "platform",
    "architecture",
    "boot_mode",
    "size_gib",
    "nvme_support",
    "creation_time",
];

/// Statuses a catalog entry may declare. The others describe work in progress.
const CATALOG_STATUSES: &[ImageStatus] = &[
    ImageStatus::Available,
    ImageStatus::Deprecated,
    ImageStatus::UnAvailable,
];

/// Largest system disk ECS accepts for an image, in GiB.
const MAX_SIZE_GIB: i64 = 2048;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImage {
    id: String,
    name: Option<String>,
    family: String,
    version: Option<String>,
    description: Option<String>,
    os_name: String,
    os_name_en: String,
    os_type: Option<String>,
    platform: String,
    architecture: String,
    boot_mode: String,
    size_gib: i64,
    is_support_cloudinit: Option<bool>,
    is_support_io_optimized: Option<bool>,
    nvme_support: String,
    imds_support: Option<String>,
    login_as_non_root_supported: Option<bool>,
    creation_time: toml::value::Datetime,
    status: Option<String>,
    regions: Option<Vec<String>>,
    license_billed: Option<bool>,
    license_billed_regions: Option<BTreeMap<String, bool>>,
    image_file: Option<String>,
    product_code: Option<String>,
    supplier_name: Option<String>,
    price_per_hour: Option<f64>,
}

/// Applies the value rules to one converted entry.
pub(super) fn validate(
    entry: &EntryRef,
    r: RawImage,
    base_dir: Option<&Path>,
) -> Result<PublicImageEntry, CatalogError> {
    let marketplace = marketplace(entry, &r)?;
    if marketplace.is_some() {
        check_marketplace_id(entry, &r.id)?;
    } else {
        check_image_id(entry, &r.id)?;
    }
    let name = r.name.unwrap_or_else(|| r.id.clone());
    check_len(entry, "name", &name, 2, 128)?;
    check_family(entry, &r.family)?;
    let version = r.version.unwrap_or_default();
    check_len(entry, "version", &version, 0, 128)?;
    let description = r.description.unwrap_or_default();
    check_len(entry, "description", &description, 0, 256)?;
    check_len(entry, "os_name", &r.os_name, 1, 128)?;
    check_len(entry, "os_name_en", &r.os_name_en, 1, 128)?;

    let platform = Platform::parse(&r.platform, false).ok_or_else(|| {
        let all: Vec<String> = LINUX_PLATFORMS
            .iter()
            .chain(WINDOWS_PLATFORMS)
            .map(|p| format!("{p:?}"))
            .collect();
        invalid(
            entry,
            "platform",
            &r.platform,
            format!("one of {}", all.join(", ")),
        )
    })?;
    let os_type = match r.os_type {
        None => platform.os_type(),
        Some(s) => {
            let t = parse_enum(entry, "os_type", &s, OsType::parse, os_type_names())?;
            if t != platform.os_type() {
                let want = format!(
                    "{:?} for platform {:?}",
                    platform.os_type().as_str(),
                    platform.as_str()
                );
                return Err(invalid(entry, "os_type", s, want));
            }
            t
        }
    };
    let architecture = parse_enum(
        entry,
        "architecture",
        &r.architecture,
        Architecture::parse,
        arch_names(),
    )?;
    let boot_mode = parse_enum(
        entry,
        "boot_mode",
        &r.boot_mode,
        BootMode::parse,
        boot_names(),
    )?;
    let size_gib = u32::try_from(r.size_gib)
        .ok()
        .filter(|s| (1..=MAX_SIZE_GIB).contains(&i64::from(*s)))
        .ok_or_else(|| {
            invalid(
                entry,
                "size_gib",
                r.size_gib,
                format!("1 to {MAX_SIZE_GIB}"),
            )
        })?;
    let nvme_support = parse_enum(
        entry,
        "nvme_support",
        &r.nvme_support,
        Support::parse,
        support_names(),
    )?;
    let imds_support = r
        .imds_support
        .map(|s| parse_enum(entry, "imds_support", &s, ImdsSupport::parse, imds_names()))
        .transpose()?;
    let creation_time = raw::utc_time(entry, "creation_time", &r.creation_time)?;
    let status = match r.status {
        None => ImageStatus::Available,
        Some(s) => parse_enum(
            entry,
            "status",
            &s,
            |v| ImageStatus::parse(v).filter(|st| CATALOG_STATUSES.contains(st)),
            CATALOG_STATUSES.iter().map(|s| s.as_str()),
        )?,
    };
    let regions = check_regions(entry, r.regions)?;
    let license_billed = r
        .license_billed
        .unwrap_or_else(|| billed_by_default(&platform));
    let license_billed_regions = r.license_billed_regions.unwrap_or_default();
    for region in license_billed_regions.keys() {
        if !is_region_id(region) {
            return Err(invalid(
                entry,
                "license_billed_regions",
                region,
                "a region id such as cn-hangzhou",
            ));
        }
        if let RegionScope::Only(list) = &regions
            && !list.contains(region)
        {
            return Err(invalid(
                entry,
                "license_billed_regions",
                region,
                "a region listed in `regions`",
            ));
        }
    }
    let image_file = r
        .image_file
        .map(|p| resolve_image_file(entry, &p, base_dir))
        .transpose()?;

    Ok(PublicImageEntry {
        id: r.id,
        name,
        family: r.family,
        version,
        description,
        os_name: r.os_name,
        os_name_en: r.os_name_en,
        os_type,
        platform,
        architecture,
        boot_mode,
        size_gib,
        is_support_cloudinit: r.is_support_cloudinit.unwrap_or(true),
        is_support_io_optimized: r.is_support_io_optimized.unwrap_or(true),
        nvme_support,
        imds_support,
        login_as_non_root_supported: r.login_as_non_root_supported.unwrap_or(false),
        creation_time,
        status,
        regions,
        license_billed,
        license_billed_regions,
        image_file,
        marketplace,
    })
}

/// The marketplace keys: all three (an ISV's product) or none (a public image).
fn marketplace(entry: &EntryRef, r: &RawImage) -> Result<Option<Marketplace>, CatalogError> {
    let (code, supplier, price) = match (&r.product_code, &r.supplier_name, r.price_per_hour) {
        (None, None, None) => return Ok(None),
        (Some(c), Some(s), Some(p)) => (c, s, p),
        _ => {
            return Err(invalid(
                entry,
                "product_code",
                r.product_code.as_deref().unwrap_or(""),
                "product_code, supplier_name and price_per_hour together (a marketplace image) \
                 or none of them",
            ));
        }
    };
    let code_ok = (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if !code_ok {
        return Err(invalid(
            entry,
            "product_code",
            code,
            "1 to 64 letters, digits, `_` or `-`",
        ));
    }
    check_len(entry, "supplier_name", supplier, 1, 128)?;
    if !(price.is_finite() && price >= 0.0) {
        return Err(invalid(
            entry,
            "price_per_hour",
            price,
            "a price of zero or more",
        ));
    }
    Ok(Some(Marketplace {
        product_code: code.clone(),
        supplier_name: supplier.clone(),
        price_per_hour: price,
    }))
}

/// Marketplace images have `m-` IDs, as on ECS.
fn check_marketplace_id(entry: &EntryRef, id: &str) -> Result<(), CatalogError> {
    match crate::ids::ImageId::parse(id) {
        Some(parsed) if parsed.is_custom_form() => Ok(()),
        _ => Err(invalid(
            entry,
            "id",
            id,
            "a marketplace image ID such as m-bp1ab2cd3ef4gh5ij6kl (`m-` and letters and digits)",
        )),
    }
}

/// A family resolves to one image for one architecture, so all of its entries share one
/// (`acs:ubuntu_22_04_x64` and `acs:ubuntu_22_04_arm64` are separate families).
pub(super) fn check_family_architecture(
    entry: &EntryRef,
    image: &PublicImageEntry,
    earlier: &[PublicImageEntry],
) -> Result<(), CatalogError> {
    let clash = earlier
        .iter()
        .position(|e| e.family == image.family && e.architecture != image.architecture);
    match clash {
        None => Ok(()),
        Some(i) => Err(invalid(
            entry,
            "family",
            &image.family,
            format!(
                "a family whose entries share one architecture (entry #{} is {})",
                i + 1,
                earlier[i].architecture
            ),
        )),
    }
}

/// Public image ids are file-like names; `m-` ids belong to custom images.
fn check_image_id(entry: &EntryRef, id: &str) -> Result<(), CatalogError> {
    let expected = "a public image name such as ubuntu_22_04_x64_20G_alibase_20240322.vhd \
                    (letters, digits, `.`, `_`, `-`; not `m-`, which custom images use)";
    let well_formed = (2..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && id.as_bytes()[0].is_ascii_alphabetic();
    if !well_formed || id.starts_with("m-") {
        return Err(invalid(entry, "id", id, expected));
    }
    Ok(())
}

/// Public families are `acs:` plus a lowercase-ish name (`acs:centos_7_9_x64`).
fn check_family(entry: &EntryRef, family: &str) -> Result<(), CatalogError> {
    let rest = family.strip_prefix("acs:").unwrap_or("");
    let ok = !rest.is_empty()
        && family.len() <= 128
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            entry,
            "family",
            family,
            "`acs:` followed by letters, digits, `.`, `_`, `-`",
        ))
    }
}

fn check_regions(
    entry: &EntryRef,
    regions: Option<Vec<String>>,
) -> Result<RegionScope, CatalogError> {
    let Some(list) = regions else {
        return Ok(RegionScope::All);
    };
    if list.is_empty() {
        return Err(invalid(
            entry,
            "regions",
            "[]",
            "at least one region, or no `regions` key for all",
        ));
    }
    for (i, r) in list.iter().enumerate() {
        if !is_region_id(r) {
            return Err(invalid(
                entry,
                "regions",
                r,
                "a region id such as cn-hangzhou",
            ));
        }
        if list[..i].contains(r) {
            return Err(invalid(entry, "regions", r, "each region once"));
        }
    }
    Ok(RegionScope::Only(list))
}

fn resolve_image_file(
    entry: &EntryRef,
    path: &str,
    base_dir: Option<&Path>,
) -> Result<PathBuf, CatalogError> {
    if path.is_empty() {
        return Err(invalid(
            entry,
            "image_file",
            path,
            "a path to a disk image file",
        ));
    }
    let p = Path::new(path);
    match base_dir {
        _ if p.is_absolute() => Ok(p.to_path_buf()),
        Some(base) => Ok(base.join(p)),
        None => Err(invalid(
            entry,
            "image_file",
            path,
            "an absolute path (a relative one needs the catalog file's directory)",
        )),
    }
}

/// Windows Server and Red Hat licences are billed; the other distributions are free.
fn billed_by_default(platform: &Platform) -> bool {
    platform.os_type() == OsType::Windows || platform.as_str() == "RedHat"
}

fn os_type_names() -> impl Iterator<Item = &'static str> {
    OsType::ALL.iter().map(|v| v.as_str())
}

fn arch_names() -> impl Iterator<Item = &'static str> {
    Architecture::ALL.iter().map(|v| v.as_str())
}

fn boot_names() -> impl Iterator<Item = &'static str> {
    BootMode::ALL.iter().map(|v| v.as_str())
}

fn support_names() -> impl Iterator<Item = &'static str> {
    Support::ALL.iter().map(|v| v.as_str())
}

fn imds_names() -> impl Iterator<Item = &'static str> {
    ImdsSupport::ALL.iter().map(|v| v.as_str())
}
