//! Garbage collection and verification of the chunk stores, as `stencil admin gc` and
//! `stencil admin verify` run them.
//!
//! GC has two steps per region. First, indexes that no snapshot record and no unfinished task
//! names are deleted: they are left over from a crash between deleting a snapshot's record and
//! its index, or from an import that was killed and then failed. Base indexes of existing
//! disks are kept. Then the chunk store's own GC
//! sweeps chunks no remaining index names, older than the oldest open writer session minus a
//! margin. A running import is safe throughout: its task names its indexes, and its session
//! record holds the chunk cutoff back.

use std::collections::HashSet;

use stencil_chunks::gc::{GcOptions, GcReport, gc};
use stencil_chunks::verify::{VerifyReport, verify};
use stencil_domain::DomainError;
use stencil_meta::{MetaStore, SnapshotQuery};

use crate::jobs::JobSpec;
use crate::{RegionStores, ServiceError};

/// What GC did in one region.
#[derive(Debug)]
pub struct RegionGc {
    /// The region.
    pub region: String,
    /// Indexes removed because nothing names them.
    pub orphan_indexes: Vec<String>,
    /// The chunk sweep.
    pub chunks: GcReport,
}

/// The index names something still needs: every snapshot record, every snapshot an
/// unfinished task will write, and the base indexes (`disk-<id>-g<N>`) of existing disks.
async fn needed_indexes(meta: &MetaStore, region: &str) -> Result<HashSet<String>, ServiceError> {
    let mut keep = HashSet::new();
    let mut query = SnapshotQuery::new(region);
    query.limit = 1000;
    loop {
        let page = meta.list_snapshots(&query).await?;
        let n = page.items.len() as u64;
        keep.extend(page.items.into_iter().map(|s| s.id.to_string()));
        if n < query.limit {
            break;
        }
        query.offset += n;
    }
    for task in meta.unfinished_tasks().await? {
        match JobSpec::decode(&task.spec) {
            Ok(JobSpec::Import(s)) => {
                keep.extend(s.disks.iter().map(|d| d.snapshot_id.to_string()));
            }
            Ok(JobSpec::Public(s)) => {
                keep.insert(s.snapshot_id.to_string());
            }
            Ok(JobSpec::Snapshot(s)) => {
                keep.extend(s.disks.iter().map(|(_, snap)| snap.to_string()));
            }
            Ok(JobSpec::Copy(s)) => {
                keep.extend(s.disks.iter().map(|(_, _, to)| to.to_string()));
            }
            Ok(JobSpec::Export(_) | JobSpec::Create(_)) | Err(_) => {}
        }
    }
    Ok(keep)
}

/// Runs GC over every region's store.
pub async fn collect_garbage(
    meta: &MetaStore,
    stores: &RegionStores,
    opts: GcOptions,
) -> Result<Vec<RegionGc>, ServiceError> {
    let mut out = Vec::new();
    let mut regions: Vec<_> = stores.iter().map(|(r, s)| (r.clone(), s.clone())).collect();
    regions.sort_by(|a, b| a.0.cmp(&b.0));
    for (region, store) in regions {
        // Indexes are listed before the records that keep them are read: an index committed
        // after the listing (another node's import finishing now) is not looked at, and one
        // listed was committed before its snapshot or task could be missing from the read.
        let listed = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.list_indexes())
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?
                .map_err(|e| DomainError::Internal(format!("GC of region {region}: {e}")))?
        };
        let keep = needed_indexes(meta, &region).await?;
        let disks: HashSet<String> = meta
            .all_disks()
            .await?
            .into_iter()
            .map(|d| format!("disk-{}-g", d.id))
            .collect();
        let r = region.clone();
        let done =
            tokio::task::spawn_blocking(move || -> Result<RegionGc, stencil_chunks::Error> {
                let mut orphans = Vec::new();
                for name in listed {
                    let disk_base = name
                        .rfind("-g")
                        .is_some_and(|at| disks.contains(&name[..at + 2]));
                    if !keep.contains(&name) && !disk_base {
                        if !opts.dry_run {
                            store.delete_index(&name)?;
                        }
                        orphans.push(name);
                    }
                }
                let chunks = gc(&store, &opts)?;
                Ok(RegionGc {
                    region: r,
                    orphan_indexes: orphans,
                    chunks,
                })
            })
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?
            .map_err(|e| DomainError::Internal(format!("GC of region {region}: {e}")))?;
        out.push(done);
    }
    Ok(out)
}

/// Reads and checks every chunk of every region's store.
pub async fn verify_stores(
    stores: &RegionStores,
) -> Result<Vec<(String, VerifyReport)>, ServiceError> {
    let mut regions: Vec<_> = stores.iter().map(|(r, s)| (r.clone(), s.clone())).collect();
    regions.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (region, store) in regions {
        let report = tokio::task::spawn_blocking(move || verify(&store))
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?
            .map_err(|e| DomainError::Internal(format!("verify of region {region}: {e}")))?;
        out.push((region, report));
    }
    Ok(out)
}

/// Scheduled maintenance: `work` runs every `every` on one node at a time, the one holding the
/// lease `name`. The holder keeps it by taking it again each round, and renews it every half
/// round while `work` runs; if the holder dies, another node takes the lease once two rounds
/// have passed without a renewal.
pub fn schedule<F, Fut>(
    meta: MetaStore,
    node: String,
    name: &'static str,
    every: std::time::Duration,
    work: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<String, ServiceError>> + Send,
{
    let ttl_ms = i64::try_from((every * 2).as_millis()).unwrap_or(i64::MAX / 4);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let take = || meta.acquire_lease(name, &node, crate::runner::now_ms(), ttl_ms);
            match take().await {
                Ok(true) => {
                    let run = work();
                    tokio::pin!(run);
                    let result = loop {
                        tokio::select! {
                            r = &mut run => break r,
                            () = tokio::time::sleep(every / 2) => {
                                if let Err(e) = take().await {
                                    tracing::warn!("scheduled {name}: cannot renew its lease: {e}");
                                }
                            }
                        }
                    };
                    match result {
                        Ok(summary) => tracing::info!(node = %node, "scheduled {name}: {summary}"),
                        Err(e) => tracing::warn!(node = %node, "scheduled {name} failed: {e}"),
                    }
                }
                Ok(false) => tracing::debug!(node = %node, "scheduled {name} runs on another node"),
                Err(e) => tracing::warn!("scheduled {name}: cannot take its lease: {e}"),
            }
        }
    })
}

/// One line about a GC run.
pub fn gc_summary(runs: &[RegionGc]) -> String {
    runs.iter()
        .map(|r| {
            format!(
                "{}: {} orphan indexes, {} chunks ({} bytes) removed",
                r.region,
                r.orphan_indexes.len(),
                r.chunks.removed,
                r.chunks.removed_bytes
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line about a verify run.
pub fn verify_summary(runs: &[(String, VerifyReport)]) -> String {
    runs.iter()
        .map(|(region, r)| {
            format!(
                "{region}: {} chunks checked, {} bad, {} missing, {} unreadable indexes",
                r.blobs_checked,
                r.bad.len(),
                r.missing.len(),
                r.bad_indexes.len()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}
