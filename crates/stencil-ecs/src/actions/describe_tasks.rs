//! `DescribeTasks` (reference §5.15): the import and export tasks of a region, filtered and
//! paged. Task times are shown to the minute, as the real service does.

use serde::Serialize;
use stencil_domain::requests::DescribeTasks;
use stencil_domain::{Task, TaskAction, TaskStatus};

use super::common::{MAX_IDS, Parsed, at_most, minute_time, page, reject_unsupported, time_param};
use super::{parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = DescribeTasks;

/// Parses and validates every parameter. `TaskAction` takes the actions Stencil runs
/// (`ImportImage`, `ExportImage`); the real API's instance and disk actions are refused with
/// `InvalidParameter` because the domain request cannot say "matches nothing". A `TaskStatus`
/// that is no task status is ignored, as the reference says.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = region_id(params)?;
    reject_unsupported(params, &["TaskGroupId"])?;
    let task_ids = at_most(
        params.string_list("TaskIds")?.unwrap_or_default(),
        MAX_IDS,
        ErrorCode::InvalidParameter,
        "TaskIds",
    )?;
    let action = parse_enum(
        params,
        "TaskAction",
        ErrorCode::InvalidParameter,
        "ImportImage or ExportImage (the tasks this server runs)",
        |v| TaskAction::parse(v).filter(|a| a.is_listed()),
    )?;
    let status = params.non_empty("TaskStatus").and_then(TaskStatus::parse);
    let start = time_param(params, "StartTime")?;
    let end = time_param(params, "EndTime")?;
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(EcsError::invalid(
            "EndTime",
            format_args!(
                "must not be earlier than StartTime {:?}, got {:?}",
                minute_time(&s),
                minute_time(&e)
            ),
        ));
    }
    let resource_ids = at_most(
        params.list("ResourceIds")?,
        MAX_IDS,
        ErrorCode::InvalidParameter,
        "ResourceIds.N",
    )?;
    let (page_number, page_size) = page(params)?;
    let request = DescribeTasks {
        region,
        task_ids,
        action,
        status,
        start,
        end,
        resource_ids,
        page_number,
        page_size,
    };
    Parsed::new(params, request)
}

/// The fields a task shows in both DescribeTasks and DescribeTaskAttribute.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TaskSummary<'a> {
    task_id: &'a str,
    task_action: &'static str,
    task_status: &'static str,
    /// A string in the SDK model.
    support_cancel: &'static str,
    creation_time: String,
    /// Empty until the task ends.
    finished_time: String,
}

impl<'a> TaskSummary<'a> {
    pub(crate) fn new(task: &'a Task) -> Self {
        TaskSummary {
            task_id: task.id.as_str(),
            task_action: task.action.as_str(),
            task_status: task.status.as_str(),
            support_cancel: if task.support_cancel { "true" } else { "false" },
            creation_time: minute_time(&task.creation_time),
            finished_time: task
                .finished_time
                .as_ref()
                .map(minute_time)
                .unwrap_or_default(),
        }
    }
}

/// One `Task` element.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskView<'a> {
    #[serde(flatten)]
    summary: TaskSummary<'a>,
    resource_id: &'a str,
}

/// `{"Task": [...]}`.
#[derive(Debug, Serialize)]
pub struct TaskSet<'a> {
    /// The tasks.
    #[serde(rename = "Task")]
    pub task: Vec<TaskView<'a>>,
}

/// The response body: one page of tasks.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response<'a> {
    /// Matches in all pages.
    pub total_count: u64,
    /// This page.
    pub page_number: u64,
    /// Requested page size.
    pub page_size: u64,
    /// Region listed.
    pub region_id: &'a str,
    /// The tasks, wrapped as `{"Task": [...]}`.
    pub task_set: TaskSet<'a>,
}

