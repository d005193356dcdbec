//! `ListTagResources` (reference §5.16): the tags of images or snapshots, selected by resource
//! ID, by exact tag, or both, paged by `NextToken`. Terraform reads image tags through it.

use serde::Serialize;
use stencil_domain::TagResourceType;
use stencil_domain::requests::ListTagResources;

use super::common::{Parsed, decode_next_token, reject_unsupported, to_u64};
use super::tag_params::{
    LIST_TAGS_FILTER_CODES, resource_ids, resource_type, tag_filters, tag_region_id,
};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = ListTagResources;

/// Rows per page when `MaxResults` is not given (the real service's fixed page).
pub const DEFAULT_MAX_RESULTS: i64 = 50;
/// Largest `MaxResults`.
pub const MAX_MAX_RESULTS: i64 = 1000;

/// Parses and validates every parameter. At least one `ResourceId.N` or `Tag.N` is needed
/// (`BothEmpty.TagsAndResources`, 403). The fuzzy `TagFilter.N` (a preview feature) is
/// refused with `UnsupportedParameter`.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = tag_region_id(params)?;
    let resource_type = resource_type(params)?;
    reject_unsupported(params, &["TagFilter"])?;
    let resource_ids = resource_ids(params, resource_type, false)?;
    let tags = tag_filters(params, LIST_TAGS_FILTER_CODES)?;
    if resource_ids.is_empty() && tags.is_empty() {
        return Err(EcsError::new(
            ErrorCode::BothEmptyTagsAndResources,
            "At least one of the parameters \"ResourceId.N\" and \"Tag.N\" must be specified.",
        ));
    }
    let limit = params
        .int_in_range("MaxResults", 1..=MAX_MAX_RESULTS)?
        .unwrap_or(DEFAULT_MAX_RESULTS);
    let request = ListTagResources {
        region,
        resource_type,
        resource_ids,
        tags,
        offset: decode_next_token(params)?,
        limit: to_u64(limit),
    };
    Parsed::new(params, request)
}

/// One `TagResource` element.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceView<'a> {
    resource_id: &'a str,
    resource_type: &'static str,
    tag_key: &'a str,
    tag_value: &'a str,
}

/// `{"TagResource": [...]}`.
#[derive(Debug, Serialize)]
pub struct TagResourceList<'a> {
    /// The rows.
    #[serde(rename = "TagResource")]
    pub tag_resource: Vec<TagResourceView<'a>>,
}

/// The response body: one page of (resource, tag) rows.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response<'a> {
    /// The token for the next page, empty after the last.
    pub next_token: String,
    /// The rows, wrapped as `{"TagResource": [...]}`.
    pub tag_resources: TagResourceList<'a>,
}

/// Builds the response from `(resource ID, resource type, tag key, tag value)` rows;
/// [`super::next_token`] makes `next_token`.
pub fn render(
    next_token: Option<String>,
    rows: &[(String, TagResourceType, String, String)],
) -> Response<'_> {
    Response {
        next_token: next_token.unwrap_or_default(),
        tag_resources: TagResourceList {
            tag_resource: rows
                .iter()
                .map(|(id, ty, key, value)| TagResourceView {
                    resource_id: id,
                    resource_type: ty.as_str(),
                    tag_key: key,
                    tag_value: value,
                })
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p};
    use super::super::tag_params::assert_rejects_bad_targets;
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_and_tags_parse_into_the_domain_request() {
        let r = parse(&p(
            "RegionId=r&ResourceType=image&ResourceId.1=m-1&Tag.1.Key=env&Tag.1.Value=prod&Tag.2.Key=team&NextToken=50",
        ))
        .unwrap();
        assert!(!r.dry_run);
        assert_eq!(
            r.request,
            ListTagResources {
                region: "r".into(),
                resource_type: TagResourceType::Image,
                resource_ids: vec!["m-1".into()],
                tags: vec![("env".into(), Some("prod".into())), ("team".into(), None)],
                offset: 50,
                limit: 50,
            }
        );
        let r = parse(&p(
            "RegionId=r&ResourceType=snapshot&Tag.1.Key=acs:rm:rgId&MaxResults=5",
        ))
        .unwrap()
        .request;
        assert_eq!((r.offset, r.limit, r.resource_ids.len()), (0, 5, 0));
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects_bad_targets(parse, "");
        let tags: String = (1..=21).map(|i| format!("&Tag.{i}.Key=k{i}")).collect();
        let many_tags = format!("RegionId=r&ResourceType=image{tags}");
        assert_rejects(
            parse,
            &[
                (
                    "RegionId=r&ResourceType=image",
                    BothEmptyTagsAndResources,
                    403,
                    "\"ResourceId.N\"",
                ),
                (many_tags.as_str(), NumberExceedTags, 400, "Tag.N"),
                (
                    "RegionId=r&ResourceType=image&Tag.1.Value=prod",
                    InvalidParameterTagValue,
                    400,
                    "Tag.1.Key",
                ),
                (
                    "RegionId=r&ResourceType=image&TagFilter.1.TagKey=env",
                    UnsupportedParameter,
                    400,
                    "\"TagFilter\"",
                ),
                (
                    "RegionId=r&ResourceType=image&ResourceId.1=m-1&NextToken=abc",
                    InvalidParameter,
                    400,
                    "\"NextToken\"",
                ),
                (
                    "RegionId=r&ResourceType=image&ResourceId.1=m-1&MaxResults=0",
                    InvalidParameter,
                    400,
                    "\"MaxResults\"",
                ),
            ],
        );
    }

    #[test]
    fn render_gives_string_rows_and_an_empty_token_after_the_last_page() {
        let rows = [(
            "m-1".to_string(),
            TagResourceType::Image,
            "env".to_string(),
            "prod".to_string(),
        )];
        let body = serde_json::to_value(render(None, &rows)).unwrap();
        assert_eq!(
            body,
            json!({"NextToken": "", "TagResources": {"TagResource": [
                {"ResourceId": "m-1", "ResourceType": "image", "TagKey": "env", "TagValue": "prod"}
            ]}})
        );
        let body = serde_json::to_value(render(Some("50".into()), &[])).unwrap();
        assert_eq!(
            body,
            json!({"NextToken": "50", "TagResources": {"TagResource": []}})
        );
    }
}
