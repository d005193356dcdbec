//! `CopyImage` and `CancelCopyImage` (reference §5.5–5.6): a custom image into another region,
//! and stopping an unfinished copy. Which images a caller may copy where is the service's rule.

use serde_json::{Value, json};
use stencil_domain::requests::{CancelCopyImage, CopyImage};

use super::common::{Parsed, client_token, image_id, invalid_as, resource_group_id};
use super::image_attrs::name_param;
use super::region_id;
use super::tag_params::resource_tags;
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = CopyImage;

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = region_id(params)?;
    let image_id = image_id(params, "ImageId")?;
    let encrypted = params.bool_or("Encrypted", false)?;
    let kms_key_id = params.non_empty("KMSKeyId").map(str::to_owned);
    if kms_key_id.is_some() && !encrypted {
        return Err(invalid_as(
            ErrorCode::InvalidParameterEncryptedIllegal,
            "KMSKeyId",
            "is set but \"Encrypted\" is not true",
        ));
    }
    if let Some(alg) = params.non_empty("EncryptAlgorithm") {
        return Err(invalid_as(
            ErrorCode::InvalidEncryptAlgorithm,
            "EncryptAlgorithm",
            format_args!("{alg:?} is not available; copies are encrypted with AES-256-GCM"),
        ));
    }
    let request = CopyImage {
        region,
        image_id,
        destination_region: params.non_empty("DestinationRegionId").map(str::to_owned),
        name: name_param(params, "DestinationImageName", false)?,
        description: name_param(params, "DestinationDescription", true)?,
        kms_key_id,
        encrypted,
        resource_group_id: resource_group_id(params)?,
        tags: resource_tags(params, ErrorCode::DuplicateTagKey)?,
        client_token: client_token(params)?,
    };
    Parsed::new(params, request)
}

/// The response: the copy's ID (it lives in the destination region).
pub fn render(image_id: &str) -> Value {
    json!({ "ImageId": image_id })
}

/// Parses `CancelCopyImage`.
pub fn parse_cancel(params: &Params) -> Result<Parsed<CancelCopyImage>, EcsError> {
    let request = CancelCopyImage {
        region: region_id(params)?,
        image_id: image_id(params, "ImageId")?,
    };
    Parsed::new(params, request)
}

/// The `CancelCopyImage` response has no fields beyond `RequestId`.
pub fn render_cancel() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p, tag};
    use super::*;

    #[test]
    fn a_full_request_parses_into_the_domain_request() {
        let r = parse(&p(
            "RegionId=cn-hangzhou&ImageId=m-abc&DestinationRegionId=cn-shanghai&DestinationImageName=copy-1&DestinationDescription=nightly%20copy&Encrypted=true&KMSKeyId=key-1&Tag.1.Key=team&Tag.1.Value=ops&ClientToken=tok-1&ResourceGroupId=rg-1",
        ))
        .unwrap();
        assert!(!r.dry_run);
        assert_eq!(
            r.request,
            CopyImage {
                region: "cn-hangzhou".into(),
                image_id: "m-abc".into(),
                destination_region: Some("cn-shanghai".into()),
                name: Some("copy-1".into()),
                description: Some("nightly copy".into()),
                kms_key_id: Some("key-1".into()),
                encrypted: true,
                resource_group_id: "rg-1".into(),
                tags: vec![tag("team", "ops")],
                client_token: Some("tok-1".into()),
            }
        );
    }

    #[test]
    fn only_the_source_is_required() {
        let r = parse(&p("RegionId=r&ImageId=m-1&DryRun=true")).unwrap();
        assert!(r.dry_run);
        assert_eq!(r.request.destination_region, None);
        assert!(!r.request.encrypted);
        let c = parse_cancel(&p("RegionId=r&ImageId=m-1")).unwrap();
        assert_eq!(c.request.image_id, "m-1");
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects(
            parse,
            &[
                ("ImageId=m-1", MissingParameter, 400, "\"RegionId\""),
                ("RegionId=r", MissingParameter, 400, "\"ImageId\""),
                (
                    "RegionId=r&ImageId=m-1&KMSKeyId=k",
                    InvalidParameterEncryptedIllegal,
                    400,
                    "\"KMSKeyId\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&Encrypted=false&KMSKeyId=k",
                    InvalidParameterEncryptedIllegal,
                    400,
                    "\"KMSKeyId\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&Encrypted=maybe",
                    InvalidParameter,
                    400,
                    "\"Encrypted\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&EncryptAlgorithm=SM4",
                    InvalidEncryptAlgorithm,
                    400,
                    "\"EncryptAlgorithm\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&DestinationImageName=-bad",
                    InvalidImageNameMalformed,
                    400,
                    "\"DestinationImageName\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&DestinationDescription=x",
                    InvalidDescriptionMalformed,
                    400,
                    "\"DestinationDescription\"",
                ),
            ],
        );
        assert_rejects(
            parse_cancel,
            &[("RegionId=r", MissingParameter, 400, "\"ImageId\"")],
        );
    }
}
