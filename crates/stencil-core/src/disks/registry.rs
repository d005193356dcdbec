//! The disks this node serves, by ID: one [`DiskDevice`] per disk, shared by every NBD
//! connection and snapshot job, opened from the disk's record.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use stencil_chunks::ReadCheck;
use stencil_domain::Disk;

use super::{DiskDevice, DiskState};
use crate::stores::RegionStores;

/// Open disks. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DiskRegistry {
    root: PathBuf,
    stores: RegionStores,
    check: ReadCheck,
    open: Arc<Mutex<HashMap<String, Arc<DiskDevice>>>>,
}

impl DiskRegistry {
    /// Disks whose overlays live under `root` (`<data-dir>/disks`), reading chunks with full
    /// digest checks.
    pub fn new(root: PathBuf, stores: RegionStores) -> Self {
        DiskRegistry {
            root,
            stores,
            check: ReadCheck::Digest,
            open: Arc::default(),
        }
    }

    /// The same registry with disk reads recomputing each chunk's digest (`true`) or relying on
    /// the CRC-32 of its stored bytes and, when encrypted, its AES-GCM tag (`false`):
    /// `[server] verify_disk_reads`.
    pub fn verify_reads(mut self, digests: bool) -> Self {
        self.check = if digests {
            ReadCheck::Digest
        } else {
            ReadCheck::Stored
        };
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<DiskDevice>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open_state(&self, disk: &Disk) -> io::Result<DiskState> {
        let store = self
            .stores
            .for_key(&disk.region, &disk.kms_key_id)
            .ok_or_else(|| {
                io::Error::other(format!(
                    "Region {} has no chunk store for key {:?}",
                    disk.region, disk.kms_key_id
                ))
            })?;
        let index = store
            .load_index(&disk.base_index)
            .map_err(|e| io::Error::other(format!("Base of disk {}: {e}", disk.id)))?;
        let dir = self
            .root
            .join(disk.id.as_str())
            .join(format!("g{}", disk.generation));
        DiskState::open(store, Arc::new(index), self.check, &dir, disk.generation)
    }

    /// The device of `disk`, opened if needed; if the record names a newer generation (a
    /// reset), the device switches to it and the old overlay is removed.
    pub fn attach(&self, disk: &Disk) -> io::Result<Arc<DiskDevice>> {
        let existing = self.lock().get(disk.id.as_str()).cloned();
        if let Some(dev) = existing {
            let current = dev.state().map(|s| s.generation()).ok();
            if current == Some(disk.generation) {
                return Ok(dev);
            }
            let state = self.open_state(disk)?;
            {
                let _frozen = dev.freeze();
                dev.replace(Some(state));
            }
            if let Some(old) = current {
                let dir = self.root.join(disk.id.as_str()).join(format!("g{old}"));
                let _ = std::fs::remove_dir_all(dir);
            }
            return Ok(dev);
        }
        let dev = Arc::new(DiskDevice::new(disk.id.as_str(), self.open_state(disk)?));
        Ok(self
            .lock()
            .entry(disk.id.to_string())
            .or_insert(dev)
            .clone())
    }

    /// The open device of disk `id`.
    pub fn get(&self, id: &str) -> Option<Arc<DiskDevice>> {
        self.lock().get(id).cloned()
    }

    /// IDs of the open disks, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock().keys().cloned().collect();
        names.sort();
        names
    }

    /// Makes every acknowledged write of every open disk durable (graceful shutdown: NBD
    /// clients may disconnect without a FLUSH). Returns the first error after trying all.
    pub fn flush_all(&self) -> io::Result<()> {
        let devices: Vec<_> = self.lock().values().cloned().collect();
        let mut first = Ok(());
        for dev in devices {
            if let Err(e) = dev.flush()
                && first.is_ok()
                && e.kind() != io::ErrorKind::NotFound
            {
                first = Err(e);
            }
        }
        first
    }

    /// Closes disk `id` for good: connections get errors, the overlay files go.
    pub fn release(&self, id: &str) {
        if let Some(dev) = self.lock().remove(id) {
            let _frozen = dev.freeze();
            dev.replace(None);
        }
        let _ = std::fs::remove_dir_all(self.root.join(id));
    }
}
