"""CopyImage and CancelCopyImage with the official SDK: the reference's codes for bad copies,
cancelling an unfinished copy, the five-copies-per-region limit (the rest Waiting), and a copy
SIGKILLed midway that, after a restart, completes sending only what had not arrived."""

from __future__ import annotations

import os
import re
import time

from clients import make_client
from lifecycle_helpers import (
    HZ, SH, assert_error, assert_identical, export_and_wait, find_image, import_and_wait,
    mapping, object_path, random_file, related, operations, snapshots, task_attr, uniq,
    wait_gone, wait_image,
)
from own_server import srv  # noqa: F401 (a fixture)
from stencil_server import Server

BIG_MIB = int(os.environ.get("STENCIL_RESTART_MIB", "1024"))
# The batches in flight when the process dies (4 workers x 16 chunks, chunks at most 4 MiB).
IN_FLIGHT = 4 * 16 * ((4 << 20) + 64)


def big_image(server, sdk, mib: int = BIG_MIB) -> tuple[str, str]:
    key = uniq("big") + ".raw"
    random_file(server.bucket_dir(HZ) / key, mib << 20, key)
    image = import_and_wait(sdk, [mapping(key, "RAW")])
    assert image["Status"] == "Available", image
    return image["ImageId"], key


def copy(sdk, image_id: str, **params) -> str:
    body = sdk.call("CopyImage", {"RegionId": HZ, "ImageId": image_id,
                                  "DestinationRegionId": SH, **params}).body
    assert body["ImageId"].startswith("m-"), body
    return body["ImageId"]


def copy_task(sdk, copy_id: str) -> dict:
    body = sdk.call("DescribeTasks", {"RegionId": SH, "TaskAction": "CopyImage",
                                      "PageSize": 100}).body
    for t in body["TaskSet"]["Task"]:
        if t["ResourceId"] == copy_id:
            return task_attr(sdk, t["TaskId"], SH)
    raise AssertionError(f"no CopyImage task for {copy_id}: {body}")


def copied(task: dict) -> dict[str, int]:
    return {k: int(v) for k, v in related(operations(task)[0]).items()
            if k.startswith("CopiedBytes")}


def store_bytes(server, region: str) -> int:
    root = server.chunk_dir(region) / "chunks"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def percent(text: str | None) -> int:
    m = re.match(r"(\d+)", text or "")
    return int(m.group(1)) if m else 0


def test_bad_copies_get_the_reference_codes(srv, tmp_path):
    sdk = make_client("v3", srv.endpoint)
    other = make_client("v3", srv.endpoint, "otherak", "othersecret")
    image_id, _ = big_image(srv, sdk, mib=4)
    assert_error(sdk, "CopyImage", {"RegionId": HZ, "ImageId": image_id,
                                    "DestinationRegionId": HZ}, "IncorrectDestinationRegion", 403)
    assert_error(sdk, "CopyImage", {"RegionId": HZ, "ImageId": image_id},
                 "IncorrectDestinationRegion", 403)
    assert_error(sdk, "CopyImage", {"RegionId": HZ, "ImageId": image_id,
                                    "DestinationRegionId": "xx-nowhere-1"},
                 "DestinationRegion.NotFound", 400)
    assert_error(sdk, "CopyImage", {"RegionId": HZ, "ImageId": image_id, "DestinationRegionId": SH,
                                    "KMSKeyId": "key-1"}, "InvalidParameter.EncryptedIllegal", 400)
    assert_error(sdk, "CopyImage", {"RegionId": HZ, "ImageId": image_id, "DestinationRegionId": SH,
                                    "Encrypted": True, "KMSKeyId": "key-1"},
                 "InvalidParameter.KMSKeyId.NotFound", 404)
    assert_error(sdk, "CopyImage", {"RegionId": HZ, "ImageId": image_id, "DestinationRegionId": SH,
                                    "Encrypted": True}, "InvalidParameter.KmsNotEnabled", 400)
    assert_error(other, "CopyImage", {"RegionId": HZ, "ImageId": image_id,
                                      "DestinationRegionId": SH}, "InvalidImageId.NotFound", 404)
    assert_error(sdk, "CopyImage", {"RegionId": HZ, "ImageId": image_id, "DestinationRegionId": SH,
                                    "DestinationImageName": "-bad"},
                 "InvalidImageName.Malformed", 400)
    assert_error(sdk, "CancelCopyImage", {"RegionId": HZ, "ImageId": image_id},
                 "ImageCreatedNotFromCopy", 400)
    copy_id = copy(sdk, image_id, DestinationImageName="copied", DestinationDescription="a copy")
    done = wait_image(sdk, copy_id, region=SH)
    assert (done["Status"], done["IsCopied"], done["ImageName"], done["Description"]) == \
        ("Available", True, "copied", "a copy"), done
    assert_error(sdk, "CancelCopyImage", {"RegionId": SH, "ImageId": copy_id},
                 "IncorrectImageStatus", 400)
    assert_error(sdk, "CopyImage", {"RegionId": HZ, "ImageId": image_id, "DestinationRegionId": SH,
                                    "DestinationImageName": "copied"},
                 "InvalidImageName.Duplicated", 400)
    # DryRun checks and creates nothing.
    assert_error(sdk, "CopyImage", {"RegionId": HZ, "ImageId": image_id, "DestinationRegionId": SH,
                                    "DryRun": True}, "DryRunOperation", 400)


