//! `CreateInstance` (reference §5.18, the legacy single-instance call): parsed as RunInstances
//! ([`super::run_instances::parse_launch`]) with one instance that is left `Stopped`; `Amount`
//! and `MinAmount` are not parameters of this action and are ignored.

use serde_json::{Value, json};
use stencil_domain::InstanceId;
use stencil_domain::requests::RunInstances;

use super::common::Parsed;
use super::run_instances::{Launch, parse_launch};
use crate::{EcsError, Params};

/// The parsed request is the domain's (`amount` 1, `start` false).
pub type Request = RunInstances;

/// Parses and validates every parameter (see [`super::run_instances`]).
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    parse_launch(params, Launch::Create)
}

/// The response: the new instance.
pub fn render(instance_id: &InstanceId) -> Value {
    json!({"InstanceId": instance_id.as_str()})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p};
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn one_stopped_instance_whatever_the_amount() {
        let r = parse(&p(
            "RegionId=cn-hangzhou&ImageId=m-abc&InstanceType=ecs.g6.large&Amount=5&MinAmount=9&VSwitchId=vsw-1",
        ))
        .unwrap()
        .request;
        assert_eq!((r.amount, r.min_amount, r.start), (1, None, false));
        assert_eq!(r.image_id.as_ref().map(|i| i.as_str()), Some("m-abc"));
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects(
            parse,
            &[
                (
                    "ImageId=m-1&InstanceType=t",
                    MissingParameter,
                    400,
                    "\"RegionId\"",
                ),
                (
                    "RegionId=r&ImageId=m-1",
                    MissingParameter,
                    400,
                    "\"InstanceType\"",
                ),
                (
                    "RegionId=r&InstanceType=t",
                    MissingParameter,
                    400,
                    "\"ImageId\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&InstanceType=t&SystemDisk.Size=10",
                    InvalidSystemDiskSizeValueNotSupported,
                    400,
                    "\"SystemDisk.Size\"",
                ),
            ],
        );
    }

    #[test]
    fn render_gives_the_instance_id() {
        let id = InstanceId::parse("i-abc").unwrap();
        assert_eq!(render(&id), json!({"InstanceId": "i-abc"}));
    }
}
