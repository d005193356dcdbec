//! Helpers for tests of the image lifecycle: bucket directories, test disks made with
//! qemu-img, and polling images and tasks until they settle.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::TestServer;

/// How long a test waits for a task before failing.
pub const SETTLE: Duration = Duration::from_secs(60);

impl TestServer {
    /// The directory of the embedded default's bucket `stencil-<region>`.
    pub fn bucket_dir(&self, region: &str) -> PathBuf {
        self.data_dir()
            .join("buckets")
            .join(format!("stencil-{region}"))
    }

    /// The chunk store directory of `region`.
    pub fn chunk_dir(&self, region: &str) -> PathBuf {
        self.data_dir().join("chunks").join(region)
    }

    /// Polls DescribeTaskAttribute until the task ends; returns the last answer.
    pub async fn wait_task(&self, region: &str, task_id: &str) -> Value {
        let start = Instant::now();
        loop {
            let t = self
                .client()
                .call(
                    "DescribeTaskAttribute",
                    &[("RegionId", region), ("TaskId", task_id)],
                )
                .await
                .expect("DescribeTaskAttribute");
            let status = t["TaskStatus"].as_str().unwrap_or_default().to_string();
            if !matches!(status.as_str(), "Processing" | "Waiting") {
                return t;
            }
            assert!(start.elapsed() < SETTLE, "task {task_id} still {status}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The image as DescribeImages shows it in any status, if it exists.
    pub async fn image(&self, region: &str, image_id: &str) -> Option<Value> {
        let body = self
            .client()
            .call(
                "DescribeImages",
                &[
                    ("RegionId", region),
                    ("ImageId", image_id),
                    ("Status", "ALL"),
                ],
            )
            .await
            .expect("DescribeImages");
        body["Images"]["Image"]
            .as_array()
            .and_then(|a| a.first().cloned())
    }

    /// Puts `file` into the region's bucket as `key`.
    pub fn put_object(&self, region: &str, key: &str, file: &Path) {
        let dir = self.bucket_dir(region);
        std::fs::create_dir_all(&dir).expect("bucket dir");
        std::fs::copy(file, dir.join(key)).expect("copy into bucket");
    }
}

/// Runs a command and panics with its output if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A raw disk of `mib` MiB at `path` with patterned data written by qemu-io at the given
/// `(offset MiB, length MiB, byte)` places; everything else is a hole.
pub fn make_raw(path: &Path, mib: u64, writes: &[(u64, u64, u8)]) {
    run(Command::new("qemu-img")
        .args(["create", "-q", "-f", "raw"])
        .arg(path)
        .arg(format!("{mib}M")));
    for (off, len, byte) in writes {
        run(Command::new("qemu-io")
            .args(["-f", "raw", "-c"])
            .arg(format!("write -P {byte:#x} {off}M {len}M"))
            .arg(path));
    }
}

/// Converts `src` (raw) to `fmt` (a qemu-img format name) at `dst`.
pub fn convert(src: &Path, fmt: &str, dst: &Path) {
    run(Command::new("qemu-img")
        .args(["convert", "-q", "-f", "raw", "-O", fmt])
        .arg(src)
        .arg(dst));
}

/// Whether qemu-img compare finds the two images identical (guest-visible bytes).
pub fn identical(a: &Path, b: &Path) -> bool {
    Command::new("qemu-img")
        .args(["compare", "-q"])
        .arg(a)
        .arg(b)
        .status()
        .expect("qemu-img compare runs")
        .success()
}
