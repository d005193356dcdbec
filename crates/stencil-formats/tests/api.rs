//! The public surface other crates use: names, detection, declared formats, the raw reader.

mod common;

use std::fs::File;

use common::*;
use stencil_formats::{
    ErrorKind, ExtentKind, Format, OutputFormat, SparseFileWriter, Subformat, detect, open_bytes,
    write,
};

#[test]
fn ecs_format_names_parse_case_insensitively() {
    for (s, f) in [
        ("RAW", Format::Raw),
        ("qcow2", Format::Qcow2),
        ("Vhd", Format::Vhd),
        ("vmdk", Format::Vmdk),
    ] {
        assert_eq!(s.parse::<Format>().unwrap(), f);
        assert_eq!(f.ecs_name().parse::<Format>().unwrap(), f);
    }
    assert_eq!("ISO".parse::<Format>().unwrap(), Format::Iso);
    assert_eq!(
        "tar".parse::<Format>().unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        "vhd-fixed".parse::<OutputFormat>().unwrap(),
        OutputFormat::VhdFixed
    );
    assert_eq!(
        "VMDK".parse::<OutputFormat>().unwrap(),
        OutputFormat::VmdkStreamOptimized
    );
}

#[test]
fn detect_names_every_variant_qemu_img_makes() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], Format, Subformat); 8] = [
        ("raw", &[], Format::Raw, Subformat::Raw),
        (
            "qcow2",
            &["-o", "compat=0.10"],
            Format::Qcow2,
            Subformat::Qcow2 { version: 2 },
        ),
        ("qcow2", &[], Format::Qcow2, Subformat::Qcow2 { version: 3 }),
        ("vpc", &[], Format::Vhd, Subformat::VhdDynamic),
        (
            "vpc",
            &["-o", "subformat=fixed"],
            Format::Vhd,
            Subformat::VhdFixed,
        ),
        ("vmdk", &[], Format::Vmdk, Subformat::VmdkSparse),
        (
            "vmdk",
            &["-o", "subformat=streamOptimized"],
            Format::Vmdk,
            Subformat::VmdkStreamOptimized,
        ),
        ("vhdx", &[], Format::Vhdx, Subformat::Vhdx),
    ];
    for (i, (fmt, opts, format, sub)) in cases.into_iter().enumerate() {
        let img = p(dir.path(), &format!("{i}.img"));
        let mut args = vec!["create", "-q", "-f", fmt];
        args.extend_from_slice(opts);
        args.extend_from_slice(&[s(&img), "4M"]);
        qemu_img(&args);
        let d = detect(&File::open(&img).unwrap()).unwrap();
        assert_eq!((d.format, d.subformat), (format, sub), "{fmt} {opts:?}");
        assert_eq!(d.is_supported(), format != Format::Vhdx);
    }
}

#[test]
fn open_accepts_a_matching_declared_format_and_no_declaration() {
    let dir = tempfile::tempdir().unwrap();
    let src = p(dir.path(), "a.raw");
    make_raw(&src, 4 * MIB);
    let img = p(dir.path(), "a.qcow2");
    qemu_img(&["convert", "-f", "raw", "-O", "qcow2", s(&src), s(&img)]);
    assert_eq!(
        open_path(&img, Some(Format::Qcow2)).unwrap().format(),
        Format::Qcow2
    );
    assert_eq!(open_path(&img, None).unwrap().format(), Format::Qcow2);
    let e = open_path(&img, Some(Format::Vmdk)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::FormatMismatch);
    assert_eq!(e.path(), Some(img.as_path()));
}

#[test]
fn raw_streams_without_hole_information_are_all_data() {
    let r = open_bytes(vec![7u8; 10_000], Some(Format::Raw)).unwrap();
    let map = r.extents().unwrap();
    assert_eq!(map.len(), 1);
    assert_eq!(
        (map[0].offset, map[0].length, map[0].kind),
        (0, 10_000, ExtentKind::Data)
    );
    let empty = open_bytes(Vec::new(), None).unwrap();
    assert_eq!(empty.virtual_size(), 0);
    assert!(empty.extents().unwrap().is_empty());
}

#[test]
fn sparse_file_writer_leaves_holes_and_qemu_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let src = p(dir.path(), "src.raw");
    make_raw(&src, 16 * MIB + 512);
    let r = open_path(&src, None).unwrap();
    let map = r.extents().unwrap();
    for (format, fmt) in [
        (OutputFormat::VhdFixed, "vpc"),
        (OutputFormat::Raw, "raw"),
        (OutputFormat::Qcow2, "qcow2"),
    ] {
        let out = p(dir.path(), "out.img");
        let f = File::create(&out).unwrap();
        let mut w = SparseFileWriter::new(&f).unwrap();
        let stats = write(format, r.virtual_size(), &map, r.as_ref(), &mut w).unwrap();
        assert_eq!(w.finish().unwrap(), stats.bytes_written);
        drop(f);
        let meta = std::fs::metadata(&out).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert!(
            meta.blocks() * 512 < meta.len(),
            "{format:?} output is not sparse"
        );
        qemu_img(&["compare", "-f", "raw", "-F", fmt, s(&src), s(&out)]);
    }
}

#[test]
fn write_raw_sparse_replaces_what_an_existing_file_held() {
    let dir = tempfile::tempdir().unwrap();
    let src = p(dir.path(), "src.raw");
    make_raw(&src, 6 * MIB);
    let r = open_path(&src, None).unwrap();
    let out = p(dir.path(), "out.raw");
    write_file(&out, &random_bytes(3, 9 * MIB as usize));
    let f = std::fs::OpenOptions::new().write(true).open(&out).unwrap();
    let stats =
        stencil_formats::write_raw_sparse(&f, r.virtual_size(), &r.extents().unwrap(), r.as_ref())
            .unwrap();
    assert!(stats.bytes_written < 6 * MIB);
    drop(f);
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&src).unwrap());
}

#[test]
fn open_refuses_pipes_and_devices() {
    let e = stencil_formats::open(
        File::open("/dev/zero").unwrap(),
        None,
        std::path::Path::new("/dev/zero"),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}
