//! Format detection by magic numbers. Anything unrecognised is raw.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::error::{Error, Result};
use crate::format::{Detected, Format, Subformat};
use crate::source::{be32, le32};
use crate::{qcow2, vhd, vmdk};

/// How many leading bytes detection looks at (enough for the ISO 9660 volume descriptor).
pub const DETECT_HEAD_LEN: usize = 64 << 10;
/// How many trailing bytes detection looks at (a VHD footer).
pub const DETECT_TAIL_LEN: usize = 512;

/// VHDX file type identifier at offset 0 ("vhdxfile", MS-VHDX 2.2.1).
const VHDX_MAGIC: &[u8; 8] = b"vhdxfile";
/// VDI signature at [`VDI_SIGNATURE_OFFSET`] (VirtualBox `VDI_IMAGE_SIGNATURE`).
const VDI_SIGNATURE: u32 = 0xbeda_107f;
/// Offset of the VDI signature, after the 64-byte text banner.
const VDI_SIGNATURE_OFFSET: usize = 0x40;
/// ISO 9660 standard identifier in the first volume descriptor (ECMA-119 8.1).
const ISO_MAGIC: &[u8; 5] = b"CD001";
/// Offset of [`ISO_MAGIC`]: sector 16 of 2048 bytes, plus the type byte.
const ISO_MAGIC_OFFSET: usize = 16 * 2048 + 1;
/// First line of a VMDK text descriptor.
const VMDK_DESCRIPTOR_MAGIC: &[u8] = b"# Disk DescriptorFile";
/// ESX COWD sparse extent magic.
const VMDK_COWD_MAGIC: &[u8; 4] = b"COWD";

/// Detects the format of an open file from its first and last bytes.
pub fn detect(file: &File) -> Result<Detected> {
    let size = file
        .metadata()
        .map_err(|e| Error::io(e, "Cannot stat image file"))?
        .len();
    let head_len = size.min(DETECT_HEAD_LEN as u64) as usize;
    let mut head = vec![0u8; head_len];
    file.read_exact_at(&mut head, 0)
        .map_err(|e| Error::io(e, "Cannot read image header"))?;
    let tail_len = size.min(DETECT_TAIL_LEN as u64) as usize;
    let mut tail = vec![0u8; tail_len];
    file.read_exact_at(&mut tail, size - tail_len as u64)
        .map_err(|e| Error::io(e, "Cannot read image footer"))?;
    detect_bytes(&head, &tail, size)
}

/// Detects the format from the first [`DETECT_HEAD_LEN`] bytes (or the whole file if
/// shorter), the last [`DETECT_TAIL_LEN`] bytes, and the file size.
pub fn detect_bytes(head: &[u8], tail: &[u8], file_size: u64) -> Result<Detected> {
    let (format, subformat) = classify(head, tail, file_size);
    Ok(Detected {
        format,
        subformat,
        file_size,
    })
}

fn classify(head: &[u8], tail: &[u8], file_size: u64) -> (Format, Subformat) {
    if head.len() >= 8 && be32(head, 0) == qcow2::header::QCOW_MAGIC {
        let version = be32(head, 4);
        return match version {
            1 => (Format::Qcow2, Subformat::Qcow1),
            v => (Format::Qcow2, Subformat::Qcow2 { version: v }),
        };
    }
    if head.starts_with(VHDX_MAGIC) {
        return (Format::Vhdx, Subformat::Vhdx);
    }
    if head.len() >= VDI_SIGNATURE_OFFSET + 4 && le32(head, VDI_SIGNATURE_OFFSET) == VDI_SIGNATURE {
        return (Format::Vdi, Subformat::Vdi);
    }
    if head.len() >= 4 && le32(head, 0) == vmdk::header::VMDK4_MAGIC {
        let flags = if head.len() >= vmdk::header::OFF_FLAGS + 4 {
            le32(head, vmdk::header::OFF_FLAGS)
        } else {
            0
        };
        let stream =
            flags & vmdk::header::FLAG_COMPRESSED != 0 && flags & vmdk::header::FLAG_MARKERS != 0;
        let sub = if stream {
            Subformat::VmdkStreamOptimized
        } else {
            Subformat::VmdkSparse
        };
        return (Format::Vmdk, sub);
    }
    if head.starts_with(VMDK_COWD_MAGIC) {
        return (Format::Vmdk, Subformat::VmdkCowd);
    }
    if head.starts_with(VMDK_DESCRIPTOR_MAGIC) {
        return (Format::Vmdk, Subformat::VmdkDescriptor);
    }
    if head.starts_with(vhd::COOKIE) {
        return (
            Format::Vhd,
            vhd_subformat(&head[..head.len().min(vhd::FOOTER_LEN)]),
        );
    }
    if file_size >= vhd::FOOTER_LEN as u64 && tail.len() >= vhd::FOOTER_LEN {
        let footer = &tail[tail.len() - vhd::FOOTER_LEN..];
        if footer.starts_with(vhd::COOKIE) {
            return (Format::Vhd, vhd_subformat(footer));
        }
    }
    if head.len() >= ISO_MAGIC_OFFSET + ISO_MAGIC.len()
        && &head[ISO_MAGIC_OFFSET..ISO_MAGIC_OFFSET + ISO_MAGIC.len()] == ISO_MAGIC
    {
        return (Format::Iso, Subformat::Iso);
    }
    (Format::Raw, Subformat::Raw)
}

fn vhd_subformat(footer: &[u8]) -> Subformat {
    if footer.len() < vhd::FOOTER_LEN {
        return Subformat::VhdFixed;
    }
    match be32(footer, vhd::OFF_DISK_TYPE) {
        vhd::DISK_TYPE_DYNAMIC => Subformat::VhdDynamic,
        vhd::DISK_TYPE_DIFFERENCING => Subformat::VhdDifferencing,
        _ => Subformat::VhdFixed,
    }
}
