//! `DescribeSnapshots` (reference §5.17): the snapshots of a region, filtered, paged by
//! `NextToken`/`MaxResults` (preferred) or `PageNumber`/`PageSize`. Terraform and Packer send
//! `SnapshotIds` as a JSON array string.

use serde::Serialize;
use stencil_domain::requests::DescribeSnapshots;
use stencil_domain::{Snapshot, SnapshotStatus, SnapshotUsage, Tag};

use super::common::{MAX_IDS, Parsed, at_most, listing, reject_unsupported};
use super::image_attrs::parse_disk_type;
use super::tag_params::{DESCRIBE_FILTER_CODES, tag_filters};
use super::views::{TagList, TagView, api_time, tag_list};
use super::{parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = DescribeSnapshots;

/// Parses and validates every parameter.
///
/// Stencil keeps only standard user snapshots of its own disks, so `SnapshotType=auto` and
/// `Category=Flash|archive` are refused with `InvalidParameter`, and the filters its model has
/// no field for (`InstanceId`, `SnapshotLinkId`, `KMSKeyId`, `ResourceGroupId`, `Filter.N`)
/// with `UnsupportedParameter`: the domain request cannot say "matches nothing", and an
/// ignored filter would widen the listing. A `Tag.N` filter without a value arrives as a tag
/// whose value is empty.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = region_id(params)?;
    reject_unsupported(
        params,
        &[
            "InstanceId",
            "SnapshotLinkId",
            "KMSKeyId",
            "ResourceGroupId",
            "Filter",
        ],
    )?;
    let one_of = |name: &str, allowed: &[&str], expected: &str| {
        parse_enum(params, name, ErrorCode::InvalidParameter, expected, |v| {
            allowed
                .iter()
                .any(|a| a.eq_ignore_ascii_case(v))
                .then_some(())
        })
    };
    one_of(
        "SnapshotType",
        &["user", "all"],
        "user or all (this server keeps no automatic snapshots)",
    )?;
    one_of(
        "Category",
        &["standard"],
        "Standard (this server keeps standard snapshots only)",
    )?;
    let snapshot_ids = at_most(
        params.string_list("SnapshotIds")?.unwrap_or_default(),
        MAX_IDS,
        ErrorCode::InvalidParameter,
        "SnapshotIds",
    )?;
    let status = parse_enum(
        params,
        "Status",
        ErrorCode::InvalidParameter,
        "progressing, accomplished, failed or all",
        |v| match SnapshotStatus::parse(v) {
            Some(s) => Some(Some(s)),
            None => v.eq_ignore_ascii_case("all").then_some(None),
        },
    )?
    .flatten();
    let tags = tag_filters(params, DESCRIBE_FILTER_CODES)?
        .into_iter()
        .map(|(key, value)| Tag {
            key,
            value: value.unwrap_or_default(),
        })
        .collect();
    let page = listing(params)?;
    let request = DescribeSnapshots {
        region,
        snapshot_ids,
        name: params.non_empty("SnapshotName").map(str::to_owned),
        status,
        disk_type: parse_enum(
            params,
            "SourceDiskType",
            ErrorCode::InvalidParameter,
            "system or data",
            parse_disk_type,
        )?,
        usage: parse_enum(
            params,
            "Usage",
            ErrorCode::InvalidParameter,
            "image, disk, image_disk or none",
            SnapshotUsage::parse,
        )?,
        encrypted: params.bool("Encrypted")?,
        disk_id: params.non_empty("DiskId").map(str::to_owned),
        tags,
        offset: page.offset,
        limit: page.limit,
        token_paging: page.token_paging,
        page_number: page.page_number,
    };
    Parsed::new(params, request)
}

