"""Shared steps of the instance and disk tests (reference §5.17-§5.18): RunInstances and
CreateInstance, the status machine, DescribeInstances / DescribeDisks lookups, snapshots of
disks, and reads and writes of disks over NBD with qemu-io."""

from __future__ import annotations

import json
import re
import time

from catalog import CATALOG, compatible
from lifecycle_helpers import HZ, sh

# A BIOS+UEFI x86_64 type with 8 GiB and virtio disks: every custom image of the tests runs on it.
DEFAULT_TYPE = "ecs.g7.large"
# IDs of the right shape that name nothing.
NO_INSTANCE = "i-doesnotexist00000000"
NO_DISK = "d-doesnotexist00000000"
NO_SNAPSHOT = "s-doesnotexist00000000"
NO_IMAGE = "m-doesnotexist00000000"

# `CreationTime`/`StartTime` of instances: `yyyy-MM-ddTHH:mmZ` (reference §3, the ECS doc).
MINUTE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$")


# ---- RunInstances and CreateInstance ----

def run_instances(sdk, image_id: str, instance_type: str = DEFAULT_TYPE, region: str = HZ,
                  **params) -> list[str]:
    """RunInstances; returns `InstanceIdSets.InstanceIdSet` (checked to be instance IDs)."""
    body = sdk.call("RunInstances", {"RegionId": region, "ImageId": image_id,
                                     "InstanceType": instance_type, **params}).body
    sets = body.get("InstanceIdSets")
    assert isinstance(sets, dict), f"InstanceIdSets should be an object: {body}"
    ids = sets.get("InstanceIdSet")
    assert isinstance(ids, list) and ids, f"InstanceIdSets.InstanceIdSet should be a list: {body}"
    for i in ids:
        assert isinstance(i, str) and i.startswith("i-"), body
    assert len(set(ids)) == len(ids), body
    return ids


def run_one(sdk, image_id: str, instance_type: str = DEFAULT_TYPE, **params) -> str:
    (iid,) = run_instances(sdk, image_id, instance_type, **params)
    return iid


def create_instance(sdk, image_id: str, instance_type: str = DEFAULT_TYPE, region: str = HZ,
                    **params) -> str:
    body = sdk.call("CreateInstance", {"RegionId": region, "ImageId": image_id,
                                       "InstanceType": instance_type, **params}).body
    iid = body.get("InstanceId")
    assert isinstance(iid, str) and iid.startswith("i-"), body
    return iid


# ---- DescribeInstances and DescribeDisks ----

def instance_list(body: dict) -> list[dict]:
    """`Instances.Instance[]`, which must be the wrapped-list shape."""
    wrapped = body.get("Instances")
    assert isinstance(wrapped, dict), f"Instances should be an object: {body}"
    lst = wrapped.get("Instance", [])
    assert isinstance(lst, list), f"Instances.Instance should be a list: {body}"
    return lst


def describe_instances(sdk, ids: list[str] | None = None, region: str = HZ, **params) -> dict:
    req = {"RegionId": region, **params}
    if ids is not None:
        req["InstanceIds"] = json.dumps(ids)  # a JSON array string, as Terraform and Packer send
    return sdk.call("DescribeInstances", req).body


def instances(sdk, ids: list[str], region: str = HZ) -> dict[str, dict]:
    """The listed instances among `ids`, by ID."""
    lst = instance_list(describe_instances(sdk, ids, region, PageSize=100))
    return {i["InstanceId"]: i for i in lst}


def instance(sdk, iid: str, region: str = HZ) -> dict | None:
    return instances(sdk, [iid], region).get(iid)


def status_of(sdk, iid: str) -> str | None:
    i = instance(sdk, iid)
    return i["Status"] if i else None


def wait_status(sdk, ids: list[str], status: str, timeout: float = 30) -> dict[str, dict]:
    """Polls DescribeInstances until every one of `ids` has `status` (ECS passes through
    Pending/Starting/Stopping; Stencil may answer at once)."""
    deadline = time.monotonic() + timeout
    last = {}
    while time.monotonic() < deadline:
        last = instances(sdk, ids)
        if set(last) == set(ids) and all(i["Status"] == status for i in last.values()):
            return last
        time.sleep(0.1)
    raise AssertionError(f"{ids} not all {status} after {timeout}s: "
                         f"{ {k: v.get('Status') for k, v in last.items()} }")


def disk_list(body: dict) -> list[dict]:
    wrapped = body.get("Disks")
    assert isinstance(wrapped, dict), f"Disks should be an object: {body}"
    lst = wrapped.get("Disk", [])
    assert isinstance(lst, list), f"Disks.Disk should be a list: {body}"
    return lst


def disks(sdk, region: str = HZ, **params) -> list[dict]:
    """DescribeDisks (one page of up to 100)."""
    return disk_list(sdk.call("DescribeDisks", {"RegionId": region, "PageSize": 100,
                                                **params}).body)


def disks_of_instance(sdk, iid: str) -> list[dict]:
    """The instance's disks, system disk first, then data disks by device."""
    lst = disks(sdk, InstanceId=iid)
    return sorted(lst, key=lambda d: (d["Type"] != "system", d.get("Device", "")))


