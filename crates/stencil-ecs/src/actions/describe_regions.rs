//! `DescribeRegions`: the configured regions. `RegionId` is optional here.

use serde_json::{Value, json};

use crate::{EcsError, Params};

/// A parsed DescribeRegions call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `AcceptLanguage`: `zh-CN` (default) or `en-US`; both get the configured name.
    pub accept_language: String,
}

/// Parses the request.
pub fn parse(params: &Params) -> Result<Request, EcsError> {
    let lang = params.non_empty("AcceptLanguage").unwrap_or("zh-CN");
    if !["zh-CN", "en-US", "ja"].contains(&lang) {
        return Err(EcsError::invalid(
            "AcceptLanguage",
            format!("must be zh-CN, en-US or ja, got {lang:?}"),
        ));
    }
    Ok(Request {
        accept_language: lang.to_string(),
    })
}

/// Renders `(id, local name, endpoint)` triples.
pub fn render(regions: &[(String, String, String)]) -> Value {
    let list: Vec<Value> = regions
        .iter()
        .map(|(id, name, endpoint)| {
            json!({"RegionId": id, "LocalName": name, "RegionEndpoint": endpoint, "Status": "available"})
        })
        .collect();
    json!({"Regions": {"Region": list}})
}
