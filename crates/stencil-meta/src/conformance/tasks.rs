//! Conformance cases for durable tasks.

use chrono::{TimeZone, Utc};
use stencil_domain::{AccountId, Task, TaskAction, TaskFailure, TaskStatus};

use crate::{MetaError, MetaStore, TaskQuery};

/// A `Processing` task of `owner` on `resource`, created `minute` minutes after 2026-01-01.
pub fn sample_task(
    region: &str,
    owner: &str,
    action: TaskAction,
    resource: &str,
    minute: i64,
) -> Task {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(minute);
    let mut task = Task::new(
        region,
        AccountId::parse(owner),
        action,
        resource,
        format!("{{\"minute\":{minute}}}"),
        at,
    );
    task.related = vec![stencil_domain::RelatedItem {
        name: "OSSBucket".into(),
        value: "images".into(),
    }];
    task
}

async fn ids(store: &MetaStore, q: &TaskQuery) -> Vec<String> {
    let page = store.list_tasks(q).await.expect("list tasks");
    page.items.into_iter().map(|t| t.id.to_string()).collect()
}

pub(super) async fn tasks_round_trip_and_a_duplicate_id_conflicts(store: &MetaStore) {
    let mut task = sample_task("r-task-rt", "111", TaskAction::ImportImage, "m-x", 0);
    store.insert_task(&task).await.expect("insert task");
    assert_eq!(
        store.get_task(task.id.as_str()).await.unwrap().as_ref(),
        Some(&task),
        "a task reads back as written"
    );
    assert!(
        matches!(store.insert_task(&task).await, Err(MetaError::Conflict(_))),
        "inserting an existing task ID is a conflict"
    );
    task.attempts = 2;
    task.finish(
        TaskStatus::Failed,
        Some(TaskFailure {
            code: "InvalidImage.Format".into(),
            message: "bad".into(),
        }),
        Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
    );
    store.update_task(&task).await.expect("update task");
    assert_eq!(
        store.get_task(task.id.as_str()).await.unwrap().as_ref(),
        Some(&task),
        "an update replaces the whole task"
    );
    let page = store
        .list_tasks(&TaskQuery::new("r-task-rt"))
        .await
        .unwrap();
    assert_eq!(page.total, 1, "an update does not duplicate the row");
    assert_eq!(
        page.items[0].status,
        TaskStatus::Failed,
        "listing sees the update"
    );
    assert!(store.get_task("t-unknown").await.unwrap().is_none());
    let fresh = sample_task("r-task-rt", "111", TaskAction::ExportImage, "m-y", 1);
    store.update_task(&fresh).await.expect("update of absent");
    assert!(
        store.get_task(fresh.id.as_str()).await.unwrap().is_some(),
        "updating an absent task stores it"
    );
}

