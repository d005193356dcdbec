//! Which images run on which instance types (reference §5.1 `InstanceType` filter, §5.13
//! `DescribeImageSupportInstanceTypes`, §5.18, §7). Pure functions over [`ImageTraits`] and a
//! catalog [`InstanceType`].
//!
//! | rule                                                        | failure                        |
//! |-------------------------------------------------------------|--------------------------------|
//! | the image's architecture runs on the type's ([`Architecture::runs_on`]) | `ArchitectureMismatch` |
//! | 32-bit images only on types with less than 4 GiB memory     | `ThirtyTwoBitOnLargeMemory`    |
//! | Windows only on types with at least 1 GiB memory            | `WindowsOnTinyMemory`          |
//! | the type boots the image's mode (`UEFI-Preferred`: either)  | `BootModeUnsupported`          |
//! | NVMe-only types need `NvmeSupport=supported`                | `NvmeRequired`                 |
//!
//! [`check`] reports the first failure in this order, [`check_all`] every one. The rules are
//! the same for `CreateEcs` and `ChangeOS` today; they take the action because the API
//! distinguishes the two and a rule may come to differ. Not modelled: the Semi-Annual Channel
//! Windows exception to the 1 GiB rule (reference §7), which needs a trait no image carries.

use crate::attrs::{ActionType, Architecture, BootMode, OsType, Support};
use crate::catalog::InstanceType;

/// Memory from which 32-bit images are refused (reference §7: "≥ 4 GiB").
pub const THIRTY_TWO_BIT_MEMORY_LIMIT_GIB: f64 = 4.0;

/// Memory below which Windows images are refused (reference §7: not on 512 MiB types).
pub const WINDOWS_MIN_MEMORY_GIB: f64 = 1.0;

/// What the compatibility rules need to know about an image, custom or public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageTraits {
    /// `Architecture`.
    pub architecture: Architecture,
    /// `BootMode`.
    pub boot_mode: BootMode,
    /// `OSType`.
    pub os_type: OsType,
    /// `Features.NvmeSupport`; `None` when the image never declared it, which NVMe-only types
    /// treat as unsupported.
    pub nvme_support: Option<Support>,
}

/// Why an image cannot run on an instance type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Incompatibility {
    /// The image is built for another CPU architecture.
    #[error("The image is {image} and the instance type is {instance_type}")]
    ArchitectureMismatch {
        image: Architecture,
        instance_type: Architecture,
    },
    /// 32-bit images address less than 4 GiB.
    #[error("32-bit images need less than 4 GiB of memory; the instance type has {memory_gib} GiB")]
    ThirtyTwoBitOnLargeMemory { memory_gib: f64 },
    /// Windows does not boot in less than 1 GiB.
    #[error("Windows images need at least 1 GiB of memory; the instance type has {memory_gib} GiB")]
    WindowsOnTinyMemory { memory_gib: f64 },
    /// The type's firmware cannot boot the image.
    #[error(
        "The image boots with {image}; the instance type boots with {}",
        join(supported)
    )]
    BootModeUnsupported {
        image: BootMode,
        supported: Vec<BootMode>,
    },
    /// The type attaches disks over NVMe only and the image has no NVMe driver.
    #[error("The instance type attaches disks over NVMe only; the image does not support NVMe")]
    NvmeRequired,
}

