//! `DescribeImageSharePermission` (reference §5.10): the accounts a custom image is shared
//! with, one page at a time (oldest share first), and `ShareGroups` `all` when the image is
//! published as a community image.

use serde::Serialize;
use stencil_domain::requests::DescribeImageSharePermission;

use super::common::{image_id, page};
use super::region_id;
use super::views::api_time;
use crate::{EcsError, Params};

/// The parsed request is the domain's.
pub type Request = DescribeImageSharePermission;

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Request, EcsError> {
    let (page_number, page_size) = page(params)?;
    Ok(DescribeImageSharePermission {
        region: region_id(params)?,
        image_id: image_id(params, "ImageId")?,
        page_number,
        page_size,
    })
}

/// One account of the page: `AliyunId` is a string, as the SDK declares it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountView {
    aliyun_id: String,
    shared_time: String,
}

/// `{"Account": [...]}`.
#[derive(Debug, Serialize)]
pub struct Accounts {
    #[serde(rename = "Account")]
    account: Vec<AccountView>,
}

/// One share group.
#[derive(Debug, Serialize)]
pub struct GroupView {
    #[serde(rename = "Group")]
    group: &'static str,
}

/// `{"ShareGroup": [...]}`.
#[derive(Debug, Serialize)]
pub struct ShareGroups {
    #[serde(rename = "ShareGroup")]
    share_group: Vec<GroupView>,
}

/// The response body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Body {
    region_id: String,
    image_id: String,
    page_number: u64,
    page_size: u64,
    /// Accounts in all pages.
    total_count: u64,
    share_groups: ShareGroups,
    accounts: Accounts,
}

/// The response for `req`: `shares` is this page of (account, shared time), `total` the
/// number of accounts in all pages, `public` whether the image is published.
pub fn render(
    req: &Request,
    shares: &[(String, chrono::DateTime<chrono::Utc>)],
    total: u64,
    public: bool,
) -> Body {
    Body {
        region_id: req.region.clone(),
        image_id: req.image_id.clone(),
        page_number: req.page_number,
        page_size: req.page_size,
        total_count: total,
        share_groups: ShareGroups {
            share_group: if public {
                vec![GroupView {
                    group: super::modify_image_share_group_permission::GROUP_ALL,
                }]
            } else {
                Vec::new()
            },
        },
        accounts: Accounts {
            account: shares
                .iter()
                .map(|(id, at)| AccountView {
                    aliyun_id: id.clone(),
                    shared_time: api_time(at),
                })
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::test_support::{assert_rejects, assert_rejects_image_ref, p};
    use super::*;
    use crate::ErrorCode;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn paging_defaults_to_the_first_ten() {
        let r = parse(&p("RegionId=cn-hangzhou&ImageId=m-1")).unwrap();
        assert_eq!((r.page_number, r.page_size), (1, 10));
        let r = parse(&p("RegionId=r&ImageId=m-1&PageNumber=3&PageSize=100")).unwrap();
        assert_eq!((r.page_number, r.page_size), (3, 100));
    }

    #[test]
    fn the_body_wraps_accounts_and_groups_with_string_ids() {
        let req = parse(&p("RegionId=cn-hangzhou&ImageId=m-1")).unwrap();
        let at = chrono::Utc.with_ymd_and_hms(2023, 1, 1, 12, 5, 0).unwrap();
        let body = serde_json::to_value(render(&req, &[("1234567890".into(), at)], 1, true));
        assert_eq!(
            body.unwrap(),
            json!({
                "RegionId": "cn-hangzhou", "ImageId": "m-1", "PageNumber": 1, "PageSize": 10,
                "TotalCount": 1,
                "ShareGroups": {"ShareGroup": [{"Group": "all"}]},
                "Accounts": {"Account": [{"AliyunId": "1234567890", "SharedTime": "2023-01-01T12:05:00Z"}]}
            })
        );
        let body = serde_json::to_value(render(&req, &[], 0, false)).unwrap();
        assert_eq!(body["ShareGroups"], json!({"ShareGroup": []}));
        assert_eq!(body["Accounts"], json!({"Account": []}));
    }

    #[test]
    fn bad_inputs_get_the_documented_codes() {
        use ErrorCode::*;
        assert_rejects_image_ref(parse, "");
        assert_rejects(
            parse,
            &[
                (
                    "RegionId=r&ImageId=m-1&PageSize=101",
                    InvalidParameter,
                    400,
                    "\"PageSize\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&PageSize=0",
                    InvalidParameter,
                    400,
                    "\"PageSize\"",
                ),
                (
                    "RegionId=r&ImageId=m-1&PageNumber=0",
                    InvalidParameter,
                    400,
                    "\"PageNumber\"",
                ),
            ],
        );
    }
}
