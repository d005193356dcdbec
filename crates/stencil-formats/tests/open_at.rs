//! `open_at` over an in-memory positional source reads every format exactly like `open` over
//! the file, and source errors surface as `ErrorKind::Io` naming the label.

mod common;

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use stencil_formats::{ErrorKind, Format, ReadAt, open_at};

const SIZE: u64 = 12 * MIB + 3 * 512;

/// An object held in memory that counts the reads made on it.
struct MemObject {
    bytes: Vec<u8>,
    reads: AtomicU64,
}

impl MemObject {
    fn new(bytes: Vec<u8>) -> Arc<Self> {
        Arc::new(MemObject {
            bytes,
            reads: AtomicU64::new(0),
        })
    }
}

impl ReadAt for MemObject {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let src = self
            .bytes
            .get(start..start + buf.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// A source whose every read fails.
struct Broken;

impl ReadAt for Broken {
    fn len(&self) -> u64 {
        1 << 20
    }

    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset",
        ))
    }
}

/// Converts a fresh raw disk with qemu-img, then checks `open_at` against `open`.
fn check_same_as_file(name: &str, fmt: &str, opts: &[&str], declared: Format) {
    let dir = tempfile::tempdir().unwrap();
    let src = p(dir.path(), "src.raw");
    make_raw(&src, SIZE);
    let img = if fmt == "raw" {
        src.clone()
    } else {
        let img = p(dir.path(), name);
        let mut args = vec!["convert", "-f", "raw", "-O", fmt];
        args.extend_from_slice(opts);
        args.extend_from_slice(&[s(&src), s(&img)]);
        qemu_img(&args);
        img
    };

    let from_file = open_path(&img, Some(declared)).unwrap();
    let object = MemObject::new(std::fs::read(&img).unwrap());
    let from_source = open_at(object.clone(), Some(declared), Path::new("bucket/key")).unwrap();

    assert_eq!(from_source.format(), declared);
    assert_eq!(from_source.virtual_size(), from_file.virtual_size());
    let expected = read_all(from_file.as_ref());
    let got = read_all(from_source.as_ref());
    assert!(got == expected, "{name}: open_at bytes differ from open");
    check_map(&from_source.extents().unwrap(), &expected);
    assert!(object.reads.load(Ordering::Relaxed) > 0);
}

#[test]
fn raw_image_over_a_source_reads_like_the_file() {
    check_same_as_file("a.raw", "raw", &[], Format::Raw);
}

#[test]
fn qcow2_image_over_a_source_reads_like_the_file() {
    check_same_as_file("a.qcow2", "qcow2", &[], Format::Qcow2);
}

#[test]
fn compressed_qcow2_image_over_a_source_reads_like_the_file() {
    check_same_as_file("a.qcow2", "qcow2", &["-c"], Format::Qcow2);
}

#[test]
fn dynamic_vhd_over_a_source_reads_like_the_file() {
    check_same_as_file("a.vhd", "vpc", &["-o", "subformat=dynamic"], Format::Vhd);
}

#[test]
fn fixed_vhd_over_a_source_reads_like_the_file() {
    check_same_as_file("a.vhd", "vpc", &["-o", "subformat=fixed"], Format::Vhd);
}

#[test]
fn sparse_vmdk_over_a_source_reads_like_the_file() {
    check_same_as_file("a.vmdk", "vmdk", &[], Format::Vmdk);
}

#[test]
fn stream_optimized_vmdk_over_a_source_reads_like_the_file() {
    check_same_as_file(
        "a.vmdk",
        "vmdk",
        &["-o", "subformat=streamOptimized"],
        Format::Vmdk,
    );
}

#[test]
fn raw_image_over_a_source_is_reported_as_all_data() {
    let object = MemObject::new(vec![0u8; 3 * MIB as usize]);
    let r = open_at(object, None, Path::new("bucket/zeros.raw")).unwrap();
    let map = r.extents().unwrap();
    assert_eq!(map.len(), 1);
    assert_eq!(map[0].kind, stencil_formats::ExtentKind::Data);
    assert_eq!(map[0].end(), 3 * MIB);
}

#[test]
fn declared_format_that_disagrees_with_the_source_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let src = p(dir.path(), "src.raw");
    make_raw(&src, 2 * MIB);
    let img = p(dir.path(), "a.qcow2");
    qemu_img(&["convert", "-f", "raw", "-O", "qcow2", s(&src), s(&img)]);
    let object = MemObject::new(std::fs::read(&img).unwrap());
    let err = open_at(object, Some(Format::Vhd), Path::new("bucket/a.qcow2")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FormatMismatch);
    assert_eq!(err.path(), Some(Path::new("bucket/a.qcow2")));
}

#[test]
fn failing_source_is_an_io_error_naming_the_label() {
    let err = open_at(Arc::new(Broken), None, Path::new("bucket/broken")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(err.path(), Some(Path::new("bucket/broken")));
    let source = std::error::Error::source(&err).expect("the I/O error is kept as the source");
    assert!(source.to_string().contains("connection reset"));
}

#[test]
fn empty_source_opens_as_an_empty_raw_disk() {
    let r = open_at(MemObject::new(Vec::new()), None, Path::new("bucket/empty")).unwrap();
    assert_eq!(r.format(), Format::Raw);
    assert_eq!(r.virtual_size(), 0);
}
