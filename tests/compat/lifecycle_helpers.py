"""Shared steps of the lifecycle tests: disks made with qemu-img, objects put into the server's
`file://` buckets, ImportImage / ExportImage / CreateImage calls, polling of images and tasks,
and `qemu-img compare` of what comes back out (reference §5.2-§5.4, §5.15, §5.17)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from clients import ApiError

HZ = "cn-hangzhou"
SH = "cn-shanghai"
# Every status DescribeImages knows; it shows only Available ones by default (reference §4).
ALL_STATUS = "Creating,Waiting,Available,UnAvailable,CreateFailed,Deprecated"
TASK_DONE = ("Finished", "Failed", "Cancelled")

# ImportImage Format (and DiskDeviceMapping.Format) -> the qemu-img format name.
IMPORT_QEMU = {"RAW": "raw", "VHD": "vpc", "QCOW2": "qcow2", "VMDK": "vmdk"}
# ExportImage ImageFormat -> the qemu-img format name; the object's extension is the format.
EXPORT_QEMU = {"raw": "raw", "vhd": "vpc", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi"}

# The standard test disk: 64 MiB with a few MiB of patterned data (qemu-io writes).
STD_SIZE = "64M"
STD_WRITES = (("0x5a", "1M", "2M"), ("0xc3", "40M", "1M"))


def bucket(region: str = HZ) -> str:
    return f"stencil-{region}"


def uniq(prefix: str = "img") -> str:
    """A fresh image name (letters, digits, '-'), unique on a shared server."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sh(*cmd, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=check)


# ---- disks ----

def make_raw(path: Path, size: str = STD_SIZE, writes=STD_WRITES) -> Path:
    """A sparse raw disk of `size` with `qemu-io write -P pattern offset length` runs."""
    path = Path(path)
    path.unlink(missing_ok=True)
    sh("qemu-img", "create", "-q", "-f", "raw", path, size)
    if writes:
        args = []
        for pattern, offset, length in writes:
            args += ["-c", f"write -P {pattern} {offset} {length}"]
        sh("qemu-io", "-f", "raw", *args, path)
    return path


def convert(src: Path, dst: Path, qemu_fmt: str, *opts: str) -> Path:
    """`qemu-img convert` of a raw disk into `qemu_fmt` (raw, qcow2, vpc, vmdk, vdi, vhdx)."""
    Path(dst).unlink(missing_ok=True)
    sh("qemu-img", "convert", "-f", "raw", "-O", qemu_fmt, *opts, src, dst)
    return Path(dst)


def disk_in(fmt: str, raw: Path, out_dir: Path, stem: str = "disk") -> Path:
    """`raw` converted to the ImportImage format `fmt` (RAW, VHD, QCOW2, VMDK) in `out_dir`."""
    qf = IMPORT_QEMU[fmt.upper()]
    if qf == "raw":
        dst = Path(out_dir) / f"{stem}.raw"
        sh("cp", "--sparse=always", raw, dst)
        return dst
    return convert(raw, Path(out_dir) / f"{stem}.{fmt.lower()}", qf)


def random_file(path: Path, size: int, seed: str) -> Path:
    """`size` bytes of incompressible, non-repeating data, different per `seed` (AES-CTR of
    zeros: about 1 GB/s, so a 1 GiB disk takes a second or two)."""
    key = hashlib.sha256(seed.encode()).hexdigest()[:32]
    Path(path).unlink(missing_ok=True)
    subprocess.run(
        f"openssl enc -aes-128-ctr -K {key} -iv 0 -nosalt -in /dev/zero 2>/dev/null"
        f" | head -c {size} > '{path}'",
        shell=True,
        check=True,
    )
    assert Path(path).stat().st_size == size
    return Path(path)


def put_object(server, src: Path, key: str | None = None, region: str = HZ) -> str:
    """Copies `src` into the region's bucket (a `file://` directory); returns the key."""
    key = key or f"{uuid.uuid4().hex[:8]}-{Path(src).name}"
    sh("cp", "--sparse=always", "--reflink=auto", src, server.bucket_dir(region) / key)
    return key


def object_path(server, key: str, region: str = HZ) -> Path:
    return server.bucket_dir(region) / key


