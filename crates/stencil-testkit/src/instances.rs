//! Helpers for tests of instances and disks: import a small image, launch instances from it,
//! find their disks, wait for snapshots, and read and write disks over NBD with the qemu tools
//! (`qemu-io`, `qemu-img convert`, `qemu-img map`, `qemu-img compare`) or [`RawNbd`].
//!
//! The qemu tools and [`RawNbd`] block the calling thread while the server answers them, so
//! tests using them need a runtime where the server runs on other threads:
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` (a current-thread test
//! deadlocks on its first NBD request).

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value;

use crate::TestServer;
use crate::lifecycle::{SETTLE, run};

/// An instance type every imported x86_64 BIOS image runs on.
pub const INSTANCE_TYPE: &str = "ecs.g7.large";

/// The smallest `cloud_efficiency` system disk, in GiB (disks are sparse: no test pays for it).
pub const DISK_GIB: u64 = 20;

/// [`DISK_GIB`] in bytes.
pub const DISK_BYTES: u64 = DISK_GIB << 30;

/// One MiB.
pub const MIB: u64 = 1 << 20;

/// The byte at `offset` of a patterned image: varies byte by byte, so a misplaced or shifted
/// copy shows, and is never a whole block of zeros.
pub fn pattern_byte(offset: u64) -> u8 {
    let x = offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
    (x as u8) | 1
}

/// A raw image of `mib` MiB at `path` holding [`pattern_byte`] data in each `(offset MiB,
/// length MiB)` range and holes everywhere else.
pub fn make_patterned_raw(path: &Path, mib: u64, data: &[(u64, u64)]) {
    let f = std::fs::File::create(path).expect("create raw image");
    f.set_len(mib * MIB).expect("size raw image");
    for &(off, len) in data {
        let start = off * MIB;
        let bytes: Vec<u8> = (start..start + len * MIB).map(pattern_byte).collect();
        f.write_all_at(&bytes, start).expect("write raw image");
    }
    f.sync_all().expect("sync raw image");
}

/// A sparse copy of `image` (raw) at `dst`, extended with zeros to `size` bytes: what a new
/// disk of that size made from the image holds.
pub fn expected_disk(image: &Path, size: u64, dst: &Path) {
    sparse_copy(image, dst);
    let f = OpenOptions::new()
        .write(true)
        .open(dst)
        .expect("open expected disk");
    f.set_len(size).expect("extend expected disk");
}

/// A sparse copy of the raw file `src` at `dst` (`std::fs::copy` may fill the holes).
pub fn sparse_copy(src: &Path, dst: &Path) {
    run(Command::new("qemu-img")
        .args(["convert", "-q", "-f", "raw", "-O", "raw", "-S", "4k"])
        .arg(src)
        .arg(dst));
}

/// Writes `data` at `offset` of the file at `path` (to build expected disks).
pub fn patch(path: &Path, offset: u64, data: &[u8]) {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open file to patch");
    f.write_all_at(data, offset).expect("patch file");
}

/// `len` bytes at `offset` of the file at `path`.
pub fn read_file_range(path: &Path, offset: u64, len: u64) -> Vec<u8> {
    let f = std::fs::File::open(path).expect("open file");
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, offset).expect("read file range");
    buf
}

/// Runs `qemu-io -f raw URL -c CMD…` and returns its output, whatever it is.
pub fn qemu_io(url: &str, cmds: &[&str]) -> Output {
    let mut c = Command::new("qemu-io");
    c.args(["-f", "raw"]).arg(url);
    for cmd in cmds {
        c.args(["-c", cmd]);
    }
    c.output().expect("qemu-io runs")
}

