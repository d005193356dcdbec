//! One module per ECS action, all with the same shape: a `Request` struct of domain values, a
//! `parse(&Params) -> Result<Request, EcsError>` that validates every parameter, and a
//! `render(...) -> serde_json::Value` that produces the response body with the SDK-declared
//! JSON types. The server runs `parse`, calls the service, then `render`.

pub mod describe_image_from_family;
pub mod describe_image_support_instance_types;
pub mod describe_images;
pub mod describe_instance_types;
pub mod describe_regions;

mod domain_error;
mod views;

pub use domain_error::from_domain;
pub use views::{ImageView, image_view, instance_type_view};

use crate::{EcsError, ErrorCode, Params};

/// The actions this server implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `DescribeRegions`.
    DescribeRegions,
    /// `DescribeImages`.
    DescribeImages,
    /// `DescribeImageFromFamily`.
    DescribeImageFromFamily,
    /// `DescribeImageSupportInstanceTypes`.
    DescribeImageSupportInstanceTypes,
    /// `DescribeInstanceTypes`.
    DescribeInstanceTypes,
}

impl Action {
    /// Every implemented action.
    pub const ALL: &'static [Action] = &[
        Action::DescribeRegions,
        Action::DescribeImages,
        Action::DescribeImageFromFamily,
        Action::DescribeImageSupportInstanceTypes,
        Action::DescribeInstanceTypes,
    ];

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Action::DescribeRegions => "DescribeRegions",
            Action::DescribeImages => "DescribeImages",
            Action::DescribeImageFromFamily => "DescribeImageFromFamily",
            Action::DescribeImageSupportInstanceTypes => "DescribeImageSupportInstanceTypes",
            Action::DescribeInstanceTypes => "DescribeInstanceTypes",
        }
    }

    /// Parses an action name (exact, as the gateway does); unknown names are
    /// `InvalidAction.NotFound`.
    pub fn parse(name: &str) -> Result<Action, EcsError> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                EcsError::new(
                    ErrorCode::InvalidActionNotFound,
                    format!(
                        "Specified api {name:?} is not found, please check your url and method."
                    ),
                )
            })
    }
}

/// The required `RegionId`.
pub fn region_id(params: &Params) -> Result<String, EcsError> {
    params.required("RegionId").map(str::to_owned)
}

/// Parses an optional closed-set value, or an error with `code` naming the parameter.
pub(crate) fn parse_enum<T>(
    params: &Params,
    name: &str,
    code: ErrorCode,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, EcsError> {
    match params.non_empty(name) {
        None => Ok(None),
        Some(v) => parse(v).map(Some).ok_or_else(|| {
            EcsError::new(
                code,
                format!("The specified parameter \"{name}\" is not valid: {v:?}."),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip_and_unknown_is_not_found() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.name()).unwrap(), *a);
        }
        assert_eq!(
            Action::parse("DescribeImagez").unwrap_err().code(),
            ErrorCode::InvalidActionNotFound
        );
    }
}
