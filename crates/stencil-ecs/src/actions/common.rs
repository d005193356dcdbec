//! What the action modules share: the `DryRun` wrapper, resource IDs, paging and `NextToken`,
//! API times, bounded lists, and the parameters Stencil cannot honour. Each helper turns one
//! kind of parameter into a value, or into the ECS code the reference gives for it, with a
//! message that names the parameter.

use std::fmt::Display;

use chrono::{DateTime, NaiveDateTime, Utc};
use stencil_domain::requests::TaskRef;
use stencil_domain::{DiskId, ImageId, InstanceId, SnapshotId, TaskId};

use crate::{EcsError, ErrorCode, Params};

/// A parsed request and its `DryRun` flag. Every action parses into this, so the dispatcher
/// treats them alike: when `dry_run` is set it answers `DryRunOperation` instead of calling
/// the service (the request has been fully validated by then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<R> {
    /// The domain request.
    pub request: R,
    /// `DryRun=true`: validate only.
    pub dry_run: bool,
}

impl<R> Parsed<R> {
    /// Wraps `request` with the `DryRun` flag of `params`.
    pub(crate) fn new(params: &Params, request: R) -> Result<Self, EcsError> {
        Ok(Parsed {
            request,
            dry_run: params.bool_or("DryRun", false)?,
        })
    }
}

/// `code` with the message grammar of [`EcsError::invalid`]: the parameter in double quotes,
/// then what is wrong with it.
pub(crate) fn invalid_as(code: ErrorCode, name: &str, problem: impl Display) -> EcsError {
    EcsError::new(
        code,
        format!("The specified parameter \"{name}\" is not valid: {problem}."),
    )
}

/// `code` (`MissingParameter` or a `MissingParameter.*` variant) naming the absent parameter,
/// with the documented wording.
pub(crate) fn missing_as(code: ErrorCode, name: &str) -> EcsError {
    EcsError::new(
        code,
        format!(
            "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
        ),
    )
}

/// The value of a required parameter, or `code` (a `MissingParameter.*` variant) naming it.
pub(crate) fn required_as<'a>(
    params: &'a Params,
    name: &str,
    code: ErrorCode,
) -> Result<&'a str, EcsError> {
    params
        .non_empty(name)
        .ok_or_else(|| missing_as(code, &params.full_name(name)))
}

/// `code` for an ID that cannot exist because it is not shaped like one.
pub(crate) fn not_found(code: ErrorCode, name: &str, raw: &str) -> EcsError {
    EcsError::new(
        code,
        format!("The specified {name} {raw:?} does not exist."),
    )
}

/// The required image ID `name`; a value that is no image ID is `InvalidImageId.NotFound`.
pub(crate) fn image_id(params: &Params, name: &str) -> Result<String, EcsError> {
    let raw = params.required(name)?;
    ImageId::parse(raw)
        .map(|id| id.as_str().to_owned())
        .ok_or_else(|| not_found(ErrorCode::InvalidImageIdNotFound, name, raw))
}

/// A snapshot ID (`s-…`) sent as `name`; anything else is `InvalidSnapshotId.NotFound`.
pub(crate) fn snapshot_id(raw: &str, name: &str) -> Result<SnapshotId, EcsError> {
    SnapshotId::parse(raw).ok_or_else(|| not_found(ErrorCode::InvalidSnapshotIdNotFound, name, raw))
}

/// The required instance ID `name` (`i-…`); anything else is `InvalidInstanceId.NotFound`.
pub(crate) fn instance_id(params: &Params, name: &str) -> Result<String, EcsError> {
    let raw = params.required(name)?;
    InstanceId::parse(raw)
        .map(|id| id.as_str().to_owned())
        .ok_or_else(|| not_found(ErrorCode::InvalidInstanceIdNotFound, name, raw))
}

/// The required disk ID `name` (`d-…`); anything else is `InvalidDiskId.NotFound`.
pub(crate) fn disk_id(params: &Params, name: &str) -> Result<String, EcsError> {
    let raw = params.required(name)?;
    DiskId::parse(raw)
        .map(|id| id.as_str().to_owned())
        .ok_or_else(|| not_found(ErrorCode::InvalidDiskIdNotFound, name, raw))
}

/// The required `TaskId` (`t-…`); anything else is `InvalidTaskId.NotFound`.
pub(crate) fn task_id(params: &Params) -> Result<String, EcsError> {
    let raw = params.required("TaskId")?;
    TaskId::parse(raw)
        .map(|id| id.as_str().to_owned())
        .ok_or_else(|| not_found(ErrorCode::InvalidTaskIdNotFound, "TaskId", raw))
}

