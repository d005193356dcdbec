//! The instance type catalog: `[[instance_type]]` entries of `data/instance-types.toml`.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::raw::{self, invalid, parse_enum};
use super::{CatalogError, DEFAULT_INSTANCE_TYPES, EntryRef};
use crate::attrs::{Architecture, BootMode};

/// Keys an `[[instance_type]]` table may have.
const ALLOWED_KEYS: &[&str] = &[
    "id",
    "family",
    "cpu_core_count",
    "memory_gib",
    "architecture",
    "nvme",
    "boot_modes",
    "gpu_amount",
    "gpu_spec",
];

/// Keys an `[[instance_type]]` table must have.
const REQUIRED_KEYS: &[&str] = &[
    "id",
    "family",
    "cpu_core_count",
    "memory_gib",
    "architecture",
    "nvme",
    "boot_modes",
];

/// Upper bounds that catch unit mistakes (MiB written as GiB) rather than model hardware.
const MAX_CPU_CORES: i64 = 1024;
const MAX_MEMORY_GIB: f64 = 32768.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    format_version: i64,
    #[serde(default)]
    instance_type: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstanceType {
    id: String,
    family: String,
    cpu_core_count: i64,
    memory_gib: f64,
    architecture: String,
    nvme: String,
    boot_modes: Vec<String>,
    gpu_amount: Option<i64>,
    gpu_spec: Option<String>,
}

/// How an instance type attaches its system disk, which decides whether an image needs an NVMe
/// driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NvmeRequirement {
    /// Disks attach over NVMe or virtio; either kind of image works.
    Supported,
    /// Disks attach over virtio only.
    Unsupported,
    /// Disks attach over NVMe only: the image must declare `NvmeSupport=supported`.
    Required,
}

impl NvmeRequirement {
    /// Every value, in declaration order.
    pub const ALL: &'static [NvmeRequirement] = &[
        NvmeRequirement::Supported,
        NvmeRequirement::Unsupported,
        NvmeRequirement::Required,
    ];

    /// The spelling used in the catalog file.
    pub fn as_str(self) -> &'static str {
        match self {
            NvmeRequirement::Supported => "supported",
            NvmeRequirement::Unsupported => "unsupported",
            NvmeRequirement::Required => "required",
        }
    }

    /// Parses the catalog spelling, ignoring ASCII case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether only images with an NVMe driver boot on this type.
    pub fn requires_nvme(self) -> bool {
        self == NvmeRequirement::Required
    }
}

impl fmt::Display for NvmeRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for NvmeRequirement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One ECS instance type, validated. Field names follow `DescribeInstanceTypes` /
/// `DescribeImageSupportInstanceTypes` (`InstanceTypeId`, `InstanceTypeFamily`, `CpuCoreCount`,
/// `MemorySize`).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceType {
    /// `InstanceTypeId`, e.g. `ecs.g7.large`.
    pub id: String,
    /// `InstanceTypeFamily`, e.g. `ecs.g7`; always a prefix of `id`.
    pub family: String,
    /// `CpuCoreCount` (vCPUs).
    pub cpu_core_count: u32,
    /// `MemorySize` in GiB (0.5 for the smallest burstable types).
    pub memory_gib: f64,
    /// CPU architecture of the hosts.
    pub architecture: Architecture,
    /// Whether the system disk attaches over NVMe.
    pub nvme: NvmeRequirement,
    /// Firmware modes the type boots: `BIOS` and/or `UEFI`, never `UEFI-Preferred`.
    pub boot_modes: Vec<BootMode>,
    /// `GPUAmount` (0 without GPUs).
    pub gpu_amount: u32,
    /// `GPUSpec`, e.g. `NVIDIA A10`, when the type has GPUs.
    pub gpu_spec: Option<String>,
}

impl InstanceType {
    /// Whether an image with boot mode `mode` can boot here. `UEFI-Preferred` images boot in
    /// whichever mode the type has.
    pub fn supports_boot_mode(&self, mode: BootMode) -> bool {
        match mode {
            BootMode::UefiPreferred => !self.boot_modes.is_empty(),
            m => self.boot_modes.contains(&m),
        }
    }
}

/// The validated instance type catalog, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceTypeCatalog {
    types: Vec<InstanceType>,
    by_id: HashMap<String, usize>,
}

impl InstanceTypeCatalog {
    /// Parses and validates a catalog. Instance types name no files, so there is no base
    /// directory.
    pub fn parse(toml_text: &str) -> Result<Self, CatalogError> {
        let doc: RawDocument =
            toml::from_str(toml_text).map_err(|source| CatalogError::Syntax { source })?;
        raw::check_format_version(doc.format_version)?;

        let mut types = Vec::with_capacity(doc.instance_type.len());
        let mut by_id = HashMap::with_capacity(doc.instance_type.len());
        for (i, table) in doc.instance_type.into_iter().enumerate() {
            let entry = raw::entry_ref(i, &table);
            raw::check_keys(&entry, &table, ALLOWED_KEYS, REQUIRED_KEYS)?;
            let ty = validate(&entry, raw::convert(&entry, table)?)?;
            if let Some(first) = by_id.insert(ty.id.clone(), i) {
                return Err(CatalogError::DuplicateId {
                    entry,
                    first_index: first + 1,
                });
            }
            types.push(ty);
        }
        Ok(InstanceTypeCatalog { types, by_id })
    }

