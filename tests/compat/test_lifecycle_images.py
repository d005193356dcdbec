"""CreateImage, ExportImage errors, DeleteImage and DeleteSnapshot, ModifyImageAttribute and image
families through the official SDK (reference §5.2, §5.4, §5.7, §5.8, §5.12, §5.17)."""

from __future__ import annotations

import time

import pytest

from lifecycle_helpers import (
    ALL_STATUS, HZ, assert_error, assert_identical, bucket, create_image, delete_image,
    disk_in, disks_of, export_and_wait, find_image, import_and_wait, make_raw, mapping,
    object_path, put_object, snapshots, uniq, wait_gone, wait_image,
)


def family_image(sdk, family: str) -> dict | None:
    body = sdk.call("DescribeImageFromFamily", {"RegionId": HZ, "ImageFamily": family}).body
    image = body.get("Image") or None
    return image if image and image.get("ImageId") else None


def own_image(sdk, lc_server, raw) -> dict:
    """A fresh Available image of `raw` (imported as RAW) that a test may change or delete."""
    return import_and_wait(sdk, [mapping(put_object(lc_server, raw), "RAW")])


# ---- ExportImage errors ----

@pytest.mark.parametrize("params,code,status", [
    ({"OSSPrefix": "bad-prefix!"}, "InvalidOSSPrefix.Malformed", 400),
    ({"OSSPrefix": "a" * 31}, "InvalidOSSPrefix.Malformed", 400),
    ({"ImageFormat": "iso"}, "InvalidImageFormat.Malformed", 400),
    ({"OSSBucket": None}, "InvalidOSSBucket.NotFound", 400),
    ({"OSSBucket": "no-such-bucket"}, "InvalidOSSBucket.NotFound", 400),
    ({"ImageId": "m-doesnotexist000000"}, "InvalidImageId.NotFound", 404),
], ids=["prefix-punctuation", "prefix-31", "format-iso", "no-bucket", "unknown-bucket",
        "unknown-image"])
def test_export_request_errors(lc_sdk, ready_image, params, code, status):
    req = {"RegionId": HZ, "ImageId": ready_image["ImageId"], "OSSBucket": bucket(HZ), **params}
    assert_error(lc_sdk, "ExportImage", {k: v for k, v in req.items() if v is not None}, code, status)


def test_export_of_another_accounts_image_is_invalid_image_id_not_found(lc_other_sdk, ready_image):
    assert_error(lc_other_sdk, "ExportImage", {"RegionId": HZ, "ImageId": ready_image["ImageId"],
                                               "OSSBucket": bucket(HZ)},
                 "InvalidImageId.NotFound", 404)


def test_another_account_cannot_modify_or_describe_the_image(lc_other_sdk, ready_image):
    assert find_image(lc_other_sdk, ready_image["ImageId"]) is None
    assert_error(lc_other_sdk, "ModifyImageAttribute", {
        "RegionId": HZ, "ImageId": ready_image["ImageId"], "Description": "mine now"},
        "InvalidImageId.NotFound", 404)


def test_dry_run_export_delete_modify_and_create_change_nothing(lc_sdk, ready_image):
    image_id = ready_image["ImageId"]
    calls = [
        ("ExportImage", {"ImageId": image_id, "OSSBucket": bucket(HZ)}),
        ("DeleteImage", {"ImageId": image_id}),
        ("ModifyImageAttribute", {"ImageId": image_id, "Description": "dry run"}),
        ("CreateImage", {"SnapshotId": ready_image["SnapshotId"], "ImageName": uniq("dry")}),
    ]
    for action, params in calls:
        assert_error(lc_sdk, action, {"RegionId": HZ, "DryRun": True, **params},
                     "DryRunOperation", 400)
    image = find_image(lc_sdk, image_id)
    assert image["Status"] == "Available" and image["Description"] != "dry run"
    name = calls[-1][1]["ImageName"]
    body = lc_sdk.call("DescribeImages", {"RegionId": HZ, "ImageName": name, "Status": "ALL",
                                          "ImageOwnerAlias": "self"}).body
    assert body["Images"].get("Image", []) == []


# ---- DeleteImage and DeleteSnapshot ----

def test_delete_image_keeps_its_snapshot_which_is_protected_until_then(lc_sdk, lc_server, std_disk):
    image = own_image(lc_sdk, lc_server, std_disk)
    (snap,) = [d["SnapshotId"] for d in disks_of(image)]
    assert_error(lc_sdk, "DeleteSnapshot", {"SnapshotId": snap}, "SnapshotCreatedImage", 403)
    delete_image(lc_sdk, image["ImageId"])
    wait_gone(lc_sdk, image["ImageId"])
    (kept,) = snapshots(lc_sdk, [snap])
    assert kept["SnapshotId"] == snap
    lc_sdk.call("DeleteSnapshot", {"SnapshotId": snap})
    assert snapshots(lc_sdk, [snap]) == []


