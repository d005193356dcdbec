//! `DescribeTaskAttribute` (reference §5.15): one task in detail, with its outcome and the
//! items it produced (an export's `OSSBucket`, `OSSObject` and `ImageFormat`).

use serde::Serialize;
use stencil_domain::requests::TaskRef;
use stencil_domain::{Task, TaskStatus};

use super::common::{Parsed, task_ref};
use super::describe_tasks::TaskSummary;
use crate::{EcsError, Params};

/// The parsed request is the domain's.
pub type Request = TaskRef;

/// Parses `RegionId` and `TaskId` (`InvalidTaskId.NotFound` when it is no task ID).
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    task_ref(params)
}

/// One `RelatedItem`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct RelatedItemView<'a> {
    name: &'a str,
    value: &'a str,
}

/// `{"RelatedItem": [...]}`.
#[derive(Debug, Serialize)]
struct RelatedItemSet<'a> {
    #[serde(rename = "RelatedItem")]
    related_item: Vec<RelatedItemView<'a>>,
}

/// One `OperationProgress`: a Stencil task is one operation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct OperationProgress<'a> {
    operation_status: &'static str,
    error_code: &'a str,
    error_msg: &'a str,
    related_item_set: RelatedItemSet<'a>,
}

/// `{"OperationProgress": [...]}`.
#[derive(Debug, Serialize)]
struct OperationProgressSet<'a> {
    #[serde(rename = "OperationProgress")]
    operation_progress: Vec<OperationProgress<'a>>,
}

/// The response body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response<'a> {
    #[serde(flatten)]
    summary: TaskSummary<'a>,
    region_id: &'a str,
    task_process: String,
    total_count: u32,
    success_count: u32,
    failed_count: u32,
    operation_progress_set: OperationProgressSet<'a>,
}

/// Builds the response. `OperationStatus` is `Success`, `Failed`, `Cancelled` or
/// `Processing` (also for a waiting task); a cancelled task counts as failed.
pub fn render(task: &Task) -> Response<'_> {
    let (operation_status, succeeded, failed) = match task.status {
        TaskStatus::Finished => ("Success", 1, 0),
        TaskStatus::Failed => ("Failed", 0, 1),
        TaskStatus::Cancelled => ("Cancelled", 0, 1),
        TaskStatus::Waiting | TaskStatus::Processing => ("Processing", 0, 0),
    };
    let failure = task.failure.as_ref();
    Response {
        summary: TaskSummary::new(task),
        region_id: &task.region,
        task_process: format!("{}%", task.progress),
        total_count: 1,
        success_count: succeeded,
        failed_count: failed,
        operation_progress_set: OperationProgressSet {
            operation_progress: vec![OperationProgress {
                operation_status,
                error_code: failure.map_or("", |f| f.code.as_str()),
                error_msg: failure.map_or("", |f| f.message.as_str()),
                related_item_set: RelatedItemSet {
                    related_item: task
                        .related
                        .iter()
                        .map(|r| RelatedItemView {
                            name: &r.name,
                            value: &r.value,
                        })
                        .collect(),
                },
            }],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p};
    use super::*;
    use crate::ErrorCode;
    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use stencil_domain::{RelatedItem, TaskAction, TaskFailure};

    #[test]
    fn region_and_task_id_parse_into_a_task_ref() {
        let r = parse(&p("RegionId=r&TaskId=t-abc")).unwrap();
        assert_eq!(
            r.request,
            TaskRef {
                region: "r".into(),
                task_id: "t-abc".into()
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
                ("RegionId=r", MissingParameter, 400, "\"TaskId\""),
                (
                    "RegionId=r&TaskId=m-1",
                    InvalidTaskIdNotFound,
                    400,
                    "TaskId",
                ),
                (
                    "RegionId=r&TaskId=t-1&DryRun=x",
                    InvalidParameter,
                    400,
                    "\"DryRun\"",
                ),
            ],
        );
    }

    #[test]
    fn render_has_the_sdk_types_and_the_export_items() {
        let t0 = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        let mut task = Task::new(
            "cn-hangzhou",
            None,
            TaskAction::ExportImage,
            "m-1",
            "{}".into(),
            t0,
        );
        task.progress = 37;
        task.related = vec![RelatedItem {
            name: "OSSBucket".into(),
            value: "exports".into(),
        }];
        let body = serde_json::to_value(render(&task)).unwrap();
        assert_eq!(
            body,
            json!({
                "TaskId": task.id.as_str(), "TaskAction": "ExportImage", "TaskStatus": "Processing",
                "SupportCancel": "true", "CreationTime": "2024-01-02T03:04Z", "FinishedTime": "",
                "RegionId": "cn-hangzhou", "TaskProcess": "37%", "TotalCount": 1, "SuccessCount": 0,
                "FailedCount": 0,
                "OperationProgressSet": {"OperationProgress": [{
                    "OperationStatus": "Processing", "ErrorCode": "", "ErrorMsg": "",
                    "RelatedItemSet": {"RelatedItem": [{"Name": "OSSBucket", "Value": "exports"}]}
                }]}
            })
        );
        let failure = TaskFailure {
            code: "InvalidImage.Format".into(),
            message: "Disk 1 is not qcow2".into(),
        };
        task.finish(TaskStatus::Failed, Some(failure), t0);
        let body = serde_json::to_value(render(&task)).unwrap();
        assert_eq!(body["FailedCount"], 1);
        assert_eq!(body["SupportCancel"], "false");
        assert_eq!(body["FinishedTime"], "2024-01-02T03:04Z");
        let op = &body["OperationProgressSet"]["OperationProgress"][0];
        assert_eq!(op["OperationStatus"], "Failed");
        assert_eq!(op["ErrorCode"], "InvalidImage.Format");
    }
}
