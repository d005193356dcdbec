//! `TagResources` (reference §5.16): sets tags on images or snapshots, replacing the value of
//! a key the resource already has. The per-resource tag limit is the service's to check.

use serde_json::{Value, json};
use stencil_domain::requests::TagResources;

use super::common::{Parsed, missing_as};
use super::tag_params::{resource_ids, resource_tags, resource_type, tag_region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = TagResources;

/// Parses and validates every parameter: `Tag.N` is required (`MissingParameter.Tags`, 404).
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = tag_region_id(params)?;
    let resource_type = resource_type(params)?;
    let resource_ids = resource_ids(params, resource_type, true)?;
    let tags = resource_tags(params, ErrorCode::DuplicateTagKey)?;
    if tags.is_empty() {
        return Err(missing_as(ErrorCode::MissingParameterTags, "Tag.N"));
    }
    let request = TagResources {
        region,
        resource_type,
        resource_ids,
        tags,
    };
    Parsed::new(params, request)
}

/// The response has no fields beyond `RequestId`.
pub fn render() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p, tag};
    use super::super::tag_params::assert_rejects_bad_targets;
    use super::*;
    use stencil_domain::TagResourceType;

    #[test]
    fn a_terraform_style_request_parses_into_the_domain_request() {
        let r = parse(&p(
            "RegionId=cn-hangzhou&ResourceType=image&ResourceId.1=m-1&ResourceId.2=m-2\
             &Tag.1.Key=env&Tag.1.Value=prod&Tag.2.Key=empty&Tag.2.Value=",
        ))
        .unwrap();
        assert!(!r.dry_run);
        assert_eq!(
            r.request,
            TagResources {
                region: "cn-hangzhou".into(),
                resource_type: TagResourceType::Image,
                resource_ids: vec!["m-1".into(), "m-2".into()],
                tags: vec![tag("env", "prod"), tag("empty", ""),],
            }
        );
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects_bad_targets(parse, "&Tag.1.Key=k");
        let tags: String = (1..=21).map(|i| format!("&Tag.{i}.Key=k{i}")).collect();
        let many_tags = format!("RegionId=r&ResourceType=image&ResourceId.1=m-1{tags}");
        assert_rejects(
            parse,
            &[
                (
                    "RegionId=r&ResourceType=image&Tag.1.Key=k",
                    MissingParameterResourceIds,
                    404,
                    "ResourceId.N",
                ),
                (
                    "RegionId=r&ResourceType=image&ResourceId.1=m-1",
                    MissingParameterTags,
                    404,
                    "Tag.N",
                ),
                (many_tags.as_str(), NumberExceedTags, 400, "Tag.N"),
                (
                    "RegionId=r&ResourceType=image&ResourceId.1=m-1&Tag.1.Key=k&Tag.2.Key=K",
                    DuplicateTagKey,
                    400,
                    "Tag.2.Key",
                ),
                (
                    "RegionId=r&ResourceType=image&ResourceId.1=m-1&Tag.1.Key=acs:k",
                    InvalidTagKeyMalformed,
                    400,
                    "Tag.1.Key",
                ),
                (
                    "RegionId=r&ResourceType=image&ResourceId.1=m-1&Tag.1.Key=k&Tag.1.Value=https%3A%2F%2Fx",
                    InvalidTagValueMalformed,
                    400,
                    "Tag.1.Value",
                ),
            ],
        );
    }
}
