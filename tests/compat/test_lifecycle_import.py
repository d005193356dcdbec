"""ImportImage end to end with the official SDK (reference §5.3, §5.4, §5.15, §5.17): disks made
with qemu-img go into the region's bucket, come back out of ExportImage in every format, and
`qemu-img compare` says they are identical; bad requests fail with the documented code, and
hostile or wrong files end as Failed tasks and CreateFailed images."""

from __future__ import annotations

import re

import pytest

from clients import make_client
from lifecycle_helpers import (
    EXPORT_QEMU, HZ, IMPORT_QEMU, SH, assert_error, assert_identical, bucket, convert,
    disk_in, disks_of, error_of, export_and_wait, exported_objects, find_image, import_and_wait, import_image,
    make_raw, mapping, object_path, put_object, sh, snapshot_ids, snapshots, task_error,
    uniq, wait_image, wait_task,
)

EXPORT_FORMATS = ("raw", "vhd", "qcow2", "vmdk", "vdi")


def export_key_ok(key: str, image_id: str, task_id: str, fmt: str, suffix: str = "") -> bool:
    return key == f"{image_id}_{task_id}{suffix}.{fmt}"


# (client, declared Format or None for auto-detection, qemu-img format of the file)
ROUND_TRIPS = [(k, f, IMPORT_QEMU[f]) for k in ("v3", "v1") for f in ("RAW", "VHD", "QCOW2", "VMDK")]
ROUND_TRIPS += [("v3", None, "qcow2"), ("v1", None, "vmdk"), ("legacy", "QCOW2", "qcow2")]


@pytest.mark.parametrize(
    "kind,declared,qemu_fmt", ROUND_TRIPS,
    ids=[f"{k}-{d or 'detect-' + q}" for k, d, q in ROUND_TRIPS],
)
def test_every_import_format_comes_back_identical_in_every_export_format(
        lc_server, std_disk, tmp_path, kind, declared, qemu_fmt):
    sdk = make_client(kind, lc_server.endpoint)
    fmt = declared or {v: k for k, v in IMPORT_QEMU.items()}[qemu_fmt]
    src = disk_in(fmt, std_disk, tmp_path)
    key = put_object(lc_server, src)
    name = uniq("rt")
    image = import_and_wait(sdk, [mapping(key, declared)], ImageName=name,
                            Description="round trip", Platform="Ubuntu")
    assert image["ImageName"] == name and image["Progress"] == "100%"
    assert image["ImageOwnerAlias"] == "self" and image["Platform"] == "Ubuntu"
    (disk,) = disks_of(image)
    assert disk["SnapshotId"].startswith("s-")
    assert disk.get("Format", "").lower() == fmt.lower(), disk
    assert int(disk["Size"]) >= 1 and disk.get("Type", "system") == "system"
    (snap,) = snapshots(sdk, [disk["SnapshotId"]])
    assert snap["SnapshotId"] == disk["SnapshotId"]
    assert snap["Status"] == "accomplished" and snap["Progress"] == "100%"

    image_id = image["ImageId"]
    for fmt_out in EXPORT_FORMATS:  # one at a time: a second export meanwhile is ImageIsExporting
        task_id = sdk.call("ExportImage", {"RegionId": HZ, "ImageId": image_id,
                                           "OSSBucket": bucket(HZ), "ImageFormat": fmt_out,
                                           }).body["TaskId"]
        task = wait_task(sdk, task_id)
        assert (task["TaskStatus"], task["TaskAction"]) == ("Finished", "ExportImage"), task
        (items,) = exported_objects(task)
        assert items["OSSBucket"] == bucket(HZ)
        assert items["ImageFormat"].lower() == fmt_out
        assert export_key_ok(items["OSSObject"], image_id, task_id, fmt_out), items
        assert_identical(std_disk, object_path(lc_server, items["OSSObject"]), EXPORT_QEMU[fmt_out])
        object_path(lc_server, items["OSSObject"]).unlink()


