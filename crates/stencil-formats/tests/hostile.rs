//! Hostile and damaged files: each gets the exact error kind, never a panic, and never makes
//! the reader open another file.

mod common;

use std::path::Path;

use common::*;
use stencil_formats::{ErrorKind, Format, Result, open_bytes};

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}
fn set_be32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
fn set_be64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_be_bytes());
}
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Opens, maps and reads everything; returns the first error.
fn first_error(bytes: Vec<u8>, declared: Option<Format>) -> stencil_formats::Error {
    let go = || -> Result<()> {
        let r = open_bytes(bytes, declared)?;
        r.extents()?;
        let size = r.virtual_size().min(64 * MIB);
        let mut buf = vec![0u8; MIB as usize];
        let mut off = 0;
        while off < size {
            let n = (size - off).min(MIB) as usize;
            r.read_at(&mut buf[..n], off)?;
            off += n as u64;
        }
        Ok(())
    };
    go().expect_err("hostile file was accepted")
}

fn expect(bytes: Vec<u8>, declared: Option<Format>, kind: ErrorKind) -> stencil_formats::Error {
    let e = first_error(bytes, declared);
    assert_eq!(e.kind(), kind, "wrong kind for: {e}");
    e
}

/// A qcow2 image made by qemu-img from the standard test source.
fn qcow2_image(dir: &Path, opts: &[&str]) -> Vec<u8> {
    let src = p(dir, "src.raw");
    make_raw(&src, 8 * MIB);
    let img = p(dir, "x.qcow2");
    let mut args = vec!["convert", "-f", "raw", "-O", "qcow2"];
    args.extend_from_slice(opts);
    args.extend_from_slice(&[s(&src), s(&img)]);
    qemu_img(&args);
    std::fs::read(img).unwrap()
}

/// Offset of the first L2 entry of L2 table 0 whose value satisfies `pred`.
fn find_l2_entry(img: &[u8], pred: impl Fn(u64) -> bool) -> usize {
    let l1 = be64(img, 40) as usize;
    let l2 = (be64(img, l1) & 0x00ff_ffff_ffff_fe00) as usize;
    let cs = 1usize << be32(img, 20);
    (0..cs / 8)
        .map(|i| l2 + i * 8)
        .find(|&at| pred(be64(img, at)))
        .expect("no matching L2 entry")
}

#[test]
fn qcow2_with_a_backing_file_is_rejected_without_opening_it() {
    let dir = tempfile::tempdir().unwrap();
    let img = p(dir.path(), "b.qcow2");
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-u",
        "-b",
        "/etc/passwd",
        "-F",
        "raw",
        s(&img),
        "1M",
    ]);
    let e = expect(
        std::fs::read(&img).unwrap(),
        Some(Format::Qcow2),
        ErrorKind::ExternalFile,
    );
    assert!(e.to_string().contains("backing file"), "{e}");
    let e = open_path(&img, Some(Format::Qcow2)).unwrap_err();
    assert_eq!(e.path(), Some(img.as_path()));
}

#[test]
fn qcow2_with_an_external_data_file_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let img = p(dir.path(), "d.qcow2");
    let data = p(dir.path(), "d.raw");
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        &format!("data_file={}", s(&data)),
        s(&img),
        "1M",
    ]);
    expect(std::fs::read(&img).unwrap(), None, ErrorKind::ExternalFile);
}

#[test]
fn qcow2_with_an_l1_table_of_2_pow_40_entries_is_refused_before_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = qcow2_image(dir.path(), &["-o", "cluster_size=512"]);
    // 512-byte clusters: one L1 entry covers 64 × 512 bytes, so 2^55 bytes need 2^40 entries.
    set_be64(&mut img, 24, 1 << 55);
    set_be32(&mut img, 36, u32::MAX);
    let e = expect(img.clone(), Some(Format::Qcow2), ErrorKind::LimitExceeded);
    assert_eq!(e.field_name(), Some("size"));
    // The l1_size field alone is checked too.
    let mut img2 = qcow2_image(dir.path(), &[]);
    set_be32(&mut img2, 36, u32::MAX);
    let e = expect(img2, Some(Format::Qcow2), ErrorKind::LimitExceeded);
    assert_eq!(e.field_name(), Some("l1_size"));
}

#[test]
fn qcow2_l2_entry_past_end_of_file_is_out_of_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = qcow2_image(dir.path(), &[]);
    let at = find_l2_entry(&img, |e| e & 0x00ff_ffff_ffff_fe00 != 0);
    set_be64(&mut img, at, (1 << 63) | (1 << 40));
    let e = expect(img, None, ErrorKind::OutOfBounds);
    assert_eq!(e.offset(), Some(at as u64));
}

