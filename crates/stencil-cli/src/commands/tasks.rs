//! `stencil tasks list` and `stencil tasks wait`, and the wait loop that import and export
//! share: poll DescribeTaskAttribute, drive a bar from `TaskProcess`, stop at a final status.

use std::time::Duration;

use anyhow::{Result, anyhow};
use serde_json::Value;
use stencil_cli::client::{Client, ClientError};

use super::{items, table, text};
use crate::cli::{Conn, TasksCommand};
use crate::progress;

/// How often a waiting client asks.
const POLL: Duration = Duration::from_millis(500);
/// Longest one poll may take before it counts as a transport failure.
const POLL_TIMEOUT: Duration = Duration::from_secs(30);
/// Consecutive transport failures tolerated while waiting (a server restart: tasks survive it).
const TRANSPORT_RETRIES: u32 = 60;
/// DescribeTasks page size (its maximum).
const PAGE: u32 = 100;

pub async fn run(command: TasksCommand, conn: &Conn) -> Result<()> {
    let client = conn.client()?;
    match command {
        TasksCommand::List {
            region,
            status,
            action,
        } => {
            let status = status.as_deref().map(canonical_status).transpose()?;
            list(&client, &region, status, action.as_deref()).await
        }
        TasksCommand::Wait { task_id, region } => {
            let done = wait(&client, &region, &task_id, "task").await?;
            for line in result_lines(&client, &region, &task_id, &done).await {
                println!("{line}");
            }
            Ok(())
        }
    }
}

async fn list(
    client: &Client,
    region: &str,
    status: Option<&str>,
    action: Option<&str>,
) -> Result<()> {
    let mut rows = Vec::new();
    for page in 1u32.. {
        let page_number = page.to_string();
        let page_size = PAGE.to_string();
        let mut params = vec![
            ("RegionId", region),
            ("PageNumber", page_number.as_str()),
            ("PageSize", page_size.as_str()),
        ];
        params.extend(status.map(|s| ("TaskStatus", s)));
        params.extend(action.map(|a| ("TaskAction", a)));
        let body = client.call("DescribeTasks", &params).await?;
        let tasks = items(&body, "TaskSet", "Task");
        rows.extend(tasks.iter().map(|t| {
            [
                "TaskId",
                "TaskAction",
                "TaskStatus",
                "ResourceId",
                "CreationTime",
                "FinishedTime",
            ]
            .iter()
            .map(|k| text(t, k))
            .collect::<Vec<_>>()
        }));
        let total = body["TotalCount"].as_u64().unwrap_or(0);
        if tasks.len() < PAGE as usize || rows.len() as u64 >= total {
            break;
        }
    }
    print!(
        "{}",
        table(
            &[
                "TaskId", "Action", "Status", "Resource", "Created", "Finished"
            ],
            &rows
        )
    );
    Ok(())
}

/// Polls the task until it ends, with a progress bar labelled `label`. Returns the final
/// DescribeTaskAttribute body of a Finished task; a Failed or Cancelled task is an error that
/// carries the task's own message.
pub async fn wait(client: &Client, region: &str, task_id: &str, label: &str) -> Result<Value> {
    let bar = progress::task_bar(label);
    let mut transport_failures = 0;
    let result = loop {
        let params = [("RegionId", region), ("TaskId", task_id)];
        let poll = client.call("DescribeTaskAttribute", &params);
        let answer = tokio::time::timeout(POLL_TIMEOUT, poll)
            .await
            .unwrap_or_else(|_| {
                Err(ClientError::Transport(format!(
                    "no answer within {POLL_TIMEOUT:?}"
                )))
            });
        let body = match answer {
            Ok(body) => body,
            Err(ClientError::Transport(e)) if transport_failures < TRANSPORT_RETRIES => {
                transport_failures += 1;
                bar.set_message(format!("(server unreachable: {e})"));
                tokio::time::sleep(POLL * 2).await;
                continue;
            }
            Err(e) => break Err(e.into()),
        };
        // An empty answer is how real clients learn that a task does not exist.
        if text(&body, "TaskId").is_empty() {
            break Err(anyhow!("No task {task_id} in region {region}"));
        }
        transport_failures = 0;
        let status = text(&body, "TaskStatus");
        if let Some(p) = progress::parse_percent(&text(&body, "TaskProcess")) {
            bar.set_position(p);
        }
        bar.set_message(status.clone());
        match status.as_str() {
            "Finished" => {
                bar.set_position(100);
                break Ok(body);
            }
            "Failed" | "Cancelled" => break Err(anyhow!(failure_message(task_id, &body))),
            _ => tokio::time::sleep(POLL).await,
        }
    };
    match &result {
        Ok(_) => bar.finish(),
        Err(_) => bar.abandon(),
    }
    result
}

/// What a failed or cancelled task says about itself.
pub fn failure_message(task_id: &str, body: &Value) -> String {
    let status = text(body, "TaskStatus");
    let error = items(body, "OperationProgressSet", "OperationProgress")
        .iter()
        .find_map(|op| {
            let msg = text(op, "ErrorMsg");
            let code = text(op, "ErrorCode");
            match (msg.is_empty(), code.is_empty()) {
                (true, true) => None,
                (false, true) => Some(msg),
                (true, false) => Some(code),
                (false, false) => Some(format!("{msg} ({code})")),
            }
        });
    let what = if status == "Cancelled" {
        "was cancelled"
    } else {
        "failed"
    };
    match error {
        Some(e) => format!("Task {task_id} {what}: {e}"),
        None => format!("Task {task_id} {what}"),
    }
}

