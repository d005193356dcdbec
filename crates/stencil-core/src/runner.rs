//! The durable task runner.
//!
//! A task row is written in the same transaction as the resource it works on; the runner then
//! runs its job on a blocking thread, writes progress every half second, and records the result
//! (or the failure) in one transaction. At start-up, [`TaskRunner::recover`] runs every task
//! that was still `Processing` when the last process stopped: each job can run again from the
//! start (see `jobs`), so "resume" and "retry" are the same thing and no task stays unfinished.
//!
//! | task        | done                                   | failed                          | cancelled        |
//! |-------------|----------------------------------------|---------------------------------|------------------|
//! | ImportImage | snapshots + image Available            | image CreateFailed, indexes deleted | image and indexes deleted |
//! | ExportImage | objects in the bucket                  | partial objects deleted         | same as failed   |
//! | CreateImage | image Available                        | image CreateFailed              | (not cancellable)|
//! | PublicImage | snapshot + catalog image Available     | image UnAvailable               | (not cancellable)|
//! | CreateSnapshot (and CreateImage from an instance) | snapshots accomplished (+ image Available) | snapshots failed (+ image CreateFailed), indexes deleted | (not cancellable) |
//! | CopyImage   | the copy's snapshots + the copy Available | copy CreateFailed, its indexes deleted | copy and its indexes deleted (CancelCopyImage) |
//!
//! Copies do not take the shared job slots: each destination region runs at most
//! [`COPIES_PER_REGION`] at once, and the rest wait with their task and image `Waiting`. A copy
//! records the stored bytes it sent in its task (`CopiedBytes`, and per attempt
//! `CopiedBytes.N`), so what a resumed copy sent again is visible.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use stencil_domain::{
    DiskType, ImageStatus, Snapshot, SnapshotStatus, Task, TaskFailure, TaskStatus,
};
use stencil_meta::{LeaseState, MetaError, Write};
use tokio::sync::Semaphore;

use crate::jobs::{self, JobCtx, JobEnv, JobError, JobSpec, Outcome};

/// How often a running task's progress is written.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Jobs that move bytes at once; more wait for a slot (still `Processing`, at 0 %).
const RUNNING_JOBS: usize = 4;

/// Copies running at once into one region (reference §5.5); more wait in `Waiting`.
pub const COPIES_PER_REGION: usize = 5;

const GIB: u64 = 1 << 30;

/// How long a node's lease on a task lasts without renewal, by default: a node that dies
/// loses its tasks to another node after this long.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

/// Runs tasks in the background. Cheap to clone.
///
/// Several nodes may share one database: each task runs on the node holding its lease
/// (`task:<id>`, see `stencil_meta::leases`). The node that creates a task takes the lease as
/// it starts it, and renews it every third of the lease time ([`TaskRunner::keep_leases`]); the
/// same loop takes over unfinished tasks whose lease expired (their node died) and runs them
/// again, which every job supports (resume = retry). A node that finds its lease taken stops
/// the job and records nothing. Cancelling a task another node runs sets the lease's cancel
/// flag, which that node sees at its next renewal.
#[derive(Debug, Clone)]
pub struct TaskRunner {
    env: JobEnv,
    running: Arc<Mutex<HashMap<String, Arc<JobCtx>>>>,
    slots: Arc<Semaphore>,
    copy_slots: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    node: Arc<str>,
    lease_ttl: Duration,
}

fn lease_name(task_id: &str) -> String {
    format!("task:{task_id}")
}

