//! Tests of both loaders and of the shipped catalogs.

use std::path::{Path, PathBuf};

use super::*;
use crate::attrs::{Architecture, BootMode, OsType, Support};
use crate::status::ImageStatus;

const REGIONS: &[&str] = &["cn-hangzhou", "cn-shanghai", "cn-beijing"];

/// A valid one-entry public catalog with `extra` lines added to the entry.
fn one_image(extra: &str) -> String {
    format!(
        r#"format_version = 1
[[image]]
id = "centos_7_9_x64_20G_alibase_20240321.vhd"
family = "acs:centos_7_9_x64"
os_name = "CentOS  7.9 64位"
os_name_en = "CentOS  7.9 64 bit"
platform = "CentOS"
architecture = "x86_64"
boot_mode = "BIOS"
size_gib = 20
nvme_support = "supported"
creation_time = 2024-03-22T02:10:09Z
{extra}
"#
    )
}

/// `one_image` with the line starting with `key =` replaced by `line`.
fn image_with(key: &str, line: &str) -> String {
    one_image("")
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key} =")) {
                line
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_err(text: &str) -> CatalogError {
    PublicCatalog::parse(text, None).expect_err("the catalog should be rejected")
}

fn invalid_field(err: &CatalogError) -> Option<&'static str> {
    match err {
        CatalogError::InvalidValue { field, .. } => Some(field),
        _ => None,
    }
}

// ---- the shipped public catalog ----

fn shipped() -> PublicCatalog {
    PublicCatalog::parse(DEFAULT_PUBLIC_IMAGES, None).expect("shipped public catalog parses")
}

/// Asserts that the shipped catalog has an available entry of `family` with `arch`.
#[track_caller]
fn assert_listed(cat: &PublicCatalog, family: &str, arch: Architecture) {
    assert!(
        cat.in_family(family)
            .any(|e| e.architecture == arch && e.status == ImageStatus::Available),
        "the shipped catalog has no available {arch} image in family {family}"
    );
}

#[test]
fn shipped_public_catalog_lists_every_documented_os_version() {
    let cat = shipped();
    use Architecture::{Arm64, I386, X86_64};
    // Windows Server
    assert_listed(&cat, "acs:windows_server_2008_std_sp2_i386_zh-cn", I386);
    assert_listed(&cat, "acs:windows_server_2008_r2_ent_sp1_x64_en-us", X86_64);
    assert_listed(&cat, "acs:windows_server_2012_r2_dtc_x64_zh-cn", X86_64);
    assert_listed(&cat, "acs:windows_server_2016_dtc_x64_zh-cn", X86_64);
    assert_listed(&cat, "acs:windows_server_1809_dtc_core_x64_en-us", X86_64);
    assert_listed(&cat, "acs:windows_server_2019_dtc_x64_zh-cn", X86_64);
    assert_listed(&cat, "acs:windows_server_2022_dtc_x64_zh-cn", X86_64);
    // CentOS
    assert_listed(&cat, "acs:centos_6_8_i386", I386);
    assert_listed(&cat, "acs:centos_6_8_x64", X86_64);
    assert_listed(&cat, "acs:centos_6_9_x64", X86_64);
    assert_listed(&cat, "acs:centos_7_2_x64", X86_64);
    assert_listed(&cat, "acs:centos_7_3_x64", X86_64);
    assert_listed(&cat, "acs:centos_7_4_x64", X86_64);
    assert_listed(&cat, "acs:centos_7_5_x64", X86_64);
    assert_listed(&cat, "acs:centos_7_6_x64", X86_64);
    assert_listed(&cat, "acs:centos_7_9_x64", X86_64);
    // SUSE Linux Enterprise Server
    assert_listed(&cat, "acs:sles_11_sp4_x64", X86_64);
    assert_listed(&cat, "acs:sles_12_sp4_x64", X86_64);
    // Debian
    assert_listed(&cat, "acs:debian_8_9_x64", X86_64);
    assert_listed(&cat, "acs:debian_9_6_x64", X86_64);
    assert_listed(&cat, "acs:debian_10_x64", X86_64);
    assert_listed(&cat, "acs:debian_11_x64", X86_64);
    assert_listed(&cat, "acs:debian_12_x64", X86_64);
    // Red Hat Enterprise Linux
    assert_listed(&cat, "acs:rhel_6_9_x64", X86_64);
    assert_listed(&cat, "acs:rhel_7_4_x64", X86_64);
    assert_listed(&cat, "acs:rhel_7_5_x64", X86_64);
    // Ubuntu
    assert_listed(&cat, "acs:ubuntu_14_04_x64", X86_64);
    assert_listed(&cat, "acs:ubuntu_16_04_x64", X86_64);
    assert_listed(&cat, "acs:ubuntu_18_04_x64", X86_64);
    assert_listed(&cat, "acs:ubuntu_20_04_x64", X86_64);
    assert_listed(&cat, "acs:ubuntu_22_04_x64", X86_64);
    assert_listed(&cat, "acs:ubuntu_22_04_arm64", Arm64);
    // FreeBSD, openSUSE, CoreOS
    assert_listed(&cat, "acs:freebsd_11_1_x64", X86_64);
    assert_listed(&cat, "acs:opensuse_42_3_x64", X86_64);
    assert_listed(&cat, "acs:coreos_1745_7_0_x64", X86_64);
    // Aliyun Linux / Alibaba Cloud Linux
    assert_listed(&cat, "acs:aliyun_linux_17_1_x64", X86_64);
    assert_listed(&cat, "acs:alibaba_cloud_linux_2_1903_lts_x64", X86_64);
    assert_listed(&cat, "acs:alibaba_cloud_linux_3_2104_lts_x64", X86_64);
    assert_listed(&cat, "acs:alibaba_cloud_linux_3_2104_lts_arm64", Arm64);
    assert_listed(&cat, "acs:alibaba_cloud_linux_3_2104_lts_x64_uefi", X86_64);
    // Anolis OS
    assert_listed(&cat, "acs:anolis_8_rhck_x64", X86_64);
    assert_listed(&cat, "acs:anolis_8_anck_arm64", Arm64);
}