/// Runs `qemu-io` commands against `url` and panics if any fails.
pub fn nbd_io(url: &str, cmds: &[&str]) {
    let out = qemu_io(url, cmds);
    assert!(
        out.status.success(),
        "qemu-io {url} {cmds:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The whole disk at `url`, read with `qemu-img convert` into the raw file `dst`.
pub fn read_disk(url: &str, dst: &Path) {
    run(Command::new("qemu-img")
        .args(["convert", "-q", "-f", "raw", "-O", "raw"])
        .arg(url)
        .arg(dst));
}

/// `qemu-img compare -f FMT_A -F FMT_B a b`: true when the guest-visible bytes are identical
/// (exit 0), false when they differ (exit 1); panics on any other exit (an error).
pub fn compare(fmt_a: &str, a: &str, fmt_b: &str, b: &str) -> bool {
    let out = Command::new("qemu-img")
        .args(["compare", "-f", fmt_a, "-F", fmt_b, a, b])
        .output()
        .expect("qemu-img compare runs");
    match out.status.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!(
            "qemu-img compare {a} {b} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// [`compare`] of a raw file with a disk over NBD.
pub fn disk_equals_file(file: &Path, url: &str) -> bool {
    compare("raw", &file.to_string_lossy(), "raw", url)
}

/// The data ranges (`"data": true`) that `qemu-img map --output=json` reports for the disk at
/// `url`, adjacent ones merged.
pub fn data_ranges(url: &str) -> Vec<(u64, u64)> {
    let out = run(Command::new("qemu-img")
        .args(["map", "--output=json", "-f", "raw"])
        .arg(url));
    let entries: Vec<Value> = serde_json::from_str(&out).expect("qemu-img map JSON");
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for e in entries {
        if e["data"] != Value::Bool(true) {
            continue;
        }
        let start = e["start"].as_u64().expect("start");
        let end = start + e["length"].as_u64().expect("length");
        match ranges.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => ranges.push((start, end)),
        }
    }
    ranges
}

/// `(offset, length)` pairs of bytes `a` and `b` differ at, merged, at most `limit` of them
/// (for assertion messages).
pub fn differences(a: &[u8], b: &[u8], limit: usize) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for i in 0..a.len().max(b.len()) {
        if a.get(i) == b.get(i) {
            continue;
        }
        if let Some(last) = out.last_mut()
            && last.0 + last.1 == i
        {
            last.1 += 1;
        } else if out.len() == limit {
            break;
        } else {
            out.push((i, 1));
        }
    }
    out
}

/// The first element of `body[outer][inner]`, if any.
fn first(body: &Value, outer: &str, inner: &str) -> Option<Value> {
    body[outer][inner]
        .as_array()
        .and_then(|a| a.first().cloned())
}

impl TestServer {
    /// Calls `action` as the first account and panics on an error answer.
    pub async fn act(&self, action: &str, params: &[(&str, &str)]) -> Value {
        self.client()
            .call(action, params)
            .await
            .unwrap_or_else(|e| panic!("{action} {params:?}: {e}"))
    }

    /// Calls `action` as the first account, expects an error answer and returns its Code.
    pub async fn refused(&self, action: &str, params: &[(&str, &str)]) -> String {
        match self.client().call(action, params).await {
            Ok(body) => panic!("{action} {params:?} succeeded: {body}"),
            Err(e) => e.code().unwrap_or_else(|| panic!("{e}")).to_string(),
        }
    }

    /// Puts the raw file `raw` into the region's bucket as `key`, imports it and waits until
    /// the image is Available. Returns the image ID.
    pub async fn import_raw(&self, region: &str, raw: &Path, key: &str) -> String {
        self.put_object(region, key, raw);
        let bucket = format!("stencil-{region}");
        let r = self
            .act(
                "ImportImage",
                &[
                    ("RegionId", region),
                    ("DiskDeviceMapping.1.OSSBucket", &bucket),
                    ("DiskDeviceMapping.1.OSSObject", key),
                    ("DiskDeviceMapping.1.Format", "RAW"),
                ],
            )
            .await;
        let image = r["ImageId"].as_str().expect("ImageId").to_string();
        let task = self
            .wait_task(region, r["TaskId"].as_str().expect("TaskId"))
            .await;
        assert_eq!(task["TaskStatus"], "Finished", "import of {key}: {task}");
        self.wait_image(region, &image).await;
        image
    }

    /// Polls DescribeImages until the image is Available and returns it; panics if it fails.
    pub async fn wait_image(&self, region: &str, image: &str) -> Value {
        let start = Instant::now();
        loop {
            let img = self
                .image(region, image)
                .await
                .unwrap_or_else(|| panic!("image {image} does not exist"));
            match img["Status"].as_str() {
                Some("Available") => return img,
                Some("Creating" | "Waiting") => {}
                _ => panic!("image {image} did not become Available: {img}"),
            }
            assert!(start.elapsed() < SETTLE, "image {image} still {img}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// RunInstances of one instance from `image` with a [`DISK_GIB`] system disk and `extra`
    /// parameters. Returns the instance ID.
    pub async fn run_instance(&self, region: &str, image: &str, extra: &[(&str, &str)]) -> String {
        self.launch("RunInstances", region, image, extra).await
    }

    /// RunInstances or CreateInstance (`action`) of one instance; returns its ID.
    pub async fn launch(
        &self,
        action: &str,
        region: &str,
        image: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let size = DISK_GIB.to_string();
        let mut p = vec![
            ("RegionId", region),
            ("ImageId", image),
            ("InstanceType", INSTANCE_TYPE),
            ("SystemDisk.Size", size.as_str()),
        ];
        p.extend_from_slice(extra);
        let r = self.act(action, &p).await;
        match action {
            "CreateInstance" => r["InstanceId"].as_str(),
            _ => r["InstanceIdSets"]["InstanceIdSet"][0].as_str(),
        }
        .unwrap_or_else(|| panic!("{action} answered {r}"))
        .to_string()
    }

    /// The instance as DescribeInstances shows it, if it exists.
    pub async fn instance(&self, region: &str, id: &str) -> Option<Value> {
        let ids = format!("[\"{id}\"]");
        let body = self
            .act(
                "DescribeInstances",
                &[("RegionId", region), ("InstanceIds", &ids)],
            )
            .await;
        first(&body, "Instances", "Instance")
    }

    /// The disks of an instance as DescribeDisks shows them, the system disk first.
    pub async fn disks_of(&self, region: &str, instance: &str) -> Vec<Value> {
        let body = self
            .act(
                "DescribeDisks",
                &[
                    ("RegionId", region),
                    ("InstanceId", instance),
                    ("PageSize", "100"),
                ],
            )
            .await;
        let mut disks = body["Disks"]["Disk"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        disks.sort_by_key(|d| {
            (
                d["Type"] != "system",
                d["Device"].as_str().map(str::to_owned),
            )
        });
        disks
    }

    /// The disk as DescribeDisks shows it, if it exists.
    pub async fn disk(&self, region: &str, id: &str) -> Option<Value> {
        let ids = format!("[\"{id}\"]");
        let body = self
            .act("DescribeDisks", &[("RegionId", region), ("DiskIds", &ids)])
            .await;
        first(&body, "Disks", "Disk")
    }

    /// The ID of an instance's system disk.
    pub async fn system_disk(&self, region: &str, instance: &str) -> String {
        let disks = self.disks_of(region, instance).await;
        let d = disks
            .first()
            .unwrap_or_else(|| panic!("instance {instance} has no disk"));
        assert_eq!(d["Type"], "system", "{d}");
        d["DiskId"].as_str().expect("DiskId").to_string()
    }

    /// StopInstance, then checks DescribeInstances says Stopped.
    pub async fn stop_instance(&self, region: &str, id: &str) {
        self.act("StopInstance", &[("InstanceId", id)]).await;
        let i = self.instance(region, id).await.expect("instance exists");
        assert_eq!(i["Status"], "Stopped", "{i}");
    }

    /// StartInstance, then checks DescribeInstances says Running.
    pub async fn start_instance(&self, region: &str, id: &str) {
        self.act("StartInstance", &[("InstanceId", id)]).await;
        let i = self.instance(region, id).await.expect("instance exists");
        assert_eq!(i["Status"], "Running", "{i}");
    }

    /// The snapshot as DescribeSnapshots shows it, if it exists.
    pub async fn snapshot(&self, region: &str, id: &str) -> Option<Value> {
        let ids = format!("[\"{id}\"]");
        let body = self
            .act(
                "DescribeSnapshots",
                &[("RegionId", region), ("SnapshotIds", &ids)],
            )
            .await;
        first(&body, "Snapshots", "Snapshot")
    }

    /// Polls DescribeSnapshots until the snapshot is accomplished and returns it; panics if it
    /// fails or takes longer than [`SETTLE`].
    pub async fn wait_snapshot(&self, region: &str, id: &str) -> Value {
        let start = Instant::now();
        loop {
            let s = self
                .snapshot(region, id)
                .await
                .unwrap_or_else(|| panic!("snapshot {id} does not exist"));
            match s["Status"].as_str() {
                Some("accomplished") => return s,
                Some("progressing") => {}
                _ => panic!("snapshot {id} did not complete: {s}"),
            }
            assert!(start.elapsed() < SETTLE, "snapshot {id} still {s}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// CreateSnapshot of `disk`, waited for until accomplished. Returns the snapshot ID.
    pub async fn create_snapshot(&self, region: &str, disk: &str) -> String {
        let r = self.act("CreateSnapshot", &[("DiskId", disk)]).await;
        let id = r["SnapshotId"].as_str().expect("SnapshotId").to_string();
        let s = self.wait_snapshot(region, &id).await;
        assert_eq!(s["SourceDiskId"], disk, "{s}");
        id
    }

    /// ExportImage in `format` to the region's bucket, waited for; returns the exported files
    /// in disk order.
    pub async fn export_to_bucket(&self, region: &str, image: &str, format: &str) -> Vec<PathBuf> {
        let bucket = format!("stencil-{region}");
        let r = self
            .act(
                "ExportImage",
                &[
                    ("RegionId", region),
                    ("ImageId", image),
                    ("OSSBucket", &bucket),
                    ("ImageFormat", format),
                ],
            )
            .await;
        let task = self
            .wait_task(region, r["TaskId"].as_str().expect("TaskId"))
            .await;
        assert_eq!(task["TaskStatus"], "Finished", "export of {image}: {task}");
        task["OperationProgressSet"]["OperationProgress"][0]["RelatedItemSet"]["RelatedItem"]
            .as_array()
            .expect("related items")
            .iter()
            .filter(|i| i["Name"] == "OSSObject")
            .map(|i| {
                self.bucket_dir(region)
                    .join(i["Value"].as_str().expect("key"))
            })
            .collect()
    }
}

/// A minimal NBD client (fixed newstyle, `NBD_OPT_EXPORT_NAME`, simple replies) for what the
/// qemu tools cannot do: writes that are never followed by a FLUSH (qemu flushes when it
/// closes a disk, whatever its cache mode).
#[derive(Debug)]
pub struct RawNbd {
    stream: std::net::TcpStream,
    /// The export's size in bytes.
    pub size: u64,
    handle: u64,
}

impl RawNbd {
    const NBDMAGIC: u64 = 0x4e42_444d_4147_4943;
    const IHAVEOPT: u64 = 0x4948_4156_454f_5054;
    const REQUEST: u32 = 0x2560_9513;
    const REPLY: u32 = 0x6744_6698;
    const CMD_READ: u16 = 0;
    const CMD_WRITE: u16 = 1;
    const CMD_DISC: u16 = 2;
    const CMD_FLUSH: u16 = 3;

    /// Connects to export `name` at `addr`.
    pub fn connect(addr: std::net::SocketAddr, name: &str) -> std::io::Result<RawNbd> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr)?;
        let mut greeting = [0u8; 18];
        stream.read_exact(&mut greeting)?;
        let word = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or([0; 8]));
        if word(&greeting[..8]) != Self::NBDMAGIC || word(&greeting[8..16]) != Self::IHAVEOPT {
            return Err(std::io::Error::other("not an NBD newstyle server"));
        }
        // Client flags: FIXED_NEWSTYLE | NO_ZEROES.
        let mut out = 3u32.to_be_bytes().to_vec();
        out.extend_from_slice(&Self::IHAVEOPT.to_be_bytes());
        out.extend_from_slice(&1u32.to_be_bytes()); // NBD_OPT_EXPORT_NAME
        out.extend_from_slice(&(name.len() as u32).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        stream.write_all(&out)?;
        let mut export = [0u8; 10];
        stream.read_exact(&mut export)?;
        Ok(RawNbd {
            stream,
            size: word(&export[..8]),
            handle: 0,
        })
    }

    fn request(&mut self, kind: u16, offset: u64, len: u32, data: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        self.handle += 1;
        let mut out = Vec::with_capacity(28 + data.len());
        out.extend_from_slice(&Self::REQUEST.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&self.handle.to_be_bytes());
        out.extend_from_slice(&offset.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(data);
        self.stream.write_all(&out)
    }

    fn reply(&mut self, payload: &mut [u8]) -> std::io::Result<()> {
        use std::io::Read;
        let mut head = [0u8; 16];
        self.stream.read_exact(&mut head)?;
        let magic = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let error = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if magic != Self::REPLY {
            return Err(std::io::Error::other(format!("reply magic {magic:#x}")));
        }
        if error != 0 {
            return Err(std::io::Error::other(format!("NBD error {error}")));
        }
        self.stream.read_exact(payload)
    }

    /// NBD_CMD_WRITE without FUA; returns once the server acknowledged it.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.request(Self::CMD_WRITE, offset, data.len() as u32, data)?;
        self.reply(&mut [])
    }

    /// NBD_CMD_READ.
    pub fn read(&mut self, offset: u64, len: u32) -> std::io::Result<Vec<u8>> {
        self.request(Self::CMD_READ, offset, len, &[])?;
        let mut buf = vec![0u8; len as usize];
        self.reply(&mut buf)?;
        Ok(buf)
    }

    /// NBD_CMD_FLUSH.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.request(Self::CMD_FLUSH, 0, 0, &[])?;
        self.reply(&mut [])
    }

    /// NBD_CMD_DISC, then the connection closes.
    pub fn disconnect(mut self) -> std::io::Result<()> {
        self.request(Self::CMD_DISC, 0, 0, &[])
    }
}
