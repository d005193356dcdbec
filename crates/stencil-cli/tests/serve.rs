//! The `stencil` binary as a user meets it: `serve` with the embedded default, the generated
//! AccessKey printed once, client commands reading it back, and a clean exit on SIGTERM.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::{BIN, Server, endpoint, run_within, serve};

/// Longest a client command may take.
const LIMIT: Duration = Duration::from_secs(60);

fn sigterm_and_wait(mut server: Server) {
    let mut child = server.0.take().expect("running");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().expect("wait");
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[test]
fn serve_with_no_config_prints_the_endpoint_and_a_generated_access_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (child, lines) = serve(&data);
    assert!(
        lines[0].starts_with("Stencil is serving the ECS API (2014-05-26) at http://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("cn-hangzhou, cn-shanghai, cn-beijing")),
        "{lines:?}"
    );
    let secret_line = lines
        .iter()
        .find(|l| l.contains("AccessKeySecret:"))
        .expect("secret printed on first start");
    let secret = secret_line.split_whitespace().last().unwrap().to_string();
    let creds = data.join("credentials");
    assert_eq!(
        std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&creds).unwrap().contains(&secret));
    for sub in [
        "chunks/cn-hangzhou",
        "buckets/stencil-cn-beijing",
        "meta.db",
    ] {
        assert!(data.join(sub).exists(), "{sub} created at start");
    }

    let out = run_within(
        Command::new(BIN)
            .args(["regions", "--endpoint", &endpoint(&lines), "--data-dir"])
            .arg(&data),
        LIMIT,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["Regions"]["Region"].as_array().unwrap().len(), 3);

    let out = run_within(
        Command::new(BIN)
            .args([
                "images",
                "list",
                "--owner",
                "system",
                "--name",
                "centos",
                "--endpoint",
                &endpoint(&lines),
                "--data-dir",
            ])
            .arg(&data),
        LIMIT,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("centos_7_9_x64_20G_alibase_"),
        "{text}"
    );
    sigterm_and_wait(child);

    let (child, lines) = serve(&data);
    assert!(
        lines.iter().all(|l| !l.contains(&secret)),
        "the secret is printed only once: {lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("Account ")), "{lines:?}");
    sigterm_and_wait(child);
}

#[test]
fn client_without_credentials_fails_clearly_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_within(
        Command::new(BIN)
            .args(["regions", "--endpoint", "127.0.0.1:9", "--data-dir"])
            .arg(dir.path().join("none"))
            .env_remove("STENCIL_ACCESS_KEY_ID")
            .env_remove("STENCIL_ACCESS_KEY_SECRET"),
        LIMIT,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no AccessKey given"));
    assert!(!dir.path().join("none").exists());
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stencil.toml");
    std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:0\"\nport = 1\n").unwrap();
    let out = run_within(
        Command::new(BIN).args(["serve", "--config"]).arg(&path),
        LIMIT,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("port") && err.contains("stencil.toml"),
        "{err}"
    );
}
