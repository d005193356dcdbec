//! `ModifyImageAttribute` (reference §5.8): renames, re-describes, deprecates or restores a
//! custom image, or changes its family, boot mode, licence or features. An empty value keeps
//! the current one; whether a change is allowed now (shared, in use, IMDS v2 → v1) is the
//! service's to decide.

use serde_json::{Value, json};
use stencil_domain::requests::ModifyImageAttribute;
use stencil_domain::{BootMode, ImageStatus};

use super::common::{Parsed, image_id};
use super::image_attrs;
use super::{parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = ModifyImageAttribute;

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let request = ModifyImageAttribute {
        region: region_id(params)?,
        image_id: image_id(params, "ImageId")?,
        name: image_attrs::image_name(params)?,
        description: image_attrs::description(params)?,
        status: parse_enum(
            params,
            "Status",
            ErrorCode::InvalidParameter,
            "Deprecated or Available",
            |v| {
                ImageStatus::parse(v)
                    .filter(|s| matches!(s, ImageStatus::Deprecated | ImageStatus::Available))
            },
        )?,
        family: image_attrs::image_family(params)?,
        boot_mode: image_attrs::boot_mode(
            params,
            &[BootMode::Bios, BootMode::Uefi, BootMode::UefiPreferred],
            ErrorCode::InvalidBootModeNotSupport,
        )?,
        license_type: parse_enum(
            params,
            "LicenseType",
            ErrorCode::InvalidLicenseTypeNotSupported,
            "BYOL",
            |v| v.eq_ignore_ascii_case("BYOL").then(|| "BYOL".to_owned()),
        )?,
        nvme_support: image_attrs::nvme_support(params)?,
        imds_support: image_attrs::imds_support(params)?,
    };
    Parsed::new(params, request)
}

/// The response has no fields beyond `RequestId`.
pub fn render() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, assert_rejects_image_ref, p};
    use super::*;
    use stencil_domain::{ImdsSupport, Support};

    #[test]
    fn every_attribute_parses_into_the_domain_request() {
        let r = parse(&p(
            "RegionId=cn-hangzhou&ImageId=m-abc&ImageName=renamed&Description=New+text&Status=deprecated\
             &ImageFamily=web&BootMode=uefi&LicenseType=byol&Features.NvmeSupport=supported\
             &Features.ImdsSupport=v2&DryRun=True",
        ))
        .unwrap();
        assert!(r.dry_run);
        assert_eq!(
            r.request,
            ModifyImageAttribute {
                region: "cn-hangzhou".into(),
                image_id: "m-abc".into(),
                name: Some("renamed".into()),
                description: Some("New text".into()),
                status: Some(ImageStatus::Deprecated),
                family: Some("web".into()),
                boot_mode: Some(BootMode::Uefi),
                license_type: Some("BYOL".into()),
                nvme_support: Some(Support::Supported),
                imds_support: Some(ImdsSupport::V2),
            }
        );
    }

    #[test]
    fn empty_values_keep_the_current_ones() {
        let r = parse(&p(
            "RegionId=r&ImageId=m-1&ImageName=&Description=&Status=&ImageFamily=&BootMode=",
        ))
        .unwrap()
        .request;
        assert_eq!(
            (r.name, r.description, r.status, r.family, r.boot_mode),
            (None, None, None, None, None)
        );
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects_image_ref(parse, "");
        assert_rejects(
            parse,
            &[
                (
                    "RegionId=r&ImageId=m-1&Status=Creating",
                    InvalidParameter,
                    400,
                    "\"Status\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&Status=gone",
                    InvalidParameter,
                    400,
                    "\"Status\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&ImageName=-x",
                    InvalidImageNameMalformed,
                    400,
                    "\"ImageName\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&Description=a",
                    InvalidDescriptionMalformed,
                    400,
                    "\"Description\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&ImageFamily=aliyun_x",
                    InvalidImageFamilyMalformed,
                    400,
                    "\"ImageFamily\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&BootMode=EFI",
                    InvalidBootModeNotSupport,
                    400,
                    "\"BootMode\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&LicenseType=Aliyun",
                    InvalidLicenseTypeNotSupported,
                    400,
                    "\"LicenseType\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&Features.NvmeSupport=yes",
                    InvalidParameter,
                    400,
                    "\"Features.NvmeSupport\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&Features.ImdsSupport=v9",
                    InvalidParameterFeaturesImdsSupport,
                    400,
                    "\"Features.ImdsSupport\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&DryRun=no",
                    InvalidParameter,
                    400,
                    "\"DryRun\"",
                ),
            ],
        );
    }
}
