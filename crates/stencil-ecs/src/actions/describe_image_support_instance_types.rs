//! `DescribeImageSupportInstanceTypes` (reference §5.13): the instance types an image runs on.

use serde_json::{Value, json};
use stencil_domain::ActionType;
use stencil_domain::catalog::InstanceType;

use super::{parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// A parsed DescribeImageSupportInstanceTypes call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Region.
    pub region: String,
    /// The image.
    pub image_id: String,
    /// Launch or replace-system-disk.
    pub action_type: ActionType,
}

/// Parses the request. `Filter.N` (`imageId`/`filter`) is documented as not effective; a
/// `Filter.N.Key=imageId` supplies the image when `ImageId` is absent, as older clients do.
pub fn parse(params: &Params) -> Result<Request, EcsError> {
    let region = region_id(params)?;
    let from_filter = params
        .objects("Filter")?
        .into_iter()
        .find(|f| {
            f.get("Key")
                .is_some_and(|k| k.eq_ignore_ascii_case("imageId"))
        })
        .and_then(|f| f.non_empty("Value").map(String::from));
    let image_id = match params.non_empty("ImageId") {
        Some(id) => id.to_string(),
        None => from_filter.ok_or_else(|| EcsError::missing("ImageId"))?,
    };
    let action_type = parse_enum(
        params,
        "ActionType",
        ErrorCode::InvalidParamter,
        "CreateEcs or ChangeOS",
        ActionType::parse,
    )?
    .unwrap_or(ActionType::CreateEcs);
    Ok(Request {
        region,
        image_id,
        action_type,
    })
}

/// Renders the compatible types.
pub fn render(region: &str, image_id: &str, types: &[InstanceType]) -> Value {
    let list: Vec<Value> = types
        .iter()
        .map(|t| {
            json!({
                "InstanceTypeId": t.id,
                "InstanceTypeFamily": t.family,
                "CpuCoreCount": t.cpu_core_count,
                "MemorySize": t.memory_gib,
            })
        })
        .collect();
    json!({"RegionId": region, "ImageId": image_id, "InstanceTypes": {"InstanceType": list}})
}
