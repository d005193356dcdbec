//! One module per ECS action, all with the same shape: a `Request` type of domain values, a
//! `parse(&Params)` that validates every parameter (exact ECS code and HTTP status, a message
//! naming the parameter), and a `render(...)` that produces the response body with the
//! SDK-declared JSON types. The server runs `parse`, calls the service, then `render`.
//!
//! The lifecycle actions parse into the request types of `stencil_domain::requests`, wrapped
//! in [`Parsed`] with the `DryRun` flag: when it is set the dispatcher answers
//! `DryRunOperation` instead of calling the service. Listings that page by `NextToken` get
//! their next token from [`next_token`], the inverse of what their `parse` decodes.
//!
//! | module | what it holds |
//! |---|---|
//! | `common` | `Parsed`, IDs, paging and tokens, times, bounded lists, refused parameters |
//! | `image_attrs` | names, architecture, platform, boot mode, features, devices |
//! | `instance_attrs` | instance, host and disk names, disk categories and sizes, encryption |
//! | `tag_params` | tags to set, tag filters, the tag actions' region, type and IDs |
//! | `views` | JSON views of images, instance types and tags (instance and disk views live in their listings) |
//! | `domain_error` | `DomainError` → ECS code, one exhaustive `match` |

pub mod cancel_task;
pub mod copy_image;
pub mod create_image;
pub mod create_instance;
pub mod create_snapshot;
pub mod delete_image;
pub mod delete_instance;
pub mod delete_snapshot;
pub mod describe_disks;
pub mod describe_image_from_family;
pub mod describe_image_share_permission;
pub mod describe_image_support_instance_types;
pub mod describe_images;
pub mod describe_instance_types;
pub mod describe_instances;
pub mod describe_regions;
pub mod describe_snapshots;
pub mod describe_task_attribute;
pub mod describe_tasks;
pub mod export_image;
pub mod import_image;
pub mod list_tag_resources;
pub mod modify_image_attribute;
pub mod modify_image_share_group_permission;
pub mod modify_image_share_permission;
pub mod reinit_disk;
pub mod replace_system_disk;
pub mod reset_disk;
pub mod run_instances;
pub mod start_instance;
pub mod stop_instance;
pub mod tag_resources;
pub mod untag_resources;

mod common;
mod domain_error;
mod image_attrs;
mod instance_attrs;
mod tag_params;
mod views;

pub use common::{Parsed, next_token};
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
    /// `CreateImage`.
    CreateImage,
    /// `ImportImage`.
    ImportImage,
    /// `ExportImage`.
    ExportImage,
    /// `ModifyImageAttribute`.
    ModifyImageAttribute,
    /// `DeleteImage`.
    DeleteImage,
    /// `DescribeTasks`.
    DescribeTasks,
    /// `DescribeTaskAttribute`.
    DescribeTaskAttribute,
    /// `CancelTask`.
    CancelTask,
    /// `DescribeSnapshots`.
    DescribeSnapshots,
    /// `DeleteSnapshot`.
    DeleteSnapshot,
    /// `TagResources`.
    TagResources,
    /// `UntagResources`.
    UntagResources,
    /// `ListTagResources`.
    ListTagResources,
    /// `RunInstances`.
    RunInstances,
    /// `CreateInstance`.
    CreateInstance,
    /// `DescribeInstances`.
    DescribeInstances,
    /// `StartInstance`.
    StartInstance,
    /// `StopInstance`.
    StopInstance,
    /// `DeleteInstance`.
    DeleteInstance,
    /// `DescribeDisks`.
    DescribeDisks,
    /// `CreateSnapshot`.
    CreateSnapshot,
    /// `ReplaceSystemDisk`.
    ReplaceSystemDisk,
    /// `ResetDisk`.
    ResetDisk,
    /// `ReInitDisk`.
    ReInitDisk,
    /// `CopyImage`.
    CopyImage,
    /// `CancelCopyImage`.
    CancelCopyImage,
    /// `ModifyImageSharePermission`.
    ModifyImageSharePermission,
    /// `ModifyImageShareGroupPermission`.
    ModifyImageShareGroupPermission,
    /// `DescribeImageSharePermission`.
    DescribeImageSharePermission,
}

