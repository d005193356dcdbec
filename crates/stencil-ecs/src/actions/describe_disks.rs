//! `DescribeDisks` (reference §5.18): the disks of a region, filtered, paged by
//! `NextToken`/`MaxResults` (preferred) or `PageNumber`/`PageSize`. `DiskIds` is a JSON array
//! string of at most 100 IDs (more is `InvalidDiskIds.Malformed`, 403, as documented).
//!
//! The filters Stencil's model has no field for (zone, portability, snapshot policies,
//! encryption, billing, resource group, locks, …) are refused with `UnsupportedParameter`, as
//! DescribeSnapshots does; `DiskChargeType=PostPaid`, which every disk here matches, is
//! accepted.

use serde::Serialize;
use stencil_domain::requests::DescribeDisks;
use stencil_domain::{Disk, DiskCategory, DiskStatus, DiskType, Tag};

use super::common::{MAX_IDS, Parsed, at_most, listing, reject_unsupported, vacuous_filter};
use super::image_attrs::parse_disk_type;
use super::instance_attrs::category_filter;
use super::tag_params::{DESCRIBE_FILTER_CODES, tag_filters};
use super::views::{TagList, TagView, api_time, tag_list};
use super::{next_token, parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = DescribeDisks;

/// Filters of the real API that Stencil refuses.
const UNSUPPORTED_FILTERS: &[&str] = &[
    "ZoneId",
    "Portable",
    "DeleteWithInstance",
    "DeleteAutoSnapshot",
    "EnableAutoSnapshot",
    "EnableAutomatedSnapshotPolicy",
    "AutoSnapshotPolicyId",
    "Encrypted",
    "KMSKeyId",
    "EnableShared",
    "MultiAttach",
    "LockReason",
    "ResourceGroupId",
    "Filter",
];

/// Parses and validates every parameter. `DiskType=all`, `Category=all` and `Status=All` are
/// no filter. A `Tag.N` filter without a value arrives as a tag whose value is empty.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = region_id(params)?;
    reject_unsupported(params, UNSUPPORTED_FILTERS)?;
    vacuous_filter(params, "DiskChargeType", "PostPaid")?;
    let disk_ids = at_most(
        params.string_list("DiskIds")?.unwrap_or_default(),
        MAX_IDS,
        ErrorCode::InvalidDiskIdsMalformed,
        "DiskIds",
    )?;
    let disk_type = parse_enum(
        params,
        "DiskType",
        ErrorCode::InvalidDiskTypeValueNotSupported,
        "all, system or data",
        |v| match parse_disk_type(v) {
            Some(t) => Some(Some(t)),
            None => v.eq_ignore_ascii_case("all").then_some(None),
        },
    )?
    .flatten();
    let status = parse_enum(
        params,
        "Status",
        ErrorCode::InvalidStatusValueNotSupported,
        "In_use, Available, Attaching, Detaching, Creating, ReIniting or All",
        |v| match DiskStatus::parse(v) {
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
    let request = DescribeDisks {
        region,
        disk_ids,
        instance_id: params.non_empty("InstanceId").map(str::to_owned),
        disk_type,
        category: category_filter(params)?,
        status,
        snapshot_id: params.non_empty("SnapshotId").map(str::to_owned),
        name: params.non_empty("DiskName").map(str::to_owned),
        tags,
        offset: page.offset,
        limit: page.limit,
        token_paging: page.token_paging,
        page_number: page.page_number,
    };
    Parsed::new(params, request)
}

/// One `Attachment` of a disk.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttachmentView<'a> {
    instance_id: &'a str,
    device: &'a str,
    attached_time: String,
}

/// `{"Attachment": [...]}`.
#[derive(Debug, Serialize)]
struct AttachmentList<'a> {
    #[serde(rename = "Attachment")]
    attachment: Vec<AttachmentView<'a>>,
}

/// `{"OperationLock": []}`: disks here are never locked.
#[derive(Debug, Serialize)]
struct OperationLockList {
    #[serde(rename = "OperationLock")]
    operation_lock: Vec<&'static str>,
}

/// `{"MountInstance": []}`: multi-attach (shared block storage) is not supported.
#[derive(Debug, Serialize)]
struct MountInstanceList {
    #[serde(rename = "MountInstance")]
    mount_instance: Vec<&'static str>,
}

