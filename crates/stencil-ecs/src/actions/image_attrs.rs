//! Image attributes that CreateImage, ImportImage and ModifyImageAttribute share (reference
//! §3, §3.1, §5.2, §5.3, §5.8): names, descriptions, families, architecture, platform, boot
//! mode, features, detection and device names, each with the code the reference gives.

use stencil_domain::names::{self, NameError};
use stencil_domain::{Architecture, BootMode, DiskType, ImdsSupport, OsType, Platform, Support};

use super::common::invalid_as;
use super::parse_enum;
use crate::{EcsError, ErrorCode, Params};

/// A name-like optional parameter checked by `check`; empty counts as not given.
fn checked(
    params: &Params,
    name: &str,
    check: fn(&str) -> Result<(), NameError>,
    code: ErrorCode,
) -> Result<Option<String>, EcsError> {
    let Some(value) = params.non_empty(name) else {
        return Ok(None);
    };
    check(value).map_err(|why| name_error(code, name, value, &why))?;
    Ok(Some(value.to_owned()))
}

/// `code` for a value that broke a §3.1 rule, saying which.
pub(crate) fn name_error(code: ErrorCode, name: &str, value: &str, why: &NameError) -> EcsError {
    let why = why.to_string();
    let mut chars = why.chars();
    let lowered: String = chars
        .next()
        .map(|c| c.to_ascii_lowercase())
        .into_iter()
        .chain(chars)
        .collect();
    invalid_as(code, name, format_args!("{lowered}, got {value:?}"))
}

/// `ImageName` (§3.1): `InvalidImageName.Malformed`.
pub(crate) fn image_name(params: &Params) -> Result<Option<String>, EcsError> {
    checked(
        params,
        "ImageName",
        names::check_image_name,
        ErrorCode::InvalidImageNameMalformed,
    )
}

/// `Description` (2–256, no URL): `InvalidDescription.Malformed`.
pub(crate) fn description(params: &Params) -> Result<Option<String>, EcsError> {
    checked(
        params,
        "Description",
        names::check_description,
        ErrorCode::InvalidDescriptionMalformed,
    )
}

/// A name-rule parameter under another name (`DestinationImageName`, `DestinationDescription`).
pub(crate) fn name_param(
    params: &Params,
    name: &str,
    description: bool,
) -> Result<Option<String>, EcsError> {
    if description {
        checked(
            params,
            name,
            names::check_description,
            ErrorCode::InvalidDescriptionMalformed,
        )
    } else {
        checked(
            params,
            name,
            names::check_image_name,
            ErrorCode::InvalidImageNameMalformed,
        )
    }
}

/// `ImageFamily` (§3.1): `InvalidImageFamily.Malformed`.
pub(crate) fn image_family(params: &Params) -> Result<Option<String>, EcsError> {
    checked(
        params,
        "ImageFamily",
        names::check_image_family,
        ErrorCode::InvalidImageFamilyMalformed,
    )
}

/// Longest `ImageVersion` kept. The reference gives no limit; this one keeps a label a label.
const MAX_IMAGE_VERSION: usize = 128;

/// `ImageVersion`, empty if not given: `InvalidImageVersion.Malformed` when too long or when
/// it holds control characters.
pub(crate) fn image_version(params: &Params) -> Result<String, EcsError> {
    let value = params.non_empty("ImageVersion").unwrap_or("");
    if value.chars().count() > MAX_IMAGE_VERSION || value.chars().any(char::is_control) {
        return Err(invalid_as(
            ErrorCode::InvalidImageVersionMalformed,
            "ImageVersion",
            format_args!(
                "must be at most {MAX_IMAGE_VERSION} characters without control characters, got {value:?}"
            ),
        ));
    }
    Ok(value.to_owned())
}

/// `Architecture`: `InvalidArchitecture.Malformed`.
pub(crate) fn architecture(params: &Params) -> Result<Option<Architecture>, EcsError> {
    parse_enum(
        params,
        "Architecture",
        ErrorCode::InvalidArchitectureMalformed,
        "i386, x86_64 or arm64",
        Architecture::parse,
    )
}

/// `Platform` (§3 list; ImportImage also takes `Other Windows`): `InvalidPlatform.Malformed`.
pub(crate) fn platform(
    params: &Params,
    allow_other_windows: bool,
) -> Result<Option<Platform>, EcsError> {
    parse_enum(
        params,
        "Platform",
        ErrorCode::InvalidPlatformMalformed,
        "a platform of the documented list (for example Ubuntu or Windows Server 2022)",
        |v| Platform::parse(v, allow_other_windows),
    )
}

/// `BootMode`, one of `allowed`: a value that is no boot mode at all is `unknown`, a boot mode
/// the action does not take is `InvalidBootMode.NotSupport`.
pub(crate) fn boot_mode(
    params: &Params,
    allowed: &[BootMode],
    unknown: ErrorCode,
) -> Result<Option<BootMode>, EcsError> {
    let expected = allowed
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mode = parse_enum(params, "BootMode", unknown, &expected, BootMode::parse)?;
    match mode {
        Some(m) if !allowed.contains(&m) => Err(invalid_as(
            ErrorCode::InvalidBootModeNotSupport,
            "BootMode",
            format_args!("must be {expected} for this action, got {:?}", m.as_str()),
        )),
        _ => Ok(mode),
    }
}

