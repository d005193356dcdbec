//! The work behind durable tasks. Each job kind has a serialisable spec (stored in the task, so
//! a restart can run it again), a blocking `run` that moves bytes, and an async `complete`
//! that records the result in one metadata transaction.
//!
//! Every job can run again from the start after a crash: imports delete the indexes an earlier
//! attempt may have committed and re-chunk (chunks already stored are skipped, so the second
//! attempt costs about one read of the source), exports rewrite their objects, the others only
//! read. Nothing is recorded as done until the bytes it names are durable.

pub mod copy;
pub mod create;
pub mod export;
pub mod import;
pub mod public;
pub mod snapshot;
mod source;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use stencil_domain::TaskFailure;
use stencil_meta::MetaStore;

use crate::buckets::Buckets;
use crate::disks::{DiskRegistry, SnapshotStats};
use crate::stores::RegionStores;

/// What a task does, as stored in `Task::spec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSpec {
    /// ImportImage.
    Import(import::ImportSpec),
    /// ExportImage.
    Export(export::ExportSpec),
    /// CreateImage from snapshots.
    Create(create::CreateSpec),
    /// The bytes of a public catalog image.
    Public(public::PublicSpec),
    /// Disk snapshots (CreateSnapshot, CreateImage from an instance).
    Snapshot(snapshot::SnapshotSpec),
    /// CopyImage into the task's region.
    Copy(copy::CopySpec),
}

impl JobSpec {
    /// The JSON stored in the task.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored spec.
    pub fn decode(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| format!("unreadable task spec: {e}"))
    }
}

/// What jobs work with.
#[derive(Debug, Clone)]
pub struct JobEnv {
    /// Metadata.
    pub meta: MetaStore,
    /// Chunk stores by region.
    pub stores: RegionStores,
    /// Buckets by name.
    pub buckets: Arc<Buckets>,
    /// The disks this node serves.
    pub disks: DiskRegistry,
}

/// How a job ended badly.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// `CancelTask` stopped it.
    Cancelled,
    /// It failed for a reason the user can act on (bad data, missing object).
    Failed(TaskFailure),
}

impl JobError {
    /// A failure with `code` and `message`.
    pub fn failed(code: &str, message: impl Into<String>) -> Self {
        JobError::Failed(TaskFailure {
            code: code.to_string(),
            message: message.into(),
        })
    }

    /// A failure of Stencil itself (storage, metadata).
    pub fn internal(message: impl std::fmt::Display) -> Self {
        JobError::failed("InternalError", message.to_string())
    }
}

/// A running job's view of its task: cancellation and progress, shared with the runner.
#[derive(Debug, Default)]
pub struct JobCtx {
    cancel: AtomicBool,
    lost: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
    sent: AtomicU64,
}

impl JobCtx {
    /// Asks the job to stop at its next read.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Release);
    }

    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Acquire)
    }

    /// The task's lease went to another node: stop, and record nothing (the other node owns
    /// the task now).
    pub fn lose(&self) {
        self.lost.store(true, Ordering::Release);
        self.cancel();
    }

    /// Whether the lease was lost.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// Sets the amount of work (bytes to read).
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Release);
    }

    /// Counts finished work.
    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::AcqRel);
    }

    /// Counts stored bytes sent to another store (copies).
    pub fn count_sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::AcqRel);
    }

    /// Stored bytes sent so far by this run.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// 0–99 while running: 100 is only reported when the result is recorded.
    pub fn percent(&self) -> u8 {
        let total = self.total.load(Ordering::Acquire);
        if total == 0 {
            return 0;
        }
        let done = self.done.load(Ordering::Acquire).min(total);
        ((done as u128 * 100 / total as u128) as u8).min(99)
    }
}

/// What a finished `run` produced, for `complete`.
#[derive(Debug)]
pub enum Outcome {
    /// Imported disks.
    Import(Vec<import::ImportedDisk>),
    /// Objects written.
    Export,
    /// Snapshots checked.
    Create,
    /// Public image stored.
    Public(public::PublicResult),
    /// Disks snapshotted, in spec order.
    Snapshot(Vec<SnapshotStats>),
    /// Disks copied.
    Copy(copy::CopyResult),
}

/// Runs the blocking part of `spec` in `region`.
pub fn run(env: &JobEnv, region: &str, spec: &JobSpec, ctx: &JobCtx) -> Result<Outcome, JobError> {
    let store = env
        .stores
        .get(region)
        .ok_or_else(|| JobError::internal(format!("Region {region} has no chunk store")))?;
    match spec {
        JobSpec::Import(s) => import::run(env, store, s, ctx).map(Outcome::Import),
        JobSpec::Export(s) => export::run(env, store, s, ctx).map(|()| Outcome::Export),
        JobSpec::Create(s) => create::run(store, s, ctx).map(|()| Outcome::Create),
        JobSpec::Public(s) => public::run(store, s, ctx).map(Outcome::Public),
        JobSpec::Snapshot(s) => snapshot::run(env, s, ctx).map(Outcome::Snapshot),
        JobSpec::Copy(s) => copy::run(env, region, s, ctx).map(Outcome::Copy),
    }
}