    /// The shipped catalog ([`DEFAULT_INSTANCE_TYPES`]).
    ///
    /// # Panics
    /// Only if the embedded file is invalid, which the crate's tests rule out.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_INSTANCE_TYPES).expect("the shipped instance type catalog is valid")
    }

    /// Every type, in file order.
    pub fn types(&self) -> &[InstanceType] {
        &self.types
    }

    /// Every type, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, InstanceType> {
        self.types.iter()
    }

    /// Number of types.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether the catalog has no types.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// The type with this `InstanceTypeId` (exact, case-sensitive, as ECS compares them).
    pub fn get(&self, id: &str) -> Option<&InstanceType> {
        self.by_id.get(id).map(|&i| &self.types[i])
    }
}

impl<'a> IntoIterator for &'a InstanceTypeCatalog {
    type Item = &'a InstanceType;
    type IntoIter = std::slice::Iter<'a, InstanceType>;

    fn into_iter(self) -> Self::IntoIter {
        self.types.iter()
    }
}

fn validate(entry: &EntryRef, r: RawInstanceType) -> Result<InstanceType, CatalogError> {
    if !is_type_name(&r.id) {
        return Err(invalid(
            entry,
            "id",
            &r.id,
            "`ecs.` followed by a family and a size, such as ecs.g7.large",
        ));
    }
    let family_ok = is_type_name(&r.family)
        && r.id
            .strip_prefix(r.family.as_str())
            .is_some_and(|rest| rest.starts_with(['.', '-']));
    if !family_ok {
        return Err(invalid(
            entry,
            "family",
            &r.family,
            format!("the family part of {:?}, such as ecs.g7", r.id),
        ));
    }
    let cpu_core_count = u32::try_from(r.cpu_core_count)
        .ok()
        .filter(|c| (1..=MAX_CPU_CORES).contains(&i64::from(*c)))
        .ok_or_else(|| {
            invalid(
                entry,
                "cpu_core_count",
                r.cpu_core_count,
                format!("1 to {MAX_CPU_CORES}"),
            )
        })?;
    if !(r.memory_gib.is_finite() && r.memory_gib > 0.0 && r.memory_gib <= MAX_MEMORY_GIB) {
        return Err(invalid(
            entry,
            "memory_gib",
            r.memory_gib,
            format!("GiB, more than 0 and at most {MAX_MEMORY_GIB}"),
        ));
    }
    let architecture = parse_enum(
        entry,
        "architecture",
        &r.architecture,
        Architecture::parse,
        Architecture::ALL.iter().map(|v| v.as_str()),
    )?;
    let nvme = parse_enum(
        entry,
        "nvme",
        &r.nvme,
        NvmeRequirement::parse,
        NvmeRequirement::ALL.iter().map(|v| v.as_str()),
    )?;
    let boot_modes = boot_modes(entry, &r.boot_modes)?;
    let gpu_amount = match r.gpu_amount {
        None => 0,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| *n <= 64)
            .ok_or_else(|| invalid(entry, "gpu_amount", n, "0 to 64"))?,
    };
    if let Some(spec) = &r.gpu_spec
        && (gpu_amount == 0 || spec.trim().is_empty())
    {
        let expected = "a GPU model, given only with gpu_amount > 0";
        return Err(invalid(entry, "gpu_spec", spec, expected));
    }
    Ok(InstanceType {
        id: r.id,
        family: r.family,
        cpu_core_count,
        memory_gib: r.memory_gib,
        architecture,
        nvme,
        boot_modes,
        gpu_amount,
        gpu_spec: r.gpu_spec,
    })
}

fn boot_modes(entry: &EntryRef, raw_modes: &[String]) -> Result<Vec<BootMode>, CatalogError> {
    let expected = "a non-empty list of \"BIOS\" and/or \"UEFI\", each once";
    if raw_modes.is_empty() {
        return Err(invalid(entry, "boot_modes", "[]", expected));
    }
    let mut modes = Vec::with_capacity(raw_modes.len());
    for s in raw_modes {
        let m = BootMode::parse(s)
            .filter(|m| *m != BootMode::UefiPreferred)
            .filter(|m| !modes.contains(m))
            .ok_or_else(|| invalid(entry, "boot_modes", s, expected))?;
        modes.push(m);
    }
    Ok(modes)
}

/// `ecs.` plus lowercase letters, digits, `.` and `-` (`ecs.gn7i-c8g1.2xlarge`).
fn is_type_name(s: &str) -> bool {
    s.strip_prefix("ecs.").is_some_and(|rest| {
        !rest.is_empty()
            && s.len() <= 64
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
    })
}