def system_disk(sdk, iid: str) -> dict:
    (d,) = disks(sdk, InstanceId=iid, DiskType="system")
    return d


def disk(sdk, disk_id: str) -> dict | None:
    lst = disks(sdk, DiskIds=json.dumps([disk_id]))
    assert len(lst) <= 1, lst
    return lst[0] if lst else None


# ---- the status machine ----

def start(sdk, iid: str) -> None:
    sdk.call("StartInstance", {"InstanceId": iid})
    wait_status(sdk, [iid], "Running")


def stop(sdk, iid: str) -> None:
    sdk.call("StopInstance", {"InstanceId": iid})
    wait_status(sdk, [iid], "Stopped")


def delete(sdk, iid: str, force: bool = True) -> None:
    sdk.call("DeleteInstance", {"InstanceId": iid, **({"Force": True} if force else {})})


def delete_quietly(sdk, ids) -> None:
    """Releases instances a test made (Force), ignoring those already gone."""
    from clients import ApiError

    for iid in ids:
        try:
            delete(sdk, iid)
        except ApiError as e:
            assert e.code == "InvalidInstanceId.NotFound", e


# ---- snapshots of disks ----

def create_snapshot(sdk, disk_id: str, **params) -> str:
    body = sdk.call("CreateSnapshot", {"DiskId": disk_id, **params}).body
    sid = body.get("SnapshotId")
    assert isinstance(sid, str) and sid.startswith("s-"), body
    return sid


def snapshot(sdk, sid: str, region: str = HZ) -> dict | None:
    body = sdk.call("DescribeSnapshots", {"RegionId": region,
                                          "SnapshotIds": json.dumps([sid])}).body
    lst = body.get("Snapshots", {}).get("Snapshot", [])
    assert len(lst) <= 1, lst
    return lst[0] if lst else None


def wait_snapshot(sdk, sid: str, timeout: float = 60) -> dict:
    """Polls DescribeSnapshots until the snapshot is `accomplished` (fails on `failed`)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = snapshot(sdk, sid)
        assert last is not None, f"snapshot {sid} vanished"
        assert last["Status"] != "failed", last
        if last["Status"] == "accomplished":
            return last
        time.sleep(0.1)
    raise AssertionError(f"snapshot {sid} not accomplished after {timeout}s: {last}")


def snapshot_of(sdk, disk_id: str, **params) -> dict:
    return wait_snapshot(sdk, create_snapshot(sdk, disk_id, **params))


# ---- the public catalog: images and types chosen by the rule they should break ----

def pick_type(pred, why: str):
    types = [t for t in CATALOG.instance_types if pred(t)]
    assert types, f"data/instance-types.toml has no instance type {why}"
    return types[0]


def pick_image(pred, why: str):
    images = [i for i in CATALOG.visible(HZ) if pred(i)]
    assert images, f"data/public-images.toml has no Available image {why}"
    return images[0]


def bios_only(t) -> bool:
    return t.raw["boot_modes"] == ["BIOS"]


def no_nvme_needed(t) -> bool:
    return t.raw["nvme"] != "required"


def broken_rules(img, ty) -> list[str]:
    """Which of the documented rules the pair breaks (the catalog module's reading of them)."""
    out = []
    if not (img.architecture == ty.architecture
            or (img.architecture == "i386" and ty.architecture == "x86_64")):
        out.append("architecture")
    if img.architecture == "i386" and ty.memory >= 4.0:
        out.append("32-bit")
    if img.os_type == "windows" and ty.memory < 1.0:
        out.append("windows-memory")
    if img.boot_mode != "UEFI-Preferred" and img.boot_mode not in ty.raw["boot_modes"]:
        out.append("boot-mode")
    if ty.raw["nvme"] == "required" and img.nvme != "supported":
        out.append("nvme")
    assert compatible(img, ty) == (not out)
    return out


# ---- NBD: qemu-io on a disk the server exports ----

def qemu_io(server, disk_id: str, *commands: str) -> str:
    """Runs qemu-io commands on `nbd://…/<disk_id>`; returns the output, failing on any error
    or pattern mismatch."""
    args = []
    for c in commands:
        args += ["-c", c]
    r = sh("qemu-io", "-f", "raw", *args, server.nbd_url(disk_id), check=False)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 0, f"qemu-io {commands} on {disk_id}: rc={r.returncode}: {out}"
    bad = [line for line in out.splitlines()
           if "verification failed" in line.lower() or "error" in line.lower()
           or "failed" in line.lower()]
    assert not bad, f"qemu-io {commands} on {disk_id}: {out}"
    return out


def expect_pattern(server, disk_id: str, pattern: str, offset: str, length: str) -> None:
    """The disk holds `pattern` (a byte, e.g. 0x5a) in [offset, offset+length)."""
    qemu_io(server, disk_id, f"read -P {pattern} {offset} {length}")


def write_pattern(server, disk_id: str, pattern: str, offset: str, length: str) -> None:
    qemu_io(server, disk_id, f"write -P {pattern} {offset} {length}", "flush")


def nbd_size(server, disk_id: str) -> int:
    r = sh("qemu-img", "info", "--output=json", "-f", "raw", server.nbd_url(disk_id))
    return json.loads(r.stdout)["virtual-size"]