#[test]
fn shipped_public_catalog_names_the_documented_versions_in_os_names() {
    let cat = shipped();
    let has = |needle: &str| cat.iter().any(|e| e.os_name_en.contains(needle));
    for needle in [
        "Windows Server  2008 Standard Edition SP2 32bit",
        "Windows Server  2008 R2",
        "Windows Server  2012 R2",
        "Windows Server  2016",
        "Windows Server  Version 1809",
        "Windows Server  2019",
        "Windows Server  2022",
        "CentOS  6.8 32 bit",
        "CentOS  6.8 64 bit",
        "CentOS  6.9 ",
        "CentOS  7.2 ",
        "CentOS  7.3 ",
        "CentOS  7.4 ",
        "CentOS  7.5 ",
        "CentOS  7.6 ",
        "CentOS  7.9 ",
        "SUSE Linux Enterprise Server  11 SP4",
        "SUSE Linux Enterprise Server  12 SP4",
        "Debian  8.9 ",
        "Debian  9.6 ",
        "Debian  10.",
        "Debian  11.",
        "Debian  12.",
        "Red Hat Enterprise Linux  6.9 ",
        "Red Hat Enterprise Linux  7.4 ",
        "Red Hat Enterprise Linux  7.5 ",
        "Ubuntu  14.04 ",
        "Ubuntu  16.04 ",
        "Ubuntu  18.04 ",
        "Ubuntu  20.04 ",
        "Ubuntu  22.04 ",
        "FreeBSD  11.1 ",
        "openSUSE  42.3 ",
        "Aliyun Linux  17.1 ",
        "Aliyun Linux  2.1903 ",
        "Alibaba Cloud Linux  3.2104 ",
        "CoreOS  1745.7.0 ",
        "Anolis OS  8.",
    ] {
        assert!(
            has(needle),
            "no shipped image has an OSNameEn containing {needle:?}"
        );
    }
}

