//! `StopInstance` (reference §5.18): a `Running` instance becomes `Stopped`. No `RegionId`.
//! `ForceStop` is kept (the service may stop at once either way); `StoppedMode` and
//! `ConfirmStop` are checked and ignored: Stencil bills nothing and has no local disks.

use serde_json::{Value, json};
use stencil_domain::requests::InstanceAction;

use super::common::{Parsed, instance_id};
use super::parse_enum;
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = InstanceAction;

/// Parses `InstanceId` (`InvalidInstanceId.NotFound` when it is no instance ID), `ForceStop`,
/// `StoppedMode` (`KeepCharging` or `StopCharging`) and `ConfirmStop`.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let instance_id = instance_id(params, "InstanceId")?;
    parse_enum(
        params,
        "StoppedMode",
        ErrorCode::InvalidParameter,
        "KeepCharging or StopCharging",
        |v| {
            ["KeepCharging", "StopCharging"]
                .iter()
                .any(|m| m.eq_ignore_ascii_case(v))
                .then_some(())
        },
    )?;
    params.bool("ConfirmStop")?;
    let request = InstanceAction {
        instance_id,
        force: params.bool_or("ForceStop", false)?,
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

    #[test]
    fn force_stop_and_the_stopped_mode_parse() {
        let r = parse(&p(
            "InstanceId=i-abc&ForceStop=true&StoppedMode=keepcharging&ConfirmStop=true",
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
                ("ForceStop=true", MissingParameter, 400, "\"InstanceId\""),
                (
                    "InstanceId=I-1",
                    InvalidInstanceIdNotFound,
                    404,
                    "InstanceId",
                ),
                (
                    "InstanceId=i-1&ForceStop=now",
                    InvalidParameter,
                    400,
                    "\"ForceStop\"",
                ),
                (
                    "InstanceId=i-1&StoppedMode=Hibernate",
                    InvalidParameter,
                    400,
                    "\"StoppedMode\"",
                ),
                (
                    "InstanceId=i-1&ConfirmStop=ok",
                    InvalidParameter,
                    400,
                    "\"ConfirmStop\"",
                ),
            ],
        );
    }
}
