//! `ModifyImageShareGroupPermission` (reference §5.11): the SDKs' group form of publishing.
//! The only group is `all` (everyone), so `AddGroup.N=all` publishes the image as a community
//! image and `RemoveGroup.N=all` unpublishes it, exactly as `IsPublic` does in
//! ModifyImageSharePermission; the same service call carries both out.

use serde_json::{Value, json};
use stencil_domain::requests::ModifyImageSharePermission;

use super::common::{Parsed, image_id, invalid_as};
use super::region_id;
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the one ModifyImageSharePermission makes with `IsPublic`.
pub type Request = ModifyImageSharePermission;

/// The one share group there is.
pub const GROUP_ALL: &str = "all";

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let add = groups(params, "AddGroup")?;
    let remove = groups(params, "RemoveGroup")?;
    let is_public = match (add, remove) {
        (true, true) => {
            return Err(invalid_as(
                ErrorCode::InvalidGroupMalformed,
                "AddGroup.N",
                "the group \"all\" cannot be added and removed in one request",
            ));
        }
        (true, false) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    };
    let request = ModifyImageSharePermission {
        region: region_id(params)?,
        image_id: image_id(params, "ImageId")?,
        add_accounts: Vec::new(),
        remove_accounts: Vec::new(),
        is_public,
    };
    Parsed::new(params, request)
}

/// Whether `name.N` names the group `all`; any other non-empty value is
/// `InvalidGroup.Malformed` naming its parameter.
fn groups(params: &Params, name: &str) -> Result<bool, EcsError> {
    let mut any = false;
    for (n, v) in params.indexed_list(name)? {
        if v.is_empty() {
            continue;
        }
        if !v.eq_ignore_ascii_case(GROUP_ALL) {
            return Err(invalid_as(
                ErrorCode::InvalidGroupMalformed,
                &params.full_name(&format!("{name}.{n}")),
                format_args!("the only group is \"all\", got {v:?}"),
            ));
        }
        any = true;
    }
    Ok(any)
}

/// The response has no fields beyond `RequestId`.
pub fn render() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, assert_rejects_image_ref, p};
    use super::*;

    fn is_public(query: &str) -> Option<bool> {
        parse(&p(query)).unwrap().request.is_public
    }

    #[test]
    fn group_all_publishes_and_unpublishes() {
        assert_eq!(
            is_public("RegionId=r&ImageId=m-1&AddGroup.1=all"),
            Some(true)
        );
        assert_eq!(
            is_public("RegionId=r&ImageId=m-1&RemoveGroup.1=ALL"),
            Some(false)
        );
        assert_eq!(is_public("RegionId=r&ImageId=m-1&AddGroup.1="), None);
        let r = parse(&p("RegionId=cn-hangzhou&ImageId=m-1&AddGroup.1=all")).unwrap();
        assert!(r.request.add_accounts.is_empty() && r.request.remove_accounts.is_empty());
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects_image_ref(parse, "&AddGroup.1=all");
        assert_rejects(
            parse,
            &[
                (
                    "RegionId=r&ImageId=m-1&AddGroup.1=all&AddGroup.2=friends",
                    InvalidGroupMalformed,
                    400,
                    "\"AddGroup.2\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&RemoveGroup.1=everyone",
                    InvalidGroupMalformed,
                    400,
                    "\"RemoveGroup.1\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&AddGroup.1=all&RemoveGroup.1=all",
                    InvalidGroupMalformed,
                    400,
                    "\"AddGroup.N\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&AddGroup.x=all",
                    InvalidParameter,
                    400,
                    "\"AddGroup.x\"",
                ),
            ],
        );
    }
}
