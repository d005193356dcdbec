//! Tag listing across resources (`ListTagResources`): image tags from `image_tags`, snapshot
//! tags from `snapshot_tags`, each joined to its resource for the owner and region.

use stencil_domain::TagResourceType;

use crate::db::limit_offset;
use crate::query::Where;
use crate::{MetaError, MetaStore};

/// One tag of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    /// The image or snapshot ID.
    pub resource_id: String,
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// Which tags to list.
#[derive(Debug, Clone, PartialEq)]
pub struct TagListQuery {
    /// The region of the resources.
    pub region: String,
    /// Only resources of this account.
    pub owner: String,
    /// Images or snapshots.
    pub resource_type: TagResourceType,
    /// Only these resources; empty means any.
    pub resource_ids: Vec<String>,
    /// A resource matches when it has every one of these tags: the key, and the exact value
    /// when one is given. The rows returned are all the tags of matching resources.
    pub tags: Vec<(String, Option<String>)>,
    /// Rows (tags, not resources) to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

impl TagListQuery {
    /// All tags of the owner's resources of this type in the region, first 50 rows.
    pub fn new(region: &str, owner: &str, resource_type: TagResourceType) -> Self {
        TagListQuery {
            region: region.to_string(),
            owner: owner.to_string(),
            resource_type,
            resource_ids: Vec::new(),
            tags: Vec::new(),
            offset: 0,
            limit: 50,
        }
    }
}

/// Where the tags of one resource type live.
struct Tables {
    /// The tag table, aliased `t` in the listing and `f` in filters.
    tags: &'static str,
    /// Its column naming the resource.
    id_column: &'static str,
    /// The resource table, aliased `r`.
    resources: &'static str,
    /// Joins tag row `t` to its resource `r`.
    join: &'static str,
    /// Whether filter row `f` is a tag of the same resource as `t`.
    same_resource: &'static str,
}

fn tables(kind: TagResourceType) -> Tables {
    match kind {
        TagResourceType::Image => Tables {
            tags: "image_tags",
            id_column: "image_id",
            resources: "images",
            join: "r.region = t.region AND r.id = t.image_id",
            same_resource: "f.region = t.region AND f.image_id = t.image_id",
        },
        TagResourceType::Snapshot => Tables {
            tags: "snapshot_tags",
            id_column: "snapshot_id",
            resources: "snapshots",
            join: "r.id = t.snapshot_id",
            same_resource: "f.snapshot_id = t.snapshot_id",
        },
    }
}

impl MetaStore {
    /// Tags of the owner's resources in the region that match `query`, ordered by resource ID
    /// then key.
    pub async fn list_tag_rows(&self, query: &TagListQuery) -> Result<Vec<TagRow>, MetaError> {
        let Tables {
            tags,
            id_column,
            resources,
            join,
            same_resource,
        } = tables(query.resource_type);
        let mut w = Where::default();
        w.push(
            "r.region = ? AND r.owner = ?",
            vec![query.region.as_str().into(), query.owner.as_str().into()],
        );
        if !query.resource_ids.is_empty() {
            w.push_in(
                "r.id",
                query
                    .resource_ids
                    .iter()
                    .map(|s| s.as_str().into())
                    .collect(),
            );
        }
        for (key, value) in &query.tags {
            let exists =
                format!("EXISTS (SELECT 1 FROM {tags} f WHERE {same_resource} AND f.key = ?");
            match value {
                Some(v) => w.push(
                    &format!("{exists} AND f.value = ?)"),
                    vec![key.as_str().into(), v.as_str().into()],
                ),
                None => w.push(&format!("{exists})"), vec![key.as_str().into()]),
            }
        }
        let (clause, mut args) = w.finish();
        args.extend(limit_offset(query.limit, query.offset));
        let sql = format!(
            "SELECT t.{id_column}, t.key, t.value FROM {tags} t \
             JOIN {resources} r ON {join} WHERE {clause} \
             ORDER BY t.{id_column} ASC, t.key ASC LIMIT ? OFFSET ?"
        );
        self.pool
            .fetch(&sql, &args)
            .await?
            .iter()
            .map(|r| {
                Ok(TagRow {
                    resource_id: r.text(0)?,
                    key: r.text(1)?,
                    value: r.text(2)?,
                })
            })
            .collect()
    }
}
