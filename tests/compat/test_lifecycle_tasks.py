"""Tasks (DescribeTasks, DescribeTaskAttribute, CancelTask), DeleteImage during an import, tags
on images and snapshots, and the image quota, through the official SDK (reference §5.3, §5.7,
§5.15, §5.16, §7)."""

from __future__ import annotations

import os
import time

import pytest

from clients import make_client
from lifecycle_helpers import (
    ALL_STATUS, HZ, SH, assert_error, bucket, convert, create_image, delete_image, disks_of,
    error_of, export_and_wait, export_image, find_image, import_and_wait, import_image, mapping,
    put_object, random_file, task_attr, uniq, wait_gone, wait_image, wait_task,
)
from stencil_server import Server, serving

# Size of the random disk of the imports that must still run when the next call arrives.
SLOW_MIB = int(os.environ.get("STENCIL_SLOW_IMPORT_MIB", "768"))


@pytest.fixture
def slow_import(lc_server):
    """Starts the import of a fresh random (incompressible, not yet stored) raw disk; the
    object is removed after the test."""
    keys = []

    def start(sdk) -> tuple[str, str]:
        key = uniq("slow") + ".raw"
        keys.append(key)
        random_file(lc_server.bucket_dir(HZ) / key, SLOW_MIB << 20, key)
        return import_image(sdk, [mapping(key, "RAW")])

    yield start
    for key in keys:
        (lc_server.bucket_dir(HZ) / key).unlink(missing_ok=True)


# ---- DescribeTasks and DescribeTaskAttribute ----

def test_describe_tasks_filters_by_ids_action_status_resource_and_pages(
        lc_sdk, lc_server, ready_image, tmp_path):
    imported = ready_image["TaskId"]
    exported, _ = export_and_wait(lc_sdk, ready_image["ImageId"], "raw")
    bad = convert(ready_image["Raw"], tmp_path / "bad.qcow2", "qcow2")
    with open(bad, "r+b") as f:
        f.truncate(256 * 1024)
    failed_image, failed = import_image(lc_sdk, [mapping(put_object(lc_server, bad), "QCOW2")])
    assert wait_task(lc_sdk, failed)["TaskStatus"] == "Failed"
    ids = [imported, exported, failed]

    def tasks(**params) -> tuple[dict, dict]:
        body = lc_sdk.call("DescribeTasks", {"RegionId": HZ, "TaskIds": ",".join(ids),
                                             **params}).body
        lst = body["TaskSet"].get("Task", [])
        assert isinstance(lst, list)
        return body, {t["TaskId"]: t for t in lst}

    body, all_ = tasks()
    assert body["TotalCount"] == 3 and set(all_) == set(ids)
    assert all_[imported]["TaskAction"] == "ImportImage"
    assert all_[imported]["ResourceId"] == ready_image["ImageId"]
    assert all_[exported]["TaskAction"] == "ExportImage"
    assert all_[exported]["ResourceId"] == ready_image["ImageId"]
    assert all_[failed]["TaskStatus"] == "Failed" and all_[failed]["ResourceId"] == failed_image
    for t in all_.values():
        assert isinstance(t["CreationTime"], str) and t["CreationTime"], t

    assert set(tasks(TaskAction="ExportImage")[1]) == {exported}
    assert set(tasks(TaskAction="ImportImage")[1]) == {imported, failed}
    assert set(tasks(TaskStatus="Failed")[1]) == {failed}
    assert set(tasks(TaskStatus="Finished")[1]) == {imported, exported}
    assert set(tasks(ResourceIds=[ready_image["ImageId"]])[1]) == {imported, exported}

    seen = []
    for page in (1, 2, 3):
        body, got = tasks(PageSize=1, PageNumber=page)
        assert (body["TotalCount"], body["PageNumber"], body["PageSize"]) == (3, page, 1)
        seen += list(got)
    assert sorted(seen) == sorted(ids)
    assert tasks(PageSize=1, PageNumber=4)[1] == {}

    everything = lc_sdk.call("DescribeTasks", {"RegionId": HZ, "PageSize": 100}).body
    assert everything["TotalCount"] >= 3