#[test]
fn qcow2_l1_entry_past_end_of_file_is_out_of_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = qcow2_image(dir.path(), &[]);
    let l1 = be64(&img, 40) as usize;
    set_be64(&mut img, l1, 1 << 40);
    expect(img, None, ErrorKind::OutOfBounds);
}

#[test]
fn qcow2_compressed_cluster_with_a_bad_length_is_corrupt_or_out_of_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let img = qcow2_image(dir.path(), &["-c"]);
    let shift = 62 - (16 - 8);
    let at = find_l2_entry(&img, |e| e & (1 << 62) != 0 && (e >> shift) & 0xff >= 2);
    // Too short: one sector cannot hold the deflate stream.
    let mut short = img.clone();
    let e = be64(&short, at) & !(0xffu64 << shift);
    set_be64(&mut short, at, e);
    expect(short, None, ErrorKind::CorruptData);
    // Too long: runs far past the end of the file.
    let mut long = img.clone();
    let e = be64(&long, at) & !((1u64 << shift) - 1) | (img.len() as u64 - 700);
    set_be64(&mut long, at, e | (0xffu64 << shift));
    expect(long, None, ErrorKind::OutOfBounds);
    // Same for zstd.
    let img = qcow2_image(dir.path(), &["-c", "-o", "compression_type=zstd"]);
    let at = find_l2_entry(&img, |e| e & (1 << 62) != 0 && (e >> shift) & 0xff >= 2);
    let mut short = img.clone();
    set_be64(&mut short, at, be64(&img, at) & !(0xffu64 << shift));
    expect(short, None, ErrorKind::CorruptData);
}

#[test]
fn qcow2_cluster_bits_out_of_range_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let img = qcow2_image(dir.path(), &[]);
    for bits in [0, 8, 22, 31, u32::MAX] {
        let mut bad = img.clone();
        set_be32(&mut bad, 20, bits);
        let e = expect(bad, None, ErrorKind::InvalidHeader);
        assert_eq!(e.field_name(), Some("cluster_bits"));
    }
}

#[test]
fn qcow2_refcount_table_overlapping_the_header_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = qcow2_image(dir.path(), &[]);
    set_be64(&mut img, 48, 0);
    let e = expect(img.clone(), None, ErrorKind::Overlap);
    assert_eq!(e.field_name(), Some("refcount_table_offset"));
    let mut l1 = img;
    set_be64(&mut l1, 40, 0);
    expect(l1, None, ErrorKind::Overlap);
}

#[test]
fn qcow2_unknown_incompatible_bits_encryption_and_corrupt_flag_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let img = qcow2_image(dir.path(), &[]);
    let mut unknown = img.clone();
    set_be64(&mut unknown, 72, 1 << 9);
    expect(unknown, None, ErrorKind::UnsupportedFeature);
    let mut crypt = img.clone();
    set_be32(&mut crypt, 32, 1);
    expect(crypt, None, ErrorKind::UnsupportedFeature);
    let mut corrupt = img;
    set_be64(&mut corrupt, 72, 1 << 1);
    expect(corrupt, None, ErrorKind::UnsupportedFeature);
    let enc = p(dir.path(), "enc.qcow2");
    qemu_img(&[
        "create",
        "-q",
        "--object",
        "secret,id=s0,data=pw",
        "-f",
        "qcow2",
        "-o",
        "encrypt.format=luks,encrypt.key-secret=s0",
        s(&enc),
        "1M",
    ]);
    expect(
        std::fs::read(enc).unwrap(),
        None,
        ErrorKind::UnsupportedFeature,
    );
}

#[test]
fn qcow2_version_1_and_other_formats_are_unsupported_with_a_convert_hint() {
    let dir = tempfile::tempdir().unwrap();
    for (fmt, opts) in [("qcow", ""), ("vhdx", ""), ("vdi", "")] {
        let img = p(dir.path(), &format!("x.{fmt}"));
        let mut args = vec!["create", "-q", "-f", fmt];
        if !opts.is_empty() {
            args.extend_from_slice(&["-o", opts]);
        }
        args.extend_from_slice(&[s(&img), "1M"]);
        qemu_img(&args);
        let e = expect(
            std::fs::read(&img).unwrap(),
            None,
            ErrorKind::UnsupportedFormat,
        );
        assert!(e.to_string().contains("qemu-img convert -O qcow2"), "{e}");
    }
    let mut iso = vec![0u8; 40 * 1024];
    iso[16 * 2048] = 1;
    iso[16 * 2048 + 1..16 * 2048 + 6].copy_from_slice(b"CD001");
    expect(iso, None, ErrorKind::UnsupportedFormat);
}

