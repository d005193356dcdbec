//! Instance and disk rows (filter columns plus the record as JSON) and their tags in
//! `resource_tags`. IDs are unique across regions, so the ID alone names a row.

use serde::Serialize;
use stencil_domain::{Disk, DiskCategory, DiskStatus, DiskType, Instance, InstanceStatus, Tag};

use crate::db::{Arg, DbRow, Tx, limit_offset};
use crate::query::Where;
use crate::{MetaError, MetaStore, Page};

/// An instance listing (`DescribeInstances`).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceQuery {
    /// The region to list.
    pub region: String,
    /// Only instances of this account.
    pub owner: Option<String>,
    /// Only these IDs; empty means any.
    pub ids: Vec<String>,
    /// Only instances in this status.
    pub status: Option<InstanceStatus>,
    /// Only instances whose system disk came from this image.
    pub image_id: Option<String>,
    /// Only instances with exactly this name.
    pub name: Option<String>,
    /// Only instances of this type.
    pub instance_type: Option<String>,
    /// Every one of these tags must be on the instance.
    pub tags: Vec<Tag>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

impl InstanceQuery {
    /// Every instance in `region`, first 10.
    pub fn new(region: &str) -> Self {
        InstanceQuery {
            region: region.to_string(),
            owner: None,
            ids: Vec::new(),
            status: None,
            image_id: None,
            name: None,
            instance_type: None,
            tags: Vec::new(),
            offset: 0,
            limit: 10,
        }
    }

    fn where_clause(&self) -> (String, Vec<Arg>) {
        let mut w = Where::default();
        w.push("r.region = ?", vec![self.region.as_str().into()]);
        if let Some(o) = &self.owner {
            w.push("r.owner = ?", vec![o.as_str().into()]);
        }
        if !self.ids.is_empty() {
            w.push_in("r.id", self.ids.iter().map(|s| s.as_str().into()).collect());
        }
        if let Some(s) = self.status {
            w.push("r.status = ?", vec![s.as_str().into()]);
        }
        if let Some(i) = &self.image_id {
            w.push("r.image_id = ?", vec![i.as_str().into()]);
        }
        if let Some(n) = &self.name {
            w.push("r.name = ?", vec![n.as_str().into()]);
        }
        if let Some(t) = &self.instance_type {
            w.push("r.instance_type = ?", vec![t.as_str().into()]);
        }
        push_tags(&mut w, &self.tags);
        w.finish()
    }
}

/// A disk listing (`DescribeDisks`).
#[derive(Debug, Clone, PartialEq)]
pub struct DiskQuery {
    /// The region to list.
    pub region: String,
    /// Only disks of this account.
    pub owner: Option<String>,
    /// Only these IDs; empty means any.
    pub ids: Vec<String>,
    /// Only disks attached to this instance.
    pub instance_id: Option<String>,
    /// Only system or only data disks.
    pub disk_type: Option<DiskType>,
    /// Only disks of this category.
    pub category: Option<DiskCategory>,
    /// Only disks in this status.
    pub status: Option<DiskStatus>,
    /// Only disks created from this snapshot.
    pub snapshot_id: Option<String>,
    /// Only disks with exactly this name.
    pub name: Option<String>,
    /// Every one of these tags must be on the disk.
    pub tags: Vec<Tag>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

impl DiskQuery {
    /// Every disk in `region`, first 10.
    pub fn new(region: &str) -> Self {
        DiskQuery {
            region: region.to_string(),
            owner: None,
            ids: Vec::new(),
            instance_id: None,
            disk_type: None,
            category: None,
            status: None,
            snapshot_id: None,
            name: None,
            tags: Vec::new(),
            offset: 0,
            limit: 10,
        }
    }

