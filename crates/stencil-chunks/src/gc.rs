//! Garbage collection: mark from every committed index, sweep what is unmarked and older than
//! the oldest open writer session minus a margin. No reference counts.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use crate::backend::Namespace;
use crate::digest::Digest;
use crate::error::Result;
use crate::store::{ChunkStore, list_sessions};

/// GC knobs.
#[derive(Debug, Clone, Copy)]
pub struct GcOptions {
    /// Safety margin below the cutoff (clock skew between processes/hosts, coarse file times).
    /// Never less than the store's `touch_slack`.
    pub margin: Duration,
    /// Session records older than this are treated as dead (their process was killed) and removed.
    pub session_expiry: Duration,
    /// Report what would be removed without removing it.
    pub dry_run: bool,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            margin: Duration::from_secs(300),
            session_expiry: Duration::from_secs(24 * 3600),
            dry_run: false,
        }
    }
}

/// What a GC run did.
#[derive(Debug, Clone, Default)]
pub struct GcReport {
    /// Committed indexes read in the mark phase.
    pub indexes: usize,
    /// Distinct chunks reachable from them.
    pub marked: usize,
    /// Blobs listed.
    pub blobs: usize,
    /// Blobs removed (or that would be, in a dry run).
    pub removed: usize,
    /// Stored bytes removed.
    pub removed_bytes: u64,
    /// Unreferenced blobs kept because they are newer than the cutoff.
    pub pending: usize,
    /// Open sessions that held the cutoff back.
    pub open_sessions: usize,
    /// Expired session records removed.
    pub expired_sessions: usize,
    /// Temp files of killed writers removed.
    pub temp_removed: usize,
    /// Blobs whose modified time is older than this and that are unmarked were removed.
    pub cutoff: Option<SystemTime>,
}

/// Runs one GC over `store`. A corrupt or unreadable index aborts the run before anything is
/// deleted (it could name chunks we would otherwise remove).
pub fn gc(store: &ChunkStore, opts: &GcOptions) -> Result<GcReport> {
    let backend = store.backend();
    let t0 = SystemTime::now();
    let mut report = GcReport::default();
    let mut oldest = t0;
    for s in list_sessions(backend.as_ref())? {
        match s.started {
            Some(start)
                if t0
                    .duration_since(start)
                    .is_ok_and(|age| age > opts.session_expiry) =>
            {
                if !opts.dry_run {
                    backend.delete_object(Namespace::Session, &s.id)?;
                }
                report.expired_sessions += 1;
            }
            Some(start) => {
                oldest = oldest.min(start);
                report.open_sessions += 1;
            }
            // Unreadable record: be conservative and sweep nothing.
            None => oldest = SystemTime::UNIX_EPOCH,
        }
    }
    // Importers skip touching blobs modified within `touch_slack` of their start.
    let margin = opts.margin.max(store.config().touch_slack);
    let cutoff = oldest.checked_sub(margin).unwrap_or(SystemTime::UNIX_EPOCH);
    report.cutoff = Some(cutoff);

    let mut live: HashSet<Digest> = HashSet::new();
    for name in store.list_indexes()? {
        let index = store.load_index(&name)?;
        live.extend(
            index
                .entries()
                .iter()
                .map(|e| e.digest)
                .filter(|d| !d.is_zero()),
        );
        report.indexes += 1;
    }
    report.marked = live.len();

    let mut candidates = Vec::new();
    backend.list_blobs(&mut |b| {
        report.blobs += 1;
        if !live.contains(&b.digest) {
            if b.modified < cutoff {
                candidates.push((b.digest, b.size));
            } else {
                report.pending += 1;
            }
        }
        Ok(())
    })?;
    for (digest, size) in candidates {
        // Re-read the time right before deleting: a writer may have touched it since the listing.
        match backend.blob_modified(&digest)? {
            Some(m) if m < cutoff => {
                if !opts.dry_run {
                    backend.delete_blob(&digest)?;
                }
                report.removed += 1;
                report.removed_bytes += size;
            }
            Some(_) => report.pending += 1,
            None => {}
        }
    }
    if !opts.dry_run {
        report.temp_removed = backend.sweep_temp(cutoff)?;
    }
    Ok(report)
}
