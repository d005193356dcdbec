//! `DescribeInstances` (reference §5.18): the instances of a region, filtered, paged by
//! `NextToken`/`MaxResults` (preferred) or `PageNumber`/`PageSize`. Terraform and Packer send
//! `InstanceIds` as a JSON array string.
//!
//! The filters Stencil's model has no field for (network, security group, key pair, zone,
//! resource group, …) are refused with `UnsupportedParameter`, as DescribeSnapshots does: an
//! ignored filter would widen a listing a client may act on. The ones every instance here
//! matches (`InstanceNetworkType=vpc`, `InstanceChargeType=PostPaid`,
//! `InternetChargeType=PayByTraffic`) are accepted. `InstanceName` is matched exactly: the
//! real API's `*` wildcard has no special meaning here, so such a filter matches less, never
//! more.

use serde::Serialize;
use stencil_domain::requests::DescribeInstances;
use stencil_domain::{Instance, InstanceStatus, Tag};

use super::common::{
    MAX_IDS, Parsed, at_most, listing, minute_time, reject_unsupported, vacuous_filter,
};
use super::tag_params::{DESCRIBE_FILTER_CODES, tag_filters};
use super::views::{TagList, TagView, tag_list};
use super::{next_token, parse_enum, region_id};
use crate::{EcsError, ErrorCode, Params};

/// The parsed request is the domain's.
pub type Request = DescribeInstances;

/// Filters of the real API that Stencil refuses.
const UNSUPPORTED_FILTERS: &[&str] = &[
    "ZoneId",
    "VpcId",
    "VSwitchId",
    "SecurityGroupId",
    "PrivateIpAddresses",
    "PublicIpAddresses",
    "EipAddresses",
    "InnerIpAddresses",
    "RdmaIpAddresses",
    "IoOptimized",
    "InstanceTypeFamily",
    "KeyPairName",
    "ResourceGroupId",
    "HpcClusterId",
    "DeploymentSetId",
    "DedicatedHostId",
    "LockReason",
    "HttpEndpoint",
    "HttpTokens",
    "Filter",
];

/// Parses and validates every parameter. A `Tag.N` filter without a value arrives as a tag
/// whose value is empty.
pub fn parse(params: &Params) -> Result<Parsed<Request>, EcsError> {
    let region = region_id(params)?;
    reject_unsupported(params, UNSUPPORTED_FILTERS)?;
    vacuous_filter(params, "InstanceNetworkType", "vpc")?;
    vacuous_filter(params, "InstanceChargeType", "PostPaid")?;
    vacuous_filter(params, "InternetChargeType", "PayByTraffic")?;
    params.bool("NeedSaleCycle")?;
    let instance_ids = at_most(
        params.string_list("InstanceIds")?.unwrap_or_default(),
        MAX_IDS,
        ErrorCode::InvalidParameter,
        "InstanceIds",
    )?;
    let status = parse_enum(
        params,
        "Status",
        ErrorCode::InvalidParameter,
        "Pending, Running, Starting, Stopping or Stopped",
        InstanceStatus::parse,
    )?;
    let tags = tag_filters(params, DESCRIBE_FILTER_CODES)?
        .into_iter()
        .map(|(key, value)| Tag {
            key,
            value: value.unwrap_or_default(),
        })
        .collect();
    let page = listing(params)?;
    let request = DescribeInstances {
        region,
        instance_ids,
        status,
        image_id: params.non_empty("ImageId").map(str::to_owned),
        name: params.non_empty("InstanceName").map(str::to_owned),
        instance_type: params.non_empty("InstanceType").map(str::to_owned),
        tags,
        offset: page.offset,
        limit: page.limit,
        token_paging: page.token_paging,
        page_number: page.page_number,
    };
    Parsed::new(params, request)
}

/// `{"IpAddress": [...]}`: the instance's public, private, RDMA and VPC addresses (none here).
#[derive(Debug, Serialize)]
struct IpAddressList {
    #[serde(rename = "IpAddress")]
    ip_address: Vec<&'static str>,
}

/// An empty address list.
fn no_addresses() -> IpAddressList {
    IpAddressList {
        ip_address: Vec::new(),
    }
}

/// `VpcAttributes`, empty: Stencil has no networks.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct VpcAttributesView {
    vpc_id: &'static str,
    #[serde(rename = "VSwitchId")]
    vswitch_id: &'static str,
    nat_ip_address: &'static str,
    private_ip_address: IpAddressList,
}