/// One `Disk` element, with the SDK-declared types (`Size`, `IOPS*`, `Throughput` and
/// `MountInstanceNum` integers, the flags booleans, times `yyyy-MM-ddTHH:mm:ssZ`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiskView<'a> {
    disk_id: &'a str,
    disk_name: &'a str,
    description: &'a str,
    region_id: &'a str,
    zone_id: &'a str,
    #[serde(rename = "Type")]
    disk_type: &'static str,
    category: &'static str,
    size: u64,
    device: &'a str,
    status: &'static str,
    instance_id: &'a str,
    image_id: &'a str,
    source_snapshot_id: &'a str,
    source_disk_id: &'static str,
    creation_time: String,
    attached_time: String,
    detached_time: &'static str,
    expired_time: &'static str,
    delete_with_instance: bool,
    delete_auto_snapshot: bool,
    enable_auto_snapshot: bool,
    enable_automated_snapshot_policy: bool,
    auto_snapshot_policy_id: &'static str,
    portable: bool,
    encrypted: bool,
    #[serde(rename = "KMSKeyId")]
    kms_key_id: &'a str,
    product_code: &'a str,
    performance_level: &'static str,
    disk_charge_type: &'static str,
    resource_group_id: &'static str,
    serial_number: &'static str,
    multi_attach: &'static str,
    mount_instance_num: u32,
    #[serde(rename = "IOPS")]
    iops: u32,
    #[serde(rename = "IOPSRead")]
    iops_read: u32,
    #[serde(rename = "IOPSWrite")]
    iops_write: u32,
    throughput: u32,
    provisioned_iops: u64,
    bursting_enabled: bool,
    bdf_id: &'static str,
    storage_set_id: &'static str,
    storage_set_partition_number: u32,
    storage_cluster_id: &'static str,
    operation_locks: OperationLockList,
    mount_instances: MountInstanceList,
    attachments: AttachmentList<'a>,
    tags: TagList<Vec<TagView<'a>>>,
}

/// The performance level ECS reports for a category (ESSDs are created at `PL1`).
fn performance_level(category: DiskCategory) -> &'static str {
    match category {
        DiskCategory::CloudEssd => "PL1",
        _ => "",
    }
}

impl<'a> DiskView<'a> {
    /// The view of `disk`.
    pub fn new(disk: &'a Disk) -> Self {
        let instance_id = disk.instance_id.as_ref().map_or("", |i| i.as_str());
        let attached_time = disk
            .attached_time
            .as_ref()
            .map(api_time)
            .unwrap_or_default();
        let attachments = match &disk.instance_id {
            Some(i) => vec![AttachmentView {
                instance_id: i.as_str(),
                device: &disk.device,
                attached_time: attached_time.clone(),
            }],
            None => Vec::new(),
        };
        DiskView {
            disk_id: disk.id.as_str(),
            disk_name: &disk.name,
            description: &disk.description,
            region_id: &disk.region,
            zone_id: &disk.zone_id,
            disk_type: disk.disk_type.as_str(),
            category: disk.category.as_str(),
            size: disk.size_gib,
            device: if instance_id.is_empty() {
                ""
            } else {
                &disk.device
            },
            status: disk.status.as_str(),
            instance_id,
            image_id: disk.image_id.as_ref().map_or("", |i| i.as_str()),
            source_snapshot_id: disk.source_snapshot_id.as_ref().map_or("", |s| s.as_str()),
            source_disk_id: "",
            creation_time: api_time(&disk.creation_time),
            attached_time,
            detached_time: "",
            expired_time: "",
            delete_with_instance: disk.delete_with_instance,
            delete_auto_snapshot: false,
            enable_auto_snapshot: false,
            enable_automated_snapshot_policy: false,
            auto_snapshot_policy_id: "",
            portable: disk.disk_type == DiskType::Data,
            encrypted: disk.encrypted,
            kms_key_id: &disk.kms_key_id,
            product_code: &disk.product_code,
            performance_level: performance_level(disk.category),
            disk_charge_type: "PostPaid",
            resource_group_id: "",
            serial_number: "",
            multi_attach: "Disabled",
            mount_instance_num: 0,
            iops: 0,
            iops_read: 0,
            iops_write: 0,
            throughput: 0,
            provisioned_iops: 0,
            bursting_enabled: false,
            bdf_id: "",
            storage_set_id: "",
            storage_set_partition_number: 0,
            storage_cluster_id: "",
            operation_locks: OperationLockList {
                operation_lock: Vec::new(),
            },
            mount_instances: MountInstanceList {
                mount_instance: Vec::new(),
            },
            attachments: AttachmentList {
                attachment: attachments,
            },
            tags: tag_list(&disk.tags),
        }
    }
}

/// `{"Disk": [...]}`.
#[derive(Debug, Serialize)]
pub struct DiskList<'a> {
    /// The views.
    #[serde(rename = "Disk")]
    pub disk: Vec<DiskView<'a>>,
}

/// The response body: one page of disks.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response<'a> {
    /// Matches in all pages (exact under token paging too).
    pub total_count: u64,
    /// This page (`PageNumber` as given).
    pub page_number: u64,
    /// The page size used (`MaxResults` or `PageSize`).
    pub page_size: u64,
    /// The token for the next page, empty after the last.
    pub next_token: String,
    /// The disks, wrapped as `{"Disk": [...]}`.
    pub disks: DiskList<'a>,
}

/// Builds the response for the page `req` asked for: `disks` are its rows out of `total`
/// matches; the next token follows from `req.offset` ([`super::next_token`]).
pub fn render<'a>(req: &Request, total: u64, disks: &'a [Disk]) -> Response<'a> {
    Response {
        total_count: total,
        page_number: req.page_number,
        page_size: req.limit,
        next_token: next_token(req.offset, disks.len(), total).unwrap_or_default(),
        disks: DiskList {
            disk: disks.iter().map(DiskView::new).collect(),
        },
    }
}

#[cfg(test)]
mod tests;
