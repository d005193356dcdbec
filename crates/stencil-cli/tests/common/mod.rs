//! The `stencil` binary started as a user starts it, on port 0 in a temp directory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_stencil");

/// A server process that is killed if the test fails before stopping it.
pub struct Server(pub Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `stencil serve` and returns the child and the stdout lines up to the account line.
pub fn serve(data_dir: &Path) -> (Server, Vec<String>) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--nbd-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .env("STENCIL_LOG", "warn")
        .env_remove("STENCIL_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("stencil starts");
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "stdout ended early: {lines:?}"
        );
        lines.push(line.trim_end().to_string());
        if line.starts_with("Account") || line.contains("AccessKeySecret") {
            break;
        }
    }
    (Server(Some(child)), lines)
}

/// The `host:port` the banner names.
pub fn endpoint(lines: &[String]) -> String {
    lines[0]
        .split("at http://")
        .nth(1)
        .expect("address printed")
        .trim_end_matches('/')
        .to_string()
}

/// Runs `cmd` to completion with its output captured, killing it after `limit`.
pub fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .env_remove("STENCIL_CONFIG")
        .env_remove("STENCIL_ENDPOINT")
        .env_remove("STENCIL_ACCESS_KEY_ID")
        .env_remove("STENCIL_ACCESS_KEY_SECRET")
        .env_remove("STENCIL_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stencil starts");
    let pid = child.id().to_string();
    let (tx, rx) = mpsc::channel();
    // The pipes are drained while waiting, so a chatty child cannot block on a full pipe.
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("{cmd:?} ran longer than {limit:?}");
        }
    }
}
