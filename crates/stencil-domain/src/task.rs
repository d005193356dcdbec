//! Durable tasks (reference §5.15): long work that survives a restart and reports progress.
//!
//! A task is created in the same metadata transaction as the resource it works on (the
//! `Creating` image of an import, say), so a crash can never leave one without the other. Its
//! `spec` is an opaque JSON document that the service which runs it wrote; the runner reads it
//! back after a restart to resume the work.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attrs::{TaskAction, TaskStatus};
use crate::ids::{AccountId, TaskId};

/// Why a task failed: an ECS-style code and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    /// A stable code, e.g. `InvalidImage.Format`.
    pub code: String,
    /// What went wrong, naming the disk and the cause.
    pub message: String,
}

/// A `RelatedItem` of `DescribeTaskAttribute` (export: `OSSBucket`, `OSSObject`, `ImageFormat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedItem {
    /// Item name.
    pub name: String,
    /// Item value.
    pub value: String,
}

/// One durable task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// `t-…`.
    pub id: TaskId,
    /// The region it runs in.
    pub region: String,
    /// The account that started it; `None` for the service's own work (public images).
    pub owner: Option<AccountId>,
    /// What it does.
    pub action: TaskAction,
    /// Where it is.
    pub status: TaskStatus,
    /// 0–100.
    pub progress: u8,
    /// The resource it works on (an image ID).
    pub resource_id: String,
    /// When it was created.
    pub creation_time: DateTime<Utc>,
    /// When it ended.
    pub finished_time: Option<DateTime<Utc>>,
    /// Whether `CancelTask` accepts it.
    pub support_cancel: bool,
    /// Why it failed.
    pub failure: Option<TaskFailure>,
    /// What it produced or reads (buckets, objects, formats).
    pub related: Vec<RelatedItem>,
    /// Times the work was started; more than one means it resumed after a restart.
    pub attempts: u32,
    /// The work description, written and read by the service that runs it.
    pub spec: String,
}

impl Task {
    /// A new `Processing` task.
    pub fn new(
        region: &str,
        owner: Option<AccountId>,
        action: TaskAction,
        resource_id: &str,
        spec: String,
        now: DateTime<Utc>,
    ) -> Task {
        Task {
            id: TaskId::generate(region),
            region: region.to_string(),
            owner,
            action,
            status: TaskStatus::Processing,
            progress: 0,
            resource_id: resource_id.to_string(),
            creation_time: now,
            finished_time: None,
            support_cancel: matches!(action, TaskAction::ImportImage | TaskAction::ExportImage),
            failure: None,
            related: Vec::new(),
            attempts: 0,
            spec,
        }
    }

    /// Ends the task in `status` at `now`.
    pub fn finish(&mut self, status: TaskStatus, failure: Option<TaskFailure>, now: DateTime<Utc>) {
        self.status = status;
        self.failure = failure;
        self.finished_time = Some(now);
        self.support_cancel = false;
        if status == TaskStatus::Finished {
            self.progress = 100;
        }
    }
}
