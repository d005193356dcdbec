//! `DeleteSnapshot` (reference §5.17): removes a snapshot that no image uses. It has no
//! `RegionId`: snapshot IDs are unique across regions. A snapshot that backs an image is the
//! service's to refuse (`SnapshotCreatedImage`).

use serde_json::{Value, json};
use stencil_domain::requests::DeleteSnapshot;

use super::common::{Parsed, snapshot_id};
use crate::{EcsError, Params};

/// The parsed request is the domain's.
pub type Request = DeleteSnapshot;

/// Parses `SnapshotId` (`InvalidSnapshotId.NotFound` when it is no snapshot ID) and `Force`.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let raw = params.required("SnapshotId")?;
    let request = DeleteSnapshot {
        snapshot_id: snapshot_id(raw, "SnapshotId")?.as_str().to_owned(),
        force: params.bool_or("Force", false)?,
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
    fn the_snapshot_and_force_parse_without_a_region() {
        let r = parse(&p("SnapshotId=s-abc&Force=true")).unwrap();
        assert_eq!(
            r,
            Parsed {
                request: DeleteSnapshot {
                    snapshot_id: "s-abc".into(),
                    force: true
                },
                dry_run: false
            }
        );
        assert!(
            !parse(&p("SnapshotId=s-abc&RegionId=r"))
                .unwrap()
                .request
                .force
        );
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects(
            parse,
            &[
                ("Force=true", MissingParameter, 400, "\"SnapshotId\""),
                (
                    "SnapshotId=m-1",
                    InvalidSnapshotIdNotFound,
                    404,
                    "SnapshotId",
                ),
                (
                    "SnapshotId=s-1&Force=sure",
                    InvalidParameter,
                    400,
                    "\"Force\"",
                ),
                (
                    "SnapshotId=s-1&DryRun=sure",
                    InvalidParameter,
                    400,
                    "\"DryRun\"",
                ),
            ],
        );
    }
}
