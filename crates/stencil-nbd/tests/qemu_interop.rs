//! Interoperability with the real qemu tools (qemu-io, qemu-img, qemu-nbd from qemu-utils).
//!
//! The server runs in this process on 127.0.0.1:0; the tools are run as child processes. A
//! missing tool fails the test with a message saying what to install.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use stencil_nbd::{BlockDevice, ExportMap, MemDevice, serve};
use tokio::sync::oneshot;

const MIB: u64 = 1 << 20;

/// A server on its own runtime; stopped (and joined) on drop.
struct Harness {
    runtime: tokio::runtime::Runtime,
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Harness {
    fn start(exports: ExportMap) -> Harness {
        require_qemu();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = runtime.spawn(serve(listener, Arc::new(exports), async {
            let _ = stopped.await;
        }));
        Harness {
            runtime,
            port,
            stop: Some(stop),
            served: Some(served),
        }
    }

    fn url(&self, name: &str) -> String {
        format!("nbd://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let (Some(stop), Some(served)) = (self.stop.take(), self.served.take()) {
            let _ = stop.send(());
            let result = self.runtime.block_on(served);
            if !std::thread::panicking() {
                result.unwrap().unwrap();
            }
        }
    }
}

fn require_qemu() {
    for tool in ["qemu-io", "qemu-img", "qemu-nbd"] {
        if Command::new(tool).arg("--version").output().is_err() {
            panic!(
                "{tool} not found: these interop tests need qemu-utils (apt-get install qemu-utils)"
            );
        }
    }
}

/// Run a qemu tool; panic with its output unless it succeeds. Returns stdout.
fn run(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {tool}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{tool} {args:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // qemu-io reports some command failures only in its output.
    for bad in ["failed", "error", "Error"] {
        assert!(
            !stdout.contains(bad) && !stderr.contains(bad),
            "{tool} {args:?} reported:\n{stdout}\n{stderr}"
        );
    }
    stdout
}

fn qemu_io(url: &str, commands: &[&str]) -> String {
    let mut args = vec!["-f", "raw", url];
    for c in commands {
        args.extend(["-c", c]);
    }
    run("qemu-io", &args)
}

fn device_bytes(device: &MemDevice) -> Vec<u8> {
    let mut data = vec![0u8; device.size() as usize];
    device.read_at(0, &mut data).unwrap();
    data
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[test]
fn qemu_io_write_then_read_pattern() {
    let disk = Arc::new(MemDevice::new(16 * MIB));
    let harness = Harness::start(ExportMap::new().with("disk", disk.clone()));
    let url = harness.url("disk");
    qemu_io(&url, &["write -P 0xab 1M 4M"]);
    qemu_io(
        &url,
        &["read -P 0xab 1M 4M", "read -P 0 0 1M", "read -P 0 5M 11M"],
    );
    let data = device_bytes(&disk);
    assert!(
        data[MIB as usize..5 * MIB as usize]
            .iter()
            .all(|&b| b == 0xab)
    );
    assert!(data[..MIB as usize].iter().all(|&b| b == 0));
    // A wrong pattern must be noticed (the checks above are not vacuous).
    let output = Command::new("qemu-io")
        .args(["-f", "raw", &url, "-c", "read -P 0xcd 1M 4k"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("Pattern verification failed"));
}

#[test]
fn qemu_io_discard_write_zeroes_and_flush() {
    let disk = Arc::new(MemDevice::from_bytes(&vec![0x5a; 8 * MIB as usize]));
    let harness = Harness::start(ExportMap::new().with("disk", disk.clone()));
    let url = harness.url("disk");
    let blocks = (8 * MIB / MemDevice::BLOCK_SIZE) as usize;
    assert_eq!(disk.allocated_blocks(), blocks);
    qemu_io(&url, &["discard 0 1M", "flush"]);
    assert_eq!(disk.allocated_blocks(), blocks - 16, "discard freed 1 MiB");
    qemu_io(
        &url,
        &[
            "write -z 2M 1M",
            "write -z -u 4M 1M",
            "write -f -P 0x11 6M 64k",
            "flush",
        ],
    );
    assert_eq!(
        disk.allocated_blocks(),
        blocks - 32,
        "-u may unmap, plain -z keeps allocation"
    );
    qemu_io(
        &url,
        &[
            "read -P 0 2M 1M",
            "read -P 0 4M 1M",
            "read -P 0x5a 3M 1M",
            "read -P 0x11 6M 64k",
        ],
    );
}

#[test]
fn qemu_img_convert_reads_the_device() {
    let disk = Arc::new(MemDevice::new(32 * MIB));
    disk.write_at(3 * MIB + 123, &pattern(5 * MIB as usize), false)
        .unwrap();
    disk.write_at(20 * MIB, &pattern(MIB as usize), false)
        .unwrap();
    let harness = Harness::start(ExportMap::new().with("img", disk.clone()));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.raw");
    run(
        "qemu-img",
        &[
            "convert",
            "-f",
            "raw",
            "-O",
            "raw",
            &harness.url("img"),
            path(&out),
        ],
    );
    assert_eq!(std::fs::read(&out).unwrap(), device_bytes(&disk));
}

#[test]
fn qemu_img_convert_writes_the_device() {
    let disk = Arc::new(MemDevice::new(24 * MIB));
    disk.write_at(0, &vec![0xee; 24 * MIB as usize], false)
        .unwrap(); // must be overwritten
    let harness = Harness::start(ExportMap::new().with("img", disk.clone()));
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.raw");
    let mut source = vec![0u8; 24 * MIB as usize];
    source[MIB as usize..9 * MIB as usize].copy_from_slice(&pattern(8 * MIB as usize));
    source[17 * MIB as usize..17 * MIB as usize + 4096].fill(1);
    std::fs::write(&src, &source).unwrap();
    run(
        "qemu-img",
        &[
            "convert",
            "-n",
            "-f",
            "raw",
            "-O",
            "raw",
            path(&src),
            &harness.url("img"),
        ],
    );
    assert!(
        device_bytes(&disk) == source,
        "device differs from the converted source"
    );
    // And back again, through a second connection, the compare tool agrees.
    run(
        "qemu-img",
        &[
            "compare",
            "-f",
            "raw",
            "-F",
            "raw",
            path(&src),
            &harness.url("img"),
        ],
    );
}

#[test]
fn qemu_img_map_shows_holes() {
    let disk = Arc::new(MemDevice::new(8 * MIB));
    disk.write_at(2 * MIB, &[1u8; 100], false).unwrap(); // one 64 KiB block
    disk.write_at(5 * MIB, &vec![2u8; MIB as usize], false)
        .unwrap();
    let harness = Harness::start(ExportMap::new().with("img", disk));
    let json = run(
        "qemu-img",
        &["map", "--output=json", "-f", "raw", &harness.url("img")],
    );
    let map: serde_json::Value = serde_json::from_str(&json).unwrap();
    let extents: Vec<(u64, u64, bool)> = map
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["start"].as_u64().unwrap(),
                e["length"].as_u64().unwrap(),
                e["data"].as_bool().unwrap(),
            )
        })
        .collect();
    let block = MemDevice::BLOCK_SIZE;
    assert_eq!(
        extents,
        vec![
            (0, 2 * MIB, false),
            (2 * MIB, block, true),
            (2 * MIB + block, 3 * MIB - block, false),
            (5 * MIB, MIB, true),
            (6 * MIB, 2 * MIB, false),
        ],
        "{json}"
    );
}

#[test]
fn read_only_export_and_listing() {
    let ro = Arc::new(MemDevice::from_bytes(&[7u8; 65536]).with_read_only(true));
    let rw = Arc::new(MemDevice::new(MIB));
    let harness = Harness::start(ExportMap::new().with("ro", ro.clone()).with("rw", rw));
    run(
        "qemu-io",
        &[
            "-r",
            "-f",
            "raw",
            &harness.url("ro"),
            "-c",
            "read -P 7 0 64k",
        ],
    );
    // Writing is refused: qemu either refuses to open read-write or gets EPERM.
    let output = Command::new("qemu-io")
        .args(["-f", "raw", &harness.url("ro"), "-c", "write -P 1 0 4k"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !output.status.success() || text.contains("failed"),
        "write to read-only export: {text}"
    );
    assert!(device_bytes(&ro).iter().all(|&b| b == 7));

    let port = harness.port.to_string();
    let listing = run("qemu-nbd", &["-L", "-b", "127.0.0.1", "-p", &port]);
    assert!(listing.contains("exports available: 2"), "{listing}");
    assert!(
        listing.contains("export: 'ro'") && listing.contains("export: 'rw'"),
        "{listing}"
    );
    assert!(listing.contains("base:allocation"), "{listing}");
    assert!(listing.contains("max block: 33554432"), "{listing}");
}

#[test]
fn unknown_export_is_refused() {
    let harness = Harness::start(ExportMap::new().with("disk", Arc::new(MemDevice::new(MIB))));
    let output = Command::new("qemu-img")
        .args(["info", &harness.url("nope")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    // The server is unharmed.
    qemu_io(&harness.url("disk"), &["read -P 0 0 4k"]);
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}
