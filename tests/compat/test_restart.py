"""Crash safety: the server is SIGKILLed in the middle of an import, an export and a CreateImage,
restarted on the same config and data, and each task must then resume to Finished with data that
compares identical, or end Failed cleanly; never an Available image or a Finished export with
missing data. Then `stencil admin gc` frees the chunks of failed and cancelled imports, and only
those."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from clients import make_client
from lifecycle_helpers import (
    HZ, assert_identical, convert, create_image, disks_of, export_and_wait, export_image,
    exported_objects,
    find_image, import_and_wait, import_image, mapping, object_path, put_object,
    random_file, task_attr, task_error, uniq, wait_image, wait_task,
)
from own_server import srv  # noqa: F401 (a fixture)
from stencil_server import stencil_bin

BIG_MIB = int(os.environ.get("STENCIL_RESTART_MIB", "1024"))
RESUME_TIMEOUT = 90


def big_object(server, mib: int = BIG_MIB) -> str:
    key = uniq("big") + ".raw"
    random_file(server.bucket_dir(HZ) / key, mib << 20, key)
    return key


def percent(text: str | None) -> int:
    m = re.match(r"(\d+)", text or "")
    return int(m.group(1)) if m else 0


def kill_while(server, still_running, started, max_wait: float = 5.0) -> None:
    """SIGKILLs the server once `started()` (or after `max_wait`), provided `still_running()`
    holds at that moment; otherwise the data was too small to catch the operation midway."""
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline and not started():
        time.sleep(0.05)
    assert still_running(), "finished before the kill: raise STENCIL_RESTART_MIB"
    server.kill()


def restarted(server):
    server.restart()
    return make_client("v3", server.endpoint)


def test_an_import_killed_midway_resumes_or_fails_cleanly_after_a_restart(srv):
    sdk = make_client("v3", srv.endpoint)
    key = big_object(srv)
    image_id, task_id = import_image(sdk, [mapping(key, "RAW")])
    kill_while(
        srv,
        still_running=lambda: find_image(sdk, image_id)["Status"] == "Creating",
        started=lambda: percent(find_image(sdk, image_id)["Progress"]) >= 10,
    )
    sdk = restarted(srv)
    task = wait_task(sdk, task_id, timeout=RESUME_TIMEOUT)
    image = find_image(sdk, image_id)
    print(f"import after the restart: {task['TaskStatus']}, image {image and image['Status']}")
    if task["TaskStatus"] == "Finished":
        assert image is not None and image["Status"] == "Available", (task, image)
        _, (obj,) = export_and_wait(sdk, image_id, "raw", timeout=RESUME_TIMEOUT)
        assert_identical(object_path(srv, key), object_path(srv, obj["OSSObject"]), "raw")
    else:
        assert task["TaskStatus"] == "Failed", task
        code, msg = task_error(task)
        assert code and msg, task
        assert image is None or image["Status"] == "CreateFailed", image


def test_an_export_killed_midway_resumes_or_fails_and_leaves_no_partial_object(srv):
    sdk = make_client("v3", srv.endpoint)
    # Exports run at page-cache speed: 1 GiB can end before the first progress report.
    key = big_object(srv, max(BIG_MIB, 3072))
    image = import_and_wait(sdk, [mapping(key, "RAW")])
    image_id = image["ImageId"]
    task_id = export_image(sdk, image_id, "qcow2")
    kill_while(
        srv,
        still_running=lambda: task_attr(sdk, task_id)["TaskStatus"] not in ("Finished", "Failed"),
        started=lambda: percent(task_attr(sdk, task_id).get("TaskProcess")) >= 10,
    )
    sdk = restarted(srv)
    task = wait_task(sdk, task_id, timeout=RESUME_TIMEOUT)
    print(f"export after the restart: {task['TaskStatus']}")
    final = f"{image_id}_{task_id}.qcow2"
    if task["TaskStatus"] == "Finished":
        (obj,) = exported_objects(task)
        assert obj["OSSObject"] == final, task
        assert object_path(srv, final).exists(), task
    else:
        assert task["TaskStatus"] == "Failed", task
        assert all(task_error(task)), task
    if object_path(srv, final).exists():  # the object, if there, is complete
        assert_identical(object_path(srv, key), object_path(srv, final), "qcow2")
    # The image itself is untouched.
    assert find_image(sdk, image_id)["Status"] == "Available"
    # Nothing else of the killed attempt stays in the bucket once the task has ended.
    leftovers = sorted(p.name for p in srv.bucket_dir(HZ).iterdir()
                       if task_id in p.name and p.name != final)
    assert not leftovers, f"files of the killed attempt left in the bucket: {leftovers}"


def test_a_create_image_killed_right_away_ends_available_with_its_data_or_failed(srv, std_disk):
    sdk = make_client("v3", srv.endpoint)
    source = import_and_wait(sdk, [mapping(put_object(srv, std_disk), "RAW")])
    snap = disks_of(source)[0]["SnapshotId"]
    image_id = create_image(sdk, SnapshotId=snap)
    srv.kill()
    sdk = restarted(srv)
    image = wait_image(sdk, image_id, timeout=RESUME_TIMEOUT)
    print(f"CreateImage after the restart: {image['Status']}")
    if image["Status"] == "Available":
        _, (obj,) = export_and_wait(sdk, image_id, "vhd")
        assert_identical(std_disk, object_path(srv, obj["OSSObject"]), "vpc")
    else:
        assert image["Status"] == "CreateFailed", image


# ---- GC ----

def gc_command(config) -> list[str]:
    """`stencil admin gc --config CONFIG`, with a zero grace period when it has one."""
    help_ = subprocess.run([str(stencil_bin()), "admin", "gc", "--help"],
                           capture_output=True, text=True)
    if help_.returncode != 0:
        pytest.skip("`stencil admin gc` does not exist in this build "
                    f"(exit {help_.returncode}: {(help_.stderr or help_.stdout).strip()[:200]})")
    cmd = [str(stencil_bin()), "admin", "gc", "--config", str(config)]
    m = re.search(r"(--(?:grace|margin|min-age|safety-margin|older-than)[\w-]*)", help_.stdout)
    if m:
        cmd += [m.group(1), "0s" if "duration" in help_.stdout.lower() else "0"]
    return cmd


def chunk_files(server) -> set[str]:
    root = server.chunk_dir(HZ)
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and "sessions" not in p.relative_to(root).parts}


def test_admin_gc_frees_the_chunks_of_failed_and_cancelled_imports_only(srv, std_disk, tmp_path):
    cmd = gc_command(srv.config_path)
    sdk = make_client("v3", srv.endpoint)
    kept = import_and_wait(sdk, [mapping(put_object(srv, std_disk), "RAW")])
    baseline = chunk_files(srv)

    # A failed import that stored chunks first: random data, then the qcow2 is cut short.
    rnd = random_file(tmp_path / "rnd.raw", 256 << 20, uniq("gc"))
    bad = convert(rnd, tmp_path / "cut.qcow2", "qcow2")
    with open(bad, "r+b") as f:
        f.truncate(bad.stat().st_size // 2)
    _, failed = import_image(sdk, [mapping(put_object(srv, bad), "QCOW2")])
    rnd.unlink()
    bad.unlink()
    # A cancelled import, cancelled once it has made progress.
    image_id, cancelled = import_image(sdk, [mapping(big_object(srv), "RAW")])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and percent(find_image(sdk, image_id)["Progress"]) < 20:
        time.sleep(0.05)
    sdk.call("CancelTask", {"RegionId": HZ, "TaskId": cancelled})
    assert wait_task(sdk, failed)["TaskStatus"] == "Failed"
    assert wait_task(sdk, cancelled)["TaskStatus"] == "Cancelled"
    garbage = chunk_files(srv) - baseline

    assert srv.stop() == 0, srv.logs()
    # GC keeps unreferenced chunks younger than its margin, and never less than the store's
    # touch slack (a minute), whatever --margin says: age every file of the store by an hour,
    # as if GC ran an hour later.
    old = time.time() - 3600
    for p in srv.chunk_dir(HZ).rglob("*"):
        if p.is_file():
            os.utime(p, (old, old))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{cmd}: {r.stdout}{r.stderr}"
    after = chunk_files(srv)
    assert after == baseline, (
        f"gc left {len(after - baseline)} of {len(garbage)} unneeded files and removed "
        f"{len(baseline - after)} needed ones; output: {r.stdout}{r.stderr}")

    # What the surviving image needs is still there.
    sdk = restarted(srv)
    _, (obj,) = export_and_wait(sdk, kept["ImageId"], "raw")
    assert_identical(std_disk, object_path(srv, obj["OSSObject"]), "raw")