pub(super) async fn task_listing_filters_and_pages_newest_first(store: &MetaStore) {
    let r = "r-task-list";
    let mut made = Vec::new();
    for n in 0..12 {
        let owner = if n % 3 == 0 { "222" } else { "111" };
        let action = if n % 2 == 0 {
            TaskAction::ImportImage
        } else {
            TaskAction::ExportImage
        };
        let mut t = sample_task(r, owner, action, &format!("m-res{}", n % 4), n);
        if n >= 8 {
            t.finish(TaskStatus::Finished, None, t.creation_time);
        }
        store.insert_task(&t).await.unwrap();
        made.push(t);
    }
    let other = sample_task("r-task-other", "111", TaskAction::ImportImage, "m-res0", 5);
    store.insert_task(&other).await.unwrap();
    let id = |n: usize| made[n].id.to_string();

    let mut q = TaskQuery::new(r);
    q.limit = 5;
    let page = store.list_tasks(&q).await.unwrap();
    assert_eq!(page.total, 12, "no owner means every owner, one region");
    assert_eq!(
        page.items
            .iter()
            .map(|t| t.id.to_string())
            .collect::<Vec<_>>(),
        (7..12).rev().map(id).collect::<Vec<_>>(),
        "newest first"
    );
    q.offset = 10;
    assert_eq!(ids(store, &q).await, vec![id(1), id(0)], "last page");

    let mut q = TaskQuery::new(r);
    q.limit = 100;
    q.owner = Some("222".into());
    assert_eq!(
        ids(store, &q).await,
        vec![id(9), id(6), id(3), id(0)],
        "owner"
    );
    q.owner = Some("111".into());
    q.actions = vec![TaskAction::ExportImage];
    assert_eq!(
        ids(store, &q).await,
        vec![id(11), id(7), id(5), id(1)],
        "owner and action"
    );
    q.actions = vec![TaskAction::ExportImage, TaskAction::ImportImage];
    assert_eq!(store.list_tasks(&q).await.unwrap().total, 8, "action list");
    q.status = Some(TaskStatus::Finished);
    assert_eq!(ids(store, &q).await, vec![id(11), id(10), id(8)], "status");
    q.status = None;
    q.ids = vec![id(1), id(3), "t-unknown".into()];
    assert_eq!(
        ids(store, &q).await,
        vec![id(1)],
        "ID list within the owner's tasks"
    );
    q.ids.clear();
    q.resource_ids = vec!["m-res1".into(), "m-res2".into()];
    assert_eq!(
        ids(store, &q).await,
        vec![id(10), id(5), id(2), id(1)],
        "resource IDs"
    );
    q.resource_ids.clear();
    q.created_from = Some(made[4].creation_time);
    q.created_to = Some(made[7].creation_time);
    assert_eq!(
        ids(store, &q).await,
        vec![id(7), id(5), id(4)],
        "creation time bounds are inclusive"
    );
    let mut q = TaskQuery::new("r-task-none");
    q.owner = Some("111".into());
    assert_eq!(
        store.list_tasks(&q).await.unwrap().total,
        0,
        "an empty region lists nothing"
    );
}

pub(super) async fn unfinished_tasks_are_waiting_or_processing_oldest_first(store: &MetaStore) {
    let r = "r-task-unfinished";
    let mut waiting = sample_task(r, "111", TaskAction::ImportImage, "m-a", 3);
    waiting.status = TaskStatus::Waiting;
    let processing = sample_task(r, "111", TaskAction::CreateImage, "m-b", 1);
    let mut unowned = sample_task(r, "111", TaskAction::PublicImage, "m-c", 2);
    unowned.owner = None;
    let mut done = sample_task(r, "111", TaskAction::ImportImage, "m-d", 0);
    done.finish(TaskStatus::Cancelled, None, done.creation_time);
    for t in [&waiting, &processing, &unowned, &done] {
        store.insert_task(t).await.unwrap();
    }
    let seen: Vec<_> = store
        .unfinished_tasks()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.region == r)
        .collect();
    assert_eq!(
        seen,
        vec![processing, unowned, waiting],
        "Waiting and Processing tasks of every owner, oldest first"
    );
}

pub(super) async fn task_counts_follow_owner_action_and_status(store: &MetaStore) {
    let r = "r-task-count";
    let import = TaskAction::ImportImage;
    for (n, (owner, action, status)) in [
        ("111", import, TaskStatus::Processing),
        ("111", import, TaskStatus::Waiting),
        ("111", import, TaskStatus::Finished),
        ("111", TaskAction::ExportImage, TaskStatus::Processing),
        ("222", import, TaskStatus::Processing),
    ]
    .into_iter()
    .enumerate()
    {
        let mut t = sample_task(r, owner, action, "m-x", n as i64);
        t.status = status;
        store.insert_task(&t).await.unwrap();
    }
    let active = [TaskStatus::Waiting, TaskStatus::Processing];
    let export = TaskAction::ExportImage;
    let n = store.count_tasks(r, "111", import, &active).await.unwrap();
    assert_eq!(n, 2, "active imports");
    let n = store.count_tasks(r, "111", import, &[]).await.unwrap();
    assert_eq!(n, 3, "no status means any");
    let n = store.count_tasks(r, "111", export, &active).await.unwrap();
    assert_eq!(n, 1, "exports");
    let n = store.count_tasks(r, "222", import, &active).await.unwrap();
    assert_eq!(n, 1, "another owner");
    let n = store.count_tasks(r, "333", import, &[]).await.unwrap();
    assert_eq!(n, 0, "nobody");
}