def test_cancel_copy_image_deletes_the_unfinished_copy_and_keeps_the_source(srv):
    sdk = make_client("v3", srv.endpoint)
    image_id, _ = big_image(srv, sdk, max(BIG_MIB, 2048))
    copy_id = copy(sdk, image_id)
    sdk.call("CancelCopyImage", {"RegionId": SH, "ImageId": copy_id})
    wait_gone(sdk, copy_id, region=SH)
    assert find_image(sdk, image_id)["Status"] == "Available"
    task = copy_task(sdk, copy_id)
    assert task["TaskStatus"] == "Cancelled", task


def test_at_most_five_copies_run_per_region_and_the_rest_wait(srv):
    sdk = make_client("v3", srv.endpoint)
    image_id, _ = big_image(srv, sdk)
    copies = [copy(sdk, image_id, DestinationImageName=uniq("c")) for _ in range(7)]
    statuses = [find_image(sdk, c, region=SH)["Status"] for c in copies]
    assert statuses.count("Waiting") >= 2, statuses
    assert statuses.count("Creating") <= 5, statuses
    for c in copies:
        assert wait_image(sdk, c, region=SH, timeout=300)["Status"] == "Available"


def test_a_copy_killed_midway_resumes_sending_only_what_had_not_arrived(srv):
    sdk = make_client("v3", srv.endpoint)
    # Copies run near page-cache speed: a big image keeps the copy going past the first
    # progress report.
    image_id, key = big_image(srv, sdk, max(BIG_MIB, 2048))
    copy_id = copy(sdk, image_id)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        img = find_image(sdk, copy_id, region=SH)
        if img["Status"] == "Creating" and percent(img["Progress"]) >= 10:
            break
        time.sleep(0.02)
    assert find_image(sdk, copy_id, region=SH)["Status"] == "Creating", "finished before the kill"
    srv.kill()
    arrived = store_bytes(srv, SH)
    assert arrived > 0
    srv.restart()
    sdk = make_client("v3", srv.endpoint)
    done = wait_image(sdk, copy_id, region=SH, timeout=120)
    task = copy_task(sdk, copy_id)
    assert done["Status"] == "Available", (done, task)
    sent = copied(task)
    total = store_bytes(srv, SH)
    print(f"arrived before the kill {arrived}, store after {total}, task {sent}")
    assert "CopiedBytes.2" in sent, sent
    assert sent["CopiedBytes.2"] <= total - arrived + IN_FLIGHT, (sent, total, arrived)
    assert sent["CopiedBytes.2"] < total, "the resumed copy did not start over"
    _, (obj,) = export_and_wait(sdk, copy_id, "raw", region=SH, timeout=120)
    assert_identical(object_path(srv, key), object_path(srv, obj["OSSObject"], SH), "raw")


def test_who_may_copy_an_image_and_where(srv):
    """The CopyImage row of docs/access.md: owner, shared-with, community viewer, other."""
    owner = make_client("v3", srv.endpoint)
    friend = make_client("v3", srv.endpoint, "otherak", "othersecret")
    stranger = make_client("v3", srv.endpoint, "thirdak", "thirdsecret")
    shared, _ = big_image(srv, owner, mib=4)
    owner.call("ModifyImageSharePermission",
               {"RegionId": HZ, "ImageId": shared, "AddAccount": ["2345678901234567"]})
    # The shared-with account copies within the region only; the copy is its own image.
    assert_error(friend, "CopyImage", {"RegionId": HZ, "ImageId": shared,
                                       "DestinationRegionId": SH},
                 "OperationDenied.SameRegionOnly", 403)
    body = friend.call("CopyImage", {"RegionId": HZ, "ImageId": shared,
                                     "DestinationImageName": "friends-copy"}).body
    mine = wait_image(friend, body["ImageId"], region=HZ)
    assert (mine["Status"], mine["IsCopied"], mine["ImageOwnerAlias"]) == \
        ("Available", True, "self"), mine
    # The stranger sees nothing: not found.
    assert_error(stranger, "CopyImage", {"RegionId": HZ, "ImageId": shared,
                                         "DestinationRegionId": SH}, "InvalidImageId.NotFound", 404)
    # Published, the stranger sees it as a community image and may not copy it.
    public, _ = big_image(srv, owner, mib=4)
    owner.call("ModifyImageSharePermission", {"RegionId": HZ, "ImageId": public, "IsPublic": True})
    assert_error(stranger, "CopyImage", {"RegionId": HZ, "ImageId": public,
                                         "DestinationRegionId": SH},
                 "OperationDenied.CommunityImage", 400)
    # The owner copies to another region, never into its own.
    assert_error(owner, "CopyImage", {"RegionId": HZ, "ImageId": shared,
                                      "DestinationRegionId": HZ}, "IncorrectDestinationRegion", 403)
    assert wait_image(owner, copy(owner, shared), region=SH)["Status"] == "Available"
    # Unshared, the friend's next copy is not found; its own copy stays.
    owner.call("ModifyImageSharePermission",
               {"RegionId": HZ, "ImageId": shared, "RemoveAccount": ["2345678901234567"]})
    assert_error(friend, "CopyImage", {"RegionId": HZ, "ImageId": shared},
                 "InvalidImageId.NotFound", 404)
    assert find_image(friend, mine["ImageId"])["Status"] == "Available"


