//! `ResetDisk` (reference §5.18): rolls a disk back to one of its own snapshots. No
//! `RegionId`. Whether the snapshot was taken of this disk (`InvalidParameter.Mismatch`) and
//! the disk and instance statuses are the service's to check.

use serde_json::{Value, json};
use stencil_domain::requests::ResetDisk;

use super::common::{Parsed, disk_id, snapshot_id};
use crate::{EcsError, Params};

/// The parsed request is the domain's (`snapshot_id` set).
pub type Request = ResetDisk;

/// Parses `DiskId` and `SnapshotId`, both required; a value of the wrong shape cannot exist
/// (`InvalidDiskId.NotFound`, `InvalidSnapshotId.NotFound`).
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let disk_id = disk_id(params, "DiskId")?;
    let raw = params.required("SnapshotId")?;
    let request = ResetDisk {
        disk_id,
        snapshot_id: Some(snapshot_id(raw, "SnapshotId")?.as_str().to_owned()),
    };
    Parsed::new(params, request)
}

/// The response has no fields beyond `RequestId`.
pub fn render() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p};
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn disk_and_snapshot_parse() {
        let r = parse(&p("DiskId=d-abc&SnapshotId=s-def&DryRun=true")).unwrap();
        assert!(r.dry_run);
        assert_eq!(
            r.request,
            ResetDisk {
                disk_id: "d-abc".into(),
                snapshot_id: Some("s-def".into())
            }
        );
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects(
            parse,
            &[
                ("SnapshotId=s-1", MissingParameter, 400, "\"DiskId\""),
                ("DiskId=d-1", MissingParameter, 400, "\"SnapshotId\""),
                (
                    "DiskId=i-1&SnapshotId=s-1",
                    InvalidDiskIdNotFound,
                    404,
                    "DiskId",
                ),
                (
                    "DiskId=d-1&SnapshotId=m-1",
                    InvalidSnapshotIdNotFound,
                    404,
                    "SnapshotId",
                ),
                (
                    "DiskId=d-1&SnapshotId=s-1&DryRun=x",
                    InvalidParameter,
                    400,
                    "\"DryRun\"",
                ),
            ],
        );
    }
}
