//! The DescribeImages filters as data, shared by the wire layer (which parses them) and the
//! metadata store (which applies them).

use chrono::{DateTime, Utc};

use crate::attrs::{ActionType, Architecture, BootMode, ImageOwnerAlias, OsType, Usage};
use crate::ids::AccountId;
use crate::status::StatusFilter;

/// The image attributes the instance-type compatibility rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraitCombo {
    /// Image architecture.
    pub architecture: Architecture,
    /// Image boot mode.
    pub boot_mode: BootMode,
    /// Image OS family.
    pub os_type: OsType,
    /// Whether the image supports NVMe.
    pub nvme: bool,
}

/// Every image attribute filter of DescribeImages. Empty/`None` fields do not filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFilter {
    /// Only these IDs (empty: any).
    pub ids: Vec<String>,
    /// Substring of the name, case-insensitive.
    pub name_contains: Option<String>,
    /// Exact family.
    pub family: Option<String>,
    /// Statuses admitted.
    pub statuses: StatusFilter,
    /// OS family.
    pub os_type: Option<OsType>,
    /// Architectures admitted (`None`: any).
    pub architectures: Option<Vec<Architecture>>,
    /// Only images whose traits are one of these (`None`: any). Filled from an instance
    /// type by enumerating the compatibility rules, so the rules live in one place.
    pub compatible: Option<Vec<TraitCombo>>,
    /// Images that use this snapshot.
    pub snapshot_id: Option<String>,
    /// Used by instances or not.
    pub usage: Option<Usage>,
    /// I/O optimised support.
    pub is_support_io_optimized: Option<bool>,
    /// cloud-init support.
    pub is_support_cloudinit: Option<bool>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created at or before.
    pub created_to: Option<DateTime<Utc>>,
    /// Tags every image must have: key and, when given, exact value.
    pub tags: Vec<(String, Option<String>)>,
    /// Owner of shared or community images.
    pub owner_id: Option<AccountId>,
    /// Resource group.
    pub resource_group_id: Option<String>,
    /// Online-change features (`Filter.N` keys such as `CpuOnlineUpgrade`) and the wanted value.
    pub online_features: Vec<(OnlineFeature, bool)>,
}

/// The online-change features DescribeImages can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnlineFeature {
    /// `CpuOnlineUpgrade`.
    CpuOnlineUpgrade,
    /// `CpuOnlineDowngrade`.
    CpuOnlineDowngrade,
    /// `MemoryOnlineUpgrade`.
    MemoryOnlineUpgrade,
    /// `MemoryOnlineDowngrade`.
    MemoryOnlineDowngrade,
}

impl OnlineFeature {
    /// Every feature.
    pub const ALL: [OnlineFeature; 4] = [
        OnlineFeature::CpuOnlineUpgrade,
        OnlineFeature::CpuOnlineDowngrade,
        OnlineFeature::MemoryOnlineUpgrade,
        OnlineFeature::MemoryOnlineDowngrade,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OnlineFeature::CpuOnlineUpgrade => "CpuOnlineUpgrade",
            OnlineFeature::CpuOnlineDowngrade => "CpuOnlineDowngrade",
            OnlineFeature::MemoryOnlineUpgrade => "MemoryOnlineUpgrade",
            OnlineFeature::MemoryOnlineDowngrade => "MemoryOnlineDowngrade",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Whether `features` declares this feature supported.
    pub fn supported_in(self, features: &crate::ImageFeatures) -> bool {
        let v = match self {
            OnlineFeature::CpuOnlineUpgrade => features.cpu_online_upgrade,
            OnlineFeature::CpuOnlineDowngrade => features.cpu_online_downgrade,
            OnlineFeature::MemoryOnlineUpgrade => features.memory_online_upgrade,
            OnlineFeature::MemoryOnlineDowngrade => features.memory_online_downgrade,
        };
        v == Some(crate::Support::Supported)
    }
}

impl Default for ImageFilter {
    fn default() -> Self {
        ImageFilter {
            ids: Vec::new(),
            name_contains: None,
            family: None,
            statuses: StatusFilter::default_available(),
            os_type: None,
            architectures: None,
            compatible: None,
            snapshot_id: None,
            usage: None,
            is_support_io_optimized: None,
            is_support_cloudinit: None,
            created_from: None,
            created_to: None,
            tags: Vec::new(),
            owner_id: None,
            resource_group_id: None,
            online_features: Vec::new(),
        }
    }
}

/// `ImageOwnerAlias` plus `IsPublic`, as DescribeImages combines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerFilter {
    /// No alias: public, own, shared and community images.
    Any,
    /// One alias. With `Others`, `is_public` picks community (true) or shared (false) images.
    Alias {
        alias: ImageOwnerAlias,
        is_public: bool,
    },
}

/// A DescribeImages call after parsing.
#[derive(Debug, Clone)]
pub struct DescribeImages {
    /// Region to list.
    pub region: String,
    /// Whose images.
    pub owner: OwnerFilter,
    /// Attribute filters.
    pub filter: ImageFilter,
    /// Only images that run on this instance type.
    pub instance_type: Option<String>,
    /// Check only, return `DryRunOperation`.
    pub dry_run: bool,
    /// Launch or replace-system-disk.
    pub action_type: ActionType,
    /// 1-based page.
    pub page_number: u64,
    /// 1–100.
    pub page_size: u64,
}
