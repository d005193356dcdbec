//! `CreateSnapshot` (reference §5.17): a snapshot of one disk. No `RegionId`: the snapshot is
//! in the disk's region. Whether the disk may be snapshotted now (its status, another snapshot
//! in progress) is the service's to check.
//!
//! `Category` (`Standard`, or the deprecated `Flash`) and `InstantAccess` /
//! `InstantAccessRetentionDays` are checked and ignored: Stencil keeps standard snapshots, and
//! every snapshot is readable at once. `ResourceGroupId` is checked and ignored (the domain
//! request has no field for it); `StorageLocationArn` is refused.

use serde_json::{Value, json};
use stencil_domain::SnapshotId;
use stencil_domain::names::{self, NameError};
use stencil_domain::requests::CreateSnapshot;

use super::common::{Parsed, client_token, disk_id, reject_unsupported, resource_group_id};
use super::image_attrs::name_error;
use super::instance_attrs::check_resource_name;
use super::parse_enum;
use super::tag_params::resource_tags;
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = CreateSnapshot;

/// Longest `RetentionDays`.
pub const MAX_RETENTION_DAYS: i64 = 65536;

/// The prefix reserved for automatic snapshots.
const AUTO_PREFIX: &str = "auto";

/// A snapshot name: the instance-name grammar (2–128, a letter or Chinese character first, no
/// URL), and not starting with `auto`, which automatic snapshots use.
pub(crate) fn check_snapshot_name(s: &str) -> Result<(), NameError> {
    check_resource_name(s)?;
    if s.starts_with(AUTO_PREFIX) {
        return Err(NameError::ReservedPrefix(AUTO_PREFIX));
    }
    Ok(())
}

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let disk_id = disk_id(params, "DiskId")?;
    reject_unsupported(params, &["StorageLocationArn"])?;
    let name = match params.non_empty("SnapshotName") {
        None => String::new(),
        Some(v) => {
            check_snapshot_name(v).map_err(|why| {
                name_error(
                    ErrorCode::InvalidSnapshotNameMalformed,
                    "SnapshotName",
                    v,
                    &why,
                )
            })?;
            v.to_owned()
        }
    };
    // CreateSnapshot answers a malformed description with 404, unlike the image actions.
    let description = match params.non_empty("Description") {
        None => String::new(),
        Some(v) => {
            names::check_description(v).map_err(|why| {
                name_error(
                    ErrorCode::InvalidDescriptionMalformed,
                    "Description",
                    v,
                    &why,
                )
                .with_status(404)
            })?;
            v.to_owned()
        }
    };
    let retention_days = params
        .int_in_range("RetentionDays", 1..=MAX_RETENTION_DAYS)
        .map_err(|e| EcsError::new(ErrorCode::InvalidRetentionDaysMalformed, e.message()))?
        .and_then(|d| u32::try_from(d).ok());
    parse_enum(
        params,
        "Category",
        ErrorCode::InvalidSnapshotCategoryMalformed,
        "Standard or Flash",
        |v| {
            ["Standard", "Flash"]
                .iter()
                .any(|c| c.eq_ignore_ascii_case(v))
                .then_some(())
        },
    )?;
    params.bool("InstantAccess")?;
    params.int_in_range("InstantAccessRetentionDays", 1..=MAX_RETENTION_DAYS - 1)?;
    resource_group_id(params)?;
    let request = CreateSnapshot {
        disk_id,
        name,
        description,
        retention_days,
        tags: resource_tags(params, ErrorCode::DuplicateTagKey)?,
        client_token: client_token(params)?,
    };
    Parsed::new(params, request)
}

