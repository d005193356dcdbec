//! `ExportImage` (reference §5.4): a custom image's disks are written to a bucket of the region
//! as `{OSSPrefix}…{ImageId}…{TaskId}.{format}` objects by a durable task.

use serde_json::{Value, json};
use stencil_domain::ExportFormat;
use stencil_domain::requests::ExportImage;

use super::common::{Parsed, image_id, invalid_as, oss_bucket};
use super::{parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = ExportImage;

/// Longest `OSSPrefix`.
pub const MAX_PREFIX: usize = 30;

/// Parses and validates every parameter. `RoleName` needs no check: Stencil writes to its
/// buckets with its own configuration.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = region_id(params)?;
    let image_id = image_id(params, "ImageId")?;
    // The reference documents a missing bucket as a bucket that does not exist.
    let bucket = match params.non_empty("OSSBucket") {
        Some(raw) => oss_bucket(params, "OSSBucket", raw)?,
        None => {
            return Err(EcsError::new(
                ErrorCode::InvalidOssBucketNotFound,
                "The specified parameter \"OSSBucket\" is not supplied, so no OSS bucket of this region is named.",
            ));
        }
    };
    let prefix = params.non_empty("OSSPrefix").unwrap_or("");
    let prefix_ok = prefix.len() <= MAX_PREFIX && prefix.bytes().all(|b| b.is_ascii_alphanumeric());
    if !prefix_ok {
        return Err(invalid_as(
            ErrorCode::InvalidOssPrefixMalformed,
            "OSSPrefix",
            format_args!("must be 1 to {MAX_PREFIX} letters and digits, got {prefix:?}"),
        ));
    }
    let format = parse_enum(
        params,
        "ImageFormat",
        ErrorCode::InvalidImageFormatMalformed,
        "raw, vhd, qcow2, vmdk or vdi",
        ExportFormat::parse,
    )?
    .unwrap_or(ExportFormat::Raw);
    let request = ExportImage {
        region,
        image_id,
        bucket,
        prefix: prefix.to_owned(),
        format,
    };
    Parsed::new(params, request)
}

/// The response: the export task and the region.
pub fn render(region: &str, task_id: &str) -> Value {
    json!({"TaskId": task_id, "RegionId": region})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p};
    use super::*;

    #[test]
    fn a_full_request_parses_into_the_domain_request() {
        let r = parse(&p(
            "RegionId=cn-hangzhou&ImageId=m-abc&OSSBucket=exports&OSSPrefix=Nightly01&ImageFormat=QCOW2&RoleName=r&DryRun=False",
        ))
        .unwrap();
        assert!(!r.dry_run);
        assert_eq!(
            r.request,
            ExportImage {
                region: "cn-hangzhou".into(),
                image_id: "m-abc".into(),
                bucket: "exports".into(),
                prefix: "Nightly01".into(),
                format: ExportFormat::Qcow2,
            }
        );
    }

    #[test]
    fn the_format_defaults_to_raw_and_the_prefix_to_empty() {
        let r = parse(&p("RegionId=r&ImageId=m-1&OSSBucket=b"))
            .unwrap()
            .request;
        assert_eq!((r.format, r.prefix.as_str()), (ExportFormat::Raw, ""));
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        let long = format!(
            "RegionId=r&ImageId=m-1&OSSBucket=b&OSSPrefix={}",
            "a".repeat(31)
        );
        assert_rejects(
            parse,
            &[
                (
                    "ImageId=m-1&OSSBucket=b",
                    MissingParameter,
                    400,
                    "\"RegionId\"",
                ),
                (
                    "RegionId=r&OSSBucket=b",
                    MissingParameter,
                    400,
                    "\"ImageId\"",
                ),
                (
                    "RegionId=r&ImageId=m%2F1&OSSBucket=b",
                    InvalidImageIdNotFound,
                    404,
                    "ImageId",
                ),
                (
                    "RegionId=r&ImageId=m-1",
                    InvalidOssBucketNotFound,
                    400,
                    "\"OSSBucket\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&OSSBucket=a%2Fb",
                    InvalidOssBucketMalformed,
                    400,
                    "\"OSSBucket\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&OSSBucket=b&OSSPrefix=my-prefix",
                    InvalidOssPrefixMalformed,
                    400,
                    "\"OSSPrefix\"",
                ),
                (
                    long.as_str(),
                    InvalidOssPrefixMalformed,
                    400,
                    "\"OSSPrefix\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&OSSBucket=b&ImageFormat=vhdx",
                    InvalidImageFormatMalformed,
                    400,
                    "\"ImageFormat\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&OSSBucket=b&DryRun=1",
                    InvalidParameter,
                    400,
                    "\"DryRun\"",
                ),
            ],
        );
    }

    #[test]
    fn render_gives_the_task_and_region_as_strings() {
        assert_eq!(
            render("r", "t-1"),
            json!({"TaskId": "t-1", "RegionId": "r"})
        );
    }
}
