//! `DescribeInstanceTypes`: the instance type catalog, filtered, with token paging.

use serde_json::{Value, json};
use stencil_domain::catalog::InstanceType;

use crate::{EcsError, Params};

/// Default and largest page sizes (`MaxResults`).
pub const DEFAULT_MAX_RESULTS: i64 = 100;
/// Largest `MaxResults`.
pub const MAX_MAX_RESULTS: i64 = 1600;
/// Most `InstanceTypes.N` values.
pub const MAX_INSTANCE_TYPES: usize = 10;

/// A parsed DescribeInstanceTypes call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Only these types (empty: all).
    pub instance_types: Vec<String>,
    /// Only this family.
    pub family: Option<String>,
    /// `X86` or `ARM`.
    pub cpu_architecture: Option<String>,
    /// Index to start from (the `NextToken`).
    pub start: usize,
    /// Page size.
    pub max_results: usize,
}

/// Parses the request.
pub fn parse(params: &Params) -> Result<Request, EcsError> {
    let instance_types = params.list("InstanceTypes")?;
    if instance_types.len() > MAX_INSTANCE_TYPES {
        return Err(EcsError::invalid(
            "InstanceTypes",
            format!("at most {MAX_INSTANCE_TYPES} values"),
        ));
    }
    let cpu_architecture = match params.non_empty("CpuArchitecture") {
        None => None,
        Some(a) if a.eq_ignore_ascii_case("X86") || a.eq_ignore_ascii_case("ARM") => {
            Some(a.to_ascii_uppercase())
        }
        Some(a) => {
            return Err(EcsError::invalid(
                "CpuArchitecture",
                format!("must be X86 or ARM, got {a:?}"),
            ));
        }
    };
    let start = match params.non_empty("NextToken") {
        None => 0,
        Some(t) => t.parse::<usize>().map_err(|_| {
            EcsError::invalid("NextToken", format!("{t:?} is not a token from this API"))
        })?,
    };
    let max_results = params
        .int_in_range("MaxResults", 1..=MAX_MAX_RESULTS)?
        .unwrap_or(DEFAULT_MAX_RESULTS);
    Ok(Request {
        instance_types,
        family: params.non_empty("InstanceTypeFamily").map(String::from),
        cpu_architecture,
        start,
        max_results: usize::try_from(max_results).unwrap_or(100),
    })
}

/// Applies the filters and paging to the catalog and renders the page.
pub fn render(req: &Request, catalog: &[InstanceType]) -> Value {
    let matching: Vec<&InstanceType> = catalog
        .iter()
        .filter(|t| req.instance_types.is_empty() || req.instance_types.contains(&t.id))
        .filter(|t| req.family.as_ref().is_none_or(|f| &t.family == f))
        .filter(|t| {
            req.cpu_architecture.as_deref().is_none_or(|a| {
                (a == "ARM") == (t.architecture == stencil_domain::Architecture::Arm64)
            })
        })
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(req.start)
        .take(req.max_results)
        .map(|t| super::instance_type_view(t))
        .collect();
    let end = req.start + page.len();
    let next = if end < matching.len() {
        end.to_string()
    } else {
        String::new()
    };
    json!({"NextToken": next, "InstanceTypes": {"InstanceType": page}})
}