def test_describe_task_attribute_of_a_finished_import(lc_sdk, ready_image):
    task = task_attr(lc_sdk, ready_image["TaskId"])
    assert (task["TaskAction"], task["TaskStatus"], task["TaskProcess"]) == (
        "ImportImage", "Finished", "100%")
    assert task["RegionId"] == HZ and task["CreationTime"] and task["FinishedTime"]


def test_an_unknown_or_foreign_task_is_invalid_task_id_not_found(lc_sdk, lc_other_sdk, ready_image):
    assert_error(lc_sdk, "DescribeTaskAttribute", {"RegionId": HZ, "TaskId": "t-doesnotexist000000"},
                 "InvalidTaskId.NotFound", 400)
    assert_error(lc_other_sdk, "DescribeTaskAttribute",
                 {"RegionId": HZ, "TaskId": ready_image["TaskId"]}, "InvalidTaskId.NotFound", 400)
    assert_error(lc_sdk, "CancelTask", {"RegionId": HZ, "TaskId": "t-doesnotexist000000"},
                 "InvalidTaskId.NotFound", 400)


# ---- CancelTask and DeleteImage during an import ----

def test_cancel_task_of_a_running_import_removes_the_image(lc_sdk, slow_import):
    image_id, task_id = slow_import(lc_sdk)
    lc_sdk.call("CancelTask", {"RegionId": HZ, "TaskId": task_id})
    task = wait_task(lc_sdk, task_id)
    assert task["TaskStatus"] == "Cancelled", task
    wait_gone(lc_sdk, image_id)
    assert_error(lc_sdk, "CancelTask", {"RegionId": HZ, "TaskId": task_id},
                 "InvalidTaskId.IncorrectTaskStatus", 403)


def test_cancel_task_of_a_finished_task_is_incorrect_task_status(lc_sdk, ready_image):
    assert_error(lc_sdk, "CancelTask", {"RegionId": HZ, "TaskId": ready_image["TaskId"]},
                 "InvalidTaskId.IncorrectTaskStatus", 403)


def test_delete_image_while_importing_is_image_is_importing(v3, slow_import):
    image_id, task_id = slow_import(v3)
    try:
        err = assert_error(v3, "DeleteImage", {"RegionId": HZ, "ImageId": image_id},
                           "ImageIsImporting", 403)
        assert find_image(v3, image_id) is not None, err
        # Nor exported or modified before it is Available (reference §5.4, §5.8).
        err = error_of(v3, "ExportImage", {"RegionId": HZ, "ImageId": image_id,
                                           "OSSBucket": bucket(HZ)})
        assert (err.code, err.status) in (("IncorrectImageStatus", 400),
                                          ("ImageIsImporting", 403)), err
        assert_error(v3, "ModifyImageAttribute", {"RegionId": HZ, "ImageId": image_id,
                                                  "Description": "still importing"},
                     "InvalidStatus.ImageIsCreating", 403)
        # Meanwhile Progress grows, never backwards, to "100%" at Available.
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            image = find_image(v3, image_id)
            seen.append((image["Status"], int(image["Progress"].rstrip("%"))))
            if image["Status"] != "Creating":
                break
            time.sleep(0.05)
        assert seen[-1] == ("Available", 100), seen
        progress = [p for _, p in seen]
        assert progress == sorted(progress), f"Progress went backwards: {progress}"
        assert any(0 < p < 100 for p in progress), f"no intermediate Progress: {progress}"
    finally:
        if task_attr(v3, task_id)["TaskStatus"] not in ("Finished", "Failed", "Cancelled"):
            v3.call("CancelTask", {"RegionId": HZ, "TaskId": task_id})
        wait_task(v3, task_id)