/// Milliseconds since the epoch, what leases count in.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl TaskRunner {
    /// A runner over `env`, as a node with a generated ID and the default lease time.
    pub fn new(env: JobEnv) -> Self {
        let node = format!("node-{}-{:08x}", std::process::id(), rand::random::<u32>());
        TaskRunner {
            env,
            running: Arc::default(),
            slots: Arc::new(Semaphore::new(RUNNING_JOBS)),
            copy_slots: Arc::default(),
            node: node.into(),
            lease_ttl: DEFAULT_LEASE_TTL,
        }
    }

    /// Sets this node's ID (unique among the nodes of one database) and the lease time.
    #[must_use]
    pub fn with_lease(mut self, node: &str, ttl: Duration) -> Self {
        self.node = node.into();
        self.lease_ttl = ttl.max(Duration::from_millis(300));
        self
    }

    /// This node's ID.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// What jobs work with.
    pub fn env(&self) -> &JobEnv {
        &self.env
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.lease_ttl.as_millis()).unwrap_or(i64::MAX / 4)
    }

    /// Starts every unfinished task no live node holds. `sole_node`: this process is the only
    /// node of its database (SQLite), so every lease on record is a killed process's and is
    /// dropped first; otherwise only expired leases are taken over. Returns how many started.
    pub async fn recover(&self, sole_node: bool) -> Result<usize, MetaError> {
        if sole_node {
            self.env.meta.clear_leases().await?;
        }
        self.take_over().await
    }

    /// Claims and starts the unfinished tasks that nobody runs (expired or no lease).
    async fn take_over(&self) -> Result<usize, MetaError> {
        let mut n = 0;
        // One read of the live leases, so tasks other nodes hold cost no write each round.
        let live = self.env.meta.live_leases(now_ms()).await?;
        for task in self.env.meta.unfinished_tasks().await? {
            let id = task.id.to_string();
            if live.contains(&lease_name(&id)) {
                continue;
            }
            // Claimed here first, so `start` of the same task on this node cannot run it too.
            let Some(ctx) = self.claim_local(&id) else {
                continue;
            };
            let name = lease_name(&id);
            if !self
                .env
                .meta
                .acquire_lease(&name, &self.node, now_ms(), self.ttl_ms())
                .await
                .inspect_err(|_| self.forget(&id))?
            {
                self.forget(&id);
                continue;
            }
            // Read again under the lease: the listing may predate the task's end on its node
            // (which releases the lease once the result is recorded).
            let current = self.env.meta.get_task(&id).await?;
            let Some(task) = current.filter(|t| !t.status.is_final()) else {
                self.env.meta.release_lease(&name, &self.node).await?;
                self.forget(&id);
                continue;
            };
            tracing::info!(task = %task.id, action = %task.action, attempts = task.attempts, node = %self.node, "resuming task");
            self.spawn_claimed(task, ctx);
            n += 1;
        }
        Ok(n)
    }

    /// Registers `id` as run by this node; `None` if it already is.
    fn claim_local(&self, id: &str) -> Option<Arc<JobCtx>> {
        let mut running = self.lock();
        if running.contains_key(id) {
            return None;
        }
        let ctx = Arc::new(JobCtx::default());
        running.insert(id.to_string(), ctx.clone());
        Some(ctx)
    }

    fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Renews this node's leases, passes on cancel requests, stops jobs whose lease another
    /// node took, and takes over tasks whose node died; every third of the lease time, until
    /// the process ends.
    pub fn keep_leases(&self) -> tokio::task::JoinHandle<()> {
        let runner = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(runner.lease_ttl / 3).await;
                if let Err(e) = runner.renew_all().await {
                    tracing::warn!("renewing task leases: {e}");
                }
                if let Err(e) = runner.take_over().await {
                    tracing::warn!("taking over tasks of other nodes: {e}");
                }
            }
        })
    }

    async fn renew_all(&self) -> Result<(), MetaError> {
        let running: Vec<(String, Arc<JobCtx>)> = self
            .lock()
            .iter()
            .map(|(id, ctx)| (id.clone(), ctx.clone()))
            .collect();
        for (id, ctx) in running {
            self.check_lease(&id, &ctx).await?;
        }
        Ok(())
    }

    /// Renews one task's lease and acts on what it finds; `false` if the lease is lost.
    async fn check_lease(&self, id: &str, ctx: &JobCtx) -> Result<bool, MetaError> {
        let expires = now_ms() + self.ttl_ms();
        match self
            .env
            .meta
            .renew_lease(&lease_name(id), &self.node, expires)
            .await?
        {
            LeaseState::Held { cancel } => {
                if cancel && !ctx.is_cancelled() {
                    tracing::info!(task = %id, "cancel requested through the task's lease");
                    ctx.cancel();
                }
                Ok(true)
            }
            LeaseState::Lost => {
                if !ctx.is_lost() {
                    tracing::warn!(task = %id, node = %self.node, "lease lost to another node; stopping the job");
                    ctx.lose();
                }
                Ok(false)
            }
        }
    }

    /// Runs `task` (already stored) in the background, once this node holds its lease.
    pub fn start(&self, task: Task) {
        let Some(ctx) = self.claim_local(task.id.as_str()) else {
            return; // this node's take-over scan already runs it
        };
        let runner = self.clone();
        tokio::spawn(async move {
            let id = task.id.to_string();
            let claimed = runner
                .env
                .meta
                .acquire_lease(&lease_name(&id), &runner.node, now_ms(), runner.ttl_ms())
                .await;
            match claimed {
                Ok(true) => runner.spawn_claimed(task, ctx),
                Ok(false) => {
                    // Another node's take-over scan got there first: it runs the task.
                    runner.forget(&id);
                }
                Err(e) => {
                    tracing::error!(task = %id, "cannot take the task's lease: {e}");
                    runner.forget(&id);
                }
            }
        });
    }

    fn spawn_claimed(&self, task: Task, ctx: Arc<JobCtx>) {
        let runner = self.clone();
        tokio::spawn(async move {
            let id = task.id.to_string();
            // A cancel asked for while the task had no live holder applies at once.
            let result = match runner.check_lease(&id, &ctx).await {
                Ok(true) => runner.drive(task, ctx.clone()).await,
                Ok(false) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::error!(task = %id, "task bookkeeping failed: {e}");
            }
            if !ctx.is_lost()
                && let Err(e) = runner
                    .env
                    .meta
                    .release_lease(&lease_name(&id), &runner.node)
                    .await
            {
                tracing::warn!(task = %id, "cannot release the task's lease: {e}");
            }
            runner.forget(&id);
        });
    }

    /// Asks a task to stop: at once if this node runs it, else through its lease (the node
    /// holding it, or the next to take it over, stops it). `false` if nobody runs the task.
    pub async fn cancel(&self, task_id: &str) -> Result<bool, MetaError> {
        if let Some(ctx) = self.lock().get(task_id) {
            ctx.cancel();
            return Ok(true);
        }
        self.env.meta.request_cancel(&lease_name(task_id)).await
    }

    /// Whether this process runs the task now.
    pub fn is_running(&self, task_id: &str) -> bool {
        self.lock().contains_key(task_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<JobCtx>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn drive(&self, mut task: Task, ctx: Arc<JobCtx>) -> Result<(), MetaError> {
        let spec = match JobSpec::decode(&task.spec) {
            Ok(s) => s,
            Err(e) => {
                task.finish(
                    TaskStatus::Failed,
                    Some(TaskFailure {
                        code: "InternalError".into(),
                        message: e,
                    }),
                    Utc::now(),
                );
                return self.env.meta.update_task(&task).await;
            }
        };
        let slots = match &spec {
            JobSpec::Copy(_) => self.copy_slots(&task.region),
            _ => self.slots.clone(),
        };
        // Waiting for a slot; a cancelled copy that never started ends here.
        let _slot = loop {
            tokio::select! {
                permit = slots.acquire() => break permit,
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    if ctx.is_lost() {
                        return Ok(());
                    }
                    if ctx.is_cancelled() {
                        return self.complete(task, &spec, Err(JobError::Cancelled)).await;
                    }
                }
            }
        };
        task.attempts += 1;
        task.status = TaskStatus::Processing;
        self.env.meta.update_task(&task).await?;
        if let JobSpec::Copy(c) = &spec {
            self.set_image_status(
                &task.region,
                &c.image_id,
                ImageStatus::Waiting,
                ImageStatus::Creating,
            )
            .await?;
        }

        let env = self.env.clone();
        let (region, job_spec, job_ctx) = (task.region.clone(), spec.clone(), ctx.clone());
        let mut work =
            tokio::task::spawn_blocking(move || jobs::run(&env, &region, &job_spec, &job_ctx));
        let mut last = 0u8;
        let result = loop {
            tokio::select! {
                r = &mut work => break r.unwrap_or_else(|e| Err(JobError::internal(format!("job panicked: {e}")))),
                () = tokio::time::sleep(PROGRESS_EVERY) => {
                    let pct = ctx.percent();
                    if pct != last {
                        last = pct;
                        self.write_progress(&mut task, &spec, pct).await?;
                    }
                }
            }
        };
        // The result is recorded only by the node that still holds the task.
        if ctx.is_lost() || !self.check_lease(task.id.as_str(), &ctx).await? {
            tracing::warn!(task = %task.id, "the task moved to another node; its result here is dropped");
            return Ok(());
        }
        self.complete(task, &spec, result).await
    }

    fn copy_slots(&self, region: &str) -> Arc<Semaphore> {
        self.copy_slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(region.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(COPIES_PER_REGION)))
            .clone()
    }

    /// Moves the image from `from` to `to` (no change when it is in another status).
    async fn set_image_status(
        &self,
        region: &str,
        image_id: &str,
        from: ImageStatus,
        to: ImageStatus,
    ) -> Result<(), MetaError> {
        for _ in 0..16 {
            let Some(image) = self.env.meta.get_image(region, image_id).await? else {
                return Ok(());
            };
            if image.status != from {
                return Ok(());
            }
            let mut new = image.clone();
            new.status = to;
            match self
                .env
                .meta
                .apply(vec![Write::ReplaceImage {
                    expected: Box::new(image),
                    new: Box::new(new),
                }])
                .await
            {
                Err(MetaError::Conflict(_)) => continue,
                r => return r,
            }
        }
        Ok(())
    }

    async fn write_progress(
        &self,
        task: &mut Task,
        spec: &JobSpec,
        pct: u8,
    ) -> Result<(), MetaError> {
        task.progress = pct;
        if matches!(spec, JobSpec::Copy(_)) {
            let sent = ctx_sent(&self.running, task);
            note_sent(task, sent);
        }
        let mut writes = vec![Write::PutTask(task.clone())];
        if let JobSpec::Snapshot(s) = spec {
            for (_, id) in &s.disks {
                if let Some(mut snap) = self.env.meta.get_snapshot(id.as_str()).await?
                    && snap.status == SnapshotStatus::Progressing
                {
                    snap.progress = pct;
                    writes.push(Write::PutSnapshot(snap));
                }
            }
        }
        if let Some(image_id) = image_in_progress(spec)
            && let Some(image) = self.env.meta.get_image(&task.region, image_id).await?
            && image.status.in_progress()
        {
            let mut new = image.clone();
            new.progress = pct;
            for d in &mut new.disks {
                d.progress = pct;
            }
            writes.push(Write::ReplaceImage {
                expected: Box::new(image),
                new: Box::new(new),
            });
        }
        match self.env.meta.apply(writes).await {
            // Someone changed the image meanwhile (tags): the next tick writes progress again.
            Err(MetaError::Conflict(_)) => Ok(()),
            r => r,
        }
    }

    async fn complete(
        &self,
        task: Task,
        spec: &JobSpec,
        result: Result<Outcome, JobError>,
    ) -> Result<(), MetaError> {
        if let Err(err) = &result {
            if let JobError::Failed(f) = err {
                tracing::warn!(task = %task.id, code = %f.code, "task failed: {}", f.message);
            }
            self.discard_indexes(&task.region, spec);
        }
        // The image is read, changed and written back only if nobody changed it meanwhile
        // (a tag request, say); on a conflict the whole result is computed again.
        let mut attempt = 0;
        loop {
            let writes = self.result_writes(task.clone(), spec, &result).await?;
            match self.env.meta.apply(writes).await {
                Err(MetaError::Conflict(_)) if attempt < 16 => attempt += 1,
                r => return r,
            }
        }
    }

    async fn result_writes(
        &self,
        mut task: Task,
        spec: &JobSpec,
        result: &Result<Outcome, JobError>,
    ) -> Result<Vec<Write>, MetaError> {
        let now = Utc::now();
        let region = task.region.clone();
        let mut writes = self.snapshot_writes(spec, result).await?;
        match result {
            Ok(outcome) => {
                if let Outcome::Copy(r) = outcome {
                    note_sent(&mut task, r.bytes_sent);
                }
                task.finish(TaskStatus::Finished, None, now);
                writes.extend(self.success_writes(&task, spec, outcome).await?);
            }
            Err(err) => {
                let (status, failure) = match err {
                    JobError::Cancelled => (TaskStatus::Cancelled, None),
                    JobError::Failed(f) => (TaskStatus::Failed, Some(f.clone())),
                };
                if let Some(image_id) = image_in_progress(spec)
                    && let Some(image) = self.env.meta.get_image(&region, image_id).await?
                {
                    if status == TaskStatus::Cancelled {
                        writes.push(Write::DeleteImage {
                            region: region.clone(),
                            id: image_id.to_string(),
                        });
                    } else {
                        let mut new = image.clone();
                        new.status = if matches!(spec, JobSpec::Public(_)) {
                            ImageStatus::UnAvailable
                        } else {
                            ImageStatus::CreateFailed
                        };
                        writes.push(Write::ReplaceImage {
                            expected: Box::new(image),
                            new: Box::new(new),
                        });
                    }
                }
                if matches!(spec, JobSpec::Copy(_)) {
                    let sent = ctx_sent(&self.running, &task);
                    note_sent(&mut task, sent);
                }
                task.finish(status, failure, now);
            }
        }
        writes.push(Write::PutTask(task));
        Ok(writes)
    }

    /// The snapshot records of a snapshot job: accomplished with their sizes, or failed.
    async fn snapshot_writes(
        &self,
        spec: &JobSpec,
        result: &Result<Outcome, JobError>,
    ) -> Result<Vec<Write>, MetaError> {
        let JobSpec::Snapshot(s) = spec else {
            return Ok(Vec::new());
        };
        let mut writes = Vec::new();
        for (i, (_, id)) in s.disks.iter().enumerate() {
            let Some(mut snap) = self.env.meta.get_snapshot(id.as_str()).await? else {
                continue;
            };
            match result {
                Ok(Outcome::Snapshot(stats)) => {
                    snap.status = SnapshotStatus::Accomplished;
                    snap.progress = 100;
                    if let Some(st) = stats.get(i) {
                        snap.virtual_size = st.virtual_size;
                        snap.data_bytes = st.data_bytes;
                    }
                }
                _ => snap.status = SnapshotStatus::Failed,
            }
            writes.push(Write::PutSnapshot(snap));
        }
        Ok(writes)
    }

    /// Deletes the indexes an unfinished import or public-image job may have committed.
    fn discard_indexes(&self, region: &str, spec: &JobSpec) {
        let Some(store) = self.env.stores.get(region) else {
            return;
        };
        let names: Vec<&str> = match spec {
            JobSpec::Import(s) => s.disks.iter().map(|d| d.snapshot_id.as_str()).collect(),
            JobSpec::Public(s) => vec![s.snapshot_id.as_str()],
            JobSpec::Snapshot(s) => s.disks.iter().map(|(_, snap)| snap.as_str()).collect(),
            // Keyed stores share the region's backend, so the plain store removes these too.
            JobSpec::Copy(s) => s.disks.iter().map(|(_, _, to)| to.as_str()).collect(),
            JobSpec::Export(_) | JobSpec::Create(_) => Vec::new(),
        };
        for name in names {
            if let Err(e) = store.delete_index(name) {
                tracing::debug!(index = name, "no index to discard: {e}");
            }
        }
    }

    async fn success_writes(
        &self,
        task: &Task,
        spec: &JobSpec,
        outcome: &Outcome,
    ) -> Result<Vec<Write>, MetaError> {
        let meta = &self.env.meta;
        let region = &task.region;
        let now = Utc::now();
        let mut writes = Vec::new();
        let image_id = match image_in_progress(spec) {
            Some(id) => id,
            None => return Ok(writes),
        };
        let Some(read) = meta.get_image(region, image_id).await? else {
            return Ok(writes);
        };
        let mut image = read.clone();
        match (spec, outcome) {
            (JobSpec::Import(s), Outcome::Import(disks)) => {
                for (i, (d, done)) in s.disks.iter().zip(disks).enumerate() {
                    let size_gib = d
                        .size_gib
                        .unwrap_or(0)
                        .max(done.virtual_size.div_ceil(GIB))
                        .max(1);
                    writes.push(Write::InsertSnapshot(Snapshot {
                        id: done.snapshot_id.clone(),
                        region: region.clone(),
                        owner: image.owner.clone(),
                        name: String::new(),
                        description: format!("Imported for image {image_id}"),
                        status: SnapshotStatus::Accomplished,
                        progress: 100,
                        creation_time: now,
                        source_disk_id: String::new(),
                        source_disk_size_gib: size_gib,
                        source_disk_type: d.disk_type,
                        virtual_size: done.virtual_size,
                        data_bytes: done.data_bytes,
                        encrypted: false,
                        kms_key_id: String::new(),
                        source_image_id: image_id.to_string(),
                        resource_group_id: image.resource_group_id.clone(),
                        tags: Vec::new(),
                    }));
                    if let Some(m) = image.disks.get_mut(i) {
                        m.snapshot_id = Some(done.snapshot_id.clone());
                        m.size_gib = size_gib;
                        m.format = Some(done.format.clone());
                        m.progress = 100;
                    }
                    if i == 0 {
                        image.size_gib = size_gib;
                    }
                }
            }
            (JobSpec::Public(s), Outcome::Public(done)) => {
                let size_gib = s.size_gib.max(done.virtual_size.div_ceil(GIB));
                writes.push(Write::PutSnapshot(Snapshot {
                    id: s.snapshot_id.clone(),
                    region: region.clone(),
                    owner: None,
                    name: String::new(),
                    description: format!("System disk of public image {image_id}"),
                    status: SnapshotStatus::Accomplished,
                    progress: 100,
                    creation_time: now,
                    source_disk_id: String::new(),
                    source_disk_size_gib: size_gib,
                    source_disk_type: DiskType::System,
                    virtual_size: done.virtual_size,
                    data_bytes: done.data_bytes,
                    encrypted: false,
                    kms_key_id: String::new(),
                    source_image_id: image_id.to_string(),
                    resource_group_id: String::new(),
                    tags: Vec::new(),
                }));
                if let Some(m) = image.disks.first_mut() {
                    m.snapshot_id = Some(s.snapshot_id.clone());
                    m.size_gib = size_gib;
                }
            }
            (JobSpec::Copy(s), Outcome::Copy(done)) => {
                let sources = copy_sources(meta, s).await?;
                for (i, ((_, _, to), copied)) in s.disks.iter().zip(&done.disks).enumerate() {
                    let src = sources.get(i).and_then(Option::as_ref);
                    let size_gib = image
                        .disks
                        .get(i)
                        .map_or(0, |m| m.size_gib)
                        .max(copied.virtual_size.div_ceil(GIB))
                        .max(1);
                    writes.push(Write::InsertSnapshot(Snapshot {
                        id: to.clone(),
                        region: region.clone(),
                        owner: image.owner.clone(),
                        name: String::new(),
                        description: format!(
                            "Copied for image {image_id} from image {} in {}",
                            s.source_image_id, s.source_region
                        ),
                        status: SnapshotStatus::Accomplished,
                        progress: 100,
                        creation_time: now,
                        source_disk_id: String::new(),
                        source_disk_size_gib: size_gib,
                        source_disk_type: src.map_or(
                            if i == 0 {
                                DiskType::System
                            } else {
                                DiskType::Data
                            },
                            |s| s.source_disk_type,
                        ),
                        virtual_size: copied.virtual_size,
                        data_bytes: copied.data_bytes,
                        encrypted: !s.kms_key_id.is_empty(),
                        kms_key_id: s.kms_key_id.clone(),
                        source_image_id: image_id.to_string(),
                        resource_group_id: image.resource_group_id.clone(),
                        tags: Vec::new(),
                    }));
                    if let Some(m) = image.disks.get_mut(i) {
                        m.snapshot_id = Some(to.clone());
                        m.size_gib = size_gib;
                    }
                }
            }
            _ => {}
        }
        image.status = match spec {
            JobSpec::Public(s) => s.status,
            _ => ImageStatus::Available,
        };
        image.progress = 100;
        for d in &mut image.disks {
            d.progress = 100;
        }
        writes.push(Write::ReplaceImage {
            expected: Box::new(read),
            new: Box::new(image),
        });
        Ok(writes)
    }
}

