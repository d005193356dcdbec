//! `DescribeImages` (reference §5.1): every filter, paging, and the owner-alias rules.

use serde::Serialize;

use super::views::ImageView;
use stencil_domain::filter::{DescribeImages, OnlineFeature, OwnerFilter};
use stencil_domain::{
    AccountId, ActionType, Architecture, ImageFilter, ImageOwnerAlias, ImageStatus, OsType,
    StatusFilter, Usage,
};

use super::common::{page, parse_api_time};
use super::tag_params::{DESCRIBE_FILTER_CODES, tag_filters};
use super::{parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's listing request.
pub type Request = DescribeImages;

/// Parses and validates every parameter.
pub fn parse(params: &Params) -> Result<Request, EcsError> {
    let region = region_id(params)?;
    let alias = parse_enum(
        params,
        "ImageOwnerAlias",
        ErrorCode::InvalidImageOwnerAliasValueNotSupported,
        "system, self, others or marketplace",
        ImageOwnerAlias::parse,
    )?;
    let is_public = params.bool_or("IsPublic", false)?;
    if is_public && alias != Some(ImageOwnerAlias::Others) {
        return Err(EcsError::new(
            ErrorCode::InvalidImageOwnerAliasPublicImageUnsupported,
            "The parameter \"IsPublic\" can be true only when \"ImageOwnerAlias\" is others.",
        ));
    }
    let owner = match alias {
        None => OwnerFilter::Any,
        Some(alias) => OwnerFilter::Alias { alias, is_public },
    };
    let mut filter = ImageFilter {
        ids: params
            .non_empty("ImageId")
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        name_contains: params.non_empty("ImageName").map(String::from),
        family: params.non_empty("ImageFamily").map(String::from),
        statuses: statuses(params)?,
        os_type: parse_enum(
            params,
            "OSType",
            ErrorCode::InvalidOsType,
            "windows or linux",
            OsType::parse,
        )?,
        architectures: parse_enum(
            params,
            "Architecture",
            ErrorCode::InvalidArchitecture,
            "i386, x86_64 or arm64",
            Architecture::parse,
        )?
        .map(|a| vec![a]),
        snapshot_id: params.non_empty("SnapshotId").map(String::from),
        usage: parse_enum(
            params,
            "Usage",
            ErrorCode::InvalidUsage,
            "instance or none",
            Usage::parse,
        )?,
        is_support_io_optimized: params.bool("IsSupportIoOptimized")?,
        is_support_cloudinit: params.bool("IsSupportCloudinit")?,
        tags: tag_filters(params, DESCRIBE_FILTER_CODES)?,
        owner_id: owner_id(params, owner)?,
        resource_group_id: params.non_empty("ResourceGroupId").map(String::from),
        ..ImageFilter::default()
    };
    apply_filters(params, &mut filter)?;
    params.bool("ShowExpired")?;
    let action_type = parse_enum(
        params,
        "ActionType",
        ErrorCode::InvalidParameter,
        "CreateEcs or ChangeOS",
        ActionType::parse,
    )?
    .unwrap_or(ActionType::CreateEcs);
    let (page_number, page_size) = page(params)?;
    Ok(DescribeImages {
        region,
        owner,
        filter,
        instance_type: params.non_empty("InstanceType").map(String::from),
        dry_run: params.bool_or("DryRun", false)?,
        action_type,
        page_number,
        page_size,
    })
}

fn statuses(params: &Params) -> Result<StatusFilter, EcsError> {
    let status = params.non_empty("Status");
    let mut filter = match status {
        None => StatusFilter::default_available(),
        Some(s) => StatusFilter::parse(s).map_err(|bad| {
            EcsError::invalid("Status", format!("{bad:?} is not an image status"))
        })?,
    };
    if let Some(usable) = params.bool("Usable")? {
        if status.is_none() {
            return Err(EcsError::invalid(
                "Usable",
                "requires an explicit \"Status\"",
            ));
        }
        let all = match &filter {
            StatusFilter::All => ImageStatus::ALL.to_vec(),
            StatusFilter::Only(v) => v.clone(),
        };
        filter = StatusFilter::Only(
            all.into_iter()
                .filter(|s| s.launchable() == usable)
                .collect(),
        );
    }
    Ok(filter)
}

fn owner_id(params: &Params, owner: OwnerFilter) -> Result<Option<AccountId>, EcsError> {
    let Some(raw) = params.non_empty("ImageOwnerId") else {
        return Ok(None);
    };
    let id = AccountId::parse(raw).ok_or_else(|| {
        EcsError::invalid("ImageOwnerId", format!("{raw:?} is not an account ID"))
    })?;
    match owner {
        OwnerFilter::Alias {
            alias: ImageOwnerAlias::Others,
            ..
        } => Ok(Some(id)),
        _ => Err(EcsError::new(
            ErrorCode::InvalidOperationImageOwnerIdUnsupported,
            "The parameter \"ImageOwnerId\" is supported only for shared and community images (ImageOwnerAlias=others).",
        )),
    }
}

fn apply_filters(params: &Params, filter: &mut ImageFilter) -> Result<(), EcsError> {
    for f in params.objects("Filter")? {
        let key = f.required("Key")?;
        let value = f.get("Value").unwrap_or("");
        let bad_value = |code| {
            EcsError::new(
                code,
                format!(
                    "The value {value:?} of filter {key:?} (\"{}\") is not valid.",
                    f.full_name("Value")
                ),
            )
        };
        match key {
            "CreationStartTime" => {
                filter.created_from = Some(
                    parse_api_time(value)
                        .ok_or_else(|| bad_value(ErrorCode::InvalidFilterValue))?,
                )
            }
            "CreationEndTime" => {
                filter.created_to = Some(
                    parse_api_time(value)
                        .ok_or_else(|| bad_value(ErrorCode::InvalidFilterValue))?,
                )
            }
            // Every Stencil image supports VPC and classic networking alike.
            "NetworkType" if ["vpc", "classic"].contains(&value) => {}
            "NetworkType" => return Err(bad_value(ErrorCode::InvalidFilterValueNetworkType)),
            other => match OnlineFeature::parse(other) {
                Some(feature) => {
                    let supported = match value {
                        "supported" => true,
                        "unsupported" => false,
                        _ => return Err(bad_value(ErrorCode::InvalidFilterValue)),
                    };
                    filter.online_features.push((feature, supported));
                }
                None => {
                    return Err(EcsError::new(
                        ErrorCode::InvalidFilterKeyNotFound,
                        format!(
                            "The filter key {key:?} (\"{}\") is not supported.",
                            f.full_name("Key")
                        ),
                    ));
                }
            },
        }
    }
    Ok(())
}

/// The response body: one page of image views.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response<'a> {
    /// Region listed.
    pub region_id: &'a str,
    /// Matches in all pages.
    pub total_count: u64,
    /// This page.
    pub page_number: u64,
    /// Requested page size.
    pub page_size: u64,
    /// The images, wrapped as `{"Image": [...]}`.
    pub images: ImageList<'a>,
}