def test_delete_snapshot_of_an_unknown_id_is_not_found_or_ignored(lc_sdk):
    from clients import ApiError
    try:
        lc_sdk.call("DeleteSnapshot", {"SnapshotId": "s-doesnotexist0000000"})
    except ApiError as e:  # the doc says "ignored", its error table has 404 (reference §5.17)
        assert (e.code, e.status) == ("InvalidSnapshotId.NotFound", 404), e


def test_a_snapshot_used_by_a_second_image_stays_protected(lc_sdk, lc_server, std_disk):
    image = own_image(lc_sdk, lc_server, std_disk)
    snap = disks_of(image)[0]["SnapshotId"]
    second = create_image(lc_sdk, SnapshotId=snap)
    assert wait_image(lc_sdk, second)["Status"] == "Available"
    delete_image(lc_sdk, image["ImageId"])
    assert_error(lc_sdk, "DeleteSnapshot", {"SnapshotId": snap}, "SnapshotCreatedImage", 403)
    delete_image(lc_sdk, second)
    wait_gone(lc_sdk, second)
    for s in [snap] + [d["SnapshotId"] for d in disks_of(image)]:
        if snapshots(lc_sdk, [s]):
            lc_sdk.call("DeleteSnapshot", {"SnapshotId": s})


# ---- CreateImage ----

def test_create_image_from_a_snapshot_exports_the_same_disk(lc_sdk, lc_server, ready_image):
    name = uniq("fromsnap")
    image_id = create_image(lc_sdk, SnapshotId=ready_image["SnapshotId"], ImageName=name,
                            Description="from a snapshot", Architecture="x86_64")
    image = wait_image(lc_sdk, image_id)
    assert image["Status"] == "Available", image
    assert (image["ImageName"], image["Description"]) == (name, "from a snapshot")
    assert image["Features"].get("ImdsSupport", "v1") == "v1"  # the default from a snapshot
    assert len(disks_of(image)) == 1
    _, (obj,) = export_and_wait(lc_sdk, image_id, "qcow2")
    assert_identical(ready_image["Raw"], object_path(lc_server, obj["OSSObject"]), "qcow2")


def test_create_image_from_disk_device_mappings_with_a_family(lc_sdk, lc_server, tmp_path):
    sys_raw = make_raw(tmp_path / "sys.raw", "64M", (("0x61", "0", "3M"),))
    data_raw = make_raw(tmp_path / "data.raw", "32M", (("0x62", "8M", "1M"),))
    source = import_and_wait(lc_sdk, [
        mapping(put_object(lc_server, disk_in("QCOW2", sys_raw, tmp_path, "s")), "QCOW2"),
        mapping(put_object(lc_server, data_raw), "RAW"),
    ])
    sys_snap, data_snap = [d["SnapshotId"] for d in disks_of(source)]
    family = uniq("fam")
    image_id = create_image(lc_sdk, ImageFamily=family, ImageVersion="2", DiskDeviceMapping=[
        {"SnapshotId": sys_snap, "DiskType": "system", "Device": "/dev/xvda"},
        {"SnapshotId": data_snap, "DiskType": "data", "Device": "/dev/xvdb"},
    ])
    image = wait_image(lc_sdk, image_id)
    assert image["Status"] == "Available" and image["ImageFamily"] == family
    assert [d.get("Type") for d in disks_of(image)] == ["system", "data"]
    assert family_image(lc_sdk, family)["ImageId"] == image_id
    task_id, objs = export_and_wait(lc_sdk, image_id, "vmdk")
    keys = {o["OSSObject"] for o in objs}
    base = f"{image_id}_{task_id}"
    assert keys == {f"{base}_system.vmdk", f"{base}_data_xvdb.vmdk"}, keys
    assert_identical(sys_raw, object_path(lc_server, f"{base}_system.vmdk"), "vmdk")
    assert_identical(data_raw, object_path(lc_server, f"{base}_data_xvdb.vmdk"), "vmdk")


def test_create_image_without_a_source_is_missing_parameter(lc_sdk):
    assert_error(lc_sdk, "CreateImage", {"RegionId": HZ, "ImageName": uniq()},
                 "MissingParameter", 400)


def test_create_image_from_an_unknown_snapshot_is_not_found(lc_sdk):
    assert_error(lc_sdk, "CreateImage", {"RegionId": HZ, "SnapshotId": "s-doesnotexist0000000"},
                 "InvalidSnapshotId.NotFound", 404)


def test_create_image_client_token_same_params_same_image_other_params_mismatch(lc_sdk, ready_image):
    token, name = uniq("tok"), uniq("idem")
    params = {"SnapshotId": ready_image["SnapshotId"], "ImageName": name, "ClientToken": token}
    first = create_image(lc_sdk, **params)
    assert create_image(lc_sdk, **params) == first
    assert_error(lc_sdk, "CreateImage", {"RegionId": HZ, **params, "ImageName": uniq("other")},
                 "IdempotentParameterMismatch", 400)
    assert wait_image(lc_sdk, first)["ImageName"] == name


