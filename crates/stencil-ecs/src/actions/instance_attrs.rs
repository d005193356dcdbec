//! Instance and disk attributes that RunInstances, CreateInstance, ReplaceSystemDisk and the
//! disk listings share (reference §5.18; the ECS RunInstances error table): instance, host and
//! disk names, disk descriptions, categories and sizes, each with the code the API gives.

use stencil_domain::DiskCategory;
use stencil_domain::names::{self, NameError};

use super::common::invalid_as;
use super::image_attrs::name_error;
use super::parse_enum;
use crate::{EcsError, ErrorCode, Params};

/// Whether `c` is a Chinese character (the names' other allowed first character).
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Instance and disk names: 2–128 characters, starting with a letter or a Chinese character,
/// then letters, Chinese characters, digits, `.`, `:`, `_` and `-`; no `http://` or
/// `https://`. Unlike image names, `aliyun` and `acs:` prefixes are allowed.
pub(crate) fn check_resource_name(s: &str) -> Result<(), NameError> {
    let got = s.chars().count();
    if !(2..=128).contains(&got) {
        return Err(NameError::Length {
            min: 2,
            max: 128,
            got,
        });
    }
    let lower = s.to_ascii_lowercase();
    if lower.contains("http://") || lower.contains("https://") {
        return Err(NameError::Url);
    }
    let first = s.chars().next().unwrap_or(' ');
    if !(first.is_ascii_alphabetic() || is_cjk(first)) {
        return Err(NameError::BadStart);
    }
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || is_cjk(*c) || ".:_-".contains(*c)))
    {
        Some(c) => Err(NameError::BadChar(c)),
        None => Ok(()),
    }
}

/// The optional name-like parameter `name` of `params` checked by `check` (empty when absent).
fn checked(
    params: &Params,
    name: &str,
    check: fn(&str) -> Result<(), NameError>,
    code: ErrorCode,
) -> Result<String, EcsError> {
    let Some(value) = params.non_empty(name) else {
        return Ok(String::new());
    };
    check(value).map_err(|why| name_error(code, &params.full_name(name), value, &why))?;
    Ok(value.to_owned())
}

/// `InstanceName`: `InvalidInstanceName.Malformed`.
pub(crate) fn instance_name(params: &Params) -> Result<String, EcsError> {
    checked(
        params,
        "InstanceName",
        check_resource_name,
        ErrorCode::InvalidInstanceNameMalformed,
    )
}

/// `Description` of an instance (2–256, no URL): `InvalidDescription.Malformed`.
pub(crate) fn instance_description(params: &Params) -> Result<String, EcsError> {
    checked(
        params,
        "Description",
        names::check_description,
        ErrorCode::InvalidDescriptionMalformed,
    )
}

/// `DiskName` of a `SystemDisk` or `DataDisk.N` object: `InvalidDiskName.Malformed`.
pub(crate) fn disk_name(disk: &Params) -> Result<String, EcsError> {
    checked(
        disk,
        "DiskName",
        check_resource_name,
        ErrorCode::InvalidDiskNameMalformed,
    )
}

/// `Description` of a `SystemDisk` or `DataDisk.N` object: `InvalidDiskDescription.Malformed`.
pub(crate) fn disk_description(disk: &Params) -> Result<String, EcsError> {
    checked(
        disk,
        "Description",
        names::check_description,
        ErrorCode::InvalidDiskDescriptionMalformed,
    )
}

/// Longest host name (Linux; Windows allows 15, which the image decides, not the request).
const MAX_HOST_NAME: usize = 64;

/// `HostName`: 2–64 letters, digits, `.` and `-`, not starting or ending with `.` or `-`, no
/// `..` or `--`: else `InvalidHostName.Malformed`.
pub(crate) fn host_name(params: &Params) -> Result<String, EcsError> {
    let Some(v) = params.non_empty("HostName") else {
        return Ok(String::new());
    };
    let ok = (2..=MAX_HOST_NAME).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !v.starts_with(['.', '-'])
        && !v.ends_with(['.', '-'])
        && !v.contains("..")
        && !v.contains("--");
    if !ok {
        return Err(invalid_as(
            ErrorCode::InvalidHostNameMalformed,
            "HostName",
            format_args!(
                "must be 2 to {MAX_HOST_NAME} letters, digits, periods and hyphens, not starting or ending with a period or hyphen and without \"..\" or \"--\", got {v:?}"
            ),
        ));
    }
    Ok(v.to_owned())
}

/// The expected spelling of a disk category, for messages.
const CATEGORIES: &str =
    "cloud, cloud_efficiency, cloud_ssd, cloud_essd, cloud_auto or cloud_essd_entry";

/// `Category` of a `SystemDisk` or `DataDisk.N` object: a category Stencil keeps, else `code`.
pub(crate) fn disk_category(
    disk: &Params,
    code: ErrorCode,
) -> Result<Option<DiskCategory>, EcsError> {
    parse_enum(disk, "Category", code, CATEGORIES, DiskCategory::parse)
}

