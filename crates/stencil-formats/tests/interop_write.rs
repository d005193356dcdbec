//! Writer interop: every writer, fed from several sources, produces images that
//! `qemu-img check` accepts (where qemu can check the format) and that `qemu-img compare`
//! finds identical to the source. Our own readers read them back too.

mod common;

use std::fs::File;
use std::path::Path;
use std::process::Command;

use common::*;
use stencil_formats::{
    Extent, ExtentKind, FnSource, Format, OutputFormat, write, write_raw_sparse,
};

const OUTPUTS: [(OutputFormat, &str, bool); 6] = [
    (OutputFormat::Raw, "raw", false),
    (OutputFormat::Qcow2, "qcow2", true),
    (OutputFormat::VhdDynamic, "vpc", false),
    (OutputFormat::VhdFixed, "vpc", false),
    (OutputFormat::VmdkStreamOptimized, "vmdk", true),
    (OutputFormat::VdiDynamic, "vdi", true),
];

fn compare(src: &Path, fmt: &str, out: &Path) {
    let o = Command::new("qemu-img")
        .args(["compare", "-f", "raw", "-F", fmt, s(src), s(out)])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "qemu-img compare {src:?} {out:?} ({fmt}): {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Writes `src` (a raw file) in every output format and checks each with qemu-img.
fn check_all_writers(src: &Path, dir: &Path) {
    let reader = open_path(src, Some(Format::Raw)).unwrap();
    let map = reader.extents().unwrap();
    let expected = std::fs::read(src).unwrap();
    for (format, fmt, checkable) in OUTPUTS {
        let out = dir.join(format!("out-{format:?}.img"));
        let mut f = std::io::BufWriter::new(File::create(&out).unwrap());
        write(format, reader.virtual_size(), &map, reader.as_ref(), &mut f).unwrap();
        drop(f);
        if checkable {
            qemu_img(&["check", "-f", fmt, s(&out)]);
        }
        compare(src, fmt, &out);
        if format != OutputFormat::VdiDynamic {
            let back = open_path(&out, None).unwrap();
            assert_eq!(back.virtual_size(), expected.len() as u64, "{format:?}");
            let got = read_all(back.as_ref());
            assert!(got == expected, "{format:?} does not read back");
            check_map(&back.extents().unwrap(), &expected);
        }
    }
    let sparse = dir.join("sparse.raw");
    write_raw_sparse(
        &File::create(&sparse).unwrap(),
        reader.virtual_size(),
        &map,
        reader.as_ref(),
    )
    .unwrap();
    compare(src, "raw", &sparse);
}

#[test]
fn writers_handle_a_sparse_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = p(dir.path(), "src.raw");
    make_raw(&src, 20 * MIB + 7 * 512);
    check_all_writers(&src, dir.path());
}

#[test]
fn writers_handle_a_dense_random_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = p(dir.path(), "src.raw");
    write_file(&src, &random_bytes(7, (9 * MIB + 3 * 1024) as usize));
    check_all_writers(&src, dir.path());
}

#[test]
fn writers_handle_an_all_zero_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = p(dir.path(), "src.raw");
    File::create(&src).unwrap().set_len(5 * MIB + 512).unwrap();
    check_all_writers(&src, dir.path());
    let written_zeros = p(dir.path(), "zeros.raw");
    write_file(&written_zeros, &vec![0u8; (3 * MIB) as usize]);
    check_all_writers(&written_zeros, dir.path());
}

#[test]
fn writers_handle_scattered_small_extents_and_odd_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let src = p(dir.path(), "src.raw");
    let size = 70 * MIB + 512;
    let f = File::create(&src).unwrap();
    f.set_len(size).unwrap();
    use std::os::unix::fs::FileExt;
    for i in 0..40u64 {
        let off = (i * 1_777_777) / 4096 * 4096;
        f.write_all_at(&random_bytes(i, 4096 * (1 + i as usize % 5)), off)
            .unwrap();
    }
    f.write_all_at(&random_bytes(1000, 512), size - 512)
        .unwrap();
    drop(f);
    check_all_writers(&src, dir.path());
}

#[test]
fn writers_leave_zero_extents_unallocated_even_if_the_source_has_bytes_there() {
    // The map is the contract: a Zero extent is not read and reads back as zeros.
    let size = 4 * MIB;
    let data = random_bytes(5, size as usize);
    let map = [
        Extent {
            offset: 0,
            length: MIB,
            kind: ExtentKind::Data,
        },
        Extent {
            offset: MIB,
            length: 2 * MIB,
            kind: ExtentKind::Zero,
        },
        Extent {
            offset: 3 * MIB,
            length: MIB,
            kind: ExtentKind::Data,
        },
    ];
    let source = FnSource(|buf: &mut [u8], off: u64| {
        buf.copy_from_slice(&data[off as usize..off as usize + buf.len()]);
        Ok(())
    });
    let mut out = Vec::new();
    let stats = write(OutputFormat::Qcow2, size, &map, &source, &mut out).unwrap();
    assert_eq!(stats.bytes_written, out.len() as u64);
    let r = stencil_formats::open_bytes(out, Some(Format::Qcow2)).unwrap();
    let got = read_all(r.as_ref());
    assert!(got[..MIB as usize] == data[..MIB as usize]);
    assert!(got[MIB as usize..3 * MIB as usize].iter().all(|&b| b == 0));
    assert!(got[3 * MIB as usize..] == data[3 * MIB as usize..]);
}

#[test]
fn writers_reject_maps_that_do_not_cover_the_disk() {
    let map = [Extent {
        offset: 0,
        length: 100,
        kind: ExtentKind::Data,
    }];
    let source = FnSource(|buf: &mut [u8], _| {
        buf.fill(1);
        Ok(())
    });
    let e = write(OutputFormat::Raw, 200, &map, &source, &mut Vec::new()).unwrap_err();
    assert_eq!(e.kind(), stencil_formats::ErrorKind::InvalidInput);
}
