//! `DeleteInstance` (reference §5.18): releases an instance and the disks that go with it.
//! No `RegionId`. `Force` lets a `Running` instance be released (stopped first);
//! `TerminateSubscription` (subscriptions, which Stencil has none of) is checked and ignored.

use serde_json::{Value, json};
use stencil_domain::requests::InstanceAction;

use super::common::{Parsed, instance_id};
use crate::{EcsError, Params};

/// The parsed request is the domain's.
pub type Request = InstanceAction;

/// Parses `InstanceId` (`InvalidInstanceId.NotFound` when it is no instance ID), `Force` and
/// `TerminateSubscription`.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let instance_id = instance_id(params, "InstanceId")?;
    params.bool("TerminateSubscription")?;
    let request = InstanceAction {
        instance_id,
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
    fn force_parses() {
        let r = parse(&p(
            "InstanceId=i-abc&Force=True&TerminateSubscription=false",
        ))
        .unwrap();
        assert_eq!(
            r.request,
            InstanceAction {
                instance_id: "i-abc".into(),
                force: true
            }
        );
        assert!(!parse(&p("InstanceId=i-abc")).unwrap().request.force);
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects(
            parse,
            &[
                ("Force=true", MissingParameter, 400, "\"InstanceId\""),
                (
                    "InstanceId=m-1",
                    InvalidInstanceIdNotFound,
                    404,
                    "InstanceId",
                ),
                ("InstanceId=i-1&Force=1", InvalidParameter, 400, "\"Force\""),
                (
                    "InstanceId=i-1&TerminateSubscription=y",
                    InvalidParameter,
                    400,
                    "\"TerminateSubscription\"",
                ),
            ],
        );
    }
}
