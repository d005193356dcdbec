//! Shared helpers for the integration tests: qemu-img drivers and test images.
#![allow(dead_code)]

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use stencil_formats::{DiskReader, Extent, ExtentKind, Format, open};

pub const MIB: u64 = 1 << 20;

/// Runs a command and panics with its stderr when it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn qemu_img(args: &[&str]) -> String {
    run("qemu-img", args)
}

pub fn qemu_io(args: &[&str]) -> String {
    run("qemu-io", args)
}

/// Deterministic pseudo-random bytes (xorshift), incompressible.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Compressible text-like bytes.
pub fn text_bytes(seed: u64, len: usize) -> Vec<u8> {
    let words = [
        "kernel:", "systemd", "eth0", "link", "up", "1000Mbps", "\n", "ok", "[", "]", "0x1f",
    ];
    let mut out = Vec::with_capacity(len + 16);
    let mut i = seed as usize;
    while out.len() < len {
        out.extend_from_slice(words[i % words.len()].as_bytes());
        out.push(b' ');
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    out.truncate(len);
    out
}

/// A sparse raw disk of `size` bytes with random, text and explicitly-zero regions and holes.
pub fn make_raw(path: &Path, size: u64) {
    let f = File::create(path).unwrap();
    f.set_len(size).unwrap();
    let put = |off: u64, data: &[u8]| {
        if off < size {
            let n = data.len().min((size - off) as usize);
            f.write_all_at(&data[..n], off).unwrap();
        }
    };
    put(0, &random_bytes(1, MIB as usize));
    put(3 * MIB + 4096, &text_bytes(2, 2 * MIB as usize + 777));
    put(7 * MIB, &vec![0u8; MIB as usize]);
    for i in 0..12u64 {
        put(9 * MIB + i * 700_000, &random_bytes(10 + i, 65536 + 512));
    }
    put(size.saturating_sub(100_000), &random_bytes(99, 100_000));
    f.sync_all().unwrap();
}

/// Reads the whole guest stream of `r` with reads of an odd size.
pub fn read_all(r: &dyn DiskReader) -> Vec<u8> {
    let size = r.virtual_size();
    let mut out = vec![0u8; size as usize];
    let step = 1_000_003usize;
    let mut off = 0usize;
    while off < out.len() {
        let n = step.min(out.len() - off);
        r.read_at(&mut out[off..off + n], off as u64).unwrap();
        off += n;
    }
    out
}

/// Opens `path` with the declared format.
pub fn open_path(
    path: &Path,
    declared: Option<Format>,
) -> stencil_formats::Result<Box<dyn DiskReader>> {
    open(File::open(path).unwrap(), declared, path)
}

/// `qemu-img convert -O raw` of `path`, read back.
pub fn qemu_raw(path: &Path, fmt: &str, dir: &Path) -> Vec<u8> {
    let out = dir.join(format!(
        "{}.qemu.raw",
        path.file_name().unwrap().to_string_lossy()
    ));
    qemu_img(&[
        "convert",
        "-f",
        fmt,
        "-O",
        "raw",
        path.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    std::fs::read(&out).unwrap()
}

/// Checks a map against the bytes: contiguous cover, and no zero/unallocated extent holds data.
pub fn check_map(extents: &[Extent], bytes: &[u8]) {
    stencil_formats::validate_extents(extents, bytes.len() as u64).unwrap();
    for e in extents {
        if e.kind != ExtentKind::Data {
            let s = &bytes[e.offset as usize..e.end() as usize];
            assert!(s.iter().all(|&b| b == 0), "{e:?} holds data");
        }
    }
}

/// Writes `bytes` to `path`.
pub fn write_file(path: &Path, bytes: &[u8]) {
    File::create(path).unwrap().write_all(bytes).unwrap();
}

pub fn p(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
