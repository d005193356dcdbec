//! Image rows: the filterable columns plus the JSON document, and their side tables.

use stencil_domain::filter::OnlineFeature;
use stencil_domain::{Image, ImageKind};

use crate::MetaError;
use crate::db::{Arg, Pool, Tx};
use crate::query::ImageQuery;

const INSERT: &str = "INSERT INTO images (region, id, kind, owner, name, family, status, created_at, \
     architecture, os_type, boot_mode, nvme_support, is_public, io_optimized, cloudinit, usage, \
     resource_group_id, online_features, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT DO NOTHING";

/// Inserts an image and its side rows; [`MetaError::Conflict`] if its region and ID exist.
pub(crate) async fn insert(tx: &mut Tx, image: &Image) -> Result<(), MetaError> {
    let doc = serde_json::to_string(image).map_err(|e| MetaError::Invalid(e.to_string()))?;
    let args: Vec<Arg> = vec![
        image.region.as_str().into(),
        image.id.as_str().into(),
        image.kind.as_str().into(),
        image.owner.as_ref().map(|o| o.as_str().to_string()).into(),
        image.name.as_str().into(),
        image.family.as_str().into(),
        image.status.as_str().into(),
        image.creation_time.timestamp().into(),
        image.architecture.as_str().into(),
        image.os_type.as_str().into(),
        image.boot_mode.as_str().into(),
        image
            .features
            .nvme_support
            .map_or("", |s| s.as_str())
            .into(),
        image.is_public.into(),
        image.is_support_io_optimized.into(),
        image.is_support_cloudinit.into(),
        image.usage.as_str().into(),
        image.resource_group_id.as_str().into(),
        online_features(image).into(),
        doc.into(),
    ];
    if tx.exec(INSERT, &args).await? == 0 {
        return Err(MetaError::Conflict(format!(
            "image {} exists in {}",
            image.id, image.region
        )));
    }
    for tag in &image.tags {
        tx.exec(
            "INSERT INTO image_tags (region, image_id, key, value) VALUES (?, ?, ?, ?)",
            &[
                image.region.as_str().into(),
                image.id.as_str().into(),
                tag.key.as_str().into(),
                tag.value.as_str().into(),
            ],
        )
        .await?;
    }
    for snap in image.snapshot_ids() {
        tx.exec(
            "INSERT INTO image_snapshots (region, image_id, snapshot_id) VALUES (?, ?, ?) \
             ON CONFLICT DO NOTHING",
            &[
                image.region.as_str().into(),
                image.id.as_str().into(),
                snap.as_str().into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// `,CpuOnlineUpgrade,MemoryOnlineUpgrade,`: the supported online features, comma-fenced so a
/// `LIKE '%,Name,%'` matches exactly one name.
fn online_features(image: &Image) -> String {
    let mut s = String::from(",");
    for f in OnlineFeature::ALL {
        if f.supported_in(&image.features) {
            s.push_str(f.as_str());
            s.push(',');
        }
    }
    s
}

pub(crate) async fn delete(tx: &mut Tx, region: &str, id: &str) -> Result<bool, MetaError> {
    for table in ["image_tags", "image_snapshots"] {
        tx.exec(
            &format!("DELETE FROM {table} WHERE region = ? AND image_id = ?"),
            &[region.into(), id.into()],
        )
        .await?;
    }
    let n = tx
        .exec(
            "DELETE FROM images WHERE region = ? AND id = ?",
            &[region.into(), id.into()],
        )
        .await?;
    Ok(n > 0)
}

/// Deletes the image only if its stored record is exactly `expected` (compare-and-swap on the
/// whole document); `Conflict` if someone changed or removed it since it was read.
pub(crate) async fn delete_if(tx: &mut Tx, expected: &Image) -> Result<(), MetaError> {
    let doc = serde_json::to_string(expected).map_err(|e| MetaError::Invalid(e.to_string()))?;
    let (region, id) = (expected.region.as_str(), expected.id.as_str());
    let n = tx
        .exec(
            "DELETE FROM images WHERE region = ? AND id = ? AND doc = ?",
            &[region.into(), id.into(), doc.into()],
        )
        .await?;
    if n == 0 {
        return Err(MetaError::Conflict(format!(
            "image {id} in {region} changed since it was read"
        )));
    }
    delete(tx, region, id).await?;
    Ok(())
}

pub(crate) async fn delete_kind(tx: &mut Tx, kind: ImageKind) -> Result<(), MetaError> {
    for table in ["image_tags", "image_snapshots"] {
        tx.exec(
            &format!(
                "DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM images i WHERE i.region = {table}.region \
                 AND i.id = {table}.image_id AND i.kind = ?)"
            ),
            &[kind.as_str().into()],
        )
        .await?;
    }
    tx.exec("DELETE FROM images WHERE kind = ?", &[kind.as_str().into()])
        .await?;
    Ok(())
}

fn decode(doc: &str) -> Result<Image, MetaError> {
    serde_json::from_str(doc).map_err(|e| MetaError::Corrupt(format!("image document: {e}")))
}

pub(crate) async fn get(pool: &Pool, region: &str, id: &str) -> Result<Option<Image>, MetaError> {
    let rows = pool
        .fetch(
            "SELECT doc FROM images WHERE region = ? AND id = ?",
            &[region.into(), id.into()],
        )
        .await?;
    rows.first().map(|r| decode(&r.text(0)?)).transpose()
}

pub(crate) async fn count(pool: &Pool, clause: &str, args: &[Arg]) -> Result<u64, MetaError> {
    let sql = format!("SELECT COUNT(*) FROM images i WHERE {clause}");
    let total = pool
        .fetch(&sql, args)
        .await?
        .first()
        .map(|r| r.i64(0))
        .transpose()?
        .unwrap_or(0);
    Ok(u64::try_from(total).unwrap_or(0))
}

pub(crate) async fn page(
    pool: &Pool,
    clause: &str,
    mut args: Vec<Arg>,
    q: &ImageQuery,
) -> Result<Vec<Image>, MetaError> {
    args.push(i64::try_from(q.limit).unwrap_or(i64::MAX).into());
    args.push(i64::try_from(q.offset).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT i.doc FROM images i WHERE {clause} ORDER BY i.created_at DESC, i.id ASC LIMIT ? OFFSET ?"
    );
    pool.fetch(&sql, &args)
        .await?
        .iter()
        .map(|r| decode(&r.text(0)?))
        .collect()
}