/// `EipAddress`, empty.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct EipAddressView {
    allocation_id: &'static str,
    ip_address: &'static str,
    internet_charge_type: &'static str,
    bandwidth: u32,
    is_support_unassociate: bool,
}

/// `{"SecurityGroupId": []}`.
#[derive(Debug, Serialize)]
struct SecurityGroupIdList {
    #[serde(rename = "SecurityGroupId")]
    security_group_id: Vec<&'static str>,
}

/// `{"NetworkInterface": []}`.
#[derive(Debug, Serialize)]
struct NetworkInterfaceList {
    #[serde(rename = "NetworkInterface")]
    network_interface: Vec<&'static str>,
}

/// `{"LockReason": []}`: instances here are never locked.
#[derive(Debug, Serialize)]
struct LockReasonList {
    #[serde(rename = "LockReason")]
    lock_reason: Vec<&'static str>,
}

/// `DedicatedHostAttribute`, empty.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DedicatedHostView {
    dedicated_host_id: &'static str,
    dedicated_host_name: &'static str,
    dedicated_host_cluster_id: &'static str,
}

/// `CpuOptions` of the instance type.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct CpuOptionsView {
    core_count: u32,
    threads_per_core: u32,
    numa: &'static str,
}

/// `MetadataOptions`: the metadata service as ECS defaults it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetadataOptionsView {
    http_endpoint: &'static str,
    http_tokens: &'static str,
    http_put_response_hop_limit: u32,
}

/// One `Instance` element, with the SDK-declared types (`Cpu`, `Memory` in MiB and the
/// bandwidths integers, `IoOptimized` a boolean, `SpotPriceLimit` a float, times
/// `yyyy-MM-ddTHH:mmZ`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceView<'a> {
    instance_id: &'a str,
    instance_name: &'a str,
    description: &'a str,
    host_name: &'a str,
    region_id: &'a str,
    zone_id: &'a str,
    instance_type: &'a str,
    instance_type_family: &'a str,
    cpu: u32,
    memory: u64,
    #[serde(rename = "GPUAmount")]
    gpu_amount: u32,
    #[serde(rename = "GPUSpec")]
    gpu_spec: &'static str,
    image_id: &'a str,
    #[serde(rename = "OSName")]
    os_name: &'a str,
    #[serde(rename = "OSNameEn")]
    os_name_en: &'a str,
    #[serde(rename = "OSType")]
    os_type: &'static str,
    status: &'static str,
    creation_time: String,
    start_time: String,
    expired_time: &'static str,
    auto_release_time: &'static str,
    instance_charge_type: &'static str,
    internet_charge_type: &'static str,
    internet_max_bandwidth_in: u32,
    internet_max_bandwidth_out: u32,
    io_optimized: bool,
    instance_network_type: &'static str,
    serial_number: String,
    stopped_mode: &'static str,
    device_available: bool,
    local_storage_amount: u32,
    local_storage_capacity: u64,
    spot_strategy: &'static str,
    spot_price_limit: f32,
    spot_duration: u32,
    spot_interruption_behavior: &'static str,
    recyclable: bool,
    deletion_protection: bool,
    credit_specification: &'static str,
    deployment_set_id: &'static str,
    cluster_id: &'static str,
    hpc_cluster_id: &'static str,
    vlan_id: &'static str,
    key_pair_name: &'static str,
    resource_group_id: &'static str,
    sale_cycle: &'static str,
    product_code: &'a str,
    public_ip_address: IpAddressList,
    inner_ip_address: IpAddressList,
    rdma_ip_address: IpAddressList,
    vpc_attributes: VpcAttributesView,
    eip_address: EipAddressView,
    security_group_ids: SecurityGroupIdList,
    network_interfaces: NetworkInterfaceList,
    operation_locks: LockReasonList,
    dedicated_host_attribute: DedicatedHostView,
    cpu_options: CpuOptionsView,
    metadata_options: MetadataOptionsView,
    tags: TagList<Vec<TagView<'a>>>,
}

/// The family of an instance type: its first two dot-separated parts (`ecs.g6` of
/// `ecs.g6.large`).
pub fn instance_type_family(instance_type: &str) -> &str {
    match instance_type.match_indices('.').nth(1) {
        Some((i, _)) => &instance_type[..i],
        None => instance_type,
    }
}

/// A stable UUID-shaped serial number for an instance, derived from its ID (FNV-1a).
fn serial_number(id: &str) -> String {
    let fnv = |seed: u64| {
        id.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142));
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