/// A disk category filter: a category or `all` (no filter); else `InvalidParameter`.
pub(crate) fn category_filter(params: &Params) -> Result<Option<DiskCategory>, EcsError> {
    let expected = format!("{CATEGORIES} or all");
    Ok(parse_enum(
        params,
        "Category",
        ErrorCode::InvalidCategoryValueNotSupported,
        &expected,
        |v| match DiskCategory::parse(v) {
            Some(c) => Some(Some(c)),
            None => v.eq_ignore_ascii_case("all").then_some(None),
        },
    )?
    .flatten())
}

/// `Size` of a `SystemDisk` or `DataDisk.N` object: an integer in GiB within the range of
/// `category` (`system` or data disk), else `code` stating the range.
pub(crate) fn disk_size(
    disk: &Params,
    category: DiskCategory,
    system: bool,
    code: ErrorCode,
) -> Result<Option<u64>, EcsError> {
    let Some(raw) = disk.non_empty("Size") else {
        return Ok(None);
    };
    let (min, max) = category.size_range(system);
    match raw.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) && !raw.starts_with('+') => Ok(Some(n)),
        _ => Err(invalid_as(
            code,
            &disk.full_name("Size"),
            format_args!(
                "must be an integer from {min} to {max} (GiB) for a {category} {} disk, got {raw:?}",
                if system { "system" } else { "data" }
            ),
        )),
    }
}

/// `name` set to `true` asks for encryption, which Stencil does not do for instance disks:
/// `InvalidParameter.EncryptedNotSupported`. A value that is no boolean is `InvalidParameter`.
pub(crate) fn refuse_encryption(params: &Params, name: &str) -> Result<(), EcsError> {
    if params.bool(name)? == Some(true) {
        return Err(invalid_as(
            ErrorCode::InvalidParameterEncryptedNotSupported,
            &params.full_name(name),
            "this server does not encrypt instance disks",
        ));
    }
    Ok(())
}

/// `SecurityEnhancementStrategy`: `Active` or `Deactive`, else `InvalidParameter`.
pub(crate) fn security_enhancement_strategy(params: &Params) -> Result<(), EcsError> {
    parse_enum(
        params,
        "SecurityEnhancementStrategy",
        ErrorCode::InvalidParameter,
        "Active or Deactive",
        |v| {
            ["Active", "Deactive"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(v))
                .then_some(())
        },
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::p;
    use super::*;

    #[test]
    fn resource_names_allow_provider_prefixes_but_not_urls_or_bad_starts() {
        assert!(check_resource_name("aliyun-web_01.a:b").is_ok());
        assert!(check_resource_name("实例-1").is_ok());
        assert_eq!(check_resource_name("1web"), Err(NameError::BadStart));
        assert_eq!(check_resource_name("a b"), Err(NameError::BadChar(' ')));
        assert_eq!(check_resource_name("ahttp://x"), Err(NameError::Url));
        assert!(check_resource_name("a").is_err());
        assert!(check_resource_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn host_names_follow_the_linux_rules() {
        assert_eq!(
            host_name(&p("HostName=web-1.local")).unwrap(),
            "web-1.local"
        );
        assert_eq!(host_name(&p("")).unwrap(), "");
        for bad in [
            "-a",
            "a-",
            ".a",
            "a..b",
            "a--b",
            "a_b",
            "a",
            &"a".repeat(65),
        ] {
            let err = host_name(&p(&format!("HostName={bad}"))).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidHostNameMalformed, "{bad}");
        }
    }

    #[test]
    fn disk_sizes_are_checked_against_the_category_range() {
        let code = ErrorCode::InvalidDataDiskSizeValueNotSupported;
        let size = |q: &str, c: DiskCategory, system: bool| disk_size(&p(q), c, system, code);
        assert_eq!(size("Size=5", DiskCategory::Cloud, false).unwrap(), Some(5));
        assert!(size("Size=5", DiskCategory::CloudEfficiency, false).is_err());
        assert_eq!(
            size("Size=1", DiskCategory::CloudEssd, true).unwrap(),
            Some(1)
        );
        assert!(size("Size=501", DiskCategory::Cloud, true).is_err());
        assert!(size("Size=%2B40", DiskCategory::CloudSsd, true).is_err());
        let err = size("Size=forty", DiskCategory::CloudSsd, true).unwrap_err();
        assert_eq!(err.code(), code);
        assert!(err.message().contains("\"Size\"") && err.message().contains("20 to 2048"));
        assert_eq!(size("", DiskCategory::CloudSsd, true).unwrap(), None);
    }

    #[test]
    fn category_filters_take_all() {
        assert_eq!(category_filter(&p("Category=all")).unwrap(), None);
        assert_eq!(
            category_filter(&p("Category=cloud_essd")).unwrap(),
            Some(DiskCategory::CloudEssd)
        );
        assert!(category_filter(&p("Category=ephemeral")).is_err());
    }
}
