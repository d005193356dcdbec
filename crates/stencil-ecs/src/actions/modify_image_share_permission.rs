//! `ModifyImageSharePermission` (reference §5.9): shares a custom image with accounts, stops
//! sharing it, or publishes and unpublishes it as a community image. `AddAccount.N` and
//! `RemoveAccount.N` take N = 1–10; higher N are ignored, as the reference says. Which
//! accounts exist, and whether this image may be shared now, is the service's to decide.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stencil_domain::AccountId;
use stencil_domain::requests::ModifyImageSharePermission;

use super::common::{Parsed, image_id, invalid_as};
use super::region_id;
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = ModifyImageSharePermission;

/// Highest `N` of `AddAccount.N` and `RemoveAccount.N` that counts.
pub const MAX_ACCOUNTS_PER_CALL: u32 = 10;

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let add_accounts = accounts(params, "AddAccount")?;
    let remove_accounts = accounts(params, "RemoveAccount")?;
    if let Some((_, both)) = add_accounts
        .iter()
        .find(|(_, a)| remove_accounts.iter().any(|(_, r)| r == a))
    {
        return Err(EcsError::invalid(
            "AddAccount.N",
            format_args!("account {both} is also in \"RemoveAccount.N\""),
        ));
    }
    if params.non_empty("LaunchPermission").is_some() {
        let code = if add_accounts.is_empty() && remove_accounts.is_empty() {
            ErrorCode::InvalidParameterLaunchPermission
        } else {
            ErrorCode::UnnecessaryParameterLaunchPermission
        };
        return Err(invalid_as(
            code,
            "LaunchPermission",
            "launch permissions (invitational preview) are not supported; use AddAccount.N",
        ));
    }
    let request = ModifyImageSharePermission {
        region: region_id(params)?,
        image_id: image_id(params, "ImageId")?,
        add_accounts,
        remove_accounts,
        is_public: params.bool("IsPublic")?,
    };
    Parsed::new(params, request)
}

/// The (N, account) of `name.1`…`name.10` in N order; empty values are skipped, and a value
/// that cannot be an account ID is `InvalidAccount.NotFound` naming its parameter.
fn accounts(params: &Params, name: &str) -> Result<Vec<(u32, AccountId)>, EcsError> {
    let listed: BTreeMap<u32, String> = params.indexed_list(name)?;
    listed
        .range(..=MAX_ACCOUNTS_PER_CALL)
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, v)| {
            let id = AccountId::parse(v).ok_or_else(|| {
                invalid_as(
                    ErrorCode::InvalidAccountNotFound,
                    &params.full_name(&format!("{name}.{n}")),
                    format_args!("the account {v:?} does not exist (an account ID is digits)"),
                )
            })?;
            Ok((*n, id))
        })
        .collect()
}

/// The response has no fields beyond `RequestId`.
pub fn render() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, assert_rejects_image_ref, p};
    use super::*;

    fn ids(list: &[(u32, &str)]) -> Vec<(u32, AccountId)> {
        list.iter()
            .map(|(n, a)| (*n, AccountId::parse(a).unwrap()))
            .collect()
    }

    #[test]
    fn accounts_and_is_public_parse_into_the_domain_request() {
        let r = parse(&p(
            "RegionId=cn-hangzhou&ImageId=m-abc&AddAccount.3=222&AddAccount.1=111\
             &RemoveAccount.1=333&IsPublic=False&DryRun=true",
        ))
        .unwrap();
        assert!(r.dry_run);
        assert_eq!(
            r.request,
            ModifyImageSharePermission {
                region: "cn-hangzhou".into(),
                image_id: "m-abc".into(),
                add_accounts: ids(&[(1, "111"), (3, "222")]),
                remove_accounts: ids(&[(1, "333")]),
                is_public: Some(false),
            }
        );
    }

    #[test]
    fn accounts_beyond_n_10_are_ignored_and_empty_values_skipped() {
        let mut q = String::from("RegionId=r&ImageId=m-1&RemoveAccount.1=");
        for n in 1..=12 {
            q.push_str(&format!("&AddAccount.{n}={}", 100 + n));
        }
        let r = parse(&p(&q)).unwrap().request;
        assert_eq!(r.add_accounts.len(), 10);
        assert_eq!(r.add_accounts.last().unwrap().1.as_str(), "110");
        assert_eq!(r.add_accounts.last().unwrap().0, 10);
        assert!(r.remove_accounts.is_empty());
        assert_eq!(r.is_public, None);
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects_image_ref(parse, "");
        assert_rejects(
            parse,
            &[
                (
                    "RegionId=r&ImageId=m-1&AddAccount.2=12ab",
                    InvalidAccountNotFound,
                    404,
                    "\"AddAccount.2\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&RemoveAccount.1=-1",
                    InvalidAccountNotFound,
                    404,
                    "\"RemoveAccount.1\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&AddAccount.01=1",
                    InvalidParameter,
                    400,
                    "\"AddAccount.01\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&AddAccount.1=5&RemoveAccount.1=5",
                    InvalidParameter,
                    400,
                    "\"AddAccount.N\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&IsPublic=yes",
                    InvalidParameter,
                    400,
                    "\"IsPublic\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&AddAccount.1=5&LaunchPermission=x",
                    UnnecessaryParameterLaunchPermission,
                    400,
                    "\"LaunchPermission\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&LaunchPermission=x",
                    InvalidParameterLaunchPermission,
                    400,
                    "\"LaunchPermission\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&DryRun=2",
                    InvalidParameter,
                    400,
                    "\"DryRun\"",
                ),
            ],
        );
    }
}