/// One `Snapshot` element, with the SDK-declared types (`SourceDiskSize` a string,
/// `Available` a boolean, `FullSnapshotSizeInBytes` a long).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapshotView<'a> {
    snapshot_id: &'a str,
    snapshot_name: &'a str,
    #[serde(rename = "SnapshotSN")]
    snapshot_sn: &'static str,
    description: &'a str,
    status: &'static str,
    progress: String,
    creation_time: String,
    last_modified_time: String,
    source_disk_id: &'a str,
    source_disk_size: String,
    source_disk_type: &'static str,
    source_storage_type: &'static str,
    snapshot_type: &'static str,
    usage: &'static str,
    product_code: &'static str,
    encrypted: bool,
    #[serde(rename = "KMSKeyId")]
    kms_key_id: &'a str,
    available: bool,
    instant_access: bool,
    instant_access_retention_days: u32,
    retention_days: u32,
    remain_time: u32,
    category: &'static str,
    snapshot_link_id: &'static str,
    region_id: &'a str,
    resource_group_id: &'a str,
    source_region_id: &'static str,
    source_snapshot_id: &'static str,
    full_snapshot_size_in_bytes: u64,
    tags: TagList<Vec<TagView<'a>>>,
}

impl<'a> SnapshotView<'a> {
    /// The view of `snapshot`, used as `usage` says.
    pub fn new(snapshot: &'a Snapshot, usage: SnapshotUsage) -> Self {
        let created = api_time(&snapshot.creation_time);
        SnapshotView {
            snapshot_id: snapshot.id.as_str(),
            snapshot_name: &snapshot.name,
            snapshot_sn: "",
            description: &snapshot.description,
            status: snapshot.status.as_str(),
            progress: format!("{}%", snapshot.progress),
            // Snapshots are immutable in Stencil: never modified after creation.
            last_modified_time: created.clone(),
            creation_time: created,
            source_disk_id: &snapshot.source_disk_id,
            source_disk_size: snapshot.source_disk_size_gib.to_string(),
            source_disk_type: snapshot.source_disk_type.as_str(),
            source_storage_type: "disk",
            snapshot_type: "user",
            usage: usage.as_str(),
            product_code: "",
            encrypted: snapshot.encrypted,
            kms_key_id: &snapshot.kms_key_id,
            available: snapshot.status == SnapshotStatus::Accomplished,
            instant_access: false,
            instant_access_retention_days: 0,
            retention_days: 0,
            remain_time: 0,
            category: "standard",
            snapshot_link_id: "",
            region_id: &snapshot.region,
            resource_group_id: &snapshot.resource_group_id,
            source_region_id: "",
            source_snapshot_id: "",
            full_snapshot_size_in_bytes: snapshot.data_bytes,
            tags: tag_list(&snapshot.tags),
        }
    }
}

/// `{"Snapshot": [...]}`.
#[derive(Debug, Serialize)]
pub struct SnapshotList<'a> {
    /// The views.
    #[serde(rename = "Snapshot")]
    pub snapshot: Vec<SnapshotView<'a>>,
}

/// The response body: one page of snapshots.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response<'a> {
    /// Matches in all pages (the reference calls it invalid under token paging; it is exact
    /// here either way).
    pub total_count: u64,
    /// This page.
    pub page_number: u64,
    /// The page size used (`MaxResults` or `PageSize`).
    pub page_size: u64,
    /// The token for the next page, empty after the last.
    pub next_token: String,
    /// The snapshots, wrapped as `{"Snapshot": [...]}`.
    pub snapshots: SnapshotList<'a>,
}

/// Builds the response for one page; [`super::next_token`] makes `next_token`.
pub fn render<'a>(
    total: u64,
    page_number: u64,
    page_size: u64,
    next_token: Option<String>,
    snapshots: &'a [(Snapshot, SnapshotUsage)],
) -> Response<'a> {
    Response {
        total_count: total,
        page_number,
        page_size,
        next_token: next_token.unwrap_or_default(),
        snapshots: SnapshotList {
            snapshot: snapshots
                .iter()
                .map(|(s, usage)| SnapshotView::new(s, *usage))
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests;