/// The image a job creates (and whose status it drives), if it creates one.
fn image_in_progress(spec: &JobSpec) -> Option<&str> {
    match spec {
        JobSpec::Import(s) => Some(&s.image_id),
        JobSpec::Create(s) => Some(&s.image_id),
        JobSpec::Public(s) => Some(&s.image_id),
        JobSpec::Snapshot(s) => s.image_id.as_deref(),
        JobSpec::Copy(s) => Some(&s.image_id),
        JobSpec::Export(_) => None,
    }
}

/// The source snapshots of a copy, where they still exist.
async fn copy_sources(
    meta: &stencil_meta::MetaStore,
    spec: &jobs::copy::CopySpec,
) -> Result<Vec<Option<Snapshot>>, MetaError> {
    let mut out = Vec::new();
    for (from, _, _) in &spec.disks {
        out.push(meta.get_snapshot(from.as_str()).await?);
    }
    Ok(out)
}

/// Stored bytes the running job of `task` has sent in this attempt.
fn ctx_sent(running: &Mutex<HashMap<String, Arc<JobCtx>>>, task: &Task) -> u64 {
    running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(task.id.as_str())
        .map_or(0, |c| c.sent())
}

/// Records `sent` as this attempt's `CopiedBytes.N` and the sum over attempts as `CopiedBytes`.
fn note_sent(task: &mut Task, sent: u64) {
    let this = format!("CopiedBytes.{}", task.attempts);
    task.related
        .retain(|r| r.name != this && r.name != "CopiedBytes");
    task.related.push(stencil_domain::RelatedItem {
        name: this,
        value: sent.to_string(),
    });
    let total: u64 = task
        .related
        .iter()
        .filter(|r| r.name.starts_with("CopiedBytes."))
        .filter_map(|r| r.value.parse::<u64>().ok())
        .sum();
    task.related.push(stencil_domain::RelatedItem {
        name: "CopiedBytes".into(),
        value: total.to_string(),
    });
}