/// Builds the response for one page.
pub fn render<'a>(
    region: &'a str,
    total: u64,
    page_number: u64,
    page_size: u64,
    tasks: &'a [Task],
) -> Response<'a> {
    Response {
        total_count: total,
        page_number,
        page_size,
        region_id: region,
        task_set: TaskSet {
            task: tasks
                .iter()
                .map(|t| TaskView {
                    summary: TaskSummary::new(t),
                    resource_id: &t.resource_id,
                })
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p};
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    #[test]
    fn every_filter_parses_into_the_domain_request() {
        let r = parse(&p(
            "RegionId=cn-hangzhou&TaskIds=t-1,+t-2&TaskAction=importimage&TaskStatus=Finished\
             &StartTime=2020-11-24T12%3A50Z&EndTime=2020-11-25T00%3A00%3A30Z\
             &ResourceIds.1=m-1&ResourceIds.2=m-2&PageNumber=2&PageSize=50",
        ))
        .unwrap();
        assert!(!r.dry_run);
        assert_eq!(
            r.request,
            DescribeTasks {
                region: "cn-hangzhou".into(),
                task_ids: vec!["t-1".into(), "t-2".into()],
                action: Some(TaskAction::ImportImage),
                status: Some(TaskStatus::Finished),
                start: Some(Utc.with_ymd_and_hms(2020, 11, 24, 12, 50, 0).unwrap()),
                end: Some(Utc.with_ymd_and_hms(2020, 11, 25, 0, 0, 30).unwrap()),
                resource_ids: vec!["m-1".into(), "m-2".into()],
                page_number: 2,
                page_size: 50,
            }
        );
    }

    #[test]
    fn defaults_are_the_first_page_of_ten_and_unknown_statuses_are_ignored() {
        let r = parse(&p("RegionId=r&TaskStatus=Sleeping")).unwrap().request;
        assert_eq!((r.page_number, r.page_size, r.status), (1, 10, None));
        assert!(r.task_ids.is_empty() && r.resource_ids.is_empty() && r.action.is_none());
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        let ids: Vec<String> = (0..=100).map(|i| format!("t-{i}")).collect();
        let many_ids = format!("RegionId=r&TaskIds={}", ids.join(","));
        let resources: String = (1..=101)
            .map(|i| format!("&ResourceIds.{i}=m-{i}"))
            .collect();
        let many_resources = format!("RegionId=r{resources}");
        assert_rejects(
            parse,
            &[
                ("TaskIds=t-1", MissingParameter, 400, "\"RegionId\""),
                (many_ids.as_str(), InvalidParameter, 400, "\"TaskIds\""),
                (
                    "RegionId=r&TaskIds=%5B1",
                    InvalidParameter,
                    400,
                    "\"TaskIds\"",
                ),
                (
                    "RegionId=r&TaskAction=RedeployInstance",
                    InvalidParameter,
                    400,
                    "\"TaskAction\"",
                ),
                (
                    "RegionId=r&TaskAction=PublicImage",
                    InvalidParameter,
                    400,
                    "\"TaskAction\"",
                ),
                (
                    "RegionId=r&StartTime=yesterday",
                    InvalidParameter,
                    400,
                    "\"StartTime\"",
                ),
                (
                    "RegionId=r&EndTime=2020-11-24",
                    InvalidParameter,
                    400,
                    "\"EndTime\"",
                ),
                (
                    "RegionId=r&StartTime=2020-11-25T00%3A00Z&EndTime=2020-11-24T00%3A00Z",
                    InvalidParameter,
                    400,
                    "\"EndTime\"",
                ),
                (
                    many_resources.as_str(),
                    InvalidParameter,
                    400,
                    "\"ResourceIds.N\"",
                ),
                (
                    "RegionId=r&ResourceIds.0=m-1",
                    InvalidParameter,
                    400,
                    "\"ResourceIds.0\"",
                ),
                (
                    "RegionId=r&PageSize=101",
                    InvalidParameter,
                    400,
                    "\"PageSize\"",
                ),
                (
                    "RegionId=r&PageNumber=0",
                    InvalidParameter,
                    400,
                    "\"PageNumber\"",
                ),
                (
                    "RegionId=r&TaskGroupId=g-1",
                    UnsupportedParameter,
                    400,
                    "\"TaskGroupId\"",
                ),
            ],
        );
    }

    #[test]
    fn render_shows_minute_times_and_string_support_cancel() {
        let t0 = Utc.with_ymd_and_hms(2020, 11, 24, 12, 50, 31).unwrap();
        let mut done = Task::new("r", None, TaskAction::ImportImage, "m-1", "{}".into(), t0);
        done.finish(
            TaskStatus::Finished,
            None,
            t0 + chrono::Duration::minutes(3),
        );
        let running = Task::new("r", None, TaskAction::ExportImage, "m-2", "{}".into(), t0);
        let tasks = [done, running];
        let body = serde_json::to_value(render("r", 7, 1, 2, &tasks)).unwrap();
        assert_eq!(
            body,
            json!({
                "TotalCount": 7, "PageNumber": 1, "PageSize": 2, "RegionId": "r",
                "TaskSet": {"Task": [
                    {"TaskId": tasks[0].id.as_str(), "TaskAction": "ImportImage", "TaskStatus": "Finished",
                     "SupportCancel": "false", "CreationTime": "2020-11-24T12:50Z",
                     "FinishedTime": "2020-11-24T12:53Z", "ResourceId": "m-1"},
                    {"TaskId": tasks[1].id.as_str(), "TaskAction": "ExportImage", "TaskStatus": "Processing",
                     "SupportCancel": "true", "CreationTime": "2020-11-24T12:50Z",
                     "FinishedTime": "", "ResourceId": "m-2"},
                ]}
            })
        );
    }
}