def test_export_default_format_is_raw_and_prefix_leads_the_key(lc_sdk, lc_server, ready_image):
    image_id = ready_image["ImageId"]
    task_id, (obj,) = export_and_wait(lc_sdk, image_id, prefix="Nightly01")
    assert obj["ImageFormat"].lower() == "raw"
    assert obj["OSSObject"] == f"Nightly01_{image_id}_{task_id}.raw"
    assert_identical(ready_image["Raw"], object_path(lc_server, obj["OSSObject"]), "raw")


def three_disks(tmp_path):
    """A system disk and two data disks with different contents, as (raw, file, Format)."""
    out = []
    for i, (fmt, size, pat) in enumerate((("QCOW2", "64M", "0x11"), ("RAW", "32M", "0x22"),
                                          ("VHD", "48M", "0x33"))):
        raw = make_raw(tmp_path / f"src{i}.raw", size, ((pat, "0", "1M"), ("0x44", "5M", "512k")))
        out.append((raw, disk_in(fmt, raw, tmp_path, f"d{i}"), fmt))
    return out


def test_a_three_disk_import_makes_one_snapshot_per_disk_and_exports_each(lc_sdk, lc_server, tmp_path):
    disks = three_disks(tmp_path)
    maps = [mapping(put_object(lc_server, f), fmt) for _, f, fmt in disks]
    image = import_and_wait(lc_sdk, maps)
    ddm = disks_of(image)
    assert len(ddm) == 3, ddm
    assert [d.get("Device") for d in ddm] == ["/dev/xvda", "/dev/xvdb", "/dev/xvdc"]
    assert [d.get("Type") for d in ddm] == ["system", "data", "data"]
    ids = [d["SnapshotId"] for d in ddm]
    assert len(set(ids)) == 3
    listed = {s["SnapshotId"]: s for s in snapshots(lc_sdk, ids)}
    assert set(listed) == set(ids)
    assert [listed[i]["SourceDiskType"].lower() for i in ids] == ["system", "data", "data"]

    task_id, objs = export_and_wait(lc_sdk, image["ImageId"], "qcow2")
    keys = sorted(o["OSSObject"] for o in objs)
    base = f"{image['ImageId']}_{task_id}"
    assert keys == sorted([f"{base}_system.qcow2", f"{base}_data_xvdb.qcow2",
                           f"{base}_data_xvdc.qcow2"]), keys
    for (raw, _, _), suffix in zip(disks, ("_system", "_data_xvdb", "_data_xvdc")):
        assert_identical(raw, object_path(lc_server, f"{base}{suffix}.qcow2"), "qcow2")


def test_a_three_disk_import_with_a_corrupt_second_disk_fails_and_leaves_no_snapshot(
        lc_sdk, lc_server, tmp_path):
    disks = three_disks(tmp_path)
    bad = convert(disks[0][0], tmp_path / "bad.qcow2", "qcow2")
    with open(bad, "r+b") as f:  # the data clusters are gone: the L2 tables point past the end
        f.truncate(256 * 1024)
    maps = [mapping(put_object(lc_server, disks[0][1]), "QCOW2"),
            mapping(put_object(lc_server, bad), "QCOW2"),
            mapping(put_object(lc_server, disks[2][1]), "VHD")]
    before = snapshot_ids(lc_sdk)
    name = uniq("bad3")
    image_id, task_id = import_image(lc_sdk, maps, ImageName=name)
    task = wait_task(lc_sdk, task_id)
    assert task["TaskStatus"] == "Failed", task
    code, msg = task_error(task)
    assert code and msg, task
    image = wait_image(lc_sdk, image_id)
    assert image["Status"] == "CreateFailed", image
    available = lc_sdk.call("DescribeImages", {"RegionId": HZ, "ImageName": name,
                                               "ImageOwnerAlias": "self"}).body
    assert available["Images"].get("Image", []) == []
    assert snapshot_ids(lc_sdk) == before, "a failed import must leave no snapshot"


