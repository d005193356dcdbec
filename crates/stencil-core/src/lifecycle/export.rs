//! ExportImage (reference §5.4): one object per disk, named
//! `{prefix}_{imageId}_{taskId}[_system|_data_xvdN].{ext}`.

use chrono::Utc;
use stencil_domain::requests::ExportImage;
use stencil_domain::{
    Busy, DomainError, ExportRefusal, ImageStatus, QuotaKind, RelatedItem, Task, TaskAction,
    TaskStatus,
};
use stencil_meta::Write;

use super::Lifecycle;
use crate::jobs::JobSpec;
use crate::jobs::export::{ExportDiskSpec, ExportSpec};
use crate::{Caller, ServiceError};

/// Most data disks an exported image may have (reference §5.4).
const MAX_EXPORT_DATA_DISKS: usize = 4;

/// The object key of disk `i` (0 = system) of an export.
pub(crate) fn export_key(
    prefix: &str,
    image_id: &str,
    task_id: &str,
    device: &str,
    i: usize,
    disks: usize,
    ext: &str,
) -> String {
    let base = if prefix.is_empty() {
        format!("{image_id}_{task_id}")
    } else {
        format!("{prefix}_{image_id}_{task_id}")
    };
    if disks == 1 {
        format!("{base}.{ext}")
    } else if i == 0 {
        format!("{base}_system.{ext}")
    } else {
        let dev = device.rsplit('/').next().unwrap_or(device);
        format!("{base}_data_{dev}.{ext}")
    }
}

impl Lifecycle {
    /// Starts an export. With `dry_run`, checks everything and returns `None`.
    pub async fn export_image(
        &self,
        caller: &Caller,
        req: ExportImage,
        dry_run: bool,
    ) -> Result<Option<String>, ServiceError> {
        let image = self.own_image(caller, &req.region, &req.image_id).await?;
        let refuse = |reason| DomainError::ExportRefused {
            image: req.image_id.clone(),
            reason,
        };
        if !image.product_code.is_empty() {
            return Err(refuse(ExportRefusal::Marketplace).into());
        }
        if image.disks.iter().any(|d| d.encrypted) {
            return Err(refuse(ExportRefusal::Encrypted).into());
        }
        if image.is_public {
            return Err(refuse(ExportRefusal::Community).into());
        }
        if image.disks.len() > 1 + MAX_EXPORT_DATA_DISKS {
            return Err(refuse(ExportRefusal::TooManyDisks).into());
        }
        if !matches!(
            image.status,
            ImageStatus::Available | ImageStatus::Deprecated
        ) {
            return Err(DomainError::ImageNotAvailable {
                image: req.image_id.clone(),
                status: image.status.to_string(),
            }
            .into());
        }
        self.bucket(&req.bucket, &req.region)?;
        if self.busy_with(&image).await? == Some(Busy::Exporting) {
            return Err(DomainError::ImageBusy {
                image: req.image_id.clone(),
                busy: Busy::Exporting,
            }
            .into());
        }
        let running = self
            .meta
            .count_tasks(
                &req.region,
                caller.account.as_str(),
                TaskAction::ExportImage,
                &[TaskStatus::Processing, TaskStatus::Waiting],
            )
            .await?;
        self.quotas
            .check(QuotaKind::ConcurrentExports, running, 1)?;
        if dry_run {
            return Ok(None);
        }

        let now = Utc::now();
        let mut task = Task::new(
            &req.region,
            Some(caller.account.clone()),
            TaskAction::ExportImage,
            image.id.as_str(),
            String::new(),
            now,
        );
        let ext = req.format.as_str();
        let mut disks = Vec::new();
        for (i, d) in image.disks.iter().enumerate() {
            let Some(snapshot_id) = d.snapshot_id.clone() else {
                return Err(DomainError::ImageNotAvailable {
                    image: req.image_id.clone(),
                    status: "without stored data".into(),
                }
                .into());
            };
            let key = export_key(
                &req.prefix,
                image.id.as_str(),
                task.id.as_str(),
                &d.device,
                i,
                image.disks.len(),
                ext,
            );
            disks.push(ExportDiskSpec { snapshot_id, key });
        }
        task.related = vec![RelatedItem {
            name: "OSSBucket".into(),
            value: req.bucket.clone(),
        }];
        task.related.extend(disks.iter().map(|d| RelatedItem {
            name: "OSSObject".into(),
            value: d.key.clone(),
        }));
        task.related.push(RelatedItem {
            name: "ImageFormat".into(),
            value: ext.to_string(),
        });
        task.spec = JobSpec::Export(ExportSpec {
            image_id: image.id.to_string(),
            bucket: req.bucket.clone(),
            format: req.format,
            disks,
        })
        .encode();
        self.meta
            .apply(vec![Write::InsertTask(task.clone())])
            .await?;
        let id = task.id.to_string();
        self.runner.start(task);
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::export_key;

    #[test]
    fn export_keys_follow_the_reference_pattern() {
        assert_eq!(
            export_key("PRE", "m-1", "t-2", "/dev/xvda", 0, 1, "vhd"),
            "PRE_m-1_t-2.vhd"
        );
        assert_eq!(
            export_key("", "m-1", "t-2", "/dev/xvda", 0, 2, "raw"),
            "m-1_t-2_system.raw"
        );
        assert_eq!(
            export_key("P", "m-1", "t-2", "/dev/xvdb", 1, 2, "qcow2"),
            "P_m-1_t-2_data_xvdb.qcow2"
        );
    }
}