#[test]
fn shipped_public_entries_follow_the_public_image_conventions() {
    let cat = shipped();
    assert!(cat.len() >= 50, "only {} entries", cat.len());
    for e in &cat {
        assert!(e.family.starts_with("acs:"), "{}", e.id);
        assert!(e.id.ends_with(".vhd"), "{}", e.id);
        assert_eq!(e.name, e.id, "ImageName is the id on the real service");
        assert_eq!(e.owner_alias(), crate::attrs::ImageOwnerAlias::System);
        assert_eq!(e.os_type, e.platform.os_type(), "{}", e.id);
        let billed = e.os_type == OsType::Windows || e.platform.as_str() == "RedHat";
        assert_eq!(e.license_billed, billed, "{}", e.id);
        assert!(e.image_file.is_none(), "{} ships with a file", e.id);
        if e.architecture == Architecture::Arm64 {
            assert_eq!(
                e.boot_mode,
                BootMode::Uefi,
                "{}: arm64 images boot UEFI",
                e.id
            );
        }
        let sizes: &[u32] = if e.os_type == OsType::Windows {
            &[40]
        } else {
            &[20, 30, 40]
        };
        assert!(sizes.contains(&e.size_gib), "{}: {} GiB", e.id, e.size_gib);
    }
    cat.check_regions(REGIONS)
        .expect("shipped regions are the default regions");
}

#[test]
fn shipped_catalog_has_arm64_uefi_and_deprecated_entries() {
    let cat = shipped();
    assert!(cat.get("aliyun_3_arm64_20G_alibase_20240819.vhd").is_some());
    assert!(
        cat.get("ubuntu_22_04_arm64_20G_alibase_20230712.vhd")
            .is_some()
    );
    assert_eq!(
        cat.get("aliyun_3_9_x64_20G_uefi_alibase_20231219.vhd")
            .map(|e| e.boot_mode),
        Some(BootMode::Uefi)
    );
    assert!(cat.iter().any(|e| e.status == ImageStatus::Deprecated));
}

#[test]
fn newest_in_family_returns_the_latest_available_build_in_the_region() {
    let cat = shipped();
    let newest = |f: &str, r: &str| cat.newest_in_family(f, r).map(|e| e.id.as_str());
    assert_eq!(
        newest("acs:centos_7_9_x64", "cn-hangzhou"),
        Some("centos_7_9_x64_20G_alibase_20240321.vhd")
    );
    assert_eq!(
        newest("acs:alibaba_cloud_linux_3_2104_lts_x64", "cn-beijing"),
        Some("aliyun_3_x64_20G_alibase_20241103.vhd")
    );
    // The older build is Deprecated, the newer Available: either way the newer wins.
    assert_eq!(
        newest(
            "acs:windows_server_2008_r2_ent_sp1_x64_en-us",
            "cn-shanghai"
        ),
        Some("win2008r2_64_ent_sp1_en-us_40G_alibase_20190318.vhd")
    );
    // RHEL 6.9 is published in two regions only.
    assert_eq!(newest("acs:rhel_6_9_x64", "cn-shanghai"), None);
    assert!(newest("acs:rhel_6_9_x64", "cn-beijing").is_some());
    assert_eq!(newest("acs:no_such_family", "cn-hangzhou"), None);
}

#[test]
fn newest_in_family_skips_deprecated_builds() {
    let text = format!(
        "{}\n[[image]]\nid = \"centos_7_9_x64_20G_alibase_20250101.vhd\"\nfamily = \"acs:centos_7_9_x64\"\n\
         os_name = \"x\"\nos_name_en = \"x\"\nplatform = \"CentOS\"\narchitecture = \"x86_64\"\n\
         boot_mode = \"BIOS\"\nsize_gib = 20\nnvme_support = \"supported\"\n\
         creation_time = 2025-01-02T00:00:00Z\nstatus = \"Deprecated\"\n",
        one_image("")
    );
    let cat = PublicCatalog::parse(&text, None).unwrap();
    assert_eq!(
        cat.newest_in_family("acs:centos_7_9_x64", "cn-hangzhou")
            .map(|e| e.id.as_str()),
        Some("centos_7_9_x64_20G_alibase_20240321.vhd")
    );
}