#[test]
fn a_declared_format_that_disagrees_names_both() {
    let dir = tempfile::tempdir().unwrap();
    let img = qcow2_image(dir.path(), &[]);
    let e = expect(img, Some(Format::Raw), ErrorKind::FormatMismatch);
    let msg = e.to_string();
    assert!(msg.contains("RAW") && msg.contains("QCOW2"), "{msg}");
    let e = expect(
        vec![0u8; 4096],
        Some(Format::Vhd),
        ErrorKind::FormatMismatch,
    );
    assert!(e.to_string().contains("VHD"));
}

fn vhd_checksum(b: &[u8], skip: usize) -> u32 {
    !b.iter()
        .enumerate()
        .filter(|(i, _)| !(skip..skip + 4).contains(i))
        .fold(0u32, |a, (_, &x)| a.wrapping_add(x.into()))
}

fn vhd_dynamic(dir: &Path) -> Vec<u8> {
    let src = p(dir, "src.raw");
    make_raw(&src, 8 * MIB);
    let img = p(dir, "x.vhd");
    qemu_img(&["convert", "-f", "raw", "-O", "vpc", s(&src), s(&img)]);
    std::fs::read(img).unwrap()
}

#[test]
fn vhd_with_a_bad_footer_checksum_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = vhd_dynamic(dir.path());
    img[48] ^= 1;
    expect(img, None, ErrorKind::BadChecksum);
    let src = p(dir.path(), "f.raw");
    make_raw(&src, MIB);
    let fixed = p(dir.path(), "f.vhd");
    qemu_img(&[
        "convert",
        "-f",
        "raw",
        "-O",
        "vpc",
        "-o",
        "subformat=fixed",
        s(&src),
        s(&fixed),
    ]);
    let mut img = std::fs::read(fixed).unwrap();
    let n = img.len();
    img[n - 512 + 70] ^= 0xff;
    expect(img, Some(Format::Vhd), ErrorKind::BadChecksum);
}

#[test]
fn vhd_bat_entry_past_end_of_file_is_out_of_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = vhd_dynamic(dir.path());
    let bat = be64(&img, 512 + 16) as usize;
    set_be32(&mut img, bat, 0x7fff_0000);
    let e = expect(img, None, ErrorKind::OutOfBounds);
    assert_eq!(e.offset(), Some(bat as u64));
}

#[test]
fn vhd_block_size_not_a_power_of_two_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = vhd_dynamic(dir.path());
    set_be32(&mut img, 512 + 32, 3 << 20);
    let sum = vhd_checksum(&img[512..1536], 36);
    set_be32(&mut img, 512 + 36, sum);
    let e = expect(img, None, ErrorKind::InvalidHeader);
    assert_eq!(e.field_name(), Some("block_size"));
}

#[test]
fn vhd_differencing_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = vhd_dynamic(dir.path());
    set_be32(&mut img, 60, 4);
    let sum = vhd_checksum(&img[..512], 64);
    set_be32(&mut img, 64, sum);
    let e = expect(img, None, ErrorKind::UnsupportedFormat);
    assert!(e.to_string().contains("qemu-img convert -O qcow2"));
}

fn vmdk_sparse(dir: &Path, sub: &str) -> Vec<u8> {
    let src = p(dir, "src.raw");
    make_raw(&src, 8 * MIB);
    let img = p(dir, "x.vmdk");
    qemu_img(&[
        "convert",
        "-f",
        "raw",
        "-O",
        "vmdk",
        "-o",
        &format!("subformat={sub}"),
        s(&src),
        s(&img),
    ]);
    std::fs::read(img).unwrap()
}

#[test]
fn vmdk_grain_table_past_end_of_file_is_out_of_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = vmdk_sparse(dir.path(), "monolithicSparse");
    let gd = (le64(&img, 56) * 512) as usize;
    img[gd..gd + 4].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    expect(img, None, ErrorKind::OutOfBounds);
}

