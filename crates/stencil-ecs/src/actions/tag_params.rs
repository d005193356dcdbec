//! Tags in requests (reference §3.1, §5.16): the `Tag.N` an action sets (CreateImage,
//! ImportImage, TagResources), the `Tag.N` a listing filters by (DescribeImages,
//! DescribeSnapshots, ListTagResources), and the `RegionId`/`ResourceType`/`ResourceId.N` of
//! the tag actions, whose codes differ from the image actions' (`MissingParameter.RegionId`,
//! 404).

use stencil_domain::names;
use stencil_domain::{ImageId, SnapshotId, Tag, TagResourceType};

use super::common::{at_most, invalid_as, missing_as, not_found, required_as};
use super::image_attrs::name_error;
use crate::{EcsError, ErrorCode, Params};

/// Most `Tag.N` in one request.
pub const MAX_TAGS: usize = 20;
/// Most `ResourceId.N` in one tag request.
pub const MAX_RESOURCE_IDS: usize = 50;

/// Tags to set: at most 20 (`NumberExceed.Tags`), keys and values by §3.1
/// (`InvalidTagKey.Malformed`, `InvalidTagValue.Malformed`; a value without a key has an empty,
/// hence malformed, key), keys unique ignoring case (`duplicate`: `Duplicate.TagKey` or
/// ImportImage's `TagKey.Duplication`). An absent value is the empty value.
pub(crate) fn resource_tags(params: &Params, duplicate: ErrorCode) -> Result<Vec<Tag>, EcsError> {
    let objects = at_most(
        params.objects("Tag")?,
        MAX_TAGS,
        ErrorCode::NumberExceedTags,
        "Tag.N",
    )?;
    let mut tags: Vec<Tag> = Vec::with_capacity(objects.len());
    for t in &objects {
        let key = t.get("Key").unwrap_or("");
        let value = t.get("Value").unwrap_or("");
        names::check_tag_key(key).map_err(|why| {
            name_error(
                ErrorCode::InvalidTagKeyMalformed,
                &t.full_name("Key"),
                key,
                &why,
            )
        })?;
        names::check_tag_value(value).map_err(|why| {
            name_error(
                ErrorCode::InvalidTagValueMalformed,
                &t.full_name("Value"),
                value,
                &why,
            )
        })?;
        let lower = key.to_lowercase();
        if tags.iter().any(|seen| seen.key.to_lowercase() == lower) {
            return Err(invalid_as(
                duplicate,
                &t.full_name("Key"),
                format_args!(
                    "the tag key {key:?} is given twice (keys are compared ignoring case)"
                ),
            ));
        }
        tags.push(Tag {
            key: key.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(tags)
}

/// The codes a listing answers bad `Tag.N` filters with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FilterCodes {
    /// More than 20 filters.
    pub too_many: ErrorCode,
    /// `Tag.N.Value` without `Tag.N.Key`.
    pub value_without_key: ErrorCode,
}

/// DescribeImages and DescribeSnapshots.
pub(crate) const DESCRIBE_FILTER_CODES: FilterCodes = FilterCodes {
    too_many: ErrorCode::InvalidTagCount,
    value_without_key: ErrorCode::InvalidTagMismatch,
};

/// ListTagResources.
pub(crate) const LIST_TAGS_FILTER_CODES: FilterCodes = FilterCodes {
    too_many: ErrorCode::NumberExceedTags,
    value_without_key: ErrorCode::InvalidParameterTagValue,
};

/// `Tag.N` filters: a key and an optional exact value. The deprecated lowercase
/// `Tag.N.key`/`Tag.N.value` are read too. Keys are not checked against §3.1: a filter may
/// name a system key such as `acs:rm:rgId`.
pub(crate) fn tag_filters(
    params: &Params,
    codes: FilterCodes,
) -> Result<Vec<(String, Option<String>)>, EcsError> {
    let objects = at_most(params.objects("Tag")?, MAX_TAGS, codes.too_many, "Tag.N")?;
    let mut out = Vec::with_capacity(objects.len());
    for t in &objects {
        let key = t.get("Key").or_else(|| t.get("key")).unwrap_or("");
        let value = t.get("Value").or_else(|| t.get("value"));
        if key.is_empty() {
            return Err(EcsError::new(
                codes.value_without_key,
                format!(
                    "The parameter \"{}\" is required when a tag value is given.",
                    t.full_name("Key")
                ),
            ));
        }
        out.push((key.to_owned(), value.map(str::to_owned)));
    }
    Ok(out)
}

/// `RegionId` of the tag actions: `MissingParameter.RegionId` (404) when absent.
pub(crate) fn tag_region_id(params: &Params) -> Result<String, EcsError> {
    required_as(params, "RegionId", ErrorCode::MissingParameterRegionId).map(str::to_owned)
}

/// `ResourceType`: required (`MissingParameter.ResourceType`, 404); Stencil tags images and
/// snapshots, every other type is `InvalidResourceType.NotFound` (404).
pub(crate) fn resource_type(params: &Params) -> Result<TagResourceType, EcsError> {
    let raw = required_as(
        params,
        "ResourceType",
        ErrorCode::MissingParameterResourceType,
    )?;
    TagResourceType::parse(raw).ok_or_else(|| {
        invalid_as(
            ErrorCode::InvalidResourceTypeNotFound,
            "ResourceType",
            format_args!("this server tags image and snapshot resources only, got {raw:?}"),
        )
    })
}

/// `ResourceId.N`: at most 50 (`NumberExceed.ResourceIds`); when `required`, at least one
/// (`MissingParameter.ResourceIds`, 404). An ID not shaped like a resource of `ty` names no
/// resource: `InvalidResourceId.NotFound`. Repeats are dropped, order kept.
pub(crate) fn resource_ids(
    params: &Params,
    ty: TagResourceType,
    required: bool,
) -> Result<Vec<String>, EcsError> {
    let ids = at_most(
        params.list("ResourceId")?,
        MAX_RESOURCE_IDS,
        ErrorCode::NumberExceedResourceIds,
        "ResourceId.N",
    )?;
    if required && ids.is_empty() {
        return Err(missing_as(
            ErrorCode::MissingParameterResourceIds,
            "ResourceId.N",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        let shaped = match ty {
            TagResourceType::Image => ImageId::parse(&id).is_some(),
            TagResourceType::Snapshot => SnapshotId::parse(&id).is_some(),
        };
        if !shaped {
            return Err(not_found(
                ErrorCode::InvalidResourceIdNotFound,
                "ResourceId.N",
                &id,
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The rejections every tag action shares, for its table: `rest` completes a valid request
/// (`&Tag.1.Key=k` for TagResources, say).
#[cfg(test)]
pub(crate) fn assert_rejects_bad_targets<T: std::fmt::Debug>(
    parse: impl Fn(&Params) -> Result<T, EcsError>,
    rest: &str,
) {
    use ErrorCode::*;
    let ids: String = (1..=51).map(|i| format!("&ResourceId.{i}=s-{i}")).collect();
    super::common::test_support::assert_rejects(
        parse,
        &[
            (
                format!("ResourceType=image&ResourceId.1=m-1{rest}"),
                MissingParameterRegionId,
                404,
                "\"RegionId\"",
            ),
            (
                format!("RegionId=r&ResourceId.1=m-1{rest}"),
                MissingParameterResourceType,
                404,
                "\"ResourceType\"",
            ),
            (
                format!("RegionId=r&ResourceType=instance&ResourceId.1=i-1{rest}"),
                InvalidResourceTypeNotFound,
                404,
                "\"ResourceType\"",
            ),
            (
                format!("RegionId=r&ResourceType=snapshot{ids}{rest}"),
                NumberExceedResourceIds,
                400,
                "ResourceId.N",
            ),
            (
                format!("RegionId=r&ResourceType=image&ResourceId.1=m%2F1{rest}"),
                InvalidResourceIdNotFound,
                404,
                "ResourceId.N",
            ),
            (
                format!("RegionId=r&ResourceType=snapshot&ResourceId.1=m-1{rest}"),
                InvalidResourceIdNotFound,
                404,
                "ResourceId.N",
            ),
            (
                format!("RegionId=r&ResourceType=image&ResourceId.0=m-1{rest}"),
                InvalidParameter,
                400,
                "ResourceId.0",
            ),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p, tag};
    use super::*;

    #[test]
    fn tags_to_set_follow_the_key_and_value_rules() {
        let tags = resource_tags(
            &p("Tag.1.Key=env&Tag.1.Value=prod&Tag.2.Key=team"),
            ErrorCode::DuplicateTagKey,
        )
        .unwrap();
        assert_eq!(tags, vec![tag("env", "prod"), tag("team", "")]);
        let many: String = (1..=21).map(|i| format!("&Tag.{i}.Key=k{i}")).collect();
        let long = "v".repeat(129);
        let tags = |q: &Params| resource_tags(q, ErrorCode::TagKeyDuplication);
        assert_rejects(
            tags,
            &[
                (many.as_str(), ErrorCode::NumberExceedTags, 400, "Tag.N"),
                (
                    "Tag.1.Value=v",
                    ErrorCode::InvalidTagKeyMalformed,
                    400,
                    "Tag.1.Key",
                ),
                (
                    "Tag.1.Key=aliyun-x",
                    ErrorCode::InvalidTagKeyMalformed,
                    400,
                    "Tag.1.Key",
                ),
                (
                    "Tag.1.Key=k&Tag.1.Value=acs:v",
                    ErrorCode::InvalidTagValueMalformed,
                    400,
                    "Tag.1.Value",
                ),
                (
                    &format!("Tag.1.Key=k&Tag.1.Value={long}"),
                    ErrorCode::InvalidTagValueMalformed,
                    400,
                    "Tag.1.Value",
                ),
                (
                    "Tag.1.Key=Env&Tag.2.Key=eNV",
                    ErrorCode::TagKeyDuplication,
                    403,
                    "Tag.2.Key",
                ),
            ],
        );
    }

    #[test]
    fn tag_filters_take_an_optional_value_and_the_lowercase_spelling() {
        let f = tag_filters(
            &p("Tag.1.Key=acs:rm:rgId&Tag.2.key=env&Tag.2.value=prod"),
            LIST_TAGS_FILTER_CODES,
        )
        .unwrap();
        assert_eq!(
            f,
            vec![
                ("acs:rm:rgId".to_string(), None),
                ("env".to_string(), Some("prod".to_string()))
            ]
        );
        let err = tag_filters(&p("Tag.1.Value=v"), LIST_TAGS_FILTER_CODES).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidParameterTagValue);
    }

    #[test]
    fn resource_ids_must_be_shaped_like_the_resource_type() {
        let ids = resource_ids(
            &p("ResourceId.1=m-1&ResourceId.2=m-2&ResourceId.3=m-1"),
            TagResourceType::Image,
            true,
        )
        .unwrap();
        assert_eq!(ids, ["m-1", "m-2"]);
        let err =
            resource_ids(&p("ResourceId.1=m-1"), TagResourceType::Snapshot, true).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidResourceIdNotFound);
        assert!(
            resource_ids(&p(""), TagResourceType::Image, false)
                .unwrap()
                .is_empty()
        );
    }
}