#[test]
fn regions_and_licence_follow_the_entry() {
    let cat = shipped();
    let rhel = cat.get("rhel_7_05_64_20G_alibase_20180917.vhd").unwrap();
    assert!(rhel.license_billed_in("cn-hangzhou"));
    assert!(!rhel.license_billed_in("cn-beijing"));
    let rhel69 = cat.get("rhel_6_09_64_20G_alibase_20180208.vhd").unwrap();
    assert_eq!(rhel69.regions_for(REGIONS), ["cn-hangzhou", "cn-beijing"]);
    assert!(!rhel69.is_in_region("cn-shanghai"));
    let ubuntu = cat
        .get("ubuntu_22_04_x64_20G_alibase_20240322.vhd")
        .unwrap();
    assert_eq!(ubuntu.regions_for(REGIONS), REGIONS);
    assert!(!ubuntu.license_billed_in("cn-hangzhou"));
    let win = cat
        .get("win2016_1607_x64_dtc_zh-cn_40G_alibase_20210516.vhd")
        .unwrap();
    assert!(win.license_billed_in("cn-shanghai"));
}

#[test]
fn check_regions_rejects_a_region_the_server_does_not_configure() {
    let err = shipped()
        .check_regions(&["cn-hangzhou", "cn-shanghai"])
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::UnknownRegion { ref region, .. } if region == "cn-beijing")
    );
}

#[test]
fn an_entry_using_every_key_parses_with_its_values() {
    let text = one_image(
        r#"name = "CentOS 7.9 golden"
version = "v2024.3.21"
description = "Kernel version is 3.10.0-1160.108.1.el7.x86_64, 2024.3.21"
os_type = "linux"
is_support_cloudinit = false
is_support_io_optimized = false
imds_support = "v2"
login_as_non_root_supported = true
status = "Deprecated"
regions = ["cn-hangzhou", "cn-shanghai"]
license_billed = true
license_billed_regions = { "cn-shanghai" = false }
image_file = "disks/centos.qcow2""#,
    );
    let cat = PublicCatalog::parse(&text, Some(Path::new("/etc/stencil"))).unwrap();
    let e = &cat.entries()[0];
    assert_eq!(e.name, "CentOS 7.9 golden");
    assert_eq!(e.version, "v2024.3.21");
    assert!(!e.is_support_cloudinit && !e.is_support_io_optimized);
    assert_eq!(e.imds_support, Some(crate::attrs::ImdsSupport::V2));
    assert!(e.login_as_non_root_supported);
    assert_eq!(e.status, ImageStatus::Deprecated);
    assert_eq!(
        e.regions,
        RegionScope::Only(vec!["cn-hangzhou".into(), "cn-shanghai".into()])
    );
    assert!(e.license_billed_in("cn-hangzhou") && !e.license_billed_in("cn-shanghai"));
    assert_eq!(
        e.image_file,
        Some(PathBuf::from("/etc/stencil/disks/centos.qcow2"))
    );
    assert_eq!(e.creation_time.to_rfc3339(), "2024-03-22T02:10:09+00:00");
    assert_eq!(e.nvme_support, Support::Supported);
}

#[test]
fn defaults_apply_when_optional_keys_are_absent() {
    let e = PublicCatalog::parse(&one_image(""), None)
        .unwrap()
        .entries()[0]
        .clone();
    assert_eq!(e.name, e.id);
    assert_eq!((e.version.as_str(), e.description.as_str()), ("", ""));
    assert_eq!(e.os_type, OsType::Linux);
    assert!(e.is_support_cloudinit && e.is_support_io_optimized);
    assert_eq!(e.status, ImageStatus::Available);
    assert_eq!(e.regions, RegionScope::All);
    assert!(!e.license_billed);
    assert_eq!(e.image_file, None);
}