/// `RegionId` and `TaskId` of DescribeTaskAttribute and CancelTask.
pub(crate) fn task_ref(params: &Params) -> Result<Parsed<TaskRef>, EcsError> {
    let request = TaskRef {
        region: super::region_id(params)?,
        task_id: task_id(params)?,
    };
    Parsed::new(params, request)
}

/// Most items in the `Ids`-style lists (`TaskIds`, `SnapshotIds`, `ResourceIds.N`).
pub const MAX_IDS: usize = 100;
/// Default `PageSize`.
pub const DEFAULT_PAGE_SIZE: i64 = 10;
/// Largest `PageSize`.
pub const MAX_PAGE_SIZE: i64 = 100;

/// `items` if there are at most `max`, else `code` naming the parameter.
pub(crate) fn at_most<T>(
    items: Vec<T>,
    max: usize,
    code: ErrorCode,
    name: &str,
) -> Result<Vec<T>, EcsError> {
    if items.len() > max {
        return Err(invalid_as(
            code,
            name,
            format_args!("at most {max} values are allowed, got {}", items.len()),
        ));
    }
    Ok(items)
}

/// `PageNumber` (default 1) and `PageSize` (1–100, default 10).
pub(crate) fn page(params: &Params) -> Result<(u64, u64), EcsError> {
    let number = params
        .int_in_range("PageNumber", 1..=i64::from(i32::MAX))?
        .unwrap_or(1);
    let size = params
        .int_in_range("PageSize", 1..=MAX_PAGE_SIZE)?
        .unwrap_or(DEFAULT_PAGE_SIZE);
    Ok((to_u64(number), to_u64(size)))
}

/// The rows one page of a listing reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listing {
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
    /// Whether the caller pages with `NextToken`/`MaxResults`.
    pub token_paging: bool,
    /// `PageNumber` as given (1 without one).
    pub page_number: u64,
}

/// The page of a listing that takes both `NextToken`/`MaxResults` (preferred; used as soon as
/// either is sent; `MaxResults` 1–100, default 10) and `PageNumber`/`PageSize`.
pub(crate) fn listing(params: &Params) -> Result<Listing, EcsError> {
    let (page_number, page_size) = page(params)?;
    let token_paging =
        params.non_empty("NextToken").is_some() || params.non_empty("MaxResults").is_some();
    let (offset, limit) = if token_paging {
        let max_results = params
            .int_in_range("MaxResults", 1..=MAX_PAGE_SIZE)?
            .unwrap_or(DEFAULT_PAGE_SIZE);
        (decode_next_token(params)?, to_u64(max_results))
    } else {
        ((page_number - 1).saturating_mul(page_size), page_size)
    };
    Ok(Listing {
        offset,
        limit,
        token_paging,
        page_number,
    })
}

/// A filter the domain request has no field for, that Stencil can honour only when it matches
/// every resource: absent, or `all_match` (in any case), is fine; any other value is
/// `UnsupportedParameter` (a filter silently ignored would widen the listing).
pub(crate) fn vacuous_filter(params: &Params, name: &str, all_match: &str) -> Result<(), EcsError> {
    match params.non_empty(name) {
        Some(v) if !v.eq_ignore_ascii_case(all_match) => Err(EcsError::new(
            ErrorCode::UnsupportedParameter,
            format!(
                "The parameter \"{name}\" is not supported with the value {v:?}: every resource here has {all_match:?}."
            ),
        )),
        _ => Ok(()),
    }
}

/// An optional integer in `range`, answered with `code` instead of `InvalidParameter` when it
/// is not one (ImportImage sizes: `InvalidImageSize`, `InvalidDataDiskSize`).
pub(crate) fn int_in_range_as(
    params: &Params,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
    code: ErrorCode,
) -> Result<Option<i64>, EcsError> {
    params
        .int_in_range(name, range)
        .map_err(|e| EcsError::new(code, e.message()))
}

/// A range-checked positive integer as `u64`.
pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The row offset a `NextToken` stands for (0 without one). Tokens are the decimal offset
/// this server handed out; anything else is `InvalidParameter` naming `NextToken`.
pub(crate) fn decode_next_token(params: &Params) -> Result<u64, EcsError> {
    let Some(token) = params.non_empty("NextToken") else {
        return Ok(0);
    };
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| token.parse().ok()).flatten().ok_or_else(|| {
        EcsError::invalid(
            "NextToken",
            format_args!("{token:?} is not a token this server returned"),
        )
    })
}

/// The `NextToken` for the page after `returned` rows read from `offset`, or `None` when that
/// page was the last of `total` rows.
pub fn next_token(offset: u64, returned: usize, total: u64) -> Option<String> {
    let end = offset.saturating_add(u64::try_from(returned).unwrap_or(u64::MAX));
    (returned > 0 && end < total).then(|| end.to_string())
}