# ---- hostile and wrong files: the request is accepted, the task fails ----

def hostile_file(kind: str, tmp_path, std_disk) -> tuple[str, str | None, int | None, str]:
    """(file, declared Format, DiskImageSize, regex the ErrorMsg should match)."""
    p = tmp_path / kind
    if kind == "backing-file":
        secret = make_raw(tmp_path / "host-secret.raw", "64M", (("0x77", "0", "4M"),))
        sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", p)
        return p, "QCOW2", None, "backing"
    if kind == "truncated-qcow2":
        convert(std_disk, p, "qcow2")
        with open(p, "r+b") as f:
            f.truncate(256 * 1024)
        return p, "QCOW2", None, r"truncat|end of|eof|short|beyond|past|outside|corrupt|bound|invalid"
    if kind in ("vhdx", "vhdx-declared-vhd"):
        convert(std_disk, p, "vhdx")
        return p, ("VHD" if kind.endswith("vhd") else None), None, r"vhdx|format|support|vhd"
    if kind == "iso":
        with open(p, "wb") as f:  # an ISO 9660 primary volume descriptor at 32 KiB
            f.truncate(1 << 20)
            f.seek(0x8000)
            f.write(b"\x01CD001\x01\x00" + b"LINUX".ljust(32) + b"STENCIL_HOSTILE".ljust(32))
        return p, None, None, r"iso|format|support|cd"
    if kind == "raw-declared-qcow2":
        return make_raw(p, "8M", (("0x5a", "0", "1M"),)), "QCOW2", None, r"qcow2|format|magic|header"
    if kind == "qcow2-declared-vhd":
        return convert(std_disk, p, "qcow2"), "VHD", None, r"vhd|format|footer|cookie|magic"
    if kind == "raw-declared-vmdk":
        return make_raw(p, "8M", (("0x5a", "0", "1M"),)), "VMDK", None, r"vmdk|format|magic|header"
    if kind == "bigger-than-disk-image-size":
        sh("qemu-img", "create", "-q", "-f", "qcow2", p, "3G")
        return p, "QCOW2", 2, r"size|large|exceed|big"
    raise AssertionError(kind)


HOSTILE = ("backing-file", "truncated-qcow2", "vhdx", "vhdx-declared-vhd", "iso",
           "raw-declared-qcow2", "qcow2-declared-vhd", "raw-declared-vmdk",
           "bigger-than-disk-image-size")


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_or_mislabelled_file_ends_as_a_failed_task_and_a_create_failed_image(
        v3, lc_server, std_disk, tmp_path, kind):
    path, fmt, size, pattern = hostile_file(kind, tmp_path, std_disk)
    image_id, task_id = import_image(v3, [mapping(put_object(lc_server, path), fmt, size)])
    task = wait_task(v3, task_id)
    assert task["TaskStatus"] == "Failed", task
    assert task["TaskAction"] == "ImportImage"
    code, msg = task_error(task)
    assert code and len(msg) >= 10, task
    assert re.search(pattern, msg, re.I), f"ErrorMsg should say why ({pattern}): {msg!r}"
    image = wait_image(v3, image_id)
    assert image["Status"] == "CreateFailed", image


# ---- request errors: refused before any task starts ----

def test_an_unknown_bucket_is_invalid_oss_bucket_not_found(lc_sdk):
    assert_error(lc_sdk, "ImportImage", {"RegionId": HZ, "DiskDeviceMapping": [
        mapping("x.raw", bucket_name="no-such-bucket")]}, "InvalidOSSBucket.NotFound", 400)


def test_a_bucket_of_another_region_is_refused(lc_sdk, lc_server, std_disk):
    key = put_object(lc_server, std_disk, region=SH)
    err = error_of(lc_sdk, "ImportImage", {"RegionId": HZ, "DiskDeviceMapping": [
        mapping(key, "RAW", bucket_name=bucket(SH))]})
    # The reference lists both codes for a bucket that is not in the request's region (§5.3).
    assert err.code in ("InvalidOSSBucket.NotFound", "InvalidOSSBucket.NotMatched"), err
    assert err.status == 400


