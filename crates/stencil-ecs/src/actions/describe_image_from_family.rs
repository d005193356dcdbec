//! `DescribeImageFromFamily` (reference §5.12): the newest Available image of a family.

use serde_json::{Value, json};

use super::region_id;
use crate::{EcsError, Params};

/// A parsed DescribeImageFromFamily call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Region.
    pub region: String,
    /// Family name (custom, or `acs:` for public families).
    pub family: String,
}

/// Parses the request.
pub fn parse(params: &Params) -> Result<Request, EcsError> {
    Ok(Request {
        region: region_id(params)?,
        family: params.required("ImageFamily")?.to_string(),
    })
}

/// Renders the image view, or an empty `Image` object when the family has none.
pub fn render(image: Option<Value>) -> Value {
    json!({"Image": image.unwrap_or_else(|| json!({}))})
}