def test_create_image_with_a_used_name_is_duplicated(lc_sdk, ready_image):
    assert_error(lc_sdk, "CreateImage", {"RegionId": HZ, "SnapshotId": ready_image["SnapshotId"],
                                         "ImageName": ready_image["Name"]},
                 "InvalidImageName.Duplicated", 400)


# ---- ModifyImageAttribute ----

def test_modify_changes_name_description_and_features(lc_sdk, ready_image):
    image_id = create_image(lc_sdk, SnapshotId=ready_image["SnapshotId"])
    wait_image(lc_sdk, image_id)
    name = uniq("renamed")
    lc_sdk.call("ModifyImageAttribute", {"RegionId": HZ, "ImageId": image_id, "ImageName": name,
                                         "Description": "changed", "BootMode": "UEFI",
                                         "Features": {"NvmeSupport": "supported"}})
    image = find_image(lc_sdk, image_id)
    assert (image["ImageName"], image["Description"], image["BootMode"]) == (name, "changed", "UEFI")
    assert image["Features"]["NvmeSupport"] == "supported"


def test_imds_support_can_go_to_v2_but_not_back_to_v1(lc_sdk, ready_image):
    image_id = create_image(lc_sdk, SnapshotId=ready_image["SnapshotId"])
    wait_image(lc_sdk, image_id)
    lc_sdk.call("ModifyImageAttribute", {"RegionId": HZ, "ImageId": image_id,
                                         "Features": {"ImdsSupport": "v2"}})
    assert find_image(lc_sdk, image_id)["Features"]["ImdsSupport"] == "v2"
    assert_error(lc_sdk, "ModifyImageAttribute", {"RegionId": HZ, "ImageId": image_id,
                                                  "Features": {"ImdsSupport": "v1"}},
                 "InvalidOperation.FeaturesImdsSupportNotMatch", 403)
    assert find_image(lc_sdk, image_id)["Features"]["ImdsSupport"] == "v2"


def test_renaming_to_a_used_name_is_duplicated(lc_sdk, ready_image):
    image_id = create_image(lc_sdk, SnapshotId=ready_image["SnapshotId"])
    wait_image(lc_sdk, image_id)
    assert_error(lc_sdk, "ModifyImageAttribute", {"RegionId": HZ, "ImageId": image_id,
                                                  "ImageName": ready_image["Name"]},
                 "InvalidImageName.Duplicated", 400)


def test_deprecating_the_newest_image_of_a_family_rolls_back_and_available_restores(
        lc_sdk, ready_image):
    family = uniq("roll")
    older = create_image(lc_sdk, SnapshotId=ready_image["SnapshotId"], ImageFamily=family)
    wait_image(lc_sdk, older)
    time.sleep(1.1)  # CreationTime has second precision
    newer = create_image(lc_sdk, SnapshotId=ready_image["SnapshotId"], ImageFamily=family)
    wait_image(lc_sdk, newer)
    assert family_image(lc_sdk, family)["ImageId"] == newer

    lc_sdk.call("ModifyImageAttribute", {"RegionId": HZ, "ImageId": newer, "Status": "Deprecated"})
    assert find_image(lc_sdk, newer)["Status"] == "Deprecated"
    assert find_image(lc_sdk, newer, status="Available") is None
    assert family_image(lc_sdk, family)["ImageId"] == older

    lc_sdk.call("ModifyImageAttribute", {"RegionId": HZ, "ImageId": newer, "Status": "Available"})
    assert find_image(lc_sdk, newer)["Status"] == "Available"
    assert family_image(lc_sdk, family)["ImageId"] == newer

    # With every image of the family deprecated, the family has no image.
    for image_id in (older, newer):
        lc_sdk.call("ModifyImageAttribute", {"RegionId": HZ, "ImageId": image_id,
                                             "Status": "Deprecated"})
    assert family_image(lc_sdk, family) is None


def test_modify_of_an_unknown_image_is_not_found(lc_sdk):
    assert_error(lc_sdk, "ModifyImageAttribute", {"RegionId": HZ, "ImageId": "m-doesnotexist000000",
                                                  "Description": "no such image"},
                 "InvalidImageId.NotFound", 404)


def test_all_status_lists_creating_and_failed_images_the_default_does_not(lc_sdk, ready_image):
    body = lc_sdk.call("DescribeImages", {"RegionId": HZ, "ImageOwnerAlias": "self",
                                          "Status": ALL_STATUS, "PageSize": 100}).body
    statuses = {i["Status"] for i in body["Images"]["Image"]}
    assert "Available" in statuses
    body = lc_sdk.call("DescribeImages", {"RegionId": HZ, "ImageOwnerAlias": "self",
                                          "PageSize": 100}).body
    assert {i["Status"] for i in body["Images"]["Image"]} <= {"Available"}