impl<'a> InstanceView<'a> {
    /// The view of `instance`.
    pub fn new(instance: &'a Instance) -> Self {
        InstanceView {
            instance_id: instance.id.as_str(),
            instance_name: &instance.name,
            description: &instance.description,
            host_name: &instance.host_name,
            region_id: &instance.region,
            zone_id: &instance.zone_id,
            instance_type: &instance.instance_type,
            instance_type_family: instance_type_family(&instance.instance_type),
            cpu: instance.cpu,
            memory: instance.memory_mib,
            gpu_amount: 0,
            gpu_spec: "",
            image_id: instance.image_id.as_str(),
            os_name: &instance.os_name,
            os_name_en: &instance.os_name,
            os_type: instance.os_type.as_str(),
            status: instance.status.as_str(),
            creation_time: minute_time(&instance.creation_time),
            start_time: instance
                .start_time
                .as_ref()
                .map(minute_time)
                .unwrap_or_default(),
            expired_time: "",
            auto_release_time: "",
            instance_charge_type: "PostPaid",
            internet_charge_type: "PayByTraffic",
            internet_max_bandwidth_in: 0,
            internet_max_bandwidth_out: 0,
            io_optimized: instance.io_optimized,
            instance_network_type: "vpc",
            serial_number: serial_number(instance.id.as_str()),
            stopped_mode: if instance.status == InstanceStatus::Stopped {
                "KeepCharging"
            } else {
                "Not-applicable"
            },
            device_available: true,
            local_storage_amount: 0,
            local_storage_capacity: 0,
            spot_strategy: "NoSpot",
            spot_price_limit: 0.0,
            spot_duration: 0,
            spot_interruption_behavior: "Terminate",
            recyclable: false,
            deletion_protection: false,
            credit_specification: "",
            deployment_set_id: "",
            cluster_id: "",
            hpc_cluster_id: "",
            vlan_id: "",
            key_pair_name: "",
            resource_group_id: "",
            sale_cycle: "",
            product_code: &instance.product_code,
            public_ip_address: no_addresses(),
            inner_ip_address: no_addresses(),
            rdma_ip_address: no_addresses(),
            vpc_attributes: VpcAttributesView {
                vpc_id: "",
                vswitch_id: "",
                nat_ip_address: "",
                private_ip_address: no_addresses(),
            },
            eip_address: EipAddressView {
                allocation_id: "",
                ip_address: "",
                internet_charge_type: "",
                bandwidth: 0,
                is_support_unassociate: false,
            },
            security_group_ids: SecurityGroupIdList {
                security_group_id: Vec::new(),
            },
            network_interfaces: NetworkInterfaceList {
                network_interface: Vec::new(),
            },
            operation_locks: LockReasonList {
                lock_reason: Vec::new(),
            },
            dedicated_host_attribute: DedicatedHostView {
                dedicated_host_id: "",
                dedicated_host_name: "",
                dedicated_host_cluster_id: "",
            },
            cpu_options: CpuOptionsView {
                core_count: instance.cpu.div_ceil(2).max(1),
                threads_per_core: if instance.cpu > 1 { 2 } else { 1 },
                numa: "",
            },
            metadata_options: MetadataOptionsView {
                http_endpoint: "enabled",
                http_tokens: "optional",
                http_put_response_hop_limit: 1,
            },
            tags: tag_list(&instance.tags),
        }
    }
}

/// `{"Instance": [...]}`.
#[derive(Debug, Serialize)]
pub struct InstanceList<'a> {
    /// The views.
    #[serde(rename = "Instance")]
    pub instance: Vec<InstanceView<'a>>,
}

/// The response body: one page of instances.
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
    /// The instances, wrapped as `{"Instance": [...]}`.
    pub instances: InstanceList<'a>,
}

/// Builds the response for the page `req` asked for: `instances` are its rows out of `total`
/// matches; the next token follows from `req.offset` ([`super::next_token`]).
pub fn render<'a>(req: &Request, total: u64, instances: &'a [Instance]) -> Response<'a> {
    Response {
        total_count: total,
        page_number: req.page_number,
        page_size: req.limit,
        next_token: next_token(req.offset, instances.len(), total).unwrap_or_default(),
        instances: InstanceList {
            instance: instances.iter().map(InstanceView::new).collect(),
        },
    }
}

#[cfg(test)]
mod tests;