def qemu_compare(original: Path, exported: Path, qemu_fmt: str, original_fmt: str = "raw"):
    """`qemu-img compare`: exit 0 when the guest-visible contents are identical."""
    r = sh("qemu-img", "compare", "-f", original_fmt, "-F", qemu_fmt, original, exported,
           check=False)
    return r.returncode, (r.stdout + r.stderr).strip()


def assert_identical(original: Path, exported: Path, qemu_fmt: str, original_fmt: str = "raw"):
    rc, out = qemu_compare(original, exported, qemu_fmt, original_fmt)
    assert rc == 0, f"qemu-img compare {original} {exported} ({qemu_fmt}): rc={rc}: {out}"


# ---- calls ----

def error_of(sdk, action: str, params: dict) -> ApiError:
    with pytest.raises(ApiError) as e:
        sdk.call(action, params)
    err = e.value
    assert err.request_id, "errors carry a RequestId"
    return err


def assert_error(sdk, action: str, params: dict, code: str, status: int) -> ApiError:
    err = error_of(sdk, action, params)
    assert (err.code, err.status) == (code, status), f"{action} {params}: {err}"
    return err


def mapping(key: str, fmt: str | None = None, size: int | None = None,
            region: str = HZ, bucket_name: str | None = None) -> dict:
    m = {"OSSBucket": bucket_name or bucket(region), "OSSObject": key}
    if fmt is not None:
        m["Format"] = fmt
    if size is not None:
        m["DiskImageSize"] = size
    return m


def import_image(sdk, disks: list[dict], region: str = HZ, **params) -> tuple[str, str]:
    """ImportImage; returns (ImageId, TaskId)."""
    params.setdefault("ImageName", uniq("imp"))
    body = sdk.call("ImportImage", {"RegionId": region, "DiskDeviceMapping": disks, **params}).body
    image_id, task_id = body.get("ImageId"), body.get("TaskId")
    assert isinstance(image_id, str) and image_id.startswith("m-"), body
    assert isinstance(task_id, str) and task_id.startswith("t-"), body
    return image_id, task_id


def find_image(sdk, image_id: str, region: str = HZ, status: str = ALL_STATUS) -> dict | None:
    body = sdk.call("DescribeImages", {"RegionId": region, "ImageId": image_id,
                                       "Status": status, "ImageOwnerAlias": "self"}).body
    images = body["Images"].get("Image", [])
    assert len(images) <= 1, images
    return images[0] if images else None


def wait_image(sdk, image_id: str, until=("Available", "CreateFailed"), region: str = HZ,
               timeout: float = 60) -> dict:
    """Polls DescribeImages until the image's Status is one of `until`; returns the image."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = find_image(sdk, image_id, region)
        assert last is not None, f"{image_id} vanished while waiting for {until}"
        if last["Status"] in until:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{image_id} not in {until} after {timeout}s: {last}")


def wait_gone(sdk, image_id: str, region: str = HZ, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if find_image(sdk, image_id, region) is None:
            return
        time.sleep(0.1)
    raise AssertionError(f"{image_id} still listed after {timeout}s: {find_image(sdk, image_id, region)}")


def task_attr(sdk, task_id: str, region: str = HZ) -> dict:
    return sdk.call("DescribeTaskAttribute", {"RegionId": region, "TaskId": task_id}).body


def wait_task(sdk, task_id: str, region: str = HZ, timeout: float = 60, done=TASK_DONE) -> dict:
    """Polls DescribeTaskAttribute until TaskStatus is one of `done`; returns the body."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = task_attr(sdk, task_id, region)
        assert last.get("TaskId") == task_id, last
        if last.get("TaskStatus") in done:
            return last
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} not in {done} after {timeout}s: {last}")


def operations(task: dict) -> list[dict]:
    ops = task.get("OperationProgressSet", {}).get("OperationProgress", [])
    assert isinstance(ops, list), task
    return ops


def related(op: dict) -> dict:
    items = op.get("RelatedItemSet", {}).get("RelatedItem", [])
    return {i["Name"]: i["Value"] for i in items}


def task_error(task: dict) -> tuple[str, str]:
    """(ErrorCode, ErrorMsg) of a failed task's first operation."""
    ops = operations(task)
    assert ops, f"a failed task reports its error in OperationProgressSet: {task}"
    return ops[0].get("ErrorCode") or "", ops[0].get("ErrorMsg") or ""