/// An API time filter: `yyyy-MM-ddTHH:mm:ssZ` or `yyyy-MM-ddTHH:mmZ`, UTC.
pub(crate) fn parse_api_time(v: &str) -> Option<DateTime<Utc>> {
    ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
        .map(|t| t.and_utc())
}

/// The optional time parameter `name` (see [`parse_api_time`]).
pub(crate) fn time_param(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>, EcsError> {
    let Some(raw) = params.non_empty(name) else {
        return Ok(None);
    };
    parse_api_time(raw).map(Some).ok_or_else(|| {
        EcsError::invalid(
            &params.full_name(name),
            format_args!("must be a UTC time yyyy-MM-ddTHH:mm:ssZ, got {raw:?}"),
        )
    })
}

/// A time as the task APIs show it: ISO 8601 UTC to the minute (`2020-11-24T12:50Z`).
pub(crate) fn minute_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%MZ").to_string()
}

/// `UnsupportedParameter` for the first of `names` that was sent: filters and options of the
/// real API that Stencil's model has no place for. Refusing is safer than ignoring them, since
/// an ignored filter would widen a listing that a client may act on (delete, say).
pub(crate) fn reject_unsupported(params: &Params, names: &[&str]) -> Result<(), EcsError> {
    match names
        .iter()
        .find(|n| params.non_empty(n).is_some() || params.has_any(n))
    {
        Some(name) => Err(EcsError::unsupported(name)),
        None => Ok(()),
    }
}

/// The OSS bucket `name` names, checked against the OSS naming rules (lowercase letters,
/// digits and `-`, at most 63, not starting or ending with `-`; shorter than OSS's 3 so that
/// short configured names work): else `InvalidOSSBucket.Malformed`.
pub(crate) fn oss_bucket(params: &Params, name: &str, raw: &str) -> Result<String, EcsError> {
    let ok = raw.len() <= 63
        && !raw.starts_with('-')
        && !raw.ends_with('-')
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(invalid_as(
            ErrorCode::InvalidOssBucketMalformed,
            &params.full_name(name),
            format_args!(
                "must be at most 63 lowercase letters, digits and hyphens, not starting or ending with a hyphen, got {raw:?}"
            ),
        ));
    }
    Ok(raw.to_owned())
}

/// An OSS object key: 1–1023 bytes, no control characters, not starting with `/` or `\`, and
/// no `..` path segment (a key that could step out of a file-backed bucket): else
/// `InvalidOSSObject.Malformed`.
pub(crate) fn oss_object(params: &Params, name: &str, raw: &str) -> Result<String, EcsError> {
    let ok = !raw.is_empty()
        && raw.len() <= 1023
        && !raw.starts_with(['/', '\\'])
        && !raw.chars().any(char::is_control)
        && !raw.split(['/', '\\']).any(|segment| segment == "..");
    if !ok {
        return Err(invalid_as(
            ErrorCode::InvalidOssObjectMalformed,
            &params.full_name(name),
            format_args!(
                "must be a key of 1 to 1023 bytes without control characters, a leading slash or a \"..\" segment, got {raw:?}"
            ),
        ));
    }
    Ok(raw.to_owned())
}

/// The optional `ClientToken`: ASCII without control characters, at most 64 long.
pub(crate) fn client_token(params: &Params) -> Result<Option<String>, EcsError> {
    let Some(token) = params.non_empty("ClientToken") else {
        return Ok(None);
    };
    let ok = token.len() <= 64 && token.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !ok {
        return Err(invalid_as(
            ErrorCode::InvalidClientTokenMalformed,
            "ClientToken",
            format_args!("must be at most 64 printable ASCII characters, got {token:?}"),
        ));
    }
    Ok(Some(token.to_owned()))
}

