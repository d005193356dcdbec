//! `CancelTask` (reference §5.15): stops a running import or export. Whether the task can be
//! cancelled (its action, whether it has ended) is the service's to decide.

use serde_json::{Value, json};
use stencil_domain::requests::TaskRef;

use super::common::{Parsed, task_ref};
use crate::{EcsError, Params};

/// The parsed request is the domain's.
pub type Request = TaskRef;

/// Parses `RegionId` and `TaskId` (`InvalidTaskId.NotFound` when it is no task ID).
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    task_ref(params)
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
    fn region_and_task_id_parse_into_a_task_ref() {
        let r = parse(&p("RegionId=r&TaskId=t-1&DryRun=true")).unwrap();
        assert!(r.dry_run);
        assert_eq!(
            r.request,
            TaskRef {
                region: "r".into(),
                task_id: "t-1".into()
            }
        );
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects(
            parse,
            &[
                ("TaskId=t-1", MissingParameter, 400, "\"RegionId\""),
                ("RegionId=r&TaskId=", MissingParameter, 400, "\"TaskId\""),
                (
                    "RegionId=r&TaskId=T-1",
                    InvalidTaskIdNotFound,
                    400,
                    "TaskId",
                ),
            ],
        );
    }
}