def import_and_wait(sdk, disks: list[dict], region: str = HZ, **params) -> dict:
    """ImportImage, then wait for Available; returns the image (with `_TaskId` added)."""
    image_id, task_id = import_image(sdk, disks, region, **params)
    image = wait_image(sdk, image_id, region=region)
    if image["Status"] != "Available":
        task = task_attr(sdk, task_id, region)
        raise AssertionError(f"import of {disks} ended {image['Status']}: {task}")
    task = wait_task(sdk, task_id, region)
    assert task["TaskStatus"] == "Finished", task
    image["_TaskId"] = task_id
    return image


def disks_of(image: dict) -> list[dict]:
    d = image.get("DiskDeviceMappings", {}).get("DiskDeviceMapping", [])
    assert isinstance(d, list), image
    return d


def export_image(sdk, image_id: str, fmt: str | None = None, region: str = HZ,
                 prefix: str | None = None) -> str:
    params = {"RegionId": region, "ImageId": image_id, "OSSBucket": bucket(region)}
    if fmt is not None:
        params["ImageFormat"] = fmt
    if prefix is not None:
        params["OSSPrefix"] = prefix
    body = sdk.call("ExportImage", params).body
    task_id = body.get("TaskId")
    assert isinstance(task_id, str) and task_id.startswith("t-"), body
    return task_id


def exported_objects(task: dict) -> list[dict]:
    """One {OSSBucket, OSSObject, ImageFormat} per object a finished export wrote. The reference
    (§5.15) does not say whether a multi-disk export has one OperationProgress per object or
    one with several OSSObject RelatedItems; both are read."""
    out = []
    for op in operations(task):
        items = op.get("RelatedItemSet", {}).get("RelatedItem", [])
        objects = [i["Value"] for i in items if i["Name"] == "OSSObject"]
        for name in ("OSSBucket", "ImageFormat"):
            values = [i["Value"] for i in items if i["Name"] == name]
            assert len(values) in (1, len(objects)), f"{name} of each object: {items}"
        for n, key in enumerate(objects):
            entry = {"OSSObject": key}
            for name in ("OSSBucket", "ImageFormat"):
                values = [i["Value"] for i in items if i["Name"] == name]
                entry[name] = values[n] if len(values) == len(objects) else values[0]
            out.append(entry)
    assert out, f"a finished export names its objects in RelatedItems: {task}"
    return out


def export_and_wait(sdk, image_id: str, fmt: str | None = None, region: str = HZ,
                    prefix: str | None = None, timeout: float = 60) -> tuple[str, list[dict]]:
    task_id = export_image(sdk, image_id, fmt, region, prefix)
    task = wait_task(sdk, task_id, region, timeout)
    assert task["TaskStatus"] == "Finished", task
    assert task["TaskAction"] == "ExportImage", task
    return task_id, exported_objects(task)


def create_image(sdk, region: str = HZ, **params) -> str:
    params.setdefault("ImageName", uniq("cre"))
    body = sdk.call("CreateImage", {"RegionId": region, **params}).body
    image_id = body.get("ImageId")
    assert isinstance(image_id, str) and image_id.startswith("m-"), body
    return image_id


def snapshots(sdk, ids: list[str] | None = None, region: str = HZ) -> list[dict]:
    """Every snapshot DescribeSnapshots lists (token paging), or those of `ids`."""
    params = {"RegionId": region, "MaxResults": 100}
    if ids is not None:
        params["SnapshotIds"] = json.dumps(ids)
    out, token = [], None
    for _ in range(1000):
        body = sdk.call("DescribeSnapshots", {**params, **({"NextToken": token} if token else {})}).body
        page = body.get("Snapshots", {}).get("Snapshot", [])
        assert isinstance(page, list), body
        out += page
        token = body.get("NextToken")
        if not token:
            return out
    raise AssertionError("DescribeSnapshots never ends")


def snapshot_ids(sdk, region: str = HZ) -> set[str]:
    return {s["SnapshotId"] for s in snapshots(sdk, region=region)}


def delete_image(sdk, image_id: str, region: str = HZ) -> None:
    sdk.call("DeleteImage", {"RegionId": region, "ImageId": image_id})
