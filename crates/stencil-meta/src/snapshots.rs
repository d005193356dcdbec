//! Snapshot rows (filter columns plus the snapshot as JSON) and their tags in `snapshot_tags`.
//! Snapshot IDs are unique across regions, so the ID alone names a snapshot.

use stencil_domain::{DiskType, Snapshot, SnapshotStatus, SnapshotUsage, Tag};

use crate::db::{Arg, DbRow, Tx, limit_offset};
use crate::query::Where;
use crate::{MetaError, MetaStore, Page};

/// A snapshot listing (`DescribeSnapshots`).
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotQuery {
    /// The region to list.
    pub region: String,
    /// Only snapshots of this account; `None` lists every owner's (catalog ones included).
    pub owner: Option<String>,
    /// Only these snapshot IDs; empty means any.
    pub ids: Vec<String>,
    /// Only snapshots with exactly this name.
    pub name: Option<String>,
    /// Only snapshots in this status.
    pub status: Option<SnapshotStatus>,
    /// Only snapshots of this kind of disk.
    pub disk_type: Option<DiskType>,
    /// `Image`: backs images only; `Disk`: is the source of disks only; `ImageDisk`: both;
    /// `None`: neither.
    pub usage: Option<SnapshotUsage>,
    /// Only encrypted (or only unencrypted) snapshots.
    pub encrypted: Option<bool>,
    /// Only snapshots of this source disk.
    pub disk_id: Option<String>,
    /// Every one of these tags (key and value, exactly) must be on the snapshot.
    pub tags: Vec<Tag>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

impl SnapshotQuery {
    /// Every snapshot in `region`, any owner, first 10.
    pub fn new(region: &str) -> Self {
        SnapshotQuery {
            region: region.to_string(),
            owner: None,
            ids: Vec::new(),
            name: None,
            status: None,
            disk_type: None,
            usage: None,
            encrypted: None,
            disk_id: None,
            tags: Vec::new(),
            offset: 0,
            limit: 10,
        }
    }

    fn where_clause(&self) -> (String, Vec<Arg>) {
        let mut w = Where::default();
        w.push("s.region = ?", vec![self.region.as_str().into()]);
        if let Some(o) = &self.owner {
            w.push("s.owner = ?", vec![o.as_str().into()]);
        }
        if !self.ids.is_empty() {
            w.push_in("s.id", self.ids.iter().map(|s| s.as_str().into()).collect());
        }
        if let Some(n) = &self.name {
            w.push("s.name = ?", vec![n.as_str().into()]);
        }
        if let Some(s) = self.status {
            w.push("s.status = ?", vec![s.as_str().into()]);
        }
        if let Some(d) = self.disk_type {
            w.push("s.source_disk_type = ?", vec![d.as_str().into()]);
        }
        const USED: &str = "EXISTS (SELECT 1 FROM image_snapshots u WHERE u.snapshot_id = s.id)";
        const DISK: &str = "EXISTS (SELECT 1 FROM disks d WHERE d.source_snapshot_id = s.id)";
        match self.usage {
            None => {}
            Some(SnapshotUsage::Image) => w.push(&format!("{USED} AND NOT {DISK}"), vec![]),
            Some(SnapshotUsage::Disk) => w.push(&format!("{DISK} AND NOT {USED}"), vec![]),
            Some(SnapshotUsage::ImageDisk) => w.push(&format!("{USED} AND {DISK}"), vec![]),
            Some(SnapshotUsage::None) => w.push(&format!("NOT {USED} AND NOT {DISK}"), vec![]),
        }
        if let Some(e) = self.encrypted {
            w.push("s.encrypted = ?", vec![e.into()]);
        }
        if let Some(d) = &self.disk_id {
            w.push("s.source_disk_id = ?", vec![d.as_str().into()]);
        }
        for tag in &self.tags {
            w.push(
                "EXISTS (SELECT 1 FROM snapshot_tags g WHERE g.snapshot_id = s.id AND g.key = ? AND g.value = ?)",
                vec![tag.key.as_str().into(), tag.value.as_str().into()],
            );
        }
        w.finish()
    }
}

/// Inserts a snapshot and its tags; [`MetaError::Conflict`] if its ID exists.
pub(crate) async fn insert(tx: &mut Tx, snap: &Snapshot) -> Result<(), MetaError> {
    let doc = serde_json::to_string(snap).map_err(|e| MetaError::Invalid(e.to_string()))?;
    let args: Vec<Arg> = vec![
        snap.id.as_str().into(),
        snap.region.as_str().into(),
        snap.owner.as_ref().map(|o| o.as_str().to_string()).into(),
        snap.name.as_str().into(),
        snap.status.as_str().into(),
        snap.creation_time.timestamp().into(),
        snap.source_disk_id.as_str().into(),
        snap.source_disk_type.as_str().into(),
        snap.encrypted.into(),
        doc.into(),
    ];
    let n = tx
        .exec(
            "INSERT INTO snapshots (id, region, owner, name, status, created_at, source_disk_id, \
             source_disk_type, encrypted, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
            &args,
        )
        .await?;
    if n == 0 {
        return Err(MetaError::Conflict(format!("snapshot {} exists", snap.id)));
    }
    for tag in &snap.tags {
        tx.exec(
            "INSERT INTO snapshot_tags (snapshot_id, key, value) VALUES (?, ?, ?)",
            &[
                snap.id.as_str().into(),
                tag.key.as_str().into(),
                tag.value.as_str().into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Deletes a snapshot and its tags; returns whether it existed.
pub(crate) async fn delete(tx: &mut Tx, id: &str) -> Result<bool, MetaError> {
    tx.exec(
        "DELETE FROM snapshot_tags WHERE snapshot_id = ?",
        &[id.into()],
    )
    .await?;
    let n = tx
        .exec("DELETE FROM snapshots WHERE id = ?", &[id.into()])
        .await?;
    Ok(n > 0)
}

/// Replaces the snapshot with this ID, or inserts it.
pub(crate) async fn put(tx: &mut Tx, snap: &Snapshot) -> Result<(), MetaError> {
    delete(tx, snap.id.as_str()).await?;
    insert(tx, snap).await
}

fn decode(row: &DbRow) -> Result<Snapshot, MetaError> {
    serde_json::from_str(&row.text(0)?)
        .map_err(|e| MetaError::Corrupt(format!("snapshot document: {e}")))
}

impl MetaStore {
    /// Stores a new snapshot. Fails with [`MetaError::Conflict`] if the ID exists.
    pub async fn insert_snapshot(&self, snap: &Snapshot) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        insert(&mut tx, snap).await?;
        tx.commit().await
    }

    /// Replaces the stored snapshot with this ID, tags included (stores it if there is none).
    pub async fn update_snapshot(&self, snap: &Snapshot) -> Result<(), MetaError> {
        let mut tx = self.pool.begin().await?;
        put(&mut tx, snap).await?;
        tx.commit().await
    }

    /// Reads one snapshot by ID, whatever its region.
    pub async fn get_snapshot(&self, id: &str) -> Result<Option<Snapshot>, MetaError> {
        let rows = self
            .pool
            .fetch("SELECT doc FROM snapshots WHERE id = ?", &[id.into()])
            .await?;
        rows.first().map(decode).transpose()
    }

    /// Deletes one snapshot and its tags; returns whether it existed. Whether an image still
    /// uses it is the caller's check ([`MetaStore::images_using_snapshot`]).
    pub async fn delete_snapshot(&self, id: &str) -> Result<bool, MetaError> {
        let mut tx = self.pool.begin().await?;
        let existed = delete(&mut tx, id).await?;
        tx.commit().await?;
        Ok(existed)
    }

    /// Lists snapshots matching `query`, newest first (ID as tie-break).
    pub async fn list_snapshots(&self, query: &SnapshotQuery) -> Result<Page<Snapshot>, MetaError> {
        let (clause, mut args) = query.where_clause();
        let total = self
            .pool
            .count(
                &format!("SELECT COUNT(*) FROM snapshots s WHERE {clause}"),
                &args,
            )
            .await?;
        args.extend(limit_offset(query.limit, query.offset));
        let sql = format!(
            "SELECT s.doc FROM snapshots s WHERE {clause} \
             ORDER BY s.created_at DESC, s.id ASC LIMIT ? OFFSET ?"
        );
        let items = self
            .pool
            .fetch(&sql, &args)
            .await?
            .iter()
            .map(decode)
            .collect::<Result<_, _>>()?;
        Ok(Page { total, items })
    }

    /// IDs of the images (in any region) made from this snapshot, sorted.
    pub async fn images_using_snapshot(&self, snapshot_id: &str) -> Result<Vec<String>, MetaError> {
        self.pool
            .fetch(
                "SELECT DISTINCT image_id FROM image_snapshots WHERE snapshot_id = ? ORDER BY image_id",
                &[snapshot_id.into()],
            )
            .await?
            .iter()
            .map(|r| r.text(0))
            .collect()
    }

    /// How many snapshots, in any status, the owner has in the region.
    pub async fn count_snapshots(&self, region: &str, owner: &str) -> Result<u64, MetaError> {
        self.pool
            .count(
                "SELECT COUNT(*) FROM snapshots WHERE region = ? AND owner = ?",
                &[region.into(), owner.into()],
            )
            .await
    }
}
