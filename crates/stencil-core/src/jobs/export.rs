//! ExportImage: chunk store → one-pass format writer → bucket object, one object per disk.
//! Nothing is staged on local disk: the writer streams into the bucket's object writer, which
//! makes the object visible only when it is complete.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stencil_chunks::{ChunkStore, DiskReader};
use stencil_domain::{ExportFormat, SnapshotId};

use super::source::{Cancelled, CountingSource, data_bytes, format_kind};
use super::{JobCtx, JobEnv, JobError};

/// One disk to export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportDiskSpec {
    /// The disk's snapshot (index name).
    pub snapshot_id: SnapshotId,
    /// The object key to write.
    pub key: String,
}

/// The whole export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSpec {
    /// The image.
    pub image_id: String,
    /// Bucket name.
    pub bucket: String,
    /// Output format.
    pub format: ExportFormat,
    /// System disk first.
    pub disks: Vec<ExportDiskSpec>,
}

/// The writer for an export format.
pub fn output_format(f: ExportFormat) -> stencil_formats::OutputFormat {
    match f {
        ExportFormat::Raw => stencil_formats::OutputFormat::Raw,
        ExportFormat::Vhd => stencil_formats::OutputFormat::VhdDynamic,
        ExportFormat::Qcow2 => stencil_formats::OutputFormat::Qcow2,
        ExportFormat::Vmdk => stencil_formats::OutputFormat::VmdkStreamOptimized,
        ExportFormat::Vdi => stencil_formats::OutputFormat::VdiDynamic,
    }
}

/// A stored disk's allocation map as the format writers take it.
pub fn writer_extents(index: &stencil_chunks::Index) -> Vec<stencil_formats::Extent> {
    index
        .allocation()
        .into_iter()
        .map(|e| stencil_formats::Extent {
            offset: e.offset,
            length: e.length,
            kind: format_kind(e.kind),
        })
        .collect()
}

/// Writes every disk's object. On any failure the objects already written are removed.
pub fn run(
    env: &JobEnv,
    store: &ChunkStore,
    spec: &ExportSpec,
    ctx: &JobCtx,
) -> Result<(), JobError> {
    let bucket = env.buckets.get(&spec.bucket).ok_or_else(|| {
        JobError::failed(
            "InvalidOSSBucket.NotFound",
            format!("Bucket {:?} is no longer configured", spec.bucket),
        )
    })?;
    let mut disks = Vec::with_capacity(spec.disks.len());
    let mut total = 0;
    for d in &spec.disks {
        let index = store.load_index(d.snapshot_id.as_str()).map_err(|e| {
            JobError::internal(format!(
                "Snapshot {} has no stored data: {e}",
                d.snapshot_id
            ))
        })?;
        let extents = writer_extents(&index);
        total += data_bytes(&index.allocation());
        disks.push((d, Arc::new(index), extents));
    }
    ctx.set_total(total);
    for d in &spec.disks {
        // An earlier attempt killed mid-write (this is a resumed task) left its temp data.
        if let Err(e) = bucket.discard_partial(&d.key) {
            tracing::warn!(key = %d.key, "cannot remove a killed export's partial object: {e}");
        }
    }
    let mut written: Vec<&str> = Vec::new();
    let result = (|| {
        for (d, index, extents) in &disks {
            let reader = DiskReader::new(store.clone(), index.clone());
            let source = CountingSource {
                reader: &reader,
                ctx,
            };
            let mut out = bucket
                .create(&d.key)
                .map_err(|e| JobError::failed("ExportImageFailed", e.to_string()))?;
            let wrote = stencil_formats::write(
                output_format(spec.format),
                index.virtual_size(),
                extents,
                &source,
                &mut *out,
            );
            match wrote {
                Ok(_) => {
                    out.finish()
                        .map_err(|e| JobError::failed("ExportImageFailed", e.to_string()))?;
                    written.push(&d.key);
                }
                Err(e) => {
                    out.abort();
                    if ctx.is_cancelled() || is_cancelled(&e) {
                        return Err(JobError::Cancelled);
                    }
                    return Err(JobError::failed(
                        "ExportImageFailed",
                        format!("Disk {}: {e}", d.snapshot_id),
                    ));
                }
            }
        }
        Ok(())
    })();
    if result.is_err() {
        for key in written {
            let _ = bucket.delete(key);
        }
    }
    result
}

fn is_cancelled(e: &stencil_formats::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<Cancelled>() {
            return true;
        }
        source = s.source();
    }
    false
}
