//! DescribeTasks, DescribeTaskAttribute and CancelTask (reference §5.15).

use chrono::Utc;
use stencil_domain::requests::{DescribeTasks, TaskRef};
use stencil_domain::{DomainError, Task, TaskAction, TaskStatus};
use stencil_meta::{Page, TaskQuery, Write};

use super::Lifecycle;
use crate::{Caller, ServiceError};

impl Lifecycle {
    /// Lists the caller's import and export tasks.
    pub async fn describe_tasks(
        &self,
        caller: &Caller,
        req: &DescribeTasks,
    ) -> Result<Page<Task>, ServiceError> {
        self.regions.get(&req.region)?;
        let actions = match req.action {
            Some(a) => vec![a],
            None => TaskAction::ALL
                .iter()
                .copied()
                .filter(|a| a.is_listed())
                .collect(),
        };
        Ok(self
            .meta
            .list_tasks(&TaskQuery {
                region: req.region.clone(),
                owner: Some(caller.account.as_str().to_string()),
                ids: req.task_ids.clone(),
                actions,
                status: req.status,
                resource_ids: req.resource_ids.clone(),
                created_from: req.start,
                created_to: req.end,
                offset: req
                    .page_number
                    .saturating_sub(1)
                    .saturating_mul(req.page_size),
                limit: req.page_size,
            })
            .await?)
    }

    /// One of the caller's tasks.
    pub async fn task(&self, caller: &Caller, req: &TaskRef) -> Result<Task, ServiceError> {
        self.regions.get(&req.region)?;
        match self.meta.get_task(&req.task_id).await? {
            Some(t) if t.region == req.region && t.owner.as_ref() == Some(&caller.account) => Ok(t),
            _ => Err(DomainError::TaskNotFound(req.task_id.clone()).into()),
        }
    }

    /// Cancels an import or export. The task ends as `Cancelled` shortly after (the runner
    /// stops the job at its next read); a task no process runs is ended here.
    pub async fn cancel_task(&self, caller: &Caller, req: &TaskRef) -> Result<(), ServiceError> {
        let mut task = self.task(caller, req).await?;
        if !task.action.is_listed() {
            return Err(DomainError::TaskNotCancellable {
                task: req.task_id.clone(),
                action: task.action.to_string(),
            }
            .into());
        }
        if task.status.is_final() {
            return Err(DomainError::TaskEnded {
                task: req.task_id.clone(),
                status: task.status.to_string(),
            }
            .into());
        }
        if self.runner.cancel(&req.task_id).await? {
            return Ok(());
        }
        let mut writes = Vec::new();
        if matches!(task.action, TaskAction::ImportImage | TaskAction::CopyImage) {
            writes.push(Write::DeleteImage {
                region: task.region.clone(),
                id: task.resource_id.clone(),
            });
        }
        task.finish(TaskStatus::Cancelled, None, Utc::now());
        writes.push(Write::PutTask(task));
        self.meta.apply(writes).await?;
        Ok(())
    }
}
