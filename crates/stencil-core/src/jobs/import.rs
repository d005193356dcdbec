//! ImportImage: bucket object → format reader → chunk store, one index per disk.

use serde::{Deserialize, Serialize};
use stencil_chunks::ChunkStore;
use stencil_domain::{DiskType, ImportFormat, SnapshotId};

use super::source::{Cancelled, FormatSource, data_bytes};
use super::{JobCtx, JobEnv, JobError};
use crate::buckets::BucketError;

/// One disk to import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportDiskSpec {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub object: String,
    /// Declared format, if any.
    pub format: Option<ImportFormat>,
    /// `DiskImageSize` in GiB.
    pub size_gib: Option<u64>,
    /// The snapshot this disk becomes (its index has the same name).
    pub snapshot_id: SnapshotId,
    /// System or data.
    pub disk_type: DiskType,
}

/// The whole import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSpec {
    /// The `Creating` image.
    pub image_id: String,
    /// System disk first.
    pub disks: Vec<ImportDiskSpec>,
}

/// One imported disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedDisk {
    /// Its snapshot.
    pub snapshot_id: SnapshotId,
    /// Exact guest size.
    pub virtual_size: u64,
    /// Bytes in non-zero chunks.
    pub data_bytes: u64,
    /// The format found.
    pub format: String,
}

const GIB: u64 = 1 << 30;

fn declared(f: ImportFormat) -> stencil_formats::Format {
    match f {
        ImportFormat::Raw => stencil_formats::Format::Raw,
        ImportFormat::Vhd => stencil_formats::Format::Vhd,
        ImportFormat::Qcow2 => stencil_formats::Format::Qcow2,
        ImportFormat::Vmdk => stencil_formats::Format::Vmdk,
    }
}

/// A task failure for an object that cannot be read as an image.
pub(crate) fn bucket_failure(disk: usize, d: &ImportDiskSpec, e: BucketError) -> JobError {
    let what = format!("Disk {disk} (bucket {:?}, object {:?})", d.bucket, d.object);
    match e {
        BucketError::NotFound { .. } => JobError::failed(
            "InvalidOSSObject.NotFound",
            format!("{what}: the object does not exist"),
        ),
        BucketError::Format(f) => {
            let code = match f.kind() {
                stencil_formats::ErrorKind::FormatMismatch => "InvalidImageFormat.NotMatch",
                stencil_formats::ErrorKind::UnsupportedFormat
                | stencil_formats::ErrorKind::UnsupportedFeature
                | stencil_formats::ErrorKind::ExternalFile => "InvalidImageFormat.Malformed",
                _ => "InvalidImage.Corrupt",
            };
            JobError::failed(code, format!("{what}: {f}"))
        }
        other => JobError::failed("ImportImageFailed", format!("{what}: {other}")),
    }
}

/// Imports every disk. All disks are opened and checked before any byte is stored, so a bad
/// second disk fails the task before the first one is chunked.
pub fn run(
    env: &JobEnv,
    store: &ChunkStore,
    spec: &ImportSpec,
    ctx: &JobCtx,
) -> Result<Vec<ImportedDisk>, JobError> {
    for d in &spec.disks {
        // An earlier attempt (before a restart) may have committed some of them.
        let _ = store.delete_index(d.snapshot_id.as_str());
    }
    let mut readers = Vec::with_capacity(spec.disks.len());
    let mut total = 0u64;
    for (i, d) in spec.disks.iter().enumerate() {
        let n = i + 1;
        let bucket = env.buckets.get(&d.bucket).ok_or_else(|| {
            JobError::failed(
                "InvalidOSSBucket.NotFound",
                format!("Disk {n}: bucket {:?} is no longer configured", d.bucket),
            )
        })?;
        let reader = bucket
            .open_image(&d.object, d.format.map(declared))
            .map_err(|e| bucket_failure(n, d, e))?;
        let vsize = reader.virtual_size();
        if let Some(limit) = d.size_gib
            && vsize > limit.saturating_mul(GIB)
        {
            return Err(JobError::failed(
                "InvalidImageSize",
                format!(
                    "Disk {n} ({:?}): the image's virtual size {vsize} bytes is larger than \
                     DiskImageSize {limit} GiB",
                    d.object
                ),
            ));
        }
        let extents = FormatSource {
            reader: reader.as_ref(),
            ctx,
        };
        let map = stencil_chunks::GuestSource::extents(&extents).map_err(|e| {
            JobError::failed(
                "InvalidImage.Corrupt",
                format!("Disk {n} ({:?}): {e}", d.object),
            )
        })?;
        total += data_bytes(&map);
        readers.push(reader);
    }
    ctx.set_total(total);
    let session = store.begin_session().map_err(JobError::internal)?;
    let mut out = Vec::with_capacity(readers.len());
    for (i, (d, reader)) in spec.disks.iter().zip(&readers).enumerate() {
        let source = FormatSource {
            reader: reader.as_ref(),
            ctx,
        };
        let (index, stats) = match session.import(&source) {
            Ok(r) => r,
            Err(_) if ctx.is_cancelled() => return Err(JobError::Cancelled),
            Err(stencil_chunks::Error::Source { offset, source }) => {
                if source.is::<Cancelled>() {
                    return Err(JobError::Cancelled);
                }
                return Err(JobError::failed(
                    "InvalidImage.Corrupt",
                    format!(
                        "Disk {} ({:?}): cannot read at offset {offset:#x}: {source}",
                        i + 1,
                        d.object
                    ),
                ));
            }
            Err(e) => return Err(JobError::internal(e)),
        };
        session
            .commit(d.snapshot_id.as_str(), &index)
            .map_err(JobError::internal)?;
        out.push(ImportedDisk {
            snapshot_id: d.snapshot_id.clone(),
            virtual_size: stats.virtual_size,
            data_bytes: stats.data_bytes,
            format: reader.format().ecs_name().to_ascii_lowercase(),
        });
    }
    session.finish().map_err(JobError::internal)?;
    Ok(out)
}