/// The `RelatedItem`s of every operation of a task, as (Name, Value), in order.
pub fn related_items(body: &Value) -> Vec<(String, String)> {
    items(body, "OperationProgressSet", "OperationProgress")
        .iter()
        .flat_map(|op| items(op, "RelatedItemSet", "RelatedItem"))
        .map(|item| (text(item, "Name"), text(item, "Value")))
        .collect()
}

/// The objects an export wrote, as (bucket, key): each `OSSObject` item with the `OSSBucket`
/// item before it (or `default_bucket`). The system disk comes first: the server lists it
/// first, and an object named after the system disk is moved to the front in any case.
pub fn exported_objects(body: &Value, default_bucket: &str) -> Vec<(String, String)> {
    let mut bucket = default_bucket.to_string();
    let mut objects = Vec::new();
    for (name, value) in related_items(body) {
        match name.as_str() {
            "OSSBucket" if !value.is_empty() => bucket = value,
            "OSSObject" if !value.is_empty() => objects.push((bucket.clone(), value)),
            _ => {}
        }
    }
    objects.sort_by_key(|(_, key)| !key.contains("system"));
    objects
}

/// What `tasks wait` prints for a finished task: the image an import made, or the objects an
/// export wrote; the same lines `images import` and `images export` print.
async fn result_lines(client: &Client, region: &str, task_id: &str, done: &Value) -> Vec<String> {
    match text(done, "TaskAction").as_str() {
        "ExportImage" => exported_objects(done, "")
            .into_iter()
            .map(|(_, key)| key)
            .collect(),
        "ImportImage" => {
            let resource = text(done, "ResourceId");
            if !resource.is_empty() {
                return vec![resource];
            }
            // DescribeTaskAttribute does not name the resource; DescribeTasks does.
            let listed = client
                .call(
                    "DescribeTasks",
                    &[("RegionId", region), ("TaskIds", task_id)],
                )
                .await;
            match listed {
                Ok(body) => items(&body, "TaskSet", "Task")
                    .iter()
                    .filter(|t| text(t, "TaskId") == task_id)
                    .map(|t| text(t, "ResourceId"))
                    .filter(|r| !r.is_empty())
                    .collect(),
                Err(_) => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// The task statuses Stencil reports.
const TASK_STATUSES: [&str; 5] = ["Waiting", "Processing", "Finished", "Failed", "Cancelled"];

/// A task status given on the command line in its canonical spelling, whatever its case.
pub fn canonical_status(status: &str) -> Result<&'static str> {
    TASK_STATUSES
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(status))
        .ok_or_else(|| {
            anyhow!(
                "Unknown task status {status:?}; use one of {}",
                TASK_STATUSES.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn export_body() -> Value {
        json!({
            "TaskId": "t-1", "TaskAction": "ExportImage", "TaskStatus": "Finished",
            "TaskProcess": "100%",
            "OperationProgressSet": {"OperationProgress": [
                {"OperationStatus": "Success", "ErrorCode": "", "ErrorMsg": "",
                 "RelatedItemSet": {"RelatedItem": [
                    {"Name": "OSSBucket", "Value": "images-hz"},
                    {"Name": "OSSObject", "Value": "nightly_m-1_t-1_data_xvdb.raw"},
                    {"Name": "ImageFormat", "Value": "raw"}]}},
                {"OperationStatus": "Success",
                 "RelatedItemSet": {"RelatedItem": [
                    {"Name": "OSSObject", "Value": "nightly_m-1_t-1_system.raw"}]}}
            ]}
        })
    }

    #[test]
    fn exported_objects_come_with_their_bucket_system_disk_first() {
        assert_eq!(
            exported_objects(&export_body(), "default"),
            [
                (
                    "images-hz".to_string(),
                    "nightly_m-1_t-1_system.raw".to_string()
                ),
                (
                    "images-hz".to_string(),
                    "nightly_m-1_t-1_data_xvdb.raw".to_string()
                ),
            ]
        );
        let one = json!({"OperationProgressSet": {"OperationProgress": [
            {"RelatedItemSet": {"RelatedItem": [{"Name": "OSSObject", "Value": "m-1_t-1.qcow2"}]}}]}});
        assert_eq!(
            exported_objects(&one, "stencil-cn-hangzhou"),
            [(
                "stencil-cn-hangzhou".to_string(),
                "m-1_t-1.qcow2".to_string()
            )]
        );
    }

    #[test]
    fn a_failed_task_reports_its_error_message_and_code() {
        let body = json!({"TaskStatus": "Failed", "OperationProgressSet": {"OperationProgress": [
            {"OperationStatus": "Failed", "ErrorCode": "InvalidImage.Format",
             "ErrorMsg": "Disk 1 is not a qcow2 image"}]}});
        assert_eq!(
            failure_message("t-9", &body),
            "Task t-9 failed: Disk 1 is not a qcow2 image (InvalidImage.Format)"
        );
        let body = json!({"TaskStatus": "Cancelled"});
        assert_eq!(failure_message("t-9", &body), "Task t-9 was cancelled");
    }

    #[test]
    fn task_statuses_are_accepted_in_any_case_and_sent_canonical() {
        assert_eq!(canonical_status("failed").unwrap(), "Failed");
        assert_eq!(canonical_status("PROCESSING").unwrap(), "Processing");
        let err = canonical_status("done").unwrap_err().to_string();
        assert!(err.contains("Finished"), "{err}");
    }
}