    fn where_clause(&self) -> (String, Vec<Arg>) {
        let mut w = Where::default();
        w.push("r.region = ?", vec![self.region.as_str().into()]);
        if let Some(o) = &self.owner {
            w.push("r.owner = ?", vec![o.as_str().into()]);
        }
        if !self.ids.is_empty() {
            w.push_in("r.id", self.ids.iter().map(|s| s.as_str().into()).collect());
        }
        if let Some(i) = &self.instance_id {
            w.push("r.instance_id = ?", vec![i.as_str().into()]);
        }
        if let Some(t) = self.disk_type {
            w.push("r.disk_type = ?", vec![t.as_str().into()]);
        }
        if let Some(c) = self.category {
            w.push("r.category = ?", vec![c.as_str().into()]);
        }
        if let Some(s) = self.status {
            w.push("r.status = ?", vec![s.as_str().into()]);
        }
        if let Some(s) = &self.snapshot_id {
            w.push("r.source_snapshot_id = ?", vec![s.as_str().into()]);
        }
        if let Some(n) = &self.name {
            w.push("r.name = ?", vec![n.as_str().into()]);
        }
        push_tags(&mut w, &self.tags);
        w.finish()
    }
}

fn push_tags(w: &mut Where, tags: &[Tag]) {
    for tag in tags {
        w.push(
            "EXISTS (SELECT 1 FROM resource_tags g WHERE g.resource_id = r.id AND g.key = ? AND g.value = ?)",
            vec![tag.key.as_str().into(), tag.value.as_str().into()],
        );
    }
}

fn to_doc<T: Serialize>(value: &T) -> Result<String, MetaError> {
    serde_json::to_string(value).map_err(|e| MetaError::Invalid(e.to_string()))
}

async fn insert_tags(tx: &mut Tx, id: &str, tags: &[Tag]) -> Result<(), MetaError> {
    for tag in tags {
        tx.exec(
            "INSERT INTO resource_tags (resource_id, key, value) VALUES (?, ?, ?)",
            &[
                id.into(),
                tag.key.as_str().into(),
                tag.value.as_str().into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Inserts an instance and its tags; [`MetaError::Conflict`] if its ID exists.
pub(crate) async fn insert_instance(tx: &mut Tx, i: &Instance) -> Result<(), MetaError> {
    let args: Vec<Arg> = vec![
        i.id.as_str().into(),
        i.region.as_str().into(),
        i.owner.as_str().into(),
        i.name.as_str().into(),
        i.status.as_str().into(),
        i.image_id.as_str().into(),
        i.instance_type.as_str().into(),
        i.creation_time.timestamp().into(),
        to_doc(i)?.into(),
    ];
    let n = tx
        .exec(
            "INSERT INTO instances (id, region, owner, name, status, image_id, instance_type, \
             created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &args,
        )
        .await?;
    if n == 0 {
        return Err(MetaError::Conflict(format!("instance {} exists", i.id)));
    }
    insert_tags(tx, i.id.as_str(), &i.tags).await
}

/// Inserts a disk and its tags; [`MetaError::Conflict`] if its ID exists.
pub(crate) async fn insert_disk(tx: &mut Tx, d: &Disk) -> Result<(), MetaError> {
    let args: Vec<Arg> = vec![
        d.id.as_str().into(),
        d.region.as_str().into(),
        d.owner.as_str().into(),
        d.instance_id.as_ref().map(|i| i.to_string()).into(),
        d.name.as_str().into(),
        d.disk_type.as_str().into(),
        d.category.as_str().into(),
        d.status.as_str().into(),
        d.image_id.as_ref().map(|i| i.to_string()).into(),
        d.source_snapshot_id.as_ref().map(|s| s.to_string()).into(),
        d.creation_time.timestamp().into(),
        to_doc(d)?.into(),
    ];
    let n = tx
        .exec(
            "INSERT INTO disks (id, region, owner, instance_id, name, disk_type, category, status, \
             image_id, source_snapshot_id, created_at, doc) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &args,
        )
        .await?;
    if n == 0 {
        return Err(MetaError::Conflict(format!("disk {} exists", d.id)));
    }
    insert_tags(tx, d.id.as_str(), &d.tags).await
}

/// Deletes a row of `table` (`instances` or `disks`) and its tags; with `expected`, only if the
/// stored document is still exactly that ([`MetaError::Conflict`] otherwise).
pub(crate) async fn delete_row(
    tx: &mut Tx,
    table: &'static str,
    id: &str,
    expected: Option<String>,
) -> Result<bool, MetaError> {
    let n = match expected {
        Some(doc) => {
            let n = tx
                .exec(
                    &format!("DELETE FROM {table} WHERE id = ? AND doc = ?"),
                    &[id.into(), doc.into()],
                )
                .await?;
            if n == 0 {
                return Err(MetaError::Conflict(format!(
                    "{id} changed since it was read"
                )));
            }
            n
        }
        None => {
            tx.exec(&format!("DELETE FROM {table} WHERE id = ?"), &[id.into()])
                .await?
        }
    };
    tx.exec(
        "DELETE FROM resource_tags WHERE resource_id = ?",
        &[id.into()],
    )
    .await?;
    Ok(n > 0)
}

/// Replaces `expected` by `new` if the stored instance is still `expected`.
pub(crate) async fn replace_instance(
    tx: &mut Tx,
    expected: &Instance,
    new: &Instance,
) -> Result<(), MetaError> {
    delete_row(
        tx,
        "instances",
        expected.id.as_str(),
        Some(to_doc(expected)?),
    )
    .await?;
    insert_instance(tx, new).await
}

/// Replaces `expected` by `new` if the stored disk is still `expected`.
pub(crate) async fn replace_disk(
    tx: &mut Tx,
    expected: &Disk,
    new: &Disk,
) -> Result<(), MetaError> {
    delete_row(tx, "disks", expected.id.as_str(), Some(to_doc(expected)?)).await?;
    insert_disk(tx, new).await
}

fn decode<T: serde::de::DeserializeOwned>(row: &DbRow) -> Result<T, MetaError> {
    serde_json::from_str(&row.text(0)?).map_err(|e| MetaError::Corrupt(format!("document: {e}")))
}

impl MetaStore {
    /// One instance by ID, whatever its region.
    pub async fn get_instance(&self, id: &str) -> Result<Option<Instance>, MetaError> {
        let rows = self
            .pool
            .fetch("SELECT doc FROM instances WHERE id = ?", &[id.into()])
            .await?;
        rows.first().map(decode).transpose()
    }

    /// Instances matching `query`, newest first (ID as tie-break).
    pub async fn list_instances(&self, query: &InstanceQuery) -> Result<Page<Instance>, MetaError> {
        let (clause, args) = query.where_clause();
        self.page("instances", &clause, args, query.limit, query.offset)
            .await
    }

    /// How many instances in `region` have a system disk from `image_id`, any owner.
    pub async fn count_instances_using_image(
        &self,
        region: &str,
        image_id: &str,
    ) -> Result<u64, MetaError> {
        self.pool
            .count(
                "SELECT COUNT(*) FROM instances WHERE region = ? AND image_id = ?",
                &[region.into(), image_id.into()],
            )
            .await
    }

    /// One disk by ID, whatever its region.
    pub async fn get_disk(&self, id: &str) -> Result<Option<Disk>, MetaError> {
        let rows = self
            .pool
            .fetch("SELECT doc FROM disks WHERE id = ?", &[id.into()])
            .await?;
        rows.first().map(decode).transpose()
    }

    /// Disks matching `query`, newest first (ID as tie-break).
    pub async fn list_disks(&self, query: &DiskQuery) -> Result<Page<Disk>, MetaError> {
        let (clause, args) = query.where_clause();
        self.page("disks", &clause, args, query.limit, query.offset)
            .await
    }

    /// The disks attached to an instance, in no particular order.
    pub async fn disks_of_instance(&self, instance_id: &str) -> Result<Vec<Disk>, MetaError> {
        self.docs(
            "SELECT doc FROM disks WHERE instance_id = ?",
            &[instance_id.into()],
        )
        .await
    }

    /// The disks made from `image_id` in `region` (system disks and full-image data disks).
    pub async fn disks_from_image(
        &self,
        region: &str,
        image_id: &str,
    ) -> Result<Vec<Disk>, MetaError> {
        self.docs(
            "SELECT doc FROM disks WHERE region = ? AND image_id = ?",
            &[region.into(), image_id.into()],
        )
        .await
    }

    /// The disks made from a snapshot.
    pub async fn disks_from_snapshot(&self, snapshot_id: &str) -> Result<Vec<Disk>, MetaError> {
        self.docs(
            "SELECT doc FROM disks WHERE source_snapshot_id = ?",
            &[snapshot_id.into()],
        )
        .await
    }

    /// Every disk of every region (NBD export lists, GC roots).
    pub async fn all_disks(&self) -> Result<Vec<Disk>, MetaError> {
        self.docs("SELECT doc FROM disks ORDER BY id", &[]).await
    }

    async fn docs<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<T>, MetaError> {
        self.pool
            .fetch(sql, args)
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    async fn page<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        clause: &str,
        mut args: Vec<Arg>,
        limit: u64,
        offset: u64,
    ) -> Result<Page<T>, MetaError> {
        let total = self
            .pool
            .count(
                &format!("SELECT COUNT(*) FROM {table} r WHERE {clause}"),
                &args,
            )
            .await?;
        args.extend(limit_offset(limit, offset));
        let sql = format!(
            "SELECT r.doc FROM {table} r WHERE {clause} ORDER BY r.created_at DESC, r.id ASC LIMIT ? OFFSET ?"
        );
        let items = self.docs(&sql, &args).await?;
        Ok(Page { total, items })
    }
}
