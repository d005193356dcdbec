//! Closed sets of image attribute values, each parsed once at the edge.
//!
//! Every enum here has a `parse` that accepts exactly the spellings the ECS API documents
//! (case-insensitively where real clients vary) and an `as_str` that gives the canonical
//! spelling the API emits.

use serde::{Deserialize, Serialize};

/// Defines a closed string enum with `parse`, `as_str`, `ALL`, `Display` and serde in the
/// canonical spelling.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling used on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the canonical spelling, ignoring ASCII case.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} {s:?}, expected one of {:?}",
                        stringify!($name),
                        $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>()
                    ))
                })
            }
        }
    };
}

string_enum!(
    /// CPU architecture of an image or an instance type.
    Architecture {
        I386 => "i386",
        X86_64 => "x86_64",
        Arm64 => "arm64",
    }
);

impl Architecture {
    /// Whether an image of this architecture runs on an instance type of `host`.
    /// A 32-bit x86 image runs on x86_64 hardware (the memory rule is separate).
    pub fn runs_on(self, host: Architecture) -> bool {
        matches!(
            (self, host),
            (Architecture::I386, Architecture::X86_64)
                | (Architecture::I386, Architecture::I386)
                | (Architecture::X86_64, Architecture::X86_64)
                | (Architecture::Arm64, Architecture::Arm64)
        )
    }

    /// Whether this is a 32-bit architecture (limited to types with less than 4 GiB memory).
    pub fn is_32_bit(self) -> bool {
        self == Architecture::I386
    }
}

string_enum!(
    /// Operating system family.
    OsType {
        Linux => "linux",
        Windows => "windows",
    }
);

string_enum!(
    /// Firmware the image boots with.
    BootMode {
        Bios => "BIOS",
        Uefi => "UEFI",
        UefiPreferred => "UEFI-Preferred",
    }
);

string_enum!(
    /// Who owns an image, from the caller's point of view.
    ImageOwnerAlias {
        System => "system",
        SelfOwned => "self",
        Others => "others",
        Marketplace => "marketplace",
    }
);

string_enum!(
    /// Whether an image is used by at least one instance.
    Usage {
        Instance => "instance",
        None => "none",
    }
);

string_enum!(
    /// A `supported`/`unsupported` feature flag (NVMe, online CPU/memory changes, secure boot).
    Support {
        Supported => "supported",
        Unsupported => "unsupported",
    }
);

string_enum!(
    /// Instance metadata service versions an image supports.
    ImdsSupport {
        V1 => "v1",
        V2 => "v2",
    }
);

string_enum!(
    /// The ECS `ActionType` of image queries: launching an instance or replacing a system disk.
    ActionType {
        CreateEcs => "CreateEcs",
        ChangeOs => "ChangeOS",
    }
);

/// Linux platforms accepted by CreateImage and ImportImage (reference §3).
pub const LINUX_PLATFORMS: &[&str] = &[
    "Aliyun",
    "Anolis",
    "CentOS",
    "Ubuntu",
    "CoreOS",
    "SUSE",
    "Debian",
    "OpenSUSE",
    "FreeBSD",
    "RedHat",
    "Kylin",
    "UOS",
    "Fedora",
    "Fedora CoreOS",
    "CentOS Stream",
    "AlmaLinux",
    "Rocky Linux",
    "Gentoo",
    "Customized Linux",
    "Others Linux",
];

/// Windows platforms accepted by CreateImage and ImportImage (reference §3).
pub const WINDOWS_PLATFORMS: &[&str] = &[
    "Windows Server 2022",
    "Windows Server 2019",
    "Windows Server 2016",
    "Windows Server 2012",
    "Windows Server 2008",
    "Windows Server 2003",
];

/// The platform used when a caller names none.
pub const DEFAULT_PLATFORM: &str = "Others Linux";

/// A validated platform name in its canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Platform(String);