def test_service_key_encrypts_copies_that_name_no_key_and_its_images_cannot_be_shared(tmp_path):
    """`Encrypted` without `KMSKeyId` uses the destination region's service key, and so does
    copying an encrypted image on without naming a key; images encrypted with a service key
    cannot be shared (§5.9), those encrypted with a customer key can."""
    keys = tmp_path / "keys"
    keys.mkdir()
    extra = []
    for key_id, region, service, byte in (("svc-sh", SH, True, "a1"), ("cmk-sh", SH, False, "b2"),
                                          ("svc-hz", HZ, True, "c3")):
        path = keys / f"{key_id}.key"
        path.write_text(byte * 32)
        path.chmod(0o600)
        extra += ["[[kms_key]]", f'id = "{key_id}"', f'region = "{region}"',
                  f'key_file = "{path}"', f"service = {str(service).lower()}", ""]
    server = Server(tmp_path / "srv", extra_config="\n".join(extra))
    server.base.mkdir()
    server.start()
    try:
        owner = make_client("v3", server.endpoint)
        friend = make_client("v3", server.endpoint, "otherak", "othersecret")
        source, _ = big_image(server, owner, mib=4)

        def key_of(image_id: str, region: str) -> str:
            image = wait_image(owner, image_id, region=region)
            assert image["Status"] == "Available", image
            disk = image["DiskDeviceMappings"]["DiskDeviceMapping"][0]
            assert disk["Encrypted"] is True, image
            snap = snapshots(owner, [disk["SnapshotId"]], region=region)[0]
            assert snap["Encrypted"] is True, snap
            return snap["KMSKeyId"]

        by_service = copy(owner, source, Encrypted=True)
        assert key_of(by_service, SH) == "svc-sh"
        by_cmk = copy(owner, source, Encrypted=True, KMSKeyId="cmk-sh")
        assert key_of(by_cmk, SH) == "cmk-sh"
        # An encrypted image copied on without a key: re-encrypted with the destination's
        # service key (a key never leaves its region).
        back = owner.call("CopyImage", {"RegionId": SH, "ImageId": by_cmk,
                                        "DestinationRegionId": HZ}).body["ImageId"]
        assert key_of(back, HZ) == "svc-hz"

        share = {"RegionId": SH, "ImageId": by_service, "AddAccount": ["2345678901234567"]}
        err = assert_error(owner, "ModifyImageSharePermission", share,
                           "InvalidOperation.ServiceKeyEncryptedImageUnsupported", 403)
        assert "service key" in err.message, err.message
        assert_error(friend, "DescribeImageSharePermission",
                     {"RegionId": SH, "ImageId": by_service}, "InvalidImageId.NotFound", 404)
        owner.call("ModifyImageSharePermission", {**share, "ImageId": by_cmk})
        seen = friend.call("DescribeImages", {"RegionId": SH, "ImageId": by_cmk,
                                              "ImageOwnerAlias": "others"}).body["Images"]["Image"]
        assert [i["ImageId"] for i in seen] == [by_cmk], seen
        # Neither kind is published (encrypted images never are).
        assert_error(owner, "ModifyImageSharePermission",
                     {"RegionId": SH, "ImageId": by_cmk, "RemoveAccount": ["2345678901234567"],
                      "IsPublic": True}, "InvalidParameter.IsPublic", 403)
    finally:
        code = server.stop() if server.proc and server.proc.poll() is None else 0
        server.kill()
        assert code == 0, server.logs()