/// The response: the new snapshot.
pub fn render(snapshot_id: &SnapshotId) -> Value {
    json!({"SnapshotId": snapshot_id.as_str()})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p, tag};
    use super::*;

    #[test]
    fn a_terraform_style_request_parses() {
        let r = parse(&p(
            "DiskId=d-abc&SnapshotName=nightly-1&Description=Before+upgrade&RetentionDays=30\
             &Category=Standard&InstantAccess=false&InstantAccessRetentionDays=1&ResourceGroupId=rg-1\
             &Tag.1.Key=env&Tag.1.Value=prod&ClientToken=tok",
        ))
        .unwrap();
        assert!(!r.dry_run);
        assert_eq!(
            r.request,
            CreateSnapshot {
                disk_id: "d-abc".into(),
                name: "nightly-1".into(),
                description: "Before upgrade".into(),
                retention_days: Some(30),
                tags: vec![tag("env", "prod")],
                client_token: Some("tok".into()),
            }
        );
        let r = parse(&p("DiskId=d-abc&DryRun=true")).unwrap();
        assert!(r.dry_run);
        assert_eq!(
            (r.request.name.as_str(), r.request.retention_days),
            ("", None)
        );
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects(
            parse,
            &[
                ("SnapshotName=ab", MissingParameter, 400, "\"DiskId\""),
                ("DiskId=s-1", InvalidDiskIdNotFound, 404, "DiskId"),
                (
                    "DiskId=d-1&SnapshotName=a",
                    InvalidSnapshotNameMalformed,
                    400,
                    "\"SnapshotName\"",
                ),
                (
                    "DiskId=d-1&SnapshotName=auto_20240101",
                    InvalidSnapshotNameMalformed,
                    400,
                    "\"SnapshotName\"",
                ),
                (
                    "DiskId=d-1&SnapshotName=1st",
                    InvalidSnapshotNameMalformed,
                    400,
                    "\"SnapshotName\"",
                ),
                (
                    "DiskId=d-1&SnapshotName=ahttps%3A%2F%2Fx",
                    InvalidSnapshotNameMalformed,
                    400,
                    "\"SnapshotName\"",
                ),
                (
                    "DiskId=d-1&Description=x",
                    InvalidDescriptionMalformed,
                    404,
                    "\"Description\"",
                ),
                (
                    "DiskId=d-1&Description=http%3A%2F%2Fx",
                    InvalidDescriptionMalformed,
                    404,
                    "\"Description\"",
                ),
                (
                    "DiskId=d-1&RetentionDays=0",
                    InvalidRetentionDaysMalformed,
                    400,
                    "\"RetentionDays\"",
                ),
                (
                    "DiskId=d-1&RetentionDays=65537",
                    InvalidRetentionDaysMalformed,
                    400,
                    "\"RetentionDays\"",
                ),
                (
                    "DiskId=d-1&Category=archive",
                    InvalidSnapshotCategoryMalformed,
                    403,
                    "\"Category\"",
                ),
                (
                    "DiskId=d-1&InstantAccess=on",
                    InvalidParameter,
                    400,
                    "\"InstantAccess\"",
                ),
                (
                    "DiskId=d-1&InstantAccessRetentionDays=0",
                    InvalidParameter,
                    400,
                    "\"InstantAccessRetentionDays\"",
                ),
                (
                    "DiskId=d-1&ResourceGroupId=default",
                    InvalidResourceGroupNotFound,
                    404,
                    "ResourceGroupId",
                ),
                (
                    "DiskId=d-1&StorageLocationArn=acs:x",
                    UnsupportedParameter,
                    400,
                    "\"StorageLocationArn\"",
                ),
                (
                    "DiskId=d-1&Tag.1.Key=k&Tag.2.Key=K",
                    DuplicateTagKey,
                    400,
                    "Tag.2.Key",
                ),
                (
                    "DiskId=d-1&Tag.1.Key=acs%3Ax",
                    InvalidTagKeyMalformed,
                    400,
                    "Tag.1.Key",
                ),
                (
                    "DiskId=d-1&ClientToken=%E2%9C%93",
                    InvalidClientTokenMalformed,
                    400,
                    "ClientToken",
                ),
            ],
        );
    }

    #[test]
    fn snapshot_names_may_not_look_automatic() {
        assert!(check_snapshot_name("Automatic-ish").is_ok());
        assert_eq!(
            check_snapshot_name("auto1"),
            Err(NameError::ReservedPrefix("auto"))
        );
    }

    #[test]
    fn render_gives_the_snapshot_id() {
        let id = SnapshotId::parse("s-new").unwrap();
        assert_eq!(render(&id), json!({"SnapshotId": "s-new"}));
    }
}