def test_an_image_being_exported_cannot_be_exported_again_or_deleted_and_the_export_cancels(
        v3, lc_server, slow_import):
    image_id, import_task = slow_import(v3)
    assert wait_task(v3, import_task)["TaskStatus"] == "Finished"
    task_id = export_image(v3, image_id, "qcow2")
    assert_error(v3, "ExportImage", {"RegionId": HZ, "ImageId": image_id, "OSSBucket": bucket(HZ)},
                 "ImageIsExporting", 403)
    assert_error(v3, "DeleteImage", {"RegionId": HZ, "ImageId": image_id}, "ImageIsExporting", 403)
    v3.call("CancelTask", {"RegionId": HZ, "TaskId": task_id})
    assert wait_task(v3, task_id)["TaskStatus"] == "Cancelled"
    left = [p.name for p in lc_server.bucket_dir(HZ).iterdir() if task_id in p.name]
    assert left == [], f"a cancelled export leaves nothing in the bucket: {left}"
    assert find_image(v3, image_id)["Status"] == "Available"
    delete_image(v3, image_id)
    wait_gone(v3, image_id)


# ---- tags ----

def tag_map(resource: dict) -> dict:
    return {t["TagKey"]: t["TagValue"] for t in resource.get("Tags", {}).get("Tag", [])}


def listed_tags(sdk, rtype: str, rid: str) -> dict:
    body = sdk.call("ListTagResources", {"RegionId": HZ, "ResourceType": rtype,
                                         "ResourceId": [rid]}).body
    out = {}
    for t in body["TagResources"].get("TagResource", []):
        assert (t["ResourceId"], t["ResourceType"]) == (rid, rtype), t
        out[t["TagKey"]] = t["TagValue"]
    return out


@pytest.mark.parametrize("rtype", ["image", "snapshot"])
def test_tag_list_filter_and_untag_an_image_and_a_snapshot(lc_sdk, lc_server, ready_image, rtype):
    # A fresh image, and so a fresh snapshot, of this test's own.
    image = import_and_wait(lc_sdk, [mapping(put_object(lc_server, ready_image["Raw"]), "RAW")])
    image_id = image["ImageId"]
    rid = image_id if rtype == "image" else disks_of(image)[0]["SnapshotId"]
    key = uniq("team")
    lc_sdk.call("TagResources", {"RegionId": HZ, "ResourceType": rtype, "ResourceId": [rid],
                                 "Tag": [{"Key": key, "Value": "blue"}, {"Key": "env", "Value": ""}]})
    assert listed_tags(lc_sdk, rtype, rid) == {key: "blue", "env": ""}
    by_tag = lc_sdk.call("ListTagResources", {"RegionId": HZ, "ResourceType": rtype,
                                              "Tag": [{"Key": key, "Value": "blue"}]}).body
    found = by_tag["TagResources"]["TagResource"]
    assert {t["ResourceId"] for t in found} == {rid}, found
    assert {"TagKey": key, "TagValue": "blue", "ResourceId": rid, "ResourceType": rtype} in found
    if rtype == "image":
        assert tag_map(find_image(lc_sdk, image_id)) == {key: "blue", "env": ""}
        body = lc_sdk.call("DescribeImages", {"RegionId": HZ, "Status": ALL_STATUS,
                                              "Tag": [{"Key": key, "Value": "blue"}]}).body
        assert [i["ImageId"] for i in body["Images"]["Image"]] == [image_id]
    lc_sdk.call("UntagResources", {"RegionId": HZ, "ResourceType": rtype, "ResourceId": [rid],
                                   "TagKey": [key]})
    assert listed_tags(lc_sdk, rtype, rid) == {"env": ""}
    lc_sdk.call("UntagResources", {"RegionId": HZ, "ResourceType": rtype, "ResourceId": [rid],
                                   "All": True})
    assert listed_tags(lc_sdk, rtype, rid) == {}