impl Platform {
    /// Parses a platform name, ignoring ASCII case. `allow_other_windows` admits
    /// ImportImage's extra `Other Windows`.
    pub fn parse(s: &str, allow_other_windows: bool) -> Option<Self> {
        let extra: &[&str] = if allow_other_windows {
            &["Other Windows"]
        } else {
            &[]
        };
        LINUX_PLATFORMS
            .iter()
            .chain(WINDOWS_PLATFORMS)
            .chain(extra)
            .find(|p| p.eq_ignore_ascii_case(s))
            .map(|p| Platform((*p).to_string()))
    }

    /// A platform name taken as is, for catalog entries that name distributions the API's
    /// input list does not (for example `Windows Server 2008 R2` style names).
    pub fn from_catalog(s: &str) -> Self {
        Platform(s.to_string())
    }

    /// The OS family this platform belongs to.
    pub fn os_type(&self) -> OsType {
        if self.0.starts_with("Windows") || self.0 == "Other Windows" {
            OsType::Windows
        } else {
            OsType::Linux
        }
    }

    /// The canonical spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Platform {
    fn default() -> Self {
        Platform(DEFAULT_PLATFORM.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_ignores_case_and_round_trips() {
        for a in Architecture::ALL {
            assert_eq!(Architecture::parse(&a.as_str().to_uppercase()), Some(*a));
        }
        assert_eq!(
            BootMode::parse("uefi-preferred"),
            Some(BootMode::UefiPreferred)
        );
        assert_eq!(OsType::parse("Solaris"), None);
    }

    #[test]
    fn thirty_two_bit_images_run_on_x86_64_but_not_arm() {
        assert!(Architecture::I386.runs_on(Architecture::X86_64));
        assert!(!Architecture::I386.runs_on(Architecture::Arm64));
        assert!(!Architecture::X86_64.runs_on(Architecture::Arm64));
    }

    #[test]
    fn platforms_know_their_os_family() {
        assert_eq!(Platform::parse("ubuntu", false).unwrap().as_str(), "Ubuntu");
        assert_eq!(
            Platform::parse("Windows Server 2019", false)
                .unwrap()
                .os_type(),
            OsType::Windows
        );
        assert!(Platform::parse("Other Windows", false).is_none());
        assert!(Platform::parse("Other Windows", true).is_some());
    }
}

string_enum!(
    /// What a durable task does. `DescribeTasks` shows imports, exports and copies; the others
    /// are internal work that the API reports through the image's status instead.
    TaskAction {
        /// `ImportImage`: bytes from a bucket into the chunk store.
        ImportImage => "ImportImage",
        /// `ExportImage`: bytes from the chunk store into a bucket.
        ExportImage => "ExportImage",
        /// `CreateImage` from snapshots: checks every chunk is present, then makes it Available.
        CreateImage => "CreateImage",
        /// Storing the bytes of a public catalog image at first start.
        PublicImage => "PublicImage",
        /// `CreateSnapshot`, and the disk snapshots of `CreateImage` from an instance.
        CreateSnapshot => "CreateSnapshot",
        /// `CopyImage`: the chunks the destination region lacks, then the copy's indexes.
        CopyImage => "CopyImage",
    }
);

impl TaskAction {
    /// Whether `DescribeTasks` lists tasks of this action.
    pub fn is_listed(self) -> bool {
        matches!(
            self,
            TaskAction::ImportImage | TaskAction::ExportImage | TaskAction::CopyImage
        )
    }
}

string_enum!(
    /// Where a task is. `Waiting` tasks queue behind a concurrency limit.
    TaskStatus {
        /// Queued.
        Waiting => "Waiting",
        /// Running (or about to resume after a restart).
        Processing => "Processing",
        /// Done.
        Finished => "Finished",
        /// Ended with an error; the task says which.
        Failed => "Failed",
        /// Cancelled by `CancelTask`.
        Cancelled => "Cancelled",
    }
);

impl TaskStatus {
    /// Whether the task has ended.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Finished | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

string_enum!(
    /// Snapshot status as `DescribeSnapshots` reports it.
    SnapshotStatus {
        /// Being created.
        Progressing => "progressing",
        /// Complete.
        Accomplished => "accomplished",
        /// Creation failed.
        Failed => "failed",
    }
);

string_enum!(
    /// `ExportImage` `ImageFormat`.
    ExportFormat {
        /// Plain bytes (the default).
        Raw => "raw",
        /// Dynamic VHD.
        Vhd => "vhd",
        /// qcow2 v3.
        Qcow2 => "qcow2",
        /// streamOptimized VMDK.
        Vmdk => "vmdk",
        /// Dynamic VDI.
        Vdi => "vdi",
    }
);

string_enum!(
    /// `ImportImage` `DiskDeviceMapping.N.Format`.
    ImportFormat {
        /// Plain bytes.
        Raw => "RAW",
        /// VHD fixed or dynamic.
        Vhd => "VHD",
        /// qcow2 v2 or v3.
        Qcow2 => "QCOW2",
        /// monolithicSparse or streamOptimized VMDK.
        Vmdk => "VMDK",
    }
);

string_enum!(
    /// What a snapshot is used by (`DescribeSnapshots` `Usage`).
    SnapshotUsage {
        /// Backs at least one image.
        Image => "image",
        /// Source of at least one disk.
        Disk => "disk",
        /// Both.
        ImageDisk => "image_disk",
        /// Neither.
        None => "none",
    }
);

string_enum!(
    /// The `ResourceType` of the tag actions that Stencil implements.
    TagResourceType {
        /// Images.
        Image => "image",
        /// Snapshots.
        Snapshot => "snapshot",
    }
);

string_enum!(
    /// Status of an instance (`DescribeInstances` `Status`). Stencil does not boot instances:
    /// the status is the API's state machine, and the disks are reachable over NBD in every
    /// status.
    InstanceStatus {
        /// Being created.
        Pending => "Pending",
        /// StartInstance in progress.
        Starting => "Starting",
        /// Running.
        Running => "Running",
        /// StopInstance in progress.
        Stopping => "Stopping",
        /// Stopped.
        Stopped => "Stopped",
    }
);

string_enum!(
    /// Status of a disk (`DescribeDisks` `Status`).
    DiskStatus {
        /// Attached to an instance.
        InUse => "In_use",
        /// Not attached.
        Available => "Available",
        /// Being attached.
        Attaching => "Attaching",
        /// Being detached.
        Detaching => "Detaching",
        /// Being created.
        Creating => "Creating",
        /// Being re-initialised (ResetDisk, ReInitDisk).
        ReIniting => "ReIniting",
    }
);

string_enum!(
    /// Category of a disk (`SystemDisk.Category`, `DataDisk.N.Category`).
    DiskCategory {
        /// Basic disk.
        Cloud => "cloud",
        /// Ultra disk.
        CloudEfficiency => "cloud_efficiency",
        /// Standard SSD.
        CloudSsd => "cloud_ssd",
        /// ESSD.
        CloudEssd => "cloud_essd",
        /// ESSD AutoPL.
        CloudAuto => "cloud_auto",
        /// ESSD Entry.
        CloudEssdEntry => "cloud_essd_entry",
    }
);

impl DiskCategory {
    /// The sizes in GiB a disk of this category may have (reference §5.18: basic disks
    /// 20–500 as system disks and 5–2000 as data disks; the others 20–2048 as system disks
    /// (ESSD 1–2048) and 20–32768 as data disks).
    pub fn size_range(self, system: bool) -> (u64, u64) {
        match (self, system) {
            (DiskCategory::Cloud, true) => (20, 500),
            (DiskCategory::Cloud, false) => (5, 2000),
            (DiskCategory::CloudEssd, true) => (1, 2048),
            (_, true) => (20, 2048),
            (_, false) => (20, 32768),
        }
    }
}
