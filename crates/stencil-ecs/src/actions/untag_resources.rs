//! `UntagResources` (reference §5.16): removes the named tag keys, or with `All=true` and no
//! key every tag, from images or snapshots. Keys the resources lack are ignored.

use serde_json::{Value, json};
use stencil_domain::requests::UntagResources;

use super::common::{Parsed, at_most, invalid_as};
use super::tag_params::{MAX_TAGS, resource_ids, resource_type, tag_region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = UntagResources;

/// Parses and validates every parameter: at most 20 `TagKey.N` (`NumberExceed.Tags`), none
/// empty (`InvalidTagKey.Malformed`); repeats are dropped.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = tag_region_id(params)?;
    let resource_type = resource_type(params)?;
    let resource_ids = resource_ids(params, resource_type, true)?;
    let listed = at_most(
        params.list("TagKey")?,
        MAX_TAGS,
        ErrorCode::NumberExceedTags,
        "TagKey.N",
    )?;
    let mut keys: Vec<String> = Vec::with_capacity(listed.len());
    for key in listed {
        if key.is_empty() {
            return Err(invalid_as(
                ErrorCode::InvalidTagKeyMalformed,
                "TagKey.N",
                "a tag key must not be empty",
            ));
        }
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let request = UntagResources {
        region,
        resource_type,
        resource_ids,
        keys,
        all: params.bool_or("All", false)?,
    };
    Parsed::new(params, request)
}

/// The response has no fields beyond `RequestId`.
pub fn render() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, p};
    use super::super::tag_params::assert_rejects_bad_targets;
    use super::*;
    use stencil_domain::TagResourceType;

    #[test]
    fn keys_or_all_parse_into_the_domain_request() {
        let r = parse(&p(
            "RegionId=r&ResourceType=Snapshot&ResourceId.1=s-1&TagKey.1=env&TagKey.2=team&TagKey.3=env",
        ))
        .unwrap();
        assert_eq!(
            r.request,
            UntagResources {
                region: "r".into(),
                resource_type: TagResourceType::Snapshot,
                resource_ids: vec!["s-1".into()],
                keys: vec!["env".into(), "team".into()],
                all: false,
            }
        );
        let r = parse(&p(
            "RegionId=r&ResourceType=image&ResourceId.1=m-1&All=True",
        ))
        .unwrap()
        .request;
        assert!(r.all && r.keys.is_empty());
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects_bad_targets(parse, "");
        let keys: String = (1..=21).map(|i| format!("&TagKey.{i}=k{i}")).collect();
        let many_keys = format!("RegionId=r&ResourceType=image&ResourceId.1=m-1{keys}");
        assert_rejects(
            parse,
            &[
                (
                    "RegionId=r&ResourceType=image",
                    MissingParameterResourceIds,
                    404,
                    "ResourceId.N",
                ),
                (many_keys.as_str(), NumberExceedTags, 400, "TagKey.N"),
                (
                    "RegionId=r&ResourceType=image&ResourceId.1=m-1&TagKey.1=",
                    InvalidTagKeyMalformed,
                    400,
                    "TagKey.N",
                ),
                (
                    "RegionId=r&ResourceType=image&ResourceId.1=m-1&All=everything",
                    InvalidParameter,
                    400,
                    "\"All\"",
                ),
            ],
        );
    }
}