/// arm64 images boot with UEFI only: an explicit `BootMode=BIOS` is
/// `InvalidBootMode.NotSupport`.
pub(crate) fn check_arm_boot(
    architecture: Option<Architecture>,
    boot_mode: Option<BootMode>,
) -> Result<(), EcsError> {
    if architecture == Some(Architecture::Arm64) && boot_mode == Some(BootMode::Bios) {
        return Err(invalid_as(
            ErrorCode::InvalidBootModeNotSupport,
            "BootMode",
            "arm64 images must boot with UEFI, got \"BIOS\"",
        ));
    }
    Ok(())
}

/// Windows does not run on arm64: `InvalidArchitecture.PlatformUnsupported`.
pub(crate) fn check_arm_platform(
    architecture: Option<Architecture>,
    os_type: Option<OsType>,
) -> Result<(), EcsError> {
    if architecture == Some(Architecture::Arm64) && os_type == Some(OsType::Windows) {
        return Err(invalid_as(
            ErrorCode::InvalidArchitecturePlatformUnsupported,
            "Architecture",
            "arm64 images must run a Linux platform",
        ));
    }
    Ok(())
}

/// A disk type, `system` or `data` in any case.
pub(crate) fn parse_disk_type(v: &str) -> Option<DiskType> {
    [DiskType::System, DiskType::Data]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(v))
}

/// `Features.ImdsSupport`: `InvalidParameter.FeaturesImdsSupport`.
pub(crate) fn imds_support(params: &Params) -> Result<Option<ImdsSupport>, EcsError> {
    parse_enum(
        params,
        "Features.ImdsSupport",
        ErrorCode::InvalidParameterFeaturesImdsSupport,
        "v1 or v2",
        ImdsSupport::parse,
    )
}

/// `Features.NvmeSupport`: `InvalidParameter` (the reference names no code of its own).
pub(crate) fn nvme_support(params: &Params) -> Result<Option<Support>, EcsError> {
    parse_enum(
        params,
        "Features.NvmeSupport",
        ErrorCode::InvalidParameter,
        "supported or unsupported",
        Support::parse,
    )
}

/// `DetectionStrategy`: only `Standard`, else `InvalidParameter.DetectionStrategy`.
pub(crate) fn detection_strategy(params: &Params) -> Result<Option<String>, EcsError> {
    parse_enum(
        params,
        "DetectionStrategy",
        ErrorCode::InvalidParameterDetectionStrategy,
        "Standard",
        |v| {
            v.eq_ignore_ascii_case("Standard")
                .then(|| "Standard".to_owned())
        },
    )
}

/// `Device` of a disk mapping: `/dev/xvda` to `/dev/xvdz`, else `code`.
pub(crate) fn device(mapping: &Params, code: ErrorCode) -> Result<Option<String>, EcsError> {
    parse_enum(mapping, "Device", code, "/dev/xvda to /dev/xvdz", |v| {
        let letter = v.strip_prefix("/dev/xvd")?;
        (letter.len() == 1 && letter.bytes().all(|b| b.is_ascii_lowercase())).then(|| v.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::p;
    use super::*;

    #[test]
    fn name_errors_name_the_parameter_and_say_why() {
        let err = image_name(&p("ImageName=1abc")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidImageNameMalformed);
        assert_eq!(
            err.message(),
            "The specified parameter \"ImageName\" is not valid: must start with a letter or a Chinese character, got \"1abc\"."
        );
        assert_eq!(image_name(&p("ImageName=")).unwrap(), None);
    }

    #[test]
    fn devices_run_from_xvda_to_xvdz() {
        let ok = device(&p("Device=/dev/xvdz"), ErrorCode::InvalidDeviceMalformed).unwrap();
        assert_eq!(ok.as_deref(), Some("/dev/xvdz"));
        for bad in ["/dev/sda", "/dev/xvdA", "/dev/xvdaa", "/dev/xvd"] {
            let err = device(
                &p(&format!("Device={bad}")),
                ErrorCode::InvalidDeviceMalformed,
            )
            .unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidDeviceMalformed, "{bad}");
        }
    }

    #[test]
    fn boot_modes_outside_the_allowed_set_are_not_supported_and_garbage_is_malformed() {
        let bios_uefi = [BootMode::Bios, BootMode::Uefi];
        let code = |q: &str| {
            boot_mode(&p(q), &bios_uefi, ErrorCode::InvalidBootModeMalformed)
                .unwrap_err()
                .code()
        };
        assert_eq!(
            code("BootMode=UEFI-Preferred"),
            ErrorCode::InvalidBootModeNotSupport
        );
        assert_eq!(code("BootMode=CSM"), ErrorCode::InvalidBootModeMalformed);
        assert_eq!(
            boot_mode(
                &p("BootMode=uefi"),
                &bios_uefi,
                ErrorCode::InvalidBootModeMalformed
            )
            .unwrap(),
            Some(BootMode::Uefi)
        );
        assert!(check_arm_boot(Some(Architecture::Arm64), None).is_ok());
        assert!(check_arm_boot(Some(Architecture::Arm64), Some(BootMode::Bios)).is_err());
    }
}
