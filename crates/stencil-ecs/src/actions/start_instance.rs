//! `StartInstance` (reference §5.18): a `Stopped` instance becomes `Running`. No `RegionId`:
//! instance IDs are unique across regions. `InitLocalDisk` (local disks, which Stencil has
//! none of) is accepted and ignored.

use serde_json::{Value, json};
use stencil_domain::requests::InstanceAction;

use super::common::{Parsed, instance_id};
use crate::{EcsError, Params};

/// The parsed request is the domain's.
pub type Request = InstanceAction;

/// Parses `InstanceId` (`InvalidInstanceId.NotFound` when it is no instance ID).
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let instance_id = instance_id(params, "InstanceId")?;
    params.bool("InitLocalDisk")?;
    let request = InstanceAction {
        instance_id,
        force: false,
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
    fn the_instance_parses_without_a_region() {
        let r = parse(&p("InstanceId=i-abc&InitLocalDisk=false&DryRun=true")).unwrap();
        assert!(r.dry_run);
        assert_eq!(
            r.request,
            InstanceAction {
                instance_id: "i-abc".into(),
                force: false
            }
        );
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects(
            parse,
            &[
                ("RegionId=r", MissingParameter, 400, "\"InstanceId\""),
                (
                    "InstanceId=d-1",
                    InvalidInstanceIdNotFound,
                    404,
                    "InstanceId",
                ),
                (
                    "InstanceId=i-1&InitLocalDisk=yes",
                    InvalidParameter,
                    400,
                    "\"InitLocalDisk\"",
                ),
                (
                    "InstanceId=i-1&DryRun=1",
                    InvalidParameter,
                    400,
                    "\"DryRun\"",
                ),
            ],
        );
    }
}