impl Action {
    /// Every implemented action.
    pub const ALL: &'static [Action] = &[
        Action::DescribeRegions,
        Action::DescribeImages,
        Action::DescribeImageFromFamily,
        Action::DescribeImageSupportInstanceTypes,
        Action::DescribeInstanceTypes,
        Action::CreateImage,
        Action::ImportImage,
        Action::ExportImage,
        Action::ModifyImageAttribute,
        Action::DeleteImage,
        Action::DescribeTasks,
        Action::DescribeTaskAttribute,
        Action::CancelTask,
        Action::DescribeSnapshots,
        Action::DeleteSnapshot,
        Action::TagResources,
        Action::UntagResources,
        Action::ListTagResources,
        Action::RunInstances,
        Action::CreateInstance,
        Action::DescribeInstances,
        Action::StartInstance,
        Action::StopInstance,
        Action::DeleteInstance,
        Action::DescribeDisks,
        Action::CreateSnapshot,
        Action::ReplaceSystemDisk,
        Action::ResetDisk,
        Action::ReInitDisk,
        Action::CopyImage,
        Action::CancelCopyImage,
        Action::ModifyImageSharePermission,
        Action::ModifyImageShareGroupPermission,
        Action::DescribeImageSharePermission,
    ];

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Action::DescribeRegions => "DescribeRegions",
            Action::DescribeImages => "DescribeImages",
            Action::DescribeImageFromFamily => "DescribeImageFromFamily",
            Action::DescribeImageSupportInstanceTypes => "DescribeImageSupportInstanceTypes",
            Action::DescribeInstanceTypes => "DescribeInstanceTypes",
            Action::CreateImage => "CreateImage",
            Action::ImportImage => "ImportImage",
            Action::ExportImage => "ExportImage",
            Action::ModifyImageAttribute => "ModifyImageAttribute",
            Action::DeleteImage => "DeleteImage",
            Action::DescribeTasks => "DescribeTasks",
            Action::DescribeTaskAttribute => "DescribeTaskAttribute",
            Action::CancelTask => "CancelTask",
            Action::DescribeSnapshots => "DescribeSnapshots",
            Action::DeleteSnapshot => "DeleteSnapshot",
            Action::TagResources => "TagResources",
            Action::UntagResources => "UntagResources",
            Action::ListTagResources => "ListTagResources",
            Action::RunInstances => "RunInstances",
            Action::CreateInstance => "CreateInstance",
            Action::DescribeInstances => "DescribeInstances",
            Action::StartInstance => "StartInstance",
            Action::StopInstance => "StopInstance",
            Action::DeleteInstance => "DeleteInstance",
            Action::DescribeDisks => "DescribeDisks",
            Action::CreateSnapshot => "CreateSnapshot",
            Action::ReplaceSystemDisk => "ReplaceSystemDisk",
            Action::ResetDisk => "ResetDisk",
            Action::ReInitDisk => "ReInitDisk",
            Action::CopyImage => "CopyImage",
            Action::CancelCopyImage => "CancelCopyImage",
            Action::ModifyImageSharePermission => "ModifyImageSharePermission",
            Action::ModifyImageShareGroupPermission => "ModifyImageShareGroupPermission",
            Action::DescribeImageSharePermission => "DescribeImageSharePermission",
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

/// Parses an optional closed-set value; anything else is `code` naming the parameter (with
/// its full name inside an object) and saying what was `expected`.
pub(crate) fn parse_enum<T>(
    params: &Params,
    name: &str,
    code: ErrorCode,
    expected: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, EcsError> {
    match params.non_empty(name) {
        None => Ok(None),
        Some(v) => parse(v).map(Some).ok_or_else(|| {
            common::invalid_as(
                code,
                &params.full_name(name),
                format_args!("must be {expected}, got {v:?}"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actions_without_response_fields_render_an_empty_object() {
        let empty = serde_json::json!({});
        for body in [
            modify_image_attribute::render(),
            delete_image::render(),
            cancel_task::render(),
            delete_snapshot::render(),
            tag_resources::render(),
            untag_resources::render(),
            start_instance::render(),
            stop_instance::render(),
            delete_instance::render(),
            reset_disk::render(),
            reinit_disk::render(),
            modify_image_share_permission::render(),
            modify_image_share_group_permission::render(),
        ] {
            assert_eq!(body, empty);
        }
    }

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