#[test]
fn marketplace_keys_make_an_isv_product_with_an_m_id() {
    let text = image_with("id", r#"id = "m-bp1market0000000001""#)
        + "\nproduct_code = \"cmjj0001\"\nsupplier_name = \"Acme Software\"\nprice_per_hour = 0.25\n";
    let cat = PublicCatalog::parse(&text, None).unwrap();
    let e = cat.iter().next().unwrap();
    assert_eq!(
        e.marketplace,
        Some(Marketplace {
            product_code: "cmjj0001".into(),
            supplier_name: "Acme Software".into(),
            price_per_hour: 0.25,
        })
    );
    assert_eq!(e.owner_alias(), crate::attrs::ImageOwnerAlias::Marketplace);
    let public = PublicCatalog::parse(&one_image(""), None).unwrap();
    assert_eq!(public.iter().next().unwrap().marketplace, None);

    let only_code = one_image("product_code = \"cmjj0001\"");
    assert_eq!(invalid_field(&parse_err(&only_code)), Some("product_code"));
    let file_like_id =
        one_image("product_code = \"cmjj0001\"\nsupplier_name = \"Acme\"\nprice_per_hour = 1.0");
    assert_eq!(invalid_field(&parse_err(&file_like_id)), Some("id"));
    let m_id = |extra: &str| image_with("id", r#"id = "m-bp1market0000000001""#) + "\n" + extra;
    for (extra, field) in [
        (
            "product_code = \"has space\"\nsupplier_name = \"Acme\"\nprice_per_hour = 1.0",
            "product_code",
        ),
        (
            "product_code = \"c1\"\nsupplier_name = \"\"\nprice_per_hour = 1.0",
            "supplier_name",
        ),
        (
            "product_code = \"c1\"\nsupplier_name = \"Acme\"\nprice_per_hour = -0.5",
            "price_per_hour",
        ),
    ] {
        assert_eq!(
            invalid_field(&parse_err(&m_id(extra))),
            Some(field),
            "{extra}"
        );
    }
    let public_m_id = image_with("id", r#"id = "m-bp1market0000000001""#);
    assert_eq!(
        invalid_field(&parse_err(&public_m_id)),
        Some("id"),
        "public entries keep file-like IDs"
    );
}

#[test]
fn image_file_resolves_against_the_catalog_directory_without_opening_it() {
    let abs = PublicCatalog::parse(&one_image("image_file = \"/srv/disk.raw\""), None).unwrap();
    assert_eq!(
        abs.entries()[0].image_file,
        Some(PathBuf::from("/srv/disk.raw"))
    );
    let rel = one_image("image_file = \"../disk.vhd\"");
    let cat = PublicCatalog::parse(&rel, Some(Path::new("/nonexistent/data"))).unwrap();
    assert_eq!(
        cat.entries()[0].image_file,
        Some(PathBuf::from("/nonexistent/data/../disk.vhd"))
    );
    assert_eq!(invalid_field(&parse_err(&rel)), Some("image_file"));
}

// ---- public catalog errors ----

#[test]
fn unknown_keys_are_rejected_with_the_entry_and_field() {
    let err = parse_err(&one_image("sise_gib = 20"));
    assert_eq!(
        err,
        CatalogError::UnknownField {
            entry: EntryRef {
                index: 1,
                id: Some("centos_7_9_x64_20G_alibase_20240321.vhd".into())
            },
            field: "sise_gib".into()
        }
    );
    assert!(err.to_string().contains("sise_gib"));
    assert!(
        err.to_string()
            .contains("centos_7_9_x64_20G_alibase_20240321.vhd")
    );
    assert!(matches!(
        parse_err("format_version = 1\nextra = 2\n"),
        CatalogError::Syntax { .. }
    ));
}

#[test]
fn missing_required_keys_are_named() {
    let text = image_with("family", "");
    assert!(matches!(
        parse_err(&text),
        CatalogError::MissingField {
            field: "family",
            ..
        }
    ));
}

#[test]
fn duplicate_ids_are_rejected() {
    let entry = one_image("");
    let body = entry.trim_start_matches("format_version = 1\n");
    let err = parse_err(&format!("{entry}{body}"));
    assert!(
        matches!(err, CatalogError::DuplicateId { ref entry, first_index: 1 } if entry.index == 2)
    );
}

#[test]
fn bad_values_are_rejected_by_field() {
    let cases = [
        ("architecture", "architecture = \"sparc\""),
        ("family", "family = \"centos_7_9_x64\""),
        ("family", "family = \"acs:\""),
        ("id", "id = \"m-bp1g7004ksh0oeuc0001\""),
        ("id", "id = \"centos 7.9\""),
        ("platform", "platform = \"Solaris\""),
        ("os_name", "os_name = \"\""),
        ("boot_mode", "boot_mode = \"EFI\""),
        ("size_gib", "size_gib = 0"),
        ("size_gib", "size_gib = 4096"),
        ("nvme_support", "nvme_support = \"required\""),
        ("creation_time", "creation_time = 2024-03-22T02:10:09"),
        ("creation_time", "creation_time = 2024-03-22"),
    ];
    for (field, line) in cases {
        let err = parse_err(&image_with(field, line));
        assert_eq!(invalid_field(&err), Some(field), "{line}: {err}");
        assert_eq!(err.entry().map(|e| e.index), Some(1));
    }
}

#[test]
fn optional_values_are_checked_too() {
    let cases = [
        ("os_type", "os_type = \"windows\""),
        ("status", "status = \"Creating\""),
        ("imds_support", "imds_support = \"v3\""),
        ("regions", "regions = []"),
        ("regions", "regions = [\"cn-hangzhou\", \"cn-hangzhou\"]"),
        ("regions", "regions = [\"CN Hangzhou\"]"),
        (
            "license_billed_regions",
            "regions = [\"cn-hangzhou\"]\nlicense_billed_regions = { \"cn-beijing\" = true }",
        ),
        ("image_file", "image_file = \"\""),
    ];
    for (field, extra) in cases {
        let err = PublicCatalog::parse(&one_image(extra), Some(Path::new("/x"))).unwrap_err();
        assert_eq!(invalid_field(&err), Some(field), "{extra}: {err}");
    }
}

#[test]
fn a_family_does_not_mix_architectures() {
    let arm = one_image("")
        .trim_start_matches("format_version = 1\n")
        .replace("20240321.vhd", "20240322.vhd")
        .replace("\"x86_64\"", "\"arm64\"");
    let err = parse_err(&format!("{}{arm}", one_image("")));
    assert_eq!(invalid_field(&err), Some("family"), "{err}");
    assert_eq!(err.entry().map(|e| e.index), Some(2));
}

#[test]
fn wrong_types_and_versions_are_rejected() {
    let err = parse_err(&image_with("size_gib", "size_gib = \"20\""));
    assert!(matches!(err, CatalogError::Malformed { .. }), "{err}");
    let err = parse_err(&one_image("").replace("format_version = 1", "format_version = 2"));
    assert_eq!(
        err,
        CatalogError::UnsupportedFormatVersion {
            found: 2,
            expected: 1
        }
    );
    assert!(matches!(
        parse_err("[[image]]\nid = \"x\"\n"),
        CatalogError::Syntax { .. }
    ));
    assert!(matches!(
        parse_err("format_version = "),
        CatalogError::Syntax { .. }
    ));
}

#[test]
fn an_empty_catalog_is_valid() {
    assert!(
        PublicCatalog::parse("format_version = 1\n", None)
            .unwrap()
            .is_empty()
    );
    assert!(
        InstanceTypeCatalog::parse("format_version = 1\n")
            .unwrap()
            .is_empty()
    );
}

// ---- instance types ----

fn shipped_types() -> InstanceTypeCatalog {
    InstanceTypeCatalog::parse(DEFAULT_INSTANCE_TYPES).expect("shipped instance types parse")
}

#[test]
fn shipped_instance_types_cover_the_rules() {
    let types = shipped_types();
    assert!(types.len() >= 30, "only {} types", types.len());
    for id in [
        "ecs.t5-lc2m1.nano",
        "ecs.t6-c1m1.large",
        "ecs.n4.small",
        "ecs.n4.large",
        "ecs.g6.large",
        "ecs.c7.large",
        "ecs.g7.xlarge",
        "ecs.r7.large",
        "ecs.g8i.large",
        "ecs.g8y.large",
        "ecs.c8y.large",
        "ecs.g6r.large",
        "ecs.ebmg7.32xlarge",
        "ecs.gn7i-c8g1.2xlarge",
    ] {
        assert!(types.get(id).is_some(), "{id} missing");
    }
    assert_eq!(types.get("ecs.t5-lc2m1.nano").unwrap().memory_gib, 0.5);
    assert_eq!(types.get("ecs.n4.small").unwrap().memory_gib, 2.0);
    assert_eq!(types.get("ecs.n4.large").unwrap().memory_gib, 4.0);
    assert_eq!(types.get("ecs.g7.xlarge").unwrap().family, "ecs.g7");
    assert_eq!(types.get("ecs.gn7i-c8g1.2xlarge").unwrap().gpu_amount, 1);
    assert!(types.get("ecs.g8i.large").unwrap().nvme.requires_nvme());
    let small = types.iter().filter(|t| t.memory_gib < 4.0).count();
    let large = types.iter().filter(|t| t.memory_gib >= 4.0).count();
    assert!(small >= 5 && large >= 5, "{small} small, {large} large");
    for t in &types {
        if t.architecture == Architecture::Arm64 {
            assert_eq!(
                t.boot_modes,
                [BootMode::Uefi],
                "{}: arm64 types are UEFI-only",
                t.id
            );
        }
    }
}

fn one_type(extra: &str) -> String {
    format!(
        "format_version = 1\n[[instance_type]]\nid = \"ecs.g7.large\"\nfamily = \"ecs.g7\"\n\
         cpu_core_count = 2\nmemory_gib = 8\narchitecture = \"x86_64\"\nnvme = \"unsupported\"\n\
         boot_modes = [\"BIOS\", \"UEFI\"]\n{extra}\n"
    )
}

fn type_with(key: &str, line: &str) -> String {
    one_type("")
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key} =")) {
                line
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn instance_type_values_are_validated_by_field() {
    let t = InstanceTypeCatalog::parse(&one_type("gpu_amount = 0")).unwrap();
    assert_eq!(t.types()[0].memory_gib, 8.0, "integers are accepted as GiB");
    let cases = [
        ("id", "id = \"g7.large\""),
        ("family", "family = \"ecs.g8\""),
        ("family", "family = \"ecs.g7.large\""),
        ("cpu_core_count", "cpu_core_count = 0"),
        ("memory_gib", "memory_gib = 0.0"),
        ("memory_gib", "memory_gib = nan"),
        ("architecture", "architecture = \"riscv64\""),
        ("nvme", "nvme = \"yes\""),
        ("boot_modes", "boot_modes = []"),
        ("boot_modes", "boot_modes = [\"UEFI-Preferred\"]"),
        ("boot_modes", "boot_modes = [\"BIOS\", \"bios\"]"),
    ];
    for (field, line) in cases {
        let err = InstanceTypeCatalog::parse(&type_with(field, line)).unwrap_err();
        assert_eq!(invalid_field(&err), Some(field), "{line}: {err}");
    }
    let err = InstanceTypeCatalog::parse(&one_type("gpu_spec = \"NVIDIA A10\"")).unwrap_err();
    assert_eq!(invalid_field(&err), Some("gpu_spec"));
}

#[test]
fn instance_type_structure_errors_have_their_own_kinds() {
    let err = InstanceTypeCatalog::parse(&one_type("memory_mib = 8192")).unwrap_err();
    assert!(matches!(err, CatalogError::UnknownField { ref field, .. } if field == "memory_mib"));
    let err = InstanceTypeCatalog::parse(&type_with("nvme", "")).unwrap_err();
    assert!(matches!(
        err,
        CatalogError::MissingField { field: "nvme", .. }
    ));
    let entry = one_type("");
    let body = entry.trim_start_matches("format_version = 1\n");
    let err = InstanceTypeCatalog::parse(&format!("{entry}{body}")).unwrap_err();
    assert!(matches!(
        err,
        CatalogError::DuplicateId { first_index: 1, .. }
    ));
    assert_eq!(err.field(), Some("id"));
}

#[test]
fn uefi_preferred_images_boot_on_any_type() {
    let types = shipped_types();
    assert!(
        types
            .iter()
            .all(|t| t.supports_boot_mode(BootMode::UefiPreferred))
    );
    let n4 = types.get("ecs.n4.small").unwrap();
    assert!(n4.supports_boot_mode(BootMode::Bios) && !n4.supports_boot_mode(BootMode::Uefi));
}

#[test]
fn builtin_catalogs_match_the_embedded_files() {
    assert_eq!(PublicCatalog::builtin(), shipped());
    assert_eq!(InstanceTypeCatalog::builtin(), shipped_types());
}