#[test]
fn vmdk_descriptor_naming_etc_passwd_is_rejected() {
    let text = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\
                RW 2048 FLAT \"/etc/passwd\" 0\n";
    let e = expect(text.as_bytes().to_vec(), None, ErrorKind::ExternalFile);
    assert!(e.to_string().contains("/etc/passwd"), "{e}");
    expect(
        text.as_bytes().to_vec(),
        Some(Format::Vmdk),
        ErrorKind::ExternalFile,
    );
    // The same line inside a sparse extent's embedded descriptor.
    let dir = tempfile::tempdir().unwrap();
    let mut img = vmdk_sparse(dir.path(), "monolithicSparse");
    let pos = img
        .windows(3)
        .position(|w| w == b"RW ")
        .expect("embedded descriptor");
    let line_end = pos + img[pos..].iter().position(|&b| b == b'\n').unwrap();
    let repl = b"RW 1 FLAT \"/etc/passwd\"";
    assert!(repl.len() <= line_end - pos);
    img[pos..pos + repl.len()].copy_from_slice(repl);
    img[pos + repl.len()..line_end].fill(b' ');
    expect(img, None, ErrorKind::ExternalFile);
    // A multi-file VMDK made by qemu-img.
    let split = p(dir.path(), "split.vmdk");
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "vmdk",
        "-o",
        "subformat=twoGbMaxExtentSparse",
        s(&split),
        "1M",
    ]);
    expect(std::fs::read(split).unwrap(), None, ErrorKind::ExternalFile);
}

#[test]
fn truncated_files_of_every_format_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let qcow2 = qcow2_image(dir.path(), &[]);
    expect(
        qcow2[..50].to_vec(),
        Some(Format::Qcow2),
        ErrorKind::Truncated,
    );
    expect(
        qcow2[..100].to_vec(),
        Some(Format::Qcow2),
        ErrorKind::Truncated,
    );
    expect(
        qcow2[..qcow2.len() / 2].to_vec(),
        Some(Format::Qcow2),
        ErrorKind::OutOfBounds,
    );
    expect(
        qcow2[..0x30000].to_vec(),
        Some(Format::Qcow2),
        ErrorKind::OutOfBounds,
    );
    let zstd = qcow2_image(dir.path(), &["-c", "-o", "compression_type=zstd"]);
    expect(
        zstd[..zstd.len() * 2 / 3].to_vec(),
        Some(Format::Qcow2),
        ErrorKind::OutOfBounds,
    );

    let vhd = vhd_dynamic(dir.path());
    expect(vhd[..300].to_vec(), Some(Format::Vhd), ErrorKind::Truncated);
    expect(
        vhd[..1000].to_vec(),
        Some(Format::Vhd),
        ErrorKind::OutOfBounds,
    );
    expect(
        vhd[..vhd.len() / 2].to_vec(),
        Some(Format::Vhd),
        ErrorKind::OutOfBounds,
    );

    // A fixed VHD that lost its footer is plain raw data: declaring VHD is a mismatch.
    let src = p(dir.path(), "f.raw");
    make_raw(&src, MIB);
    let fixed = p(dir.path(), "f.vhd");
    qemu_img(&[
        "convert",
        "-f",
        "raw",
        "-O",
        "vpc",
        "-o",
        "subformat=fixed",
        s(&src),
        s(&fixed),
    ]);
    let f = std::fs::read(fixed).unwrap();
    expect(
        f[..f.len() - 100].to_vec(),
        Some(Format::Vhd),
        ErrorKind::FormatMismatch,
    );

    let sparse = vmdk_sparse(dir.path(), "monolithicSparse");
    expect(
        sparse[..100].to_vec(),
        Some(Format::Vmdk),
        ErrorKind::Truncated,
    );
    expect(
        sparse[..sparse.len() / 2].to_vec(),
        Some(Format::Vmdk),
        ErrorKind::OutOfBounds,
    );
    // qemu's streams carry the grain directory offset in the header: grains go missing.
    let stream = vmdk_sparse(dir.path(), "streamOptimized");
    expect(
        stream[..stream.len() - 700].to_vec(),
        Some(Format::Vmdk),
        ErrorKind::OutOfBounds,
    );
    // Ours (like VMware's) keep it in the footer only: the footer goes missing.
    let src = open_path(&p(dir.path(), "src.raw"), None).unwrap();
    let mut ours = Vec::new();
    let map = src.extents().unwrap();
    stencil_formats::write(
        stencil_formats::OutputFormat::VmdkStreamOptimized,
        src.virtual_size(),
        &map,
        src.as_ref(),
        &mut ours,
    )
    .unwrap();
    expect(
        ours[..ours.len() - 700].to_vec(),
        Some(Format::Vmdk),
        ErrorKind::Truncated,
    );
}

#[test]
fn reads_outside_the_virtual_disk_are_out_of_range() {
    let r = open_bytes(vec![1u8; 4096], Some(Format::Raw)).unwrap();
    let mut buf = [0u8; 2];
    assert_eq!(
        r.read_at(&mut buf, 4095).unwrap_err().kind(),
        ErrorKind::OutOfRange
    );
    assert_eq!(
        r.read_at(&mut buf, u64::MAX).unwrap_err().kind(),
        ErrorKind::OutOfRange
    );
}