def test_the_21st_tag_on_a_resource_is_refused(lc_sdk, ready_image):
    image_id = create_image(lc_sdk, SnapshotId=ready_image["SnapshotId"])
    wait_image(lc_sdk, image_id)  # tags set while Creating: see the test after the next
    twenty = [{"Key": f"k{i:02d}", "Value": str(i)} for i in range(20)]
    lc_sdk.call("TagResources", {"RegionId": HZ, "ResourceType": "image", "ResourceId": [image_id],
                                 "Tag": twenty})
    assert len(listed_tags(lc_sdk, "image", image_id)) == 20
    err = assert_error(lc_sdk, "TagResources", {
        "RegionId": HZ, "ResourceType": "image", "ResourceId": [image_id],
        "Tag": [{"Key": "k20", "Value": "one too many"}]}, "OperationDenied.QuotaExceed", 400)
    assert "k20" not in listed_tags(lc_sdk, "image", image_id), err
    # Re-tagging an existing key is an overwrite, not a 21st tag.
    lc_sdk.call("TagResources", {"RegionId": HZ, "ResourceType": "image", "ResourceId": [image_id],
                                 "Tag": [{"Key": "k00", "Value": "new"}]})
    assert listed_tags(lc_sdk, "image", image_id)["k00"] == "new"


def test_tags_set_while_an_image_is_being_created_survive_and_the_image_becomes_available(
        v3, ready_image, slow_import):
    # During an import (seconds long): the tags must still be there once it is Available.
    image_id, _ = slow_import(v3)
    tag = {"Key": uniq("during"), "Value": "import"}
    v3.call("TagResources", {"RegionId": HZ, "ResourceType": "image", "ResourceId": [image_id],
                             "Tag": [tag]})
    assert wait_image(v3, image_id, timeout=30)["Status"] == "Available"
    assert listed_tags(v3, "image", image_id) == {tag["Key"]: "import"}
    # Right after CreateImage (a short job, so this races with its end): ten times over.
    for _ in range(10):
        image_id = create_image(v3, SnapshotId=ready_image["SnapshotId"])
        v3.call("TagResources", {"RegionId": HZ, "ResourceType": "image",
                                 "ResourceId": [image_id], "Tag": [tag]})
        assert wait_image(v3, image_id, timeout=20)["Status"] == "Available"
        assert listed_tags(v3, "image", image_id) == {tag["Key"]: "import"}


def test_more_than_20_tags_in_one_request_is_number_exceed_tags(lc_sdk, ready_image):
    tags = [{"Key": f"n{i:02d}", "Value": "v"} for i in range(21)]
    assert_error(lc_sdk, "TagResources", {"RegionId": HZ, "ResourceType": "image",
                                          "ResourceId": [ready_image["ImageId"]], "Tag": tags},
                 "NumberExceed.Tags", 400)


def test_tagging_an_unknown_or_foreign_image_is_invalid_resource_id_not_found(lc_other_sdk, ready_image):
    assert_error(lc_other_sdk, "TagResources", {
        "RegionId": HZ, "ResourceType": "image", "ResourceId": [ready_image["ImageId"]],
        "Tag": [{"Key": "k", "Value": "v"}]}, "InvalidResourceId.NotFound", 404)


# ---- quota ----

@pytest.fixture
def quota_server(tmp_path):
    srv = Server(tmp_path / "quota", extra_config="[quotas]\nimages_per_region = 2\n")
    srv.base.mkdir()
    with serving(srv):
        yield srv


def test_the_image_quota_of_a_region_is_quota_exceed_image(quota_server, std_disk):
    sdk = make_client("v3", quota_server.endpoint)
    key = put_object(quota_server, std_disk)
    first, _ = import_image(sdk, [mapping(key, "RAW")])
    second, _ = import_image(sdk, [mapping(key, "RAW")])
    assert_error(sdk, "ImportImage", {"RegionId": HZ, "ImageName": uniq(),
                                      "DiskDeviceMapping": [mapping(key, "RAW")]},
                 "QuotaExceed.Image", 403)
    snap = disks_of(wait_image(sdk, first))[0]["SnapshotId"]
    wait_image(sdk, second)
    assert_error(sdk, "CreateImage", {"RegionId": HZ, "SnapshotId": snap, "ImageName": uniq()},
                 "QuotaExceed.Image", 403)
    # The quota is per region, and deleting an image gives its place back.
    import_image(sdk, [mapping(put_object(quota_server, std_disk, region=SH), "RAW", region=SH)],
                 region=SH)
    delete_image(sdk, second)
    wait_gone(sdk, second)
    third = create_image(sdk, SnapshotId=snap)
    assert wait_image(sdk, third)["Status"] == "Available"