/// `{"Image": [...]}`.
#[derive(Debug, Serialize)]
pub struct ImageList<'a> {
    /// The views.
    #[serde(rename = "Image")]
    pub image: Vec<ImageView<'a>>,
}

/// Builds the response for one page.
pub fn render<'a>(
    region: &'a str,
    total: u64,
    page_number: u64,
    page_size: u64,
    images: Vec<ImageView<'a>>,
) -> Response<'a> {
    Response {
        region_id: region,
        total_count: total,
        page_number,
        page_size,
        images: ImageList { image: images },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Params {
        Params::from_query(q).unwrap()
    }

    #[test]
    fn defaults_are_available_first_page_of_ten() {
        let r = parse(&p("RegionId=cn-hangzhou")).unwrap();
        assert_eq!(r.owner, OwnerFilter::Any);
        assert_eq!(r.filter.statuses, StatusFilter::default_available());
        assert_eq!((r.page_number, r.page_size), (1, 10));
    }

    #[test]
    fn captured_python_request_parses() {
        let r = parse(&p("DryRun=False&Filter.1.Key=CreationStartTime&Filter.1.Value=2017-12-05T22%3A40Z&ImageName=my+image~x&ImageOwnerAlias=self&IsSupportIoOptimized=True&PageNumber=1&PageSize=50&RegionId=cn-hangzhou&Status=Available%2CCreating&Tag.1.Key=env&Tag.1.Value=prod")).unwrap();
        assert_eq!(
            r.owner,
            OwnerFilter::Alias {
                alias: ImageOwnerAlias::SelfOwned,
                is_public: false
            }
        );
        assert_eq!(r.filter.name_contains.as_deref(), Some("my image~x"));
        assert_eq!(
            r.filter.tags,
            vec![("env".to_string(), Some("prod".to_string()))]
        );
        assert_eq!(
            r.filter.created_from.unwrap().to_rfc3339(),
            "2017-12-05T22:40:00+00:00"
        );
        assert_eq!(r.page_size, 50);
        assert_eq!(r.filter.is_support_io_optimized, Some(true));
    }

    #[test]
    fn bad_values_get_the_documented_codes() {
        let code = |q: &str| parse(&p(q)).unwrap_err().code();
        assert_eq!(code("PageSize=1"), ErrorCode::MissingParameter);
        assert_eq!(code("RegionId=r&PageSize=0"), ErrorCode::InvalidParameter);
        assert_eq!(code("RegionId=r&PageSize=101"), ErrorCode::InvalidParameter);
        assert_eq!(code("RegionId=r&PageSize=abc"), ErrorCode::InvalidParameter);
        assert_eq!(code("RegionId=r&OSType=solaris"), ErrorCode::InvalidOsType);
        assert_eq!(
            code("RegionId=r&Architecture=mips"),
            ErrorCode::InvalidArchitecture
        );
        assert_eq!(code("RegionId=r&Usage=sometimes"), ErrorCode::InvalidUsage);
        assert_eq!(
            code("RegionId=r&ImageOwnerAlias=friends"),
            ErrorCode::InvalidImageOwnerAliasValueNotSupported
        );
        assert_eq!(
            code("RegionId=r&IsPublic=true"),
            ErrorCode::InvalidImageOwnerAliasPublicImageUnsupported
        );
        assert_eq!(
            code("RegionId=r&ImageOwnerId=123"),
            ErrorCode::InvalidOperationImageOwnerIdUnsupported
        );
        assert_eq!(
            code("RegionId=r&Filter.1.Key=Color&Filter.1.Value=x"),
            ErrorCode::InvalidFilterKeyNotFound
        );
        assert_eq!(
            code("RegionId=r&Filter.1.Key=CreationStartTime&Filter.1.Value=yesterday"),
            ErrorCode::InvalidFilterValue
        );
        assert_eq!(
            code("RegionId=r&Filter.1.Key=NetworkType&Filter.1.Value=mesh"),
            ErrorCode::InvalidFilterValueNetworkType
        );
        assert_eq!(
            code("RegionId=r&Status=Available,ALL"),
            ErrorCode::InvalidParameter
        );
        assert_eq!(code("RegionId=r&Usable=true"), ErrorCode::InvalidParameter);
        assert_eq!(
            code("RegionId=r&Tag.1.Value=v"),
            ErrorCode::InvalidTagMismatch
        );
        let many: String = (1..=21).map(|i| format!("&Tag.{i}.Key=k{i}")).collect();
        assert_eq!(
            code(&format!("RegionId=r{many}")),
            ErrorCode::InvalidTagCount
        );
    }

    #[test]
    fn community_listing_and_usable_filter() {
        let r = parse(&p(
            "RegionId=r&ImageOwnerAlias=others&IsPublic=true&ImageOwnerId=1234",
        ))
        .unwrap();
        assert_eq!(
            r.owner,
            OwnerFilter::Alias {
                alias: ImageOwnerAlias::Others,
                is_public: true
            }
        );
        assert_eq!(r.filter.owner_id.unwrap().as_str(), "1234");
        let r = parse(&p("RegionId=r&Status=ALL&Usable=true")).unwrap();
        assert_eq!(
            r.filter.statuses,
            StatusFilter::Only(vec![ImageStatus::Available, ImageStatus::Deprecated])
        );
        let r = parse(&p(
            "RegionId=r&Filter.1.Key=CpuOnlineUpgrade&Filter.1.Value=supported&ImageId=m-1,%20m-2",
        ))
        .unwrap();
        assert_eq!(
            r.filter.online_features,
            vec![(OnlineFeature::CpuOnlineUpgrade, true)]
        );
        assert_eq!(r.filter.ids, vec!["m-1", "m-2"]);
    }
}
