//! TagResources, UntagResources and ListTagResources for images and snapshots (reference §5.16).

use stencil_domain::requests::{ListTagResources, TagResources, UntagResources};
use stencil_domain::{DomainError, QuotaKind, Tag, TagResourceType};
use stencil_meta::{TagListQuery, TagRow, Write};

use super::Lifecycle;
use crate::{Caller, ServiceError};

/// Sets `new` on `tags`: a key that exists (compared case-insensitively) gets the new value.
fn merge(tags: &mut Vec<Tag>, new: &[Tag]) {
    for t in new {
        match tags.iter_mut().find(|x| x.key.eq_ignore_ascii_case(&t.key)) {
            Some(x) => *x = t.clone(),
            None => tags.push(t.clone()),
        }
    }
}

/// Removes `keys` (all tags when `all`).
fn remove(tags: &mut Vec<Tag>, keys: &[String], all: bool) {
    if all && keys.is_empty() {
        tags.clear();
    } else {
        tags.retain(|t| !keys.iter().any(|k| k == &t.key));
    }
}

impl Lifecycle {
    /// Reads each resource, changes its tags with `edit`, and writes them all in one
    /// transaction. Every resource must be the caller's. An image changed by someone else
    /// between the read and the write (a task recording progress) is read again.
    async fn edit_tags(
        &self,
        caller: &Caller,
        region: &str,
        kind: TagResourceType,
        ids: &[String],
        edit: impl Fn(&mut Vec<Tag>),
    ) -> Result<(), ServiceError> {
        super::retry_on_conflict(|| self.try_edit_tags(caller, region, kind, ids, &edit)).await
    }

    async fn try_edit_tags(
        &self,
        caller: &Caller,
        region: &str,
        kind: TagResourceType,
        ids: &[String],
        edit: &impl Fn(&mut Vec<Tag>),
    ) -> Result<(), ServiceError> {
        self.regions.get(region)?;
        let limit = self.quotas.limit(QuotaKind::TagsPerResource);
        let mut writes = Vec::with_capacity(ids.len());
        for id in ids {
            let not_found = || DomainError::ResourceNotFound(id.clone());
            let tags = match kind {
                TagResourceType::Image => {
                    let read = match self.own_image(caller, region, id).await {
                        Ok(i) => i,
                        Err(ServiceError::Domain(_)) => return Err(not_found().into()),
                        Err(e) => return Err(e),
                    };
                    let mut image = read.clone();
                    edit(&mut image.tags);
                    let n = image.tags.len() as u64;
                    writes.push(Write::ReplaceImage {
                        expected: Box::new(read),
                        new: Box::new(image),
                    });
                    n
                }
                TagResourceType::Snapshot => {
                    let mut snap = match self.own_snapshot(caller, region, id).await {
                        Ok(s) => s,
                        Err(ServiceError::Domain(_)) => return Err(not_found().into()),
                        Err(e) => return Err(e),
                    };
                    edit(&mut snap.tags);
                    let n = snap.tags.len() as u64;
                    writes.push(Write::PutSnapshot(snap));
                    n
                }
            };
            if tags > limit {
                return Err(DomainError::QuotaExceeded {
                    kind: QuotaKind::TagsPerResource,
                    limit,
                }
                .into());
            }
        }
        self.meta.apply(writes).await?;
        Ok(())
    }

    /// Adds or replaces tags.
    pub async fn tag_resources(
        &self,
        caller: &Caller,
        req: &TagResources,
    ) -> Result<(), ServiceError> {
        self.edit_tags(
            caller,
            &req.region,
            req.resource_type,
            &req.resource_ids,
            |tags| merge(tags, &req.tags),
        )
        .await
    }

    /// Removes tags.
    pub async fn untag_resources(
        &self,
        caller: &Caller,
        req: &UntagResources,
    ) -> Result<(), ServiceError> {
        self.edit_tags(
            caller,
            &req.region,
            req.resource_type,
            &req.resource_ids,
            |tags| remove(tags, &req.keys, req.all),
        )
        .await
    }

    /// Lists `(resource, tag)` rows; the second value is whether more rows follow.
    pub async fn list_tag_resources(
        &self,
        caller: &Caller,
        req: &ListTagResources,
    ) -> Result<(Vec<TagRow>, bool), ServiceError> {
        self.regions.get(&req.region)?;
        let mut rows = self
            .meta
            .list_tag_rows(&TagListQuery {
                region: req.region.clone(),
                owner: caller.account.as_str().to_string(),
                resource_type: req.resource_type,
                resource_ids: req.resource_ids.clone(),
                tags: req.tags.clone(),
                offset: req.offset,
                limit: req.limit + 1,
            })
            .await?;
        let more = rows.len() as u64 > req.limit;
        rows.truncate(req.limit as usize);
        Ok((rows, more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn merging_a_tag_with_a_known_key_replaces_its_value() {
        let mut tags = vec![tag("Env", "dev")];
        merge(&mut tags, &[tag("env", "prod"), tag("team", "a")]);
        assert_eq!(tags, vec![tag("env", "prod"), tag("team", "a")]);
    }

    #[test]
    fn removing_with_all_and_no_keys_clears_every_tag() {
        let mut tags = vec![tag("a", "1"), tag("b", "2")];
        remove(&mut tags, &["a".into()], false);
        assert_eq!(tags, vec![tag("b", "2")]);
        remove(&mut tags, &[], true);
        assert!(tags.is_empty());
    }
}