fn join(modes: &[BootMode]) -> String {
    modes
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks every rule and returns the first that fails, in the order of the module table.
pub fn check(
    image: &ImageTraits,
    ty: &InstanceType,
    action: ActionType,
) -> Result<(), Incompatibility> {
    match check_all(image, ty, action).into_iter().next() {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// Every rule that fails, in the order of the module table (empty when compatible).
pub fn check_all(
    image: &ImageTraits,
    ty: &InstanceType,
    action: ActionType,
) -> Vec<Incompatibility> {
    // Same rules for both actions (see the module doc).
    let _ = action;
    let mut problems = Vec::new();
    if !image.architecture.runs_on(ty.architecture) {
        problems.push(Incompatibility::ArchitectureMismatch {
            image: image.architecture,
            instance_type: ty.architecture,
        });
    }
    if image.architecture.is_32_bit() && ty.memory_gib >= THIRTY_TWO_BIT_MEMORY_LIMIT_GIB {
        problems.push(Incompatibility::ThirtyTwoBitOnLargeMemory {
            memory_gib: ty.memory_gib,
        });
    }
    if image.os_type == OsType::Windows && ty.memory_gib < WINDOWS_MIN_MEMORY_GIB {
        problems.push(Incompatibility::WindowsOnTinyMemory {
            memory_gib: ty.memory_gib,
        });
    }
    if !ty.supports_boot_mode(image.boot_mode) {
        problems.push(Incompatibility::BootModeUnsupported {
            image: image.boot_mode,
            supported: ty.boot_modes.clone(),
        });
    }
    if ty.nvme.requires_nvme() && image.nvme_support != Some(Support::Supported) {
        problems.push(Incompatibility::NvmeRequired);
    }
    problems
}

/// Whether the image runs on the type.
pub fn is_compatible(image: &ImageTraits, ty: &InstanceType, action: ActionType) -> bool {
    check(image, ty, action).is_ok()
}

/// The types, in the given order, that the image runs on (`DescribeImageSupportInstanceTypes`).
pub fn supported_types<'a>(
    image: &ImageTraits,
    types: impl IntoIterator<Item = &'a InstanceType>,
    action: ActionType,
) -> Vec<&'a InstanceType> {
    types
        .into_iter()
        .filter(|t| is_compatible(image, t, action))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{InstanceTypeCatalog, NvmeRequirement, PublicCatalog};

    const CREATE: ActionType = ActionType::CreateEcs;

    fn linux(architecture: Architecture) -> ImageTraits {
        ImageTraits {
            architecture,
            boot_mode: BootMode::Bios,
            os_type: OsType::Linux,
            nvme_support: Some(Support::Unsupported),
        }
    }

    fn ty(memory_gib: f64, architecture: Architecture, boot_modes: &[BootMode]) -> InstanceType {
        InstanceType {
            id: "ecs.test.large".into(),
            family: "ecs.test".into(),
            cpu_core_count: 2,
            memory_gib,
            architecture,
            nvme: NvmeRequirement::Unsupported,
            boot_modes: boot_modes.to_vec(),
            gpu_amount: 0,
            gpu_spec: None,
        }
    }

    fn x86(memory_gib: f64) -> InstanceType {
        ty(
            memory_gib,
            Architecture::X86_64,
            &[BootMode::Bios, BootMode::Uefi],
        )
    }

    #[test]
    fn thirty_two_bit_images_need_less_than_4_gib() {
        let img = linux(Architecture::I386);
        assert_eq!(check(&img, &x86(2.0), CREATE), Ok(()));
        assert_eq!(check(&img, &x86(3.5), CREATE), Ok(()));
        assert_eq!(
            check(&img, &x86(4.0), CREATE),
            Err(Incompatibility::ThirtyTwoBitOnLargeMemory { memory_gib: 4.0 })
        );
        assert!(check(&img, &x86(512.0), ActionType::ChangeOs).is_err());
        assert_eq!(
            check(&linux(Architecture::X86_64), &x86(512.0), CREATE),
            Ok(())
        );
    }

    #[test]
    fn architectures_must_run_on_the_type() {
        let arm = ty(8.0, Architecture::Arm64, &[BootMode::Uefi]);
        let uefi_x86 = ImageTraits {
            boot_mode: BootMode::Uefi,
            ..linux(Architecture::X86_64)
        };
        assert_eq!(
            check(&uefi_x86, &arm, CREATE),
            Err(Incompatibility::ArchitectureMismatch {
                image: Architecture::X86_64,
                instance_type: Architecture::Arm64
            })
        );
        let arm_img = ImageTraits {
            boot_mode: BootMode::Uefi,
            ..linux(Architecture::Arm64)
        };
        assert_eq!(check(&arm_img, &arm, CREATE), Ok(()));
        assert!(matches!(
            check(&arm_img, &x86(8.0), CREATE),
            Err(Incompatibility::ArchitectureMismatch { .. })
        ));
        // 32-bit x86 runs on x86_64 hardware but never on arm64.
        let small_arm = ty(2.0, Architecture::Arm64, &[BootMode::Bios, BootMode::Uefi]);
        assert!(matches!(
            check(&linux(Architecture::I386), &small_arm, CREATE),
            Err(Incompatibility::ArchitectureMismatch { .. })
        ));
    }

    #[test]
    fn boot_modes_must_be_supported_and_uefi_preferred_boots_anywhere() {
        let bios_only = ty(8.0, Architecture::X86_64, &[BootMode::Bios]);
        let uefi_only = ty(8.0, Architecture::X86_64, &[BootMode::Uefi]);
        let img = |boot_mode| ImageTraits {
            boot_mode,
            ..linux(Architecture::X86_64)
        };
        assert_eq!(check(&img(BootMode::Bios), &bios_only, CREATE), Ok(()));
        assert_eq!(
            check(&img(BootMode::Uefi), &bios_only, CREATE),
            Err(Incompatibility::BootModeUnsupported {
                image: BootMode::Uefi,
                supported: vec![BootMode::Bios]
            })
        );
        assert!(check(&img(BootMode::Bios), &uefi_only, CREATE).is_err());
        assert_eq!(
            check(&img(BootMode::UefiPreferred), &bios_only, CREATE),
            Ok(())
        );
        assert_eq!(
            check(&img(BootMode::UefiPreferred), &uefi_only, CREATE),
            Ok(())
        );
    }

    #[test]
    fn windows_needs_at_least_1_gib() {
        let win = ImageTraits {
            os_type: OsType::Windows,
            ..linux(Architecture::X86_64)
        };
        assert_eq!(
            check(&win, &x86(0.5), CREATE),
            Err(Incompatibility::WindowsOnTinyMemory { memory_gib: 0.5 })
        );
        assert_eq!(check(&win, &x86(1.0), CREATE), Ok(()));
        assert_eq!(
            check(&linux(Architecture::X86_64), &x86(0.5), CREATE),
            Ok(())
        );
    }

    #[test]
    fn nvme_only_types_need_a_declared_nvme_driver() {
        let nvme_only = InstanceType {
            nvme: NvmeRequirement::Required,
            ..x86(8.0)
        };
        let either = InstanceType {
            nvme: NvmeRequirement::Supported,
            ..x86(8.0)
        };
        let with = |nvme_support| ImageTraits {
            nvme_support,
            ..linux(Architecture::X86_64)
        };
        assert_eq!(
            check(&with(Some(Support::Supported)), &nvme_only, CREATE),
            Ok(())
        );
        assert_eq!(
            check(&with(Some(Support::Unsupported)), &nvme_only, CREATE),
            Err(Incompatibility::NvmeRequired)
        );
        assert_eq!(
            check(&with(None), &nvme_only, CREATE),
            Err(Incompatibility::NvmeRequired)
        );
        assert_eq!(check(&with(None), &either, CREATE), Ok(()));
        assert_eq!(
            check(&with(Some(Support::Supported)), &x86(8.0), CREATE),
            Ok(())
        );
    }

    #[test]
    fn check_all_reports_every_failing_rule_in_table_order() {
        let img = ImageTraits {
            architecture: Architecture::I386,
            boot_mode: BootMode::Bios,
            os_type: OsType::Windows,
            nvme_support: None,
        };
        let arm = InstanceType {
            nvme: NvmeRequirement::Required,
            ..ty(0.5, Architecture::Arm64, &[BootMode::Uefi])
        };
        let problems = check_all(&img, &arm, CREATE);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(matches!(
            problems[0],
            Incompatibility::ArchitectureMismatch { .. }
        ));
        assert!(matches!(
            problems[1],
            Incompatibility::WindowsOnTinyMemory { .. }
        ));
        assert!(matches!(
            problems[2],
            Incompatibility::BootModeUnsupported { .. }
        ));
        assert_eq!(problems[3], Incompatibility::NvmeRequired);
        assert_eq!(check(&img, &arm, CREATE), Err(problems[0].clone()));
    }

    #[test]
    fn messages_name_the_values() {
        let e = Incompatibility::ThirtyTwoBitOnLargeMemory { memory_gib: 8.0 };
        assert!(e.to_string().ends_with("has 8 GiB"), "{e}");
        let e = Incompatibility::BootModeUnsupported {
            image: BootMode::Uefi,
            supported: vec![BootMode::Bios],
        };
        assert_eq!(
            e.to_string(),
            "The image boots with UEFI; the instance type boots with BIOS"
        );
    }

    // ---- the shipped catalogs ----

    fn ids<'a>(types: impl IntoIterator<Item = &'a InstanceType>) -> Vec<&'a str> {
        let mut v: Vec<&str> = types.into_iter().map(|t| t.id.as_str()).collect();
        v.sort_unstable();
        v
    }

    fn traits_of(id: &str) -> ImageTraits {
        PublicCatalog::builtin()
            .get(id)
            .unwrap_or_else(|| panic!("{id} not shipped"))
            .traits()
    }

    #[test]
    fn centos_6_8_32_bit_runs_on_exactly_the_small_x86_types() {
        let types = InstanceTypeCatalog::builtin();
        let img = traits_of("centos_6_08_32_40G_alibase_20170710.vhd");
        let expected = ids(types
            .iter()
            .filter(|t| t.memory_gib < 4.0 && t.architecture == Architecture::X86_64));
        assert!(expected.len() >= 5, "{expected:?}");
        for action in [ActionType::CreateEcs, ActionType::ChangeOs] {
            assert_eq!(ids(supported_types(&img, &types, action)), expected);
        }
        assert!(expected.contains(&"ecs.t5-lc2m1.nano") && expected.contains(&"ecs.n4.small"));
        assert!(!expected.contains(&"ecs.n4.large"));
    }

    #[test]
    fn windows_2008_32_bit_runs_on_small_x86_types_with_at_least_1_gib() {
        let types = InstanceTypeCatalog::builtin();
        let img = traits_of("win2008_32_stand_sp2_cn_40G_alibase_20151212.vhd");
        let expected = ids(types.iter().filter(|t| {
            (1.0..4.0).contains(&t.memory_gib) && t.architecture == Architecture::X86_64
        }));
        assert_eq!(ids(supported_types(&img, &types, CREATE)), expected);
        assert!(!expected.contains(&"ecs.t5-lc2m1.nano"));
    }

    /// A short name per rule, so the table below reads as one line per case.
    fn rule(problem: &Incompatibility) -> &'static str {
        match problem {
            Incompatibility::ArchitectureMismatch { .. } => "arch",
            Incompatibility::ThirtyTwoBitOnLargeMemory { .. } => "32-bit",
            Incompatibility::WindowsOnTinyMemory { .. } => "windows",
            Incompatibility::BootModeUnsupported { .. } => "boot",
            Incompatibility::NvmeRequired => "nvme",
        }
    }

    #[test]
    fn shipped_compatibility_table() {
        let types = InstanceTypeCatalog::builtin();
        #[rustfmt::skip]
        let table = [
            ("centos_7_9_x64_20G_alibase_20240321.vhd",                  "ecs.g8i.large",       "ok"),
            ("centos_7_9_x64_20G_alibase_20240321.vhd",                  "ecs.g8y.large",       "arch"),
            ("centos_6_09_64_20G_alibase_20180326.vhd",                  "ecs.g8i.large",       "nvme"),
            ("centos_6_09_64_20G_alibase_20180326.vhd",                  "ecs.g7.large",        "ok"),
            ("centos_6_08_32_40G_alibase_20170710.vhd",                  "ecs.n4.large",        "32-bit"),
            ("centos_6_08_32_40G_alibase_20170710.vhd",                  "ecs.n4.small",        "ok"),
            ("win2016_1607_x64_dtc_zh-cn_40G_alibase_20210516.vhd",      "ecs.t5-lc2m1.nano",   "windows"),
            ("win2016_1607_x64_dtc_zh-cn_40G_alibase_20210516.vhd",      "ecs.t5-lc1m1.small",  "ok"),
            ("win2022_21H2_x64_dtc_zh-cn_40G_uefi_alibase_20260114.vhd", "ecs.g6.large",        "boot"),
            ("win2022_21H2_x64_dtc_zh-cn_40G_uefi_alibase_20260114.vhd", "ecs.g8i.large",       "ok"),
            ("aliyun_3_arm64_20G_alibase_20240819.vhd",                  "ecs.g8y.large",       "ok"),
            ("aliyun_3_arm64_20G_alibase_20240819.vhd",                  "ecs.g6r.large",       "ok"),
            ("aliyun_3_arm64_20G_alibase_20240819.vhd",                  "ecs.g7.large",        "arch"),
            ("aliyun_3_x64_20G_alibase_20241103.vhd",                    "ecs.n4.small",        "ok"),
            ("aliyun_3_x64_20G_alibase_20241103.vhd",                    "ecs.c8i.large",       "ok"),
            ("aliyun_3_9_x64_20G_uefi_alibase_20231219.vhd",             "ecs.n4.small",        "boot"),
            ("ubuntu_22_04_arm64_20G_alibase_20230712.vhd",              "ecs.c8y.large",       "ok"),
            ("anolisos_8_8_arm64_20G_anck_alibase_20240221.vhd",         "ecs.r8y.large",       "ok"),
            ("ubuntu_16_04_x64_20G_alibase_20221227.vhd",                "ecs.ebmg7.32xlarge",  "ok"),
            ("ubuntu_16_04_x64_20G_alibase_20221227.vhd",                "ecs.g7se.large",      "nvme"),
        ];
        for (image, ty_id, expected) in table {
            let ty = types
                .get(ty_id)
                .unwrap_or_else(|| panic!("{ty_id} not shipped"));
            let got = check(&traits_of(image), ty, CREATE)
                .err()
                .map_or("ok", |p| rule(&p));
            assert_eq!(got, expected, "{image} on {ty_id}");
        }
    }

    #[test]
    fn every_shipped_image_runs_on_some_shipped_type() {
        let types = InstanceTypeCatalog::builtin();
        for e in &PublicCatalog::builtin() {
            assert!(
                !supported_types(&e.traits(), &types, CREATE).is_empty(),
                "{} runs nowhere",
                e.id
            );
        }
    }
}
