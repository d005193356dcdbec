//! Format names: what [`crate::detect`] finds and what callers declare.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind, Result};

/// A disk image container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain bytes.
    Raw,
    /// QEMU copy-on-write v2/v3.
    Qcow2,
    /// Microsoft Virtual Hard Disk (VPC).
    Vhd,
    /// VMware Virtual Machine Disk.
    Vmdk,
    /// VirtualBox Disk Image (write only).
    Vdi,
    /// Hyper-V VHDX (detected only).
    Vhdx,
    /// ISO 9660 CD image (detected only).
    Iso,
}

impl Format {
    /// The ECS-style upper-case name (`RAW`, `QCOW2`, `VHD`, ...).
    pub fn ecs_name(self) -> &'static str {
        match self {
            Format::Raw => "RAW",
            Format::Qcow2 => "QCOW2",
            Format::Vhd => "VHD",
            Format::Vmdk => "VMDK",
            Format::Vdi => "VDI",
            Format::Vhdx => "VHDX",
            Format::Iso => "ISO",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ecs_name())
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Parses ECS-style names case-insensitively; `vpc` is accepted as qemu's name for VHD.
    fn from_str(s: &str) -> Result<Self> {
        let f = match s.trim().to_ascii_uppercase().as_str() {
            "RAW" => Format::Raw,
            "QCOW2" => Format::Qcow2,
            "VHD" | "VPC" => Format::Vhd,
            "VMDK" => Format::Vmdk,
            "VDI" => Format::Vdi,
            "VHDX" => Format::Vhdx,
            "ISO" => Format::Iso,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("Unknown format name {s:?}"),
                ));
            }
        };
        Ok(f)
    }
}

/// The variant of a format, as far as detection can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subformat {
    /// Raw bytes.
    Raw,
    /// qcow2 with the given header version (2 or 3); version 1 is `Qcow1`.
    Qcow2 {
        /// Header version.
        version: u32,
    },
    /// QEMU's original qcow (version 1).
    Qcow1,
    /// VHD, fixed size (data then footer).
    VhdFixed,
    /// VHD, dynamic (sparse, BAT).
    VhdDynamic,
    /// VHD, differencing (has a parent file).
    VhdDifferencing,
    /// VMDK hosted sparse extent with an embedded descriptor (monolithicSparse).
    VmdkSparse,
    /// VMDK streamOptimized (compressed grains with markers).
    VmdkStreamOptimized,
    /// A VMDK text descriptor naming extent files (multi-file VMDK).
    VmdkDescriptor,
    /// ESX COWD sparse VMDK extent.
    VmdkCowd,
    /// VHDX.
    Vhdx,
    /// VDI.
    Vdi,
    /// ISO 9660.
    Iso,
}

/// The answer of [`crate::detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The container format.
    pub format: Format,
    /// The variant.
    pub subformat: Subformat,
    /// Size of the image file in bytes.
    pub file_size: u64,
}

impl Detected {
    /// True when [`crate::open`] can read this variant.
    pub fn is_supported(&self) -> bool {
        matches!(
            self.subformat,
            Subformat::Raw
                | Subformat::Qcow2 { .. }
                | Subformat::VhdFixed
                | Subformat::VhdDynamic
                | Subformat::VmdkSparse
                | Subformat::VmdkStreamOptimized
        )
    }

    /// The "unsupported, convert it" error for variants we do not read.
    pub fn ensure_supported(&self) -> Result<()> {
        if self.is_supported() {
            return Ok(());
        }
        let what = match self.subformat {
            Subformat::Qcow1 => "qcow version 1",
            Subformat::VhdDifferencing => "VHD differencing disks",
            Subformat::VmdkDescriptor => "multi-file VMDK (descriptor file)",
            Subformat::VmdkCowd => "VMDK COWD (ESX sparse) extents",
            Subformat::Vhdx => "VHDX",
            Subformat::Vdi => "VDI",
            Subformat::Iso => "ISO 9660 images",
            _ => "this format",
        };
        let kind = match self.subformat {
            Subformat::VmdkDescriptor => ErrorKind::ExternalFile,
            _ => ErrorKind::UnsupportedFormat,
        };
        Err(Error::new(
            kind,
            format!("{what} are unsupported, convert with `qemu-img convert -O qcow2`"),
        ))
    }
}

/// Formats the streaming writers produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// Raw bytes; holes are written as zeros on a stream (see [`crate::write_raw_sparse`]).
    Raw,
    /// qcow2 v3, 64 KiB clusters, uncompressed.
    Qcow2,
    /// VHD dynamic, 2 MiB blocks.
    VhdDynamic,
    /// VHD fixed: data then footer with the exact virtual size.
    VhdFixed,
    /// VMDK streamOptimized with deflate-compressed grains.
    VmdkStreamOptimized,
    /// VDI dynamic, 1 MiB blocks.
    VdiDynamic,
}

impl FromStr for OutputFormat {
    type Err = Error;

    /// `RAW`, `QCOW2`, `VHD` (dynamic), `VHD-FIXED`, `VMDK` (streamOptimized), `VDI`.
    fn from_str(s: &str) -> Result<Self> {
        let f = match s.trim().to_ascii_uppercase().as_str() {
            "RAW" => OutputFormat::Raw,
            "QCOW2" => OutputFormat::Qcow2,
            "VHD" | "VPC" | "VHD-DYNAMIC" => OutputFormat::VhdDynamic,
            "VHD-FIXED" => OutputFormat::VhdFixed,
            "VMDK" | "VMDK-STREAM" => OutputFormat::VmdkStreamOptimized,
            "VDI" => OutputFormat::VdiDynamic,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("Unknown output format name {s:?}"),
                ));
            }
        };
        Ok(f)
    }
}
