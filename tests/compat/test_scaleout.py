"""Scale-out: several `stencil serve` nodes on one PostgreSQL database and one S3-compatible
chunk store (a 3-node Garage cluster, replication 3), driven with the official SDK.

- any node answers any request, and a signature nonce used on one node is refused on another;
- a node SIGKILLed in the middle of an import loses the task's lease, and another node finishes
  it within the lease time: the image exports identical bytes;
- one Garage node of three stopped during an import and an export: both finish;
- GC on one node while both nodes import: afterwards `stencil admin verify` finds every chunk of
  every image intact, and every image exports its bytes.

Needs `STENCIL_TEST_POSTGRES_URL` and `STENCIL_TEST_S3_*` (run-tests starts both through
tests/infra/scaleout.sh); skipped without them. Image buckets are `file://` directories both
nodes share (they are on one machine); the bucket code's S3 side has its own conformance run
against the same Garage cluster (crates/stencil-core/tests/buckets.rs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import subprocess
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pytest

from clients import make_client
from lifecycle_helpers import (
    HZ, assert_identical, export_and_wait, find_image, import_and_wait, import_image, mapping,
    random_file, uniq, wait_task,
)
from stencil_server import ACCOUNTS, REPO_ROOT, Server, stencil_bin

PG = os.environ.get("STENCIL_TEST_POSTGRES_URL")
S3 = os.environ.get("STENCIL_TEST_S3_ENDPOINT")
pytestmark = pytest.mark.skipif(
    not (PG and S3), reason="needs STENCIL_TEST_POSTGRES_URL and STENCIL_TEST_S3_ENDPOINT "
    "(run-tests starts PostgreSQL and Garage)")

LEASE_SECS = 3.0
BIG_MIB = int(os.environ.get("STENCIL_SCALEOUT_MIB", "256"))


def q(s) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def psql(url: str, sql: str) -> str:
    r = subprocess.run(["psql", url, "-XAtq", "-c", sql], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, f"psql {sql!r}: {r.stderr}"
    return r.stdout.strip()


class Cluster:
    """Nodes sharing one fresh PostgreSQL database, one prefix of the Garage chunk bucket and
    one directory of image buckets."""

    def __init__(self, root: Path):
        self.root = root
        self.db = f"stencil_scaleout_{uuid.uuid4().hex[:12]}"
        psql(PG, f"CREATE DATABASE {self.db}")
        self.meta_url = PG.rsplit("/", 1)[0] + "/" + self.db
        self.prefix = f"scaleout-{uuid.uuid4().hex[:12]}"
        self.buckets = root / "buckets"
        self.nodes: list[Server] = []

    def config(self, n: int, extra_server: str = "") -> str:
        s3 = [
            f"endpoint = {q(S3)}",
            f"access_key_id = {q(os.environ['STENCIL_TEST_S3_ACCESS_KEY_ID'])}",
            f"secret_access_key = {q(os.environ['STENCIL_TEST_S3_SECRET_ACCESS_KEY'])}",
            f"region = {q(os.environ.get('STENCIL_TEST_S3_REGION', 'garage'))}",
        ]
        out = [
            "[server]", 'listen = "127.0.0.1:0"', 'nbd_listen = ""',
            f"data_dir = {q(self.root / f'node{n}' / 'data')}",
            f"node_id = {q(f'node-{n}')}", f"task_lease_secs = {LEASE_SECS}", extra_server, "",
            "[metadata]", f"url = {q(self.meta_url)}", "",
            "[[region]]", f"id = {q(HZ)}", 'name = "China (Hangzhou)"',
            f"chunk_store = {q('s3://' + os.environ['STENCIL_TEST_S3_BUCKET'] + '/' + self.prefix)}",
            *s3, "",
            "[[bucket]]", f"name = {q('stencil-' + HZ)}", f"region = {q(HZ)}",
            f"url = {q('file://' + str(self.buckets))}", "",
        ]
        for uid, ak, secret in ACCOUNTS:
            out += ["[[account]]", f"id = {q(uid)}", f"access_key_id = {q(ak)}",
                    f"access_key_secret = {q(secret)}", ""]
        return "\n".join(out)

    def start(self, n: int, extra_server: str = "") -> Server:
        base = self.root / f"node{n}"
        base.mkdir(parents=True, exist_ok=True)
        node = Server(base, config_override=self.config(n, extra_server))
        node.start()
        self.nodes.append(node)
        return node

    def bucket_path(self, key: str) -> Path:
        self.buckets.mkdir(parents=True, exist_ok=True)
        return self.buckets / key

    def stop(self):
        codes = []
        for node in self.nodes:
            if node.proc and node.proc.poll() is None:
                codes.append((node, node.stop()))
            node.kill()
        psql(PG, f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
        for node, code in codes:
            assert code == 0, f"stencil exited with {code} after SIGTERM\n{node.logs()}"


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop()


def big_object(c: Cluster, mib: int = BIG_MIB) -> str:
    key = uniq("big") + ".raw"
    random_file(c.bucket_path(key), mib << 20, key)
    return key


def percent(text: str | None) -> int:
    m = re.match(r"(\d+)", text or "")
    return int(m.group(1)) if m else 0


def signed_v1_url(endpoint: str, action: str, params: dict, nonce: str) -> str:
    """A V1 (HMAC-SHA1) signed GET path with a chosen nonce, for replaying one request."""
    _, ak, secret = ACCOUNTS[0]
    p = {"Action": action, "Version": "2014-05-26", "AccessKeyId": ak, "Format": "JSON",
         "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": nonce,
         "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **params}
    enc = lambda s: quote(s, safe="-_.~")  # noqa: E731
    qs = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(p.items()))
    sig = base64.b64encode(hmac.new((secret + "&").encode(), f"GET&%2F&{enc(qs)}".encode(),
                                    hashlib.sha1).digest()).decode()
    return f"/?{qs}&Signature={enc(sig)}"


def get(endpoint: str, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection(endpoint, timeout=30)
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, json.loads(r.read())


def admin(node: Server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(stencil_bin()), "admin", *args, "--config", str(node.config_path)],
                          capture_output=True, text=True, timeout=600)


def test_any_node_answers_and_a_nonce_is_used_once_across_nodes(cluster):
    n1, n2 = cluster.start(1), cluster.start(2)
    sdk1, sdk2 = make_client("v3", n1.endpoint), make_client("v3", n2.endpoint)
    key = big_object(cluster, 8)
    image = import_and_wait(sdk1, [mapping(key, "RAW")])
    assert image["Status"] == "Available", image
    seen = find_image(sdk2, image["ImageId"])
    assert seen is not None and seen["Status"] == "Available", seen
    _, (obj,) = export_and_wait(sdk2, image["ImageId"], "raw")
    assert_identical(cluster.bucket_path(key), cluster.bucket_path(obj["OSSObject"]), "raw")

    path = signed_v1_url(n1.endpoint, "DescribeRegions", {}, uuid.uuid4().hex)
    status, body = get(n1.endpoint, path)
    assert status == 200, body
    status, body = get(n2.endpoint, path)
    assert (status, body.get("Code")) == (400, "SignatureNonceUsed"), body


def lease_holder(c: Cluster, task_id: str) -> str:
    return psql(c.meta_url, f"SELECT node FROM leases WHERE name = 'task:{task_id}'")


def test_a_killed_nodes_import_is_finished_by_another_node_within_the_lease_time(cluster):
    n1, n2 = cluster.start(1), cluster.start(2)
    sdk1, sdk2 = make_client("v3", n1.endpoint), make_client("v3", n2.endpoint)
    key = big_object(cluster)
    image_id, task_id = import_image(sdk1, [mapping(key, "RAW")])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and percent(find_image(sdk2, image_id)["Progress"]) < 5:
        time.sleep(0.05)
    assert find_image(sdk2, image_id)["Status"] == "Creating", \
        "the import finished before the kill: raise STENCIL_SCALEOUT_MIB"
    assert lease_holder(cluster, task_id) == "node-1"
    n1.kill()
    killed = time.monotonic()
    # Node 2 takes the task once node 1's lease expires: at most a lease time plus one of its
    # renewal rounds (a third of a lease) after the kill, plus slack for a busy machine.
    while lease_holder(cluster, task_id) != "node-2":
        assert time.monotonic() - killed < LEASE_SECS * 4 / 3 + 5, \
            f"node 2 did not take the task over\n{n2.logs()}"
        time.sleep(0.1)
    took = time.monotonic() - killed
    task = wait_task(sdk2, task_id, timeout=180)
    image = find_image(sdk2, image_id)
    print(f"taken over {took:.1f}s after the kill; task {task['TaskStatus']}")
    assert task["TaskStatus"] == "Finished", task
    assert image["Status"] == "Available", image
    _, (obj,) = export_and_wait(sdk2, image_id, "raw", timeout=180)
    assert_identical(cluster.bucket_path(key), cluster.bucket_path(obj["OSSObject"]), "raw")
    # The finished task's lease is gone.
    assert lease_holder(cluster, task_id) == ""


def garage(fn: str, k: int):
    r = subprocess.run(["bash", "-c", f"source tests/infra/scaleout.sh && {fn} {k}"],
                       cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{fn} {k}: {r.stdout}{r.stderr}"


@pytest.mark.skipif(not os.environ.get("STENCIL_TEST_GARAGE_DIR"),
                    reason="needs STENCIL_TEST_GARAGE_DIR (a cluster run-tests started)")
def test_import_and_export_finish_with_one_garage_node_of_three_down(cluster):
    n1 = cluster.start(1)
    sdk = make_client("v3", n1.endpoint)
    kept = import_and_wait(sdk, [mapping(big_object(cluster, 32), "RAW")])
    key = big_object(cluster, 64)
    garage("garage_stop_node", 3)
    try:
        image_id, task_id = import_image(sdk, [mapping(key, "RAW")])
        assert wait_task(sdk, task_id, timeout=300)["TaskStatus"] == "Finished"
        image = find_image(sdk, image_id)
        assert image["Status"] == "Available", image
        _, (obj,) = export_and_wait(sdk, image["ImageId"], "raw", timeout=300)
        assert_identical(cluster.bucket_path(key), cluster.bucket_path(obj["OSSObject"]), "raw")
        # Chunks written before the node stopped read back through the other two.
        _, (old,) = export_and_wait(sdk, kept["ImageId"], "raw", timeout=300)
        assert cluster.bucket_path(old["OSSObject"]).stat().st_size == 32 << 20
    finally:
        garage("garage_start_node", 3)


def test_gc_on_one_node_while_both_import_keeps_every_chunk_of_every_image(cluster):
    n1, n2 = cluster.start(1), cluster.start(2)
    sdks = [make_client("v3", n.endpoint) for n in (n1, n2)]
    before = import_and_wait(sdks[0], [mapping(big_object(cluster, 16), "RAW")])
    keys = [big_object(cluster, 48) for _ in range(4)]
    started = [import_image(sdks[i % 2], [mapping(k, "RAW")]) for i, k in enumerate(keys)]
    gcs: list[subprocess.CompletedProcess] = []

    def gc_loop():
        while not all(done):
            gcs.append(admin(n1, "gc", "--margin", "0"))

    done = [False]
    worker = threading.Thread(target=gc_loop)
    worker.start()
    try:
        for i, (image_id, task_id) in enumerate(started):
            assert wait_task(sdks[i % 2], task_id, timeout=300)["TaskStatus"] == "Finished"
    finally:
        done[0] = True
        worker.join()
    assert gcs, "GC never ran"
    for r in gcs:
        assert r.returncode == 0, f"admin gc: {r.stdout}{r.stderr}"
    gcs.append(admin(n1, "gc", "--margin", "0"))
    r = admin(n2, "verify")
    assert r.returncode == 0, f"admin verify: {r.stdout}{r.stderr}"
    assert re.search(r" 0 corrupt, 0 missing, 0 unreadable indexes", r.stdout), r.stdout
    for i, ((image_id, _), key) in enumerate(zip(started, keys)):
        _, (obj,) = export_and_wait(sdks[1 - i % 2], image_id, "raw", timeout=300)
        assert_identical(cluster.bucket_path(key), cluster.bucket_path(obj["OSSObject"]), "raw")
    assert find_image(sdks[1], before["ImageId"])["Status"] == "Available"


def test_scheduled_gc_and_verify_run_on_one_node_at_a_time_and_move_when_it_dies(cluster):
    every = "gc_interval_secs = 1\nverify_interval_secs = 1"
    n1 = cluster.start(1, every)
    sdk = make_client("v3", n1.endpoint)
    import_and_wait(sdk, [mapping(big_object(cluster, 4), "RAW")])
    n2 = cluster.start(2, every)

    def rounds(node: Server, name: str) -> int:
        return len(re.findall(rf"scheduled {name}: ", node.stderr_path.read_text(errors="replace")))

    holder = lambda name: psql(cluster.meta_url, f"SELECT node FROM leases WHERE name = '{name}'")  # noqa: E731
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and min(rounds(n1, "gc"), rounds(n1, "verify")) < 3:
        time.sleep(0.2)
    # Node 1 (up first) holds both; node 2, on the same schedule, ran neither.
    assert (holder("gc"), holder("verify")) == ("node-1", "node-1")
    assert min(rounds(n1, "gc"), rounds(n1, "verify")) >= 3, n1.logs()
    assert rounds(n2, "gc") == rounds(n2, "verify") == 0, n2.logs()
    assert re.search(r"scheduled verify: cn-hangzhou: \d+ chunks checked, 0 bad, 0 missing",
                     n1.stderr_path.read_text(errors="replace")), n1.logs()
    # Node 1 dies: node 2 takes both over once two rounds pass without a renewal.
    n1.kill()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and min(rounds(n2, "gc"), rounds(n2, "verify")) < 1:
        time.sleep(0.2)
    assert (holder("gc"), holder("verify")) == ("node-2", "node-2"), n2.logs()


def test_a_disks_bytes_are_worked_on_only_by_the_node_holding_its_overlay(cluster):
    """A disk's written data lives in the `data_dir` of the node that created it: another node
    answers about the disk but refuses to work on its bytes, rather than show them without
    what was written."""
    from instance_helpers import create_snapshot, run_one, system_disk, wait_snapshot
    from lifecycle_helpers import assert_error

    n1, n2 = cluster.start(1), cluster.start(2)
    sdk1, sdk2 = make_client("v3", n1.endpoint), make_client("v3", n2.endpoint)
    image = import_and_wait(sdk1, [mapping(big_object(cluster, 4), "RAW")])
    iid = run_one(sdk1, image["ImageId"], **{"SystemDisk.Size": 20})
    disk = system_disk(sdk2, iid)  # the record: any node
    err = assert_error(sdk2, "CreateSnapshot", {"DiskId": disk["DiskId"]}, "OperationDenied", 403)
    assert "node-1" in err.message, err.message
    assert wait_snapshot(sdk1, create_snapshot(sdk1, disk["DiskId"]))["Status"] == "accomplished"
    # Node 2 restarts without opening it, and still refuses.
    n2.stop()
    n2.restart()
    sdk2 = make_client("v3", n2.endpoint)
    assert_error(sdk2, "CreateSnapshot", {"DiskId": disk["DiskId"]}, "OperationDenied", 403)