def test_a_missing_object_is_invalid_oss_object_not_found(lc_sdk):
    assert_error(lc_sdk, "ImportImage", {"RegionId": HZ, "DiskDeviceMapping": [
        mapping(uniq("nothing") + ".qcow2", "QCOW2")]}, "InvalidOSSObject.NotFound", 400)


def test_a_zero_size_object_is_invalid_oss_object_size(lc_sdk, lc_server):
    key = uniq("empty") + ".raw"
    object_path(lc_server, key).write_bytes(b"")
    assert_error(lc_sdk, "ImportImage", {"RegionId": HZ, "DiskDeviceMapping": [
        mapping(key, "RAW")]}, "InvalidOSSObject.Size", 400)


def test_an_unknown_format_name_is_invalid_image_format_malformed(lc_sdk):
    assert_error(lc_sdk, "ImportImage", {"RegionId": HZ, "DiskDeviceMapping": [
        mapping("x.img", "ISO")]}, "InvalidImageFormat.Malformed", 400)


@pytest.mark.parametrize("n,size,code", [
    (1, 0, "InvalidImageSize"), (1, 2049, "InvalidImageSize"), (2, 2049, "InvalidDataDiskSize"),
])
def test_disk_image_size_outside_1_to_2048_is_refused(lc_sdk, n, size, code):
    maps = [mapping("a.raw", "RAW", size if n == 1 else None)]
    if n == 2:
        maps.append(mapping("b.raw", "RAW", size))
    assert_error(lc_sdk, "ImportImage", {"RegionId": HZ, "DiskDeviceMapping": maps}, code, 400)


def test_a_missing_disk_device_mapping_is_missing_parameter(lc_sdk):
    err = assert_error(lc_sdk, "ImportImage", {"RegionId": HZ, "ImageName": uniq()},
                       "MissingParameter", 400)
    assert "DiskDeviceMapping.1.OSSBucket" in err.message


def test_a_name_already_used_is_invalid_image_name_duplicated(lc_sdk, lc_server, ready_image):
    key = put_object(lc_server, ready_image["Raw"])
    assert_error(lc_sdk, "ImportImage", {"RegionId": HZ, "ImageName": ready_image["Name"],
                                         "DiskDeviceMapping": [mapping(key, "RAW")]},
                 "InvalidImageName.Duplicated", 400)


def test_dry_run_import_is_dry_run_operation_and_creates_nothing(lc_sdk, lc_server, std_disk):
    key, name = put_object(lc_server, std_disk), uniq("dry")
    assert_error(lc_sdk, "ImportImage", {"RegionId": HZ, "ImageName": name, "DryRun": True,
                                         "DiskDeviceMapping": [mapping(key, "RAW")]},
                 "DryRunOperation", 400)
    body = lc_sdk.call("DescribeImages", {"RegionId": HZ, "ImageName": name,
                                          "Status": "ALL", "ImageOwnerAlias": "self"}).body
    assert body["Images"].get("Image", []) == []


def test_import_with_the_same_client_token_returns_the_same_image(lc_sdk, lc_server, std_disk):
    key, token, name = put_object(lc_server, std_disk), uniq("tok"), uniq("idem")
    params = {"ImageName": name, "ClientToken": token}
    first, _ = import_image(lc_sdk, [mapping(key, "RAW")], **params)
    again, _ = import_image(lc_sdk, [mapping(key, "RAW")], **params)
    assert again == first
    assert_error(lc_sdk, "ImportImage", {"RegionId": HZ, "DiskDeviceMapping": [mapping(key, "RAW")],
                                         "ImageName": uniq("other"), "ClientToken": token},
                 "IdempotentParameterMismatch", 400)
    assert wait_image(lc_sdk, first)["Status"] == "Available"
    assert find_image(lc_sdk, first)["ImageName"] == name
