//! The image lifecycle from the command line, as a user runs it: upload and import a qcow2 made
//! with qemu-img, list it, export it and compare the bytes with `qemu-img compare`, delete it
//! with its snapshots, and list the tasks. Every file lives in a temp directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{BIN, Server, endpoint, run_within, serve};

/// Longest a client command may take (an import of a small disk takes well under a second).
const LIMIT: Duration = Duration::from_secs(120);

/// A running server in its own temp directory, and a way to run client commands against it.
struct Stencil {
    dir: tempfile::TempDir,
    data: PathBuf,
    endpoint: String,
    _server: Server,
}

impl Stencil {
    fn start() -> Stencil {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (server, lines) = serve(&data);
        Stencil {
            endpoint: endpoint(&lines),
            dir,
            data,
            _server: server,
        }
    }

    /// Runs `stencil ARGS --endpoint … --data-dir …`.
    fn run(&self, args: &[&str]) -> Output {
        run_within(
            Command::new(BIN)
                .args(args)
                .args(["--endpoint", &self.endpoint, "--data-dir"])
                .arg(&self.data),
            LIMIT,
        )
    }

    /// Runs a command that must succeed and returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn tool(program: &str, args: &[&str], files: &[&Path]) {
    let out = Command::new(program)
        .args(args)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} {files:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 64 MiB qcow2 whose first MiB is 0xab and the rest unallocated.
fn small_qcow2(path: &Path) {
    let out = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(path)
        .arg("64M")
        .output()
        .expect("qemu-img runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tool(
        "qemu-io",
        &["-f", "qcow2", "-c", "write -P 0xab 0 1M"],
        &[path],
    );
}

fn lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn import_list_export_delete_round_trips_the_bytes() {
    let s = Stencil::start();
    let disk = s.path("web.qcow2");
    small_qcow2(&disk);

    let out = s.ok(&[
        "images",
        "import",
        disk.to_str().unwrap(),
        "--name",
        "lifecycle-web",
        "--format",
        "qcow2",
        "--description",
        "made by the lifecycle test",
    ]);
    let image = out.trim().to_string();
    assert!(
        image.starts_with("m-") && lines(&out).len() == 1,
        "stdout is the ImageId alone: {out:?}"
    );
    assert!(
        s.data
            .join("buckets/stencil-cn-hangzhou/web.qcow2")
            .is_file(),
        "uploaded under the file name into the region's first bucket"
    );

    let listed = s.ok(&["images", "list", "--all", "--owner", "self"]);
    let row = listed
        .lines()
        .find(|l| l.starts_with(&image))
        .unwrap_or_else(|| panic!("{image} listed: {listed}"));
    assert!(
        row.contains("lifecycle-web") && row.contains("Available") && row.contains("100%"),
        "{row}"
    );

    let raw = s.path("web.raw");
    let out = s.ok(&[
        "images",
        "export",
        &image,
        "--format",
        "raw",
        "--to",
        raw.to_str().unwrap(),
    ]);
    let keys = lines(&out);
    assert_eq!(keys.len(), 1, "one disk, one object key: {out:?}");
    assert!(
        s.data
            .join("buckets/stencil-cn-hangzhou")
            .join(keys[0])
            .is_file(),
        "the printed key names the exported object"
    );
    tool(
        "qemu-img",
        &["compare", "-q", "-f", "qcow2", "-F", "raw"],
        &[&disk, &raw],
    );

    let qcow2 = s.path("web-export.qcow2");
    s.ok(&[
        "images",
        "export",
        &image,
        "--format",
        "qcow2",
        "--prefix",
        "again",
        "--to",
        qcow2.to_str().unwrap(),
    ]);
    tool(
        "qemu-img",
        &["compare", "-q", "-f", "qcow2", "-F", "qcow2"],
        &[&disk, &qcow2],
    );

    let tasks = s.ok(&["tasks", "list"]);
    assert!(
        tasks.contains("ImportImage") && tasks.contains("ExportImage"),
        "{tasks}"
    );
    assert!(
        tasks.lines().skip(1).all(|l| l.contains("Finished")),
        "{tasks}"
    );
    let imports = s.ok(&[
        "tasks",
        "list",
        "--action",
        "ImportImage",
        "--status",
        "finished",
    ]);
    assert_eq!(lines(&imports).len(), 2, "header and one import: {imports}");

    let out = s.ok(&["images", "delete", &image, "--with-snapshots"]);
    let steps = lines(&out);
    assert_eq!(steps[0], format!("Deleted image {image}"), "{out}");
    assert!(
        steps.len() >= 2
            && steps[1..]
                .iter()
                .all(|l| l.starts_with("Deleted snapshot s-")),
        "the image first, then each snapshot: {out}"
    );
    let listed = s.ok(&["images", "list", "--all", "--owner", "self"]);
    assert!(!listed.contains(&image), "{listed}");
    let again = s.run(&["images", "delete", &image]);
    assert!(
        !again.status.success(),
        "a deleted image is not found again"
    );

    // Image and snapshots are gone: GC frees their chunks (the server is still running).
    // Fresh chunks are protected for a minute (a writer may be about to name them), so the
    // test ages them first.
    let pending = s.ok(&["admin", "gc", "--dry-run"]);
    assert!(pending.contains("kept 0 chunks in use"), "{pending}");
    let aged = Command::new("find")
        .arg(s.data.join("chunks"))
        .args([
            "-type",
            "f",
            "-exec",
            "touch",
            "-d",
            "2 hours ago",
            "{}",
            "+",
        ])
        .status()
        .expect("find runs");
    assert!(aged.success());
    let gc = s.ok(&["admin", "gc", "--margin", "0"]);
    let hz = gc
        .lines()
        .find(|l| l.starts_with("cn-hangzhou:"))
        .unwrap_or_else(|| panic!("{gc}"));
    assert!(!hz.contains("indexes, 0 chunks"), "chunks were freed: {gc}");
    let again = s.ok(&["admin", "gc", "--margin", "0"]);
    assert!(
        again.contains("removed 0 unreferenced indexes, 0 chunks"),
        "{again}"
    );
    let verify = s.ok(&["admin", "verify"]);
    assert!(verify.contains("0 corrupt, 0 missing"), "{verify}");
}

#[test]
fn an_import_started_without_waiting_is_awaited_with_tasks_wait() {
    let s = Stencil::start();
    let disk = s.path("later.qcow2");
    small_qcow2(&disk);
    let out = s.ok(&[
        "images",
        "import",
        disk.to_str().unwrap(),
        "--name",
        "later",
        "--key",
        "uploads/later.qcow2",
        "--region",
        "cn-shanghai",
        "--no-wait",
    ]);
    let ids: Vec<&str> = out.split_whitespace().collect();
    assert!(
        ids.len() == 2 && ids[0].starts_with("m-") && ids[1].starts_with("t-"),
        "IMAGE_ID TASK_ID: {out:?}"
    );
    assert!(
        s.data
            .join("buckets/stencil-cn-shanghai/uploads/later.qcow2")
            .is_file()
    );
    let waited = s.ok(&["tasks", "wait", ids[1], "--region", "cn-shanghai"]);
    assert_eq!(
        waited.trim(),
        ids[0],
        "tasks wait prints the imported image"
    );
}

#[test]
fn an_import_of_a_file_that_is_not_an_image_fails_with_the_reason() {
    let s = Stencil::start();
    let junk = s.path("junk.qcow2");
    std::fs::write(&junk, b"this is not a qcow2 image\n".repeat(40_000)).unwrap();
    let out = s.run(&[
        "images",
        "import",
        junk.to_str().unwrap(),
        "--name",
        "junk",
        "--format",
        "qcow2",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        out.stdout.is_empty(),
        "no ImageId printed for a failed import"
    );
    assert!(err.contains("Error"), "{err}");
}

#[test]
fn import_uploads_into_the_region_bucket_before_calling_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let disk = dir.path().join("disk.img");
    std::fs::write(&disk, vec![7u8; 3 << 20]).unwrap();
    let out = run_within(
        Command::new(BIN)
            .args(["images", "import"])
            .arg(&disk)
            .args(["--name", "x1", "--region", "cn-beijing"])
            // nothing listens on the discard port: the API call fails after the upload
            .args([
                "--endpoint",
                "127.0.0.1:9",
                "--access-key-id",
                "ak",
                "--access-key-secret",
            ])
            .arg("secret123")
            .arg("--data-dir")
            .arg(&data),
        LIMIT,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    assert!(
        err.contains("the upload stays in bucket stencil-cn-beijing as disk.img"),
        "{err}"
    );
    let uploaded = data.join("buckets/stencil-cn-beijing/disk.img");
    assert_eq!(std::fs::read(uploaded).unwrap(), vec![7u8; 3 << 20]);
}

#[test]
fn import_refuses_an_unknown_bucket_or_a_missing_file_before_uploading() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let disk = dir.path().join("disk.img");
    std::fs::write(&disk, b"bytes").unwrap();
    let run = |file: &Path, extra: &[&str]| {
        run_within(
            Command::new(BIN)
                .args(["images", "import"])
                .arg(file)
                .args(["--name", "x1", "--endpoint", "127.0.0.1:9"])
                .args(["--access-key-id", "ak", "--access-key-secret", "secret123"])
                .args(extra)
                .arg("--data-dir")
                .arg(&data),
            LIMIT,
        )
    };
    let out = run(&disk, &["--bucket", "nope"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("No bucket \"nope\""),
        "{err}"
    );
    let out = run(&disk, &["--bucket", "stencil-cn-beijing"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("is in region cn-beijing"),
        "{err}"
    );
    let out = run(&dir.path().join("absent.qcow2"), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("absent.qcow2"),
        "{err}"
    );
    assert!(!data.exists(), "nothing was written");
}

#[test]
fn images_copy_waits_for_the_copy_and_the_copy_exports_the_same_bytes() {
    let s = Stencil::start();
    let disk = s.path("copy-me.qcow2");
    small_qcow2(&disk);
    let image = s
        .ok(&[
            "images",
            "import",
            disk.to_str().unwrap(),
            "--name",
            "copy-me",
        ])
        .trim()
        .to_string();
    let out = s.ok(&[
        "images",
        "copy",
        &image,
        "--to",
        "cn-shanghai",
        "--name",
        "copied",
    ]);
    let copy = out.trim().to_string();
    assert!(
        copy.starts_with("m-") && lines(&out).len() == 1,
        "stdout is the copy's ImageId alone: {out:?}"
    );
    let listed = s.ok(&[
        "images",
        "list",
        "--region",
        "cn-shanghai",
        "--owner",
        "self",
    ]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&copy) && l.contains("copied") && l.contains("Available")),
        "{listed}"
    );
    let raw = s.path("copied.raw");
    s.ok(&[
        "images",
        "export",
        &copy,
        "--region",
        "cn-shanghai",
        "--format",
        "raw",
        "--to",
        raw.to_str().unwrap(),
    ]);
    tool(
        "qemu-img",
        &["compare", "-q", "-f", "qcow2", "-F", "raw"],
        &[&disk, &raw],
    );
    // The same region is refused with the API's message.
    let same = s.run(&["images", "copy", &image, "--to", "cn-hangzhou"]);
    assert!(!same.status.success());
    assert!(
        String::from_utf8_lossy(&same.stderr).contains("IncorrectDestinationRegion"),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
}
