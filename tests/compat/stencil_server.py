"""Starts and stops a real `stencil serve` for the compatibility tests.

The server runs from a generated config in a temporary directory (nothing is written in the
working tree), listens on a port the kernel picks, and is stopped with SIGTERM; it must then
exit 0. NBD is off (`nbd_listen = ""`) unless a test asks for it with `Server(..., nbd=True)`;
then it too listens on a port the kernel picks (`127.0.0.1:0`), read back from the banner, so
no two servers ever compete for 10809 (the default) or for any other fixed port.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from catalog import REGIONS, REPO_ROOT

ACCOUNTS = (
    # (account id, AccessKeyId, AccessKeySecret)
    ("1234567890123456", "testak", "testsecret"),
    ("2345678901234567", "otherak", "othersecret"),
    # A third account, for the sharing tests: neither the owner nor the account shared with.
    ("3456789012345678", "thirdak", "thirdsecret"),
)

REGION_NAMES = {
    "cn-hangzhou": "China (Hangzhou)",
    "cn-shanghai": "China (Shanghai)",
    "cn-beijing": "China (Beijing)",
}

BANNER = re.compile(r"^Stencil is serving the ECS API \(2014-05-26\) at http://(\S+)/\s*$")
# The banner's second line when NBD is on: the address the kernel gave the NBD listener.
NBD_BANNER = re.compile(r"^Disks are served over NBD at nbd://(\S+)/<disk-id>\s*$")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def stencil_bin() -> Path:
    """`$STENCIL_BIN` (relative to the current directory), else target/release/stencil of the repo."""
    env = os.environ.get("STENCIL_BIN")
    path = Path(env).resolve() if env else REPO_ROOT / "target" / "release" / "stencil"
    if not path.is_file():
        raise RuntimeError(
            f"stencil binary not found at {path}: build it with "
            "`cargo build --release -p stencil-cli` or set STENCIL_BIN"
        )
    return path


def config_text(base: Path, extra: str = "", nbd: bool = False, server_extra: str = "") -> str:
    """The config of a server under `base`. `nbd`: serve disks over NBD on a port the kernel
    picks; otherwise NBD is disabled (the default, 127.0.0.1:10809, would make two servers
    collide). `server_extra`: lines added to `[server]`."""

    def q(s) -> str:
        return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = [
        "[server]",
        'listen = "127.0.0.1:0"',
        f"nbd_listen = {q('127.0.0.1:0' if nbd else '')}",
        f"data_dir = {q(base / 'data')}",
        *([server_extra.strip()] if server_extra else []),
        "",
        "[metadata]",
        f"url = {q('sqlite://' + str(base / 'meta.db'))}",
        "",
    ]
    for r in REGIONS:
        out += [
            "[[region]]",
            f"id = {q(r)}",
            f"name = {q(REGION_NAMES[r])}",
            f"chunk_store = {q('file://' + str(base / 'chunks' / r))}",
            "",
            "[[bucket]]",
            f"name = {q('stencil-' + r)}",
            f"region = {q(r)}",
            f"url = {q('file://' + str(base / 'buckets' / r))}",
            "",
        ]
    for uid, ak, secret in ACCOUNTS:
        out += [
            "[[account]]",
            f"id = {q(uid)}",
            f"access_key_id = {q(ak)}",
            f"access_key_secret = {q(secret)}",
            "",
        ]
    if extra:
        out += [extra.strip(), ""]
    return "\n".join(out)


@dataclass
class Server:
    base: Path
    proc: subprocess.Popen | None = None
    address: str = ""
    # TOML appended to the generated config, e.g. "[quotas]\nimages_per_region = 2".
    extra_config: str = ""
    # Serve disks over NBD (on a port the kernel picks; see `nbd_address`).
    nbd: bool = False
    # Lines added to the generated `[server]` table, e.g. "verify_disk_reads = true".
    server_extra: str = ""
    # `host:port` of the NBD listener of the running server ("" when NBD is off).
    nbd_address: str = ""
    # How many times this server was started on `base` (restart() keeps the data).
    starts: int = 0
    # The whole config, written as is instead of the generated one (several nodes sharing one
    # database and store: test_scaleout.py).
    config_override: str = ""
    stdout_path: Path = field(init=False)
    stderr_path: Path = field(init=False)

    def __post_init__(self):
        self.stdout_path = self.base / "stdout.log"
        self.stderr_path = self.base / "stderr.log"

    @property
    def endpoint(self) -> str:
        """`host:port`, as the SDKs take it."""
        return self.address

    def nbd_url(self, disk_id: str) -> str:
        """`nbd://host:port/<disk-id>`, as qemu-img and qemu-io open a disk."""
        assert self.nbd_address, "this server does not serve NBD: start it with nbd=True"
        return f"nbd://{self.nbd_address}/{disk_id}"

    def logs(self) -> str:
        def read(p: Path) -> str:
            return p.read_text(errors="replace") if p.exists() else ""

        return f"--- stdout ---\n{read(self.stdout_path)}--- stderr ---\n{read(self.stderr_path)}"

    @property
    def config_path(self) -> Path:
        return self.base / "stencil.toml"

    def bucket_dir(self, region: str) -> Path:
        """The directory of the `file://` bucket `stencil-<region>`: copying a file in puts it."""
        path = self.base / "buckets" / region
        path.mkdir(parents=True, exist_ok=True)
        return path

    def chunk_dir(self, region: str) -> Path:
        return self.base / "chunks" / region

    def purge_data(self) -> None:
        """Removes the buckets and chunk stores (the bulk of the disk space) of a stopped
        server; the logs and the metadata database stay for a post-mortem."""
        assert self.proc is None or self.proc.poll() is not None, "stop or kill it first"
        for sub in ("buckets", "chunks"):
            shutil.rmtree(self.base / sub, ignore_errors=True)

    def restart(self) -> "Server":
        """Starts the server again on the same config and data (after stop() or kill()); the
        logs of the previous run are kept as stdout.N.log / stderr.N.log."""
        assert self.proc is None or self.proc.poll() is not None, "stop or kill it first"
        for p in (self.stdout_path, self.stderr_path):
            if p.exists():
                p.rename(p.with_suffix(f".{self.starts}.log"))
        return self.start()

    def start(self) -> "Server":
        self.starts += 1
        cfg = self.config_path
        cfg.write_text(self.config_override
                       or config_text(self.base, self.extra_config, self.nbd, self.server_extra))
        self.address = self.nbd_address = ""
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(stencil_bin()), "serve", "--config", str(cfg)],
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={**os.environ, "RUST_BACKTRACE": "1"},
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.stdout_path.read_text(errors="replace")
            lines = text.split("\n")[:-1]  # complete lines only
            if lines and not self.address:
                m = BANNER.match(lines[0])
                if not m:
                    self.kill()
                    raise RuntimeError(f"unexpected first line {lines[0]!r}\n{self.logs()}")
                self.address = m.group(1)
            if self.address and not self.nbd:
                return self
            if self.address and len(lines) >= 2:
                m = NBD_BANNER.match(lines[1])
                if not m:
                    self.kill()
                    raise RuntimeError(f"unexpected second line {lines[1]!r}\n{self.logs()}")
                self.nbd_address = m.group(1)
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"stencil exited with {self.proc.returncode} before serving\n{self.logs()}"
                )
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"stencil did not start within {START_TIMEOUT}s\n{self.logs()}")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit status (kills after a timeout)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(f"stencil did not stop within {STOP_TIMEOUT}s of SIGTERM\n{self.logs()}")


@contextmanager
def serving(srv: Server):
    """Starts `srv` and yields it; afterwards stops it (SIGTERM must make it exit 0), kills it
    if it did not stop, and removes its buckets and chunk stores (gigabytes of disks must not
    stay in pytest's basetemp)."""
    srv.start()
    try:
        yield srv
    finally:
        try:
            code = srv.stop()
        finally:
            srv.kill()
            srv.purge_data()
        assert code == 0, f"stencil exited with status {code} after SIGTERM\n{srv.logs()}"