/// The optional `ResourceGroupId` (`rg-…`), empty for the default group. A value of another
/// shape names no group: `InvalidResourceGroup.NotFound`.
pub(crate) fn resource_group_id(params: &Params) -> Result<String, EcsError> {
    let Some(raw) = params.non_empty("ResourceGroupId") else {
        return Ok(String::new());
    };
    let ok = raw.strip_prefix("rg-").is_some_and(|body| {
        !body.is_empty()
            && body.len() <= 64
            && body
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if !ok {
        return Err(not_found(
            ErrorCode::InvalidResourceGroupNotFound,
            "ResourceGroupId",
            raw,
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
pub(crate) mod test_support {
    //! The shape of every action's rejection table.

    use crate::{EcsError, ErrorCode, Params};

    /// Parameters from a query string.
    pub fn p(query: &str) -> Params {
        Params::from_query(query).unwrap()
    }

    /// A tag.
    pub fn tag(key: &str, value: &str) -> stencil_domain::Tag {
        stencil_domain::Tag {
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }

    /// The rejections of every action on one image (`RegionId` and `ImageId` required, an
    /// `ImageId` that cannot be one is not found); `rest` completes a valid request.
    pub fn assert_rejects_image_ref<T: std::fmt::Debug>(
        parse: impl Fn(&Params) -> Result<T, EcsError>,
        rest: &str,
    ) {
        let with = |q: &str| format!("{q}{rest}");
        assert_rejects(
            parse,
            &[
                (
                    with("ImageId=m-1"),
                    ErrorCode::MissingParameter,
                    400,
                    "\"RegionId\"",
                ),
                (
                    with("RegionId=r"),
                    ErrorCode::MissingParameter,
                    400,
                    "\"ImageId\"",
                ),
                (
                    with("RegionId=r&ImageId=m%2F.."),
                    ErrorCode::InvalidImageIdNotFound,
                    404,
                    "ImageId",
                ),
            ],
        );
    }

    /// Checks each `(query, code, status, parameter)`: the exact code and HTTP status, and a
    /// message that names the parameter.
    pub fn assert_rejects<T: std::fmt::Debug, Q: AsRef<str>>(
        parse: impl Fn(&Params) -> Result<T, EcsError>,
        cases: &[(Q, ErrorCode, u16, &str)],
    ) {
        for (query, code, status, name) in cases {
            let query = query.as_ref();
            let err = match parse(&p(query)) {
                Ok(ok) => panic!("{query:?} parsed: {ok:?}"),
                Err(err) => err,
            };
            assert_eq!(err.code(), *code, "{query:?}: {}", err.message());
            assert_eq!(err.http_status(), *status, "{query:?}: status");
            assert!(
                err.message().contains(name),
                "{query:?}: message {:?} does not name {name:?}",
                err.message()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::p;
    use super::*;
    use crate::actions::views::api_time as second_time;

    #[test]
    fn next_token_is_the_offset_of_the_following_page_and_absent_after_the_last() {
        assert_eq!(next_token(0, 10, 25).as_deref(), Some("10"));
        assert_eq!(next_token(20, 5, 25), None);
        assert_eq!(next_token(30, 0, 25), None);
        let offset = decode_next_token(&p("NextToken=10")).unwrap();
        assert_eq!(offset, 10);
        assert_eq!(decode_next_token(&p("")).unwrap(), 0);
    }

    #[test]
    fn a_next_token_this_server_did_not_issue_is_an_invalid_parameter() {
        for bad in ["abc", "-1", "%2B5", "1.5", "99999999999999999999999"] {
            let err = decode_next_token(&p(&format!("NextToken={bad}"))).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidParameter, "{bad}");
            assert!(err.message().contains("\"NextToken\""));
        }
    }

    #[test]
    fn api_times_accept_seconds_or_minutes_and_print_both_precisions() {
        let t = parse_api_time("2020-11-24T12:50:31Z").unwrap();
        assert_eq!(minute_time(&t), "2020-11-24T12:50Z");
        assert_eq!(second_time(&t), "2020-11-24T12:50:31Z");
        assert_eq!(
            parse_api_time("2020-11-24T12:50Z").map(|t| second_time(&t)),
            Some("2020-11-24T12:50:00Z".to_string())
        );
        assert!(parse_api_time("2020-11-24 12:50").is_none());
    }

    #[test]
    fn client_tokens_and_resource_groups_are_checked() {
        assert_eq!(
            client_token(&p("ClientToken=abc-1")).unwrap().as_deref(),
            Some("abc-1")
        );
        let long = "a".repeat(65);
        let err = client_token(&p(&format!("ClientToken={long}"))).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidClientTokenMalformed);
        let err = client_token(&p("ClientToken=%C3%A9")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidClientTokenMalformed);
        assert_eq!(resource_group_id(&p("")).unwrap(), "");
        assert_eq!(
            resource_group_id(&p("ResourceGroupId=rg-abc123")).unwrap(),
            "rg-abc123"
        );
        let err = resource_group_id(&p("ResourceGroupId=default")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidResourceGroupNotFound);
        assert_eq!(err.http_status(), 404);
    }

    #[test]
    fn unsupported_parameters_are_refused_by_name_whether_scalar_or_list() {
        assert!(reject_unsupported(&p("A=1"), &["B", "Filter"]).is_ok());
        assert!(reject_unsupported(&p("B="), &["B"]).is_ok());
        let err = reject_unsupported(&p("Filter.1.Key=x"), &["B", "Filter"]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnsupportedParameter);
        assert!(err.message().contains("\"Filter\""));
    }
}
