//! Durable task rows: the columns that listings filter on, plus the whole task as JSON.

use chrono::{DateTime, Utc};
use stencil_domain::{Task, TaskAction, TaskStatus};

use crate::db::{Arg, DbRow, Tx, limit_offset};
use crate::query::Where;
use crate::{MetaError, MetaStore, Page};

/// A task listing (`DescribeTasks`, and the service's own look-ups).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskQuery {
    /// The region to list.
    pub region: String,
    /// Only tasks of this account; `None` lists every owner's (and the service's own) tasks.
    pub owner: Option<String>,
    /// Only these task IDs; empty means any.
    pub ids: Vec<String>,
    /// Only these actions; empty means any.
    pub actions: Vec<TaskAction>,
    /// Only tasks in this status.
    pub status: Option<TaskStatus>,
    /// Only tasks working on these resources; empty means any.
    pub resource_ids: Vec<String>,
    /// Created at or after this time (whole seconds).
    pub created_from: Option<DateTime<Utc>>,
    /// Created at or before this time (whole seconds).
    pub created_to: Option<DateTime<Utc>>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

impl TaskQuery {
    /// Every task in `region`, any owner, first 10.
    pub fn new(region: &str) -> Self {
        TaskQuery {
            region: region.to_string(),
            owner: None,
            ids: Vec::new(),
            actions: Vec::new(),
            status: None,
            resource_ids: Vec::new(),
            created_from: None,
            created_to: None,
            offset: 0,
            limit: 10,
        }
    }

    fn where_clause(&self) -> (String, Vec<Arg>) {
        let mut w = Where::default();
        w.push("t.region = ?", vec![self.region.as_str().into()]);
        if let Some(o) = &self.owner {
            w.push("t.owner = ?", vec![o.as_str().into()]);
        }
        if !self.ids.is_empty() {
            w.push_in("t.id", self.ids.iter().map(|s| s.as_str().into()).collect());
        }
        if !self.actions.is_empty() {
            w.push_in(
                "t.action",
                self.actions.iter().map(|a| a.as_str().into()).collect(),
            );
        }
        if let Some(s) = self.status {
            w.push("t.status = ?", vec![s.as_str().into()]);
        }
        if !self.resource_ids.is_empty() {
            w.push_in(
                "t.resource_id",
                self.resource_ids
                    .iter()
                    .map(|s| s.as_str().into())
                    .collect(),
            );
        }
        if let Some(t) = self.created_from {
            w.push("t.created_at >= ?", vec![t.timestamp().into()]);
        }
        if let Some(t) = self.created_to {
            w.push("t.created_at <= ?", vec![t.timestamp().into()]);
        }
        w.finish()
    }
}

/// Inserts a task; [`MetaError::Conflict`] if its ID exists.
pub(crate) async fn insert(tx: &mut Tx, task: &Task) -> Result<(), MetaError> {
    let doc = serde_json::to_string(task).map_err(|e| MetaError::Invalid(e.to_string()))?;
    let args: Vec<Arg> = vec![
        task.id.as_str().into(),
        task.region.as_str().into(),
        task.owner.as_ref().map(|o| o.as_str().to_string()).into(),
        task.action.as_str().into(),
        task.status.as_str().into(),
        task.resource_id.as_str().into(),
        task.creation_time.timestamp().into(),
        doc.into(),
    ];
    let n = tx
        .exec(
            "INSERT INTO tasks (id, region, owner, action, status, resource_id, created_at, doc) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &args,
        )
        .await?;
    if n == 0 {
        return Err(MetaError::Conflict(format!("task {} exists", task.id)));
    }
    Ok(())
}

/// Replaces the task with this ID, or inserts it.
pub(crate) async fn put(tx: &mut Tx, task: &Task) -> Result<(), MetaError> {
    tx.exec("DELETE FROM tasks WHERE id = ?", &[task.id.as_str().into()])
        .await?;
    insert(tx, task).await
}

fn decode(row: &DbRow) -> Result<Task, MetaError> {
    serde_json::from_str(&row.text(0)?)
        .map_err(|e| MetaError::Corrupt(format!("task document: {e}")))
}

impl MetaStore {
    /// Stores a new task. Fails with [`MetaError::Conflict`] if the ID exists.
    pub async fn insert_task(&self, task: &Task) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        insert(&mut tx, task).await?;
        tx.commit().await
    }

    /// Replaces the stored task with this ID (stores it if there is none).
    pub async fn update_task(&self, task: &Task) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        put(&mut tx, task).await?;
        tx.commit().await
    }

    /// Reads one task by ID, whatever its region.
    pub async fn get_task(&self, id: &str) -> Result<Option<Task>, MetaError> {
        let rows = self
            .pool
            .fetch("SELECT doc FROM tasks WHERE id = ?", &[id.into()])
            .await?;
        rows.first().map(decode).transpose()
    }

    /// Lists tasks matching `query`, newest first (ID as tie-break).
    pub async fn list_tasks(&self, query: &TaskQuery) -> Result<Page<Task>, MetaError> {
        let (clause, mut args) = query.where_clause();
        let total = self
            .pool
            .count(
                &format!("SELECT COUNT(*) FROM tasks t WHERE {clause}"),
                &args,
            )
            .await?;
        args.extend(limit_offset(query.limit, query.offset));
        let sql = format!(
            "SELECT t.doc FROM tasks t WHERE {clause} \
             ORDER BY t.created_at DESC, t.id ASC LIMIT ? OFFSET ?"
        );
        let items = self
            .pool
            .fetch(&sql, &args)
            .await?
            .iter()
            .map(decode)
            .collect::<Result<_, _>>()?;
        Ok(Page { total, items })
    }

    /// Every `Waiting` or `Processing` task in every region, oldest first: what the runner
    /// resumes after a restart.
    pub async fn unfinished_tasks(&self) -> Result<Vec<Task>, MetaError> {
        self.pool
            .fetch(
                "SELECT doc FROM tasks WHERE status IN (?, ?) ORDER BY created_at ASC, id ASC",
                &[
                    TaskStatus::Waiting.as_str().into(),
                    TaskStatus::Processing.as_str().into(),
                ],
            )
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    /// How many tasks of `action` the owner has in the region in one of `statuses` (empty
    /// means any status): the concurrency quotas of import and export.
    pub async fn count_tasks(
        &self,
        region: &str,
        owner: &str,
        action: TaskAction,
        statuses: &[TaskStatus],
    ) -> Result<u64, MetaError> {
        let mut w = Where::default();
        w.push(
            "region = ? AND owner = ? AND action = ?",
            vec![region.into(), owner.into(), action.as_str().into()],
        );
        if !statuses.is_empty() {
            w.push_in(
                "status",
                statuses.iter().map(|s| s.as_str().into()).collect(),
            );
        }
        let (clause, args) = w.finish();
        self.pool
            .count(&format!("SELECT COUNT(*) FROM tasks WHERE {clause}"), &args)
            .await
    }
}
