//! StartInstance, StopInstance and DeleteInstance: the instance status machine.

use chrono::Utc;
use stencil_domain::requests::InstanceAction;
use stencil_domain::{DiskStatus, DomainError, Instance, InstanceStatus};
use stencil_meta::{MetaError, Write};

use super::Instances;
use crate::{Caller, ServiceError};

fn wrong_status(i: &Instance, operation: &'static str, needed: &'static str) -> ServiceError {
    DomainError::IncorrectInstanceStatus {
        instance: i.id.to_string(),
        status: i.status.to_string(),
        operation,
        needed,
    }
    .into()
}

impl Instances {
    /// Moves an instance from `from` to `to` with a compare-and-swap, retried when something
    /// else changed the record meanwhile.
    async fn transition(
        &self,
        caller: &Caller,
        id: &str,
        from: InstanceStatus,
        to: InstanceStatus,
        operation: &'static str,
        dry_run: bool,
    ) -> Result<Instance, ServiceError> {
        loop {
            let read = self.own_instance(caller, id).await?;
            if read.status != from {
                return Err(wrong_status(&read, operation, from.as_str()));
            }
            if dry_run {
                return Ok(read);
            }
            let mut new = read.clone();
            new.status = to;
            if to == InstanceStatus::Running {
                new.start_time = Some(Utc::now());
            }
            match self
                .meta()
                .apply(vec![Write::ReplaceInstance {
                    expected: Box::new(read),
                    new: Box::new(new.clone()),
                }])
                .await
            {
                Err(MetaError::Conflict(_)) => continue,
                r => {
                    r?;
                    return Ok(new);
                }
            }
        }
    }

    /// StartInstance: Stopped → Running.
    pub async fn start_instance(
        &self,
        caller: &Caller,
        req: &InstanceAction,
        dry_run: bool,
    ) -> Result<(), ServiceError> {
        self.transition(
            caller,
            &req.instance_id,
            InstanceStatus::Stopped,
            InstanceStatus::Running,
            "StartInstance",
            dry_run,
        )
        .await
        .map(|_| ())
    }

    /// StopInstance: Running → Stopped. The disks' overlays are flushed, as a guest's caches
    /// are at shutdown.
    pub async fn stop_instance(
        &self,
        caller: &Caller,
        req: &InstanceAction,
        dry_run: bool,
    ) -> Result<(), ServiceError> {
        let stopped = self
            .transition(
                caller,
                &req.instance_id,
                InstanceStatus::Running,
                InstanceStatus::Stopped,
                "StopInstance",
                dry_run,
            )
            .await?;
        if !dry_run {
            self.flush_disks(&stopped).await;
        }
        Ok(())
    }

    async fn flush_disks(&self, instance: &Instance) {
        let devices: Vec<_> = instance
            .disk_ids()
            .filter_map(|d| self.disks.get(d.as_str()))
            .collect();
        let _ = tokio::task::spawn_blocking(move || {
            for d in devices {
                if let Err(e) = d.flush() {
                    tracing::warn!(disk = d.id(), "flush at stop failed: {e}");
                }
            }
        })
        .await;
    }

    /// DeleteInstance: a Stopped instance (or any, with `Force`) and the disks released with
    /// it; data disks with `DeleteWithInstance=false` stay as Available disks. Snapshots stay.
    pub async fn delete_instance(
        &self,
        caller: &Caller,
        req: &InstanceAction,
        dry_run: bool,
    ) -> Result<(), ServiceError> {
        let instance = self.own_instance(caller, &req.instance_id).await?;
        if instance.status != InstanceStatus::Stopped && !req.force {
            return Err(wrong_status(
                &instance,
                "DeleteInstance",
                "Stopped (or Force)",
            ));
        }
        if dry_run {
            return Ok(());
        }
        let disks = self.meta().disks_of_instance(instance.id.as_str()).await?;
        let mut writes = vec![Write::DeleteInstance(instance.id.to_string())];
        let mut released = Vec::new();
        for d in disks {
            if d.delete_with_instance {
                writes.push(Write::DeleteDisk(d.id.to_string()));
                released.push(d);
            } else {
                let mut kept = d.clone();
                kept.instance_id = None;
                kept.status = DiskStatus::Available;
                kept.attached_time = None;
                writes.push(Write::ReplaceDisk {
                    expected: Box::new(d),
                    new: Box::new(kept),
                });
            }
        }
        self.meta().apply(writes).await?;
        self.release(released).await;
        self.refresh_usage(&instance.region, instance.image_id.as_str())
            .await
    }
}
