"""Instances and disks through the official SDK (reference §5.17-§5.18): RunInstances and
CreateInstance with the image rules, the status machine, DescribeInstances and DescribeDisks,
CreateSnapshot, CreateImage from an instance, ReplaceSystemDisk, ResetDisk and ReInitDisk, and
the image and snapshot protections that instances and disks bring (DeleteImage, DeleteSnapshot).

Every refusal is asserted with its exact Code and HTTP status. The server of this module is its
own (its instances and disks stay out of the other suites) and serves its disks over NBD on a
port the kernel picks, so qemu-io can check what the disks hold.
"""

from __future__ import annotations

import json

import pytest

from catalog import CATALOG
from clients import CLIENT_KINDS, ApiError, make_client
from instance_helpers import (
    DEFAULT_TYPE, MINUTE_TIME, NO_DISK, NO_IMAGE, NO_INSTANCE, NO_SNAPSHOT, bios_only,
    broken_rules, create_instance, create_snapshot, delete, delete_quietly, describe_instances,
    disk, disks, disks_of_instance, expect_pattern, instance, instance_list,
    nbd_size, no_nvme_needed, pick_image, pick_type, qemu_io, run_instances, run_one, snapshot,
    snapshot_of, start, status_of, stop, system_disk, wait_snapshot, wait_status, write_pattern,
)
from lifecycle_helpers import (
    HZ, assert_error, create_image, disks_of, find_image, import_and_wait, import_image,
    make_raw, mapping, put_object, snapshots, uniq, wait_image, wait_task,
)
from stencil_server import Server, serving

GIB = 1 << 30


# ---- the server, the clients and the images of this module ----

@pytest.fixture(scope="module")
def isrv(tmp_path_factory):
    with serving(Server(tmp_path_factory.mktemp("stencil-instances"), nbd=True)) as srv:
        yield srv


@pytest.fixture(scope="module")
def api(isrv):
    """V3 (ACS3-HMAC-SHA256), account testak."""
    return make_client("v3", isrv.endpoint)


@pytest.fixture(scope="module")
def other_api(isrv):
    """V3, the second account (otherak)."""
    return make_client("v3", isrv.endpoint, "otherak", "othersecret")


@pytest.fixture(params=CLIENT_KINDS)
def any_api(request, isrv):
    """Each client in turn: V3, V1 (the same SDK) and the legacy aliyun-python-sdk-ecs."""
    return make_client(request.param, isrv.endpoint)


def own_image(api, isrv, raw, **params) -> dict:
    """A fresh Available custom image of `raw` (imported as RAW)."""
    return import_and_wait(api, [mapping(put_object(isrv, raw), "RAW")], **params)


@pytest.fixture(scope="module")
def base_image(api, isrv, std_disk) -> dict:
    """An Available custom image of the standard disk (0x5a at 1 MiB, 0xc3 at 40 MiB); many
    tests launch from it and only read it."""
    image = own_image(api, isrv, std_disk)
    image["_SnapshotId"] = disks_of(image)[0]["SnapshotId"]
    return image


@pytest.fixture(scope="module")
def two_disk_image(api, isrv, std_disk, tmp_path_factory) -> dict:
    """An Available image with a system disk and a data disk (0x64 at 2 MiB)."""
    data = make_raw(tmp_path_factory.mktemp("two") / "data.raw", "32M", (("0x64", "2M", "1M"),))
    return import_and_wait(api, [mapping(put_object(isrv, std_disk), "RAW"),
                                 mapping(put_object(isrv, data), "RAW")])


@pytest.fixture(scope="module")
def failed_image(api, isrv, tmp_path_factory) -> str:
    """A CreateFailed image: a raw file imported as QCOW2."""
    raw = make_raw(tmp_path_factory.mktemp("bad") / "notqcow2.raw", "8M", (("0x5a", "0", "1M"),))
    image_id, task_id = import_image(api, [mapping(put_object(isrv, raw), "QCOW2")])
    assert wait_task(api, task_id)["TaskStatus"] == "Failed"
    assert wait_image(api, image_id)["Status"] == "CreateFailed"
    return image_id


def run_params(image_id: str, instance_type: str = DEFAULT_TYPE, **extra) -> dict:
    return {"RegionId": HZ, "ImageId": image_id, "InstanceType": instance_type, **extra}


# ---- RunInstances and CreateInstance: success ----

def test_run_instances_returns_an_instance_id_set_and_the_instance_runs(any_api, base_image):
    (iid,) = run_instances(any_api, base_image["ImageId"])
    inst = wait_status(any_api, [iid], "Running")[iid]
    assert inst["ImageId"] == base_image["ImageId"]
    assert inst["InstanceType"] == DEFAULT_TYPE
    delete(any_api, iid)
    assert instance(any_api, iid) is None


def test_amount_three_gives_three_running_instances_with_the_documented_fields(api, base_image):
    name = uniq("trio")
    ids = run_instances(api, base_image["ImageId"], Amount=3, InstanceName=name,
                        Description="three of them", HostName="web-1")
    assert len(ids) == 3
    listed = wait_status(api, ids, "Running")
    ty = CATALOG.instance_type(DEFAULT_TYPE)
    for iid, inst in listed.items():
        assert inst["InstanceId"] == iid
        assert inst["InstanceName"] == name
        assert inst["Description"] == "three of them"
        assert inst["HostName"] == "web-1"
        assert inst["RegionId"] == HZ
        assert isinstance(inst["ZoneId"], str) and inst["ZoneId"].startswith(HZ)
        assert inst["ImageId"] == base_image["ImageId"]
        assert inst["InstanceType"] == DEFAULT_TYPE
        assert inst["InstanceTypeFamily"] == ty.raw["family"]
        # Cpu is an integer count, Memory an integer in MiB (the SDK declares both int).
        assert type(inst["Cpu"]) is int and inst["Cpu"] == ty.raw["cpu_core_count"]
        assert type(inst["Memory"]) is int and inst["Memory"] == int(ty.memory * 1024)
        assert inst["OSType"] == "linux"
        assert inst["IoOptimized"] is True
        assert isinstance(inst["InstanceNetworkType"], str)
        assert MINUTE_TIME.match(inst["CreationTime"]), inst["CreationTime"]
        assert MINUTE_TIME.match(inst["StartTime"]), inst["StartTime"]
        assert isinstance(inst["SerialNumber"], str) and inst["SerialNumber"]
    assert len({i["SerialNumber"] for i in listed.values()}) == 3
    delete_quietly(api, ids)


def test_describe_instances_filters_by_ids_and_status_and_pages(api, base_image):
    name = uniq("pages")
    ids = run_instances(api, base_image["ImageId"], Amount=3, InstanceName=name)
    stopped = ids[0]
    stop(api, stopped)

    body = describe_instances(api, ids)
    assert {i["InstanceId"] for i in instance_list(body)} == set(ids)
    assert body["TotalCount"] == 3 and type(body["TotalCount"]) is int

    running = instance_list(describe_instances(api, ids, Status="Running"))
    assert {i["InstanceId"] for i in running} == set(ids[1:])
    assert {i["Status"] for i in running} == {"Running"}
    (only,) = instance_list(describe_instances(api, ids, Status="Stopped"))
    assert (only["InstanceId"], only["Status"]) == (stopped, "Stopped")

    # PageNumber / PageSize.
    p1 = describe_instances(api, InstanceName=name, PageSize=2, PageNumber=1)
    p2 = describe_instances(api, InstanceName=name, PageSize=2, PageNumber=2)
    assert (p1["TotalCount"], p1["PageNumber"], p1["PageSize"]) == (3, 1, 2)
    assert (p2["TotalCount"], p2["PageNumber"]) == (3, 2)
    first, second = instance_list(p1), instance_list(p2)
    assert (len(first), len(second)) == (2, 1)
    assert {i["InstanceId"] for i in first + second} == set(ids)

    # NextToken / MaxResults.
    t1 = describe_instances(api, InstanceName=name, MaxResults=2)
    assert len(instance_list(t1)) == 2 and t1.get("NextToken"), t1
    t2 = describe_instances(api, InstanceName=name, MaxResults=2, NextToken=t1["NextToken"])
    assert len(instance_list(t2)) == 1 and not t2.get("NextToken"), t2
    assert {i["InstanceId"] for i in instance_list(t1) + instance_list(t2)} == set(ids)
    delete_quietly(api, ids)


def test_describe_disks_shows_the_system_and_data_disks_with_the_documented_types(
        api, base_image):
    iid = run_one(api, base_image["ImageId"], DataDisk=[{"Size": 20, "Category": "cloud_ssd"}])
    both = disks_of_instance(api, iid)
    assert [d["Type"] for d in both] == ["system", "data"], both
    sysd, data = both
    for d in both:
        assert d["InstanceId"] == iid and d["Status"] == "In_use", d
        assert isinstance(d["DiskId"], str) and d["DiskId"].startswith("d-"), d
        assert type(d["Size"]) is int, d
        assert d["RegionId"] == HZ and d["ZoneId"].startswith(HZ), d
        assert d["DeleteWithInstance"] is True and d["Encrypted"] is False, d
        assert isinstance(d["Portable"], bool), d
        assert MINUTE_TIME.match(d["CreationTime"]) or d["CreationTime"].endswith("Z"), d
    # The system disk: the image's, at least 40 GiB by default, on /dev/xvda.
    assert sysd["Device"] == "/dev/xvda"
    assert sysd["Size"] == max(40, base_image["Size"])
    assert sysd["ImageId"] == base_image["ImageId"]
    assert sysd["SourceSnapshotId"] == base_image["_SnapshotId"]
    assert sysd["Category"] == "cloud_efficiency"
    # The data disk: as asked, on the next device, from no snapshot.
    assert (data["Size"], data["Category"], data["Device"]) == (20, "cloud_ssd", "/dev/xvdb")
    assert data.get("SourceSnapshotId", "") == ""
    assert (sysd["Portable"], data["Portable"]) == (False, True)

    assert [d["DiskId"] for d in disks(api, InstanceId=iid, DiskType="system")] == [sysd["DiskId"]]
    assert [d["DiskId"] for d in disks(api, InstanceId=iid, DiskType="data")] == [data["DiskId"]]
    assert len(disks(api, InstanceId=iid, DiskType="all")) == 2
    ids = json.dumps([sysd["DiskId"], data["DiskId"]])
    assert {d["DiskId"] for d in disks(api, DiskIds=ids)} == {sysd["DiskId"], data["DiskId"]}
    assert disks(api, DiskIds=json.dumps([NO_DISK])) == []
    delete(api, iid)
    assert disks(api, InstanceId=iid) == []


def test_the_image_usage_becomes_instance_and_returns_to_none(api, isrv, std_disk):
    image = own_image(api, isrv, std_disk)
    assert image["Usage"] == "none", image
    ids = run_instances(api, image["ImageId"], Amount=2)
    assert find_image(api, image["ImageId"])["Usage"] == "instance"
    body = api.call("DescribeImages", {"RegionId": HZ, "ImageOwnerAlias": "self",
                                       "Usage": "instance", "PageSize": 100}).body
    assert image["ImageId"] in {i["ImageId"] for i in body["Images"]["Image"]}
    delete(api, ids[0])
    assert find_image(api, image["ImageId"])["Usage"] == "instance"  # one instance left
    delete(api, ids[1])
    assert find_image(api, image["ImageId"])["Usage"] == "none"


def test_create_instance_gives_one_stopped_instance_that_starts_and_stops(any_api, base_image):
    iid = create_instance(any_api, base_image["ImageId"])
    inst = wait_status(any_api, [iid], "Stopped")[iid]
    assert inst["ImageId"] == base_image["ImageId"]
    start(any_api, iid)
    stop(any_api, iid)
    delete(any_api, iid, force=False)  # a Stopped instance goes without Force
    assert instance(any_api, iid) is None


def test_a_public_image_launches_and_its_size_is_the_system_disk_minimum(api):
    img = pick_image(lambda i: i.architecture == "x86_64" and i.boot_mode == "BIOS"
                     and i.raw["size_gib"] > 20 and i.os_type == "linux",
                     "of more than 20 GiB for x86_64 BIOS")
    iid = run_one(api, img.id)
    assert system_disk(api, iid)["Size"] == max(40, img.raw["size_gib"])
    delete(api, iid)


def test_a_32_bit_image_runs_below_4_gib(api):
    img = pick_image(lambda i: i.architecture == "i386" and i.os_type == "linux", "for i386")
    ty = pick_type(lambda t: t.architecture == "x86_64" and 1.0 <= t.memory < 4.0
                   and "BIOS" in t.raw["boot_modes"] and no_nvme_needed(t),
                   "x86_64 BIOS with 1-4 GiB")
    assert broken_rules(img, ty) == []
    delete(api, run_one(api, img.id, ty.id))


def test_a_deprecated_image_still_launches(api, isrv, std_disk):
    # Reference §4: deprecated images cannot be shared or copied but still launch instances.
    image = own_image(api, isrv, std_disk)
    api.call("ModifyImageAttribute", {"RegionId": HZ, "ImageId": image["ImageId"],
                                      "Status": "Deprecated"})
    delete(api, run_one(api, image["ImageId"]))


def test_run_instances_from_an_image_family_uses_its_newest_image(api, base_image):
    family = uniq("fam")
    image_id = create_image(api, SnapshotId=base_image["_SnapshotId"], ImageFamily=family)
    assert wait_image(api, image_id)["Status"] == "Available"
    body = api.call("RunInstances", {"RegionId": HZ, "ImageFamily": family,
                                     "InstanceType": DEFAULT_TYPE}).body
    (iid,) = body["InstanceIdSets"]["InstanceIdSet"]
    assert instance(api, iid)["ImageId"] == image_id
    assert_error(api, "RunInstances", run_params(image_id, ImageFamily=family),
                 "UnexpectedImageFamily.ImageIdSupplied", 400)
    delete(api, iid)


def test_run_instances_with_the_same_client_token_makes_the_instances_once(api, base_image):
    token = uniq("tok")
    first = run_instances(api, base_image["ImageId"], Amount=2, ClientToken=token)
    again = run_instances(api, base_image["ImageId"], Amount=2, ClientToken=token)
    assert sorted(again) == sorted(first)
    delete_quietly(api, first)


def test_an_image_with_a_data_disk_gives_the_instance_that_data_disk(api, isrv, two_disk_image):
    iid = run_one(api, two_disk_image["ImageId"])
    sysd, data = disks_of_instance(api, iid)
    assert (sysd["Type"], data["Type"]) == ("system", "data")
    assert data["SourceSnapshotId"] == disks_of(two_disk_image)[1]["SnapshotId"]
    expect_pattern(isrv, data["DiskId"], "0x64", "2M", "1M")
    delete(api, iid)


def test_dry_run_run_instances_is_dry_run_operation_and_makes_nothing(any_api, base_image):
    name = uniq("dry")
    assert_error(any_api, "RunInstances",
                 run_params(base_image["ImageId"], DryRun=True, InstanceName=name),
                 "DryRunOperation", 400)
    assert instance_list(describe_instances(any_api, InstanceName=name)) == []


# ---- RunInstances: the image rules ----

def test_a_32_bit_image_on_a_type_with_4_gib_or_more_is_image_not_support_instance_type(api):
    img = pick_image(lambda i: i.architecture == "i386" and i.os_type == "linux", "for i386")
    for pred, why in ((lambda t: t.memory == 4.0, "of exactly 4 GiB"),
                      (lambda t: t.memory > 4.0, "of more than 4 GiB")):
        ty = pick_type(lambda t: pred(t) and t.architecture == "x86_64"
                       and "BIOS" in t.raw["boot_modes"] and no_nvme_needed(t),
                       f"x86_64 BIOS {why}")
        assert broken_rules(img, ty) == ["32-bit"]
        assert_error(api, "RunInstances", run_params(img.id, ty.id),
                     "ImageNotSupportInstanceType", 403)


def test_an_arm64_image_on_an_x86_type_is_image_not_support_instance_type(api):
    img = pick_image(lambda i: i.architecture == "arm64", "for arm64")
    ty = pick_type(lambda t: t.architecture == "x86_64" and img.boot_mode in t.raw["boot_modes"]
                   and no_nvme_needed(t), f"x86_64 booting {img.boot_mode}")
    assert broken_rules(img, ty) == ["architecture"]
    assert_error(api, "RunInstances", run_params(img.id, ty.id),
                 "ImageNotSupportInstanceType", 403)


def test_an_x86_image_on_an_arm64_type_is_image_not_support_instance_type(api, base_image):
    ty = pick_type(lambda t: t.architecture == "arm64", "for arm64")
    assert_error(api, "RunInstances", run_params(base_image["ImageId"], ty.id),
                 "ImageNotSupportInstanceType", 403)


def test_a_uefi_only_image_on_a_bios_only_type_is_image_not_support_instance_type(api):
    img = pick_image(lambda i: i.boot_mode == "UEFI" and i.architecture == "x86_64"
                     and i.os_type == "linux", "x86_64 UEFI-only")
    ty = pick_type(lambda t: bios_only(t) and t.architecture == "x86_64" and t.memory >= 1.0
                   and no_nvme_needed(t), "x86_64 BIOS-only")
    assert broken_rules(img, ty) == ["boot-mode"]
    assert_error(api, "RunInstances", run_params(img.id, ty.id),
                 "ImageNotSupportInstanceType", 403)


def test_an_image_without_nvme_on_an_nvme_only_type_is_image_not_support_instance_type(
        api, base_image):
    ty = pick_type(lambda t: t.raw["nvme"] == "required" and t.architecture == "x86_64"
                   and "BIOS" in t.raw["boot_modes"], "x86_64 NVMe-only booting BIOS")
    assert_error(api, "RunInstances", run_params(base_image["ImageId"], ty.id),
                 "ImageNotSupportInstanceType", 403)


def test_a_create_failed_image_is_operation_denied_image_not_valid(api, failed_image):
    assert_error(api, "RunInstances", run_params(failed_image),
                 "OperationDenied.ImageNotValid", 403)
    assert_error(api, "CreateInstance", run_params(failed_image),
                 "OperationDenied.ImageNotValid", 403)


def test_another_accounts_unshared_image_is_invalid_image_id_not_found(other_api, base_image):
    assert_error(other_api, "RunInstances", run_params(base_image["ImageId"]),
                 "InvalidImageId.NotFound", 404)


def test_an_unknown_image_is_invalid_image_id_not_found(any_api):
    assert_error(any_api, "RunInstances", run_params(NO_IMAGE), "InvalidImageId.NotFound", 404)


def test_a_system_disk_smaller_than_the_image_is_less_than_image_size(api):
    img = pick_image(lambda i: i.architecture == "x86_64" and i.boot_mode == "BIOS"
                     and i.raw["size_gib"] > 20 and i.os_type == "linux",
                     "of more than 20 GiB for x86_64 BIOS")
    assert_error(api, "RunInstances",
                 run_params(img.id, SystemDisk={"Size": img.raw["size_gib"] - 10}),
                 "InvalidSystemDiskSize.LessThanImageSize", 404)


def test_an_unknown_instance_type_is_invalid_instance_type_value_not_supported(api, base_image):
    assert_error(api, "RunInstances", run_params(base_image["ImageId"], "ecs.nosuch.large"),
                 "InvalidInstanceType.ValueNotSupported", 400)


@pytest.mark.parametrize("missing", ["ImageId", "InstanceType"])
def test_a_missing_image_or_instance_type_is_missing_parameter(any_api, base_image, missing):
    params = run_params(base_image["ImageId"])
    del params[missing]
    err = assert_error(any_api, "RunInstances", params, "MissingParameter", 400)
    assert missing in err.message, err


@pytest.mark.parametrize("amount", [0, 101, -1])
def test_an_amount_out_of_1_to_100_is_invalid_amount_malformed(api, base_image, amount):
    assert_error(api, "RunInstances", run_params(base_image["ImageId"], Amount=amount),
                 "InvalidAmount.Malformed", 403)


@pytest.mark.parametrize("size", [10, 19, 2049])
def test_a_system_disk_size_out_of_range_is_invalid_system_disk_size(api, base_image, size):
    assert_error(api, "RunInstances", run_params(base_image["ImageId"], SystemDisk={"Size": size}),
                 "InvalidSystemDiskSize.ValueNotSupported", 400)


def test_a_data_disk_without_size_or_snapshot_is_invalid_data_disk_size(api, base_image):
    assert_error(api, "RunInstances",
                 run_params(base_image["ImageId"], DataDisk=[{"Category": "cloud_efficiency"}]),
                 "InvalidDataDiskSize.ValueNotSupported", 400)


# The RunInstances and CreateInstance error tables give DataDisk.N.SnapshotId its own code:
# 404 InvalidDataDiskSnapshotId.NotFound "The specified parameter "DataDisk.n.SnapshotId" is not
# valid." (the generic InvalidSnapshotId.NotFound they list is 400, for other snapshot params).
@pytest.mark.parametrize("action", ["RunInstances", "CreateInstance"])
def test_a_data_disk_from_an_unknown_snapshot_is_invalid_data_disk_snapshot_id_not_found(
        api, base_image, action):
    assert_error(api, action,
                 run_params(base_image["ImageId"], DataDisk=[{"SnapshotId": NO_SNAPSHOT}]),
                 "InvalidDataDiskSnapshotId.NotFound", 404)


def test_a_data_disk_from_a_malformed_snapshot_id_is_invalid_data_disk_snapshot_id_not_found(
        api, base_image):
    # No snapshot has that ID, as no image has a malformed ImageId (InvalidImageId.NotFound).
    assert_error(api, "RunInstances",
                 run_params(base_image["ImageId"], DataDisk=[{"SnapshotId": "snap-1"}]),
                 "InvalidDataDiskSnapshotId.NotFound", 404)


def test_a_data_disk_from_another_accounts_snapshot_is_invalid_data_disk_snapshot_id_not_found(
        other_api, base_image, isrv, tmp_path):
    other_image = own_image(other_api, isrv, make_raw(tmp_path / "other.raw", "8M", ()))
    assert_error(other_api, "RunInstances",
                 run_params(other_image["ImageId"],
                            DataDisk=[{"SnapshotId": base_image["_SnapshotId"]}]),
                 "InvalidDataDiskSnapshotId.NotFound", 404)


def test_a_data_disk_smaller_than_its_snapshot_is_invalid_disk_size_too_small(api, base_image):
    # The RunInstances error table: 403 InvalidDiskSize.TooSmall "Specified disk size is less
    # than the size of snapshot" (InvalidDataDiskSize.ValueNotSupported is the category range).
    src = run_one(api, base_image["ImageId"])
    sysd = system_disk(api, src)
    sid = snapshot_of(api, sysd["DiskId"])["SnapshotId"]
    assert sysd["Size"] > 30
    assert_error(api, "RunInstances",
                 run_params(base_image["ImageId"], DataDisk=[{"SnapshotId": sid, "Size": 30}]),
                 "InvalidDiskSize.TooSmall", 403)
    # As big as the snapshot's disk, or bigger, is fine.
    iid = run_one(api, base_image["ImageId"],
                  DataDisk=[{"SnapshotId": sid, "Size": sysd["Size"] + 10}])
    (data,) = disks(api, InstanceId=iid, DiskType="data")
    assert data["Size"] == sysd["Size"] + 10
    delete_quietly(api, [src, iid])


def test_a_data_device_the_images_data_disk_has_is_invalid_device_in_use(
        api, two_disk_image):
    image_device = disks_of(two_disk_image)[1]["Device"]
    assert image_device == "/dev/xvdb"
    # 403, as the RunInstances error table has it and as two DataDisk.N on one device get.
    assert_error(api, "RunInstances",
                 run_params(two_disk_image["ImageId"],
                            DataDisk=[{"Size": 20, "Device": image_device}]),
                 "InvalidDevice.InUse", 403)


def test_more_than_16_data_disks_with_the_images_is_instance_disk_number_limit_exceed(
        api, two_disk_image):
    # The image brings one data disk; sixteen more make seventeen.
    assert_error(api, "RunInstances",
                 run_params(two_disk_image["ImageId"], DataDisk=[{"Size": 20}] * 16),
                 "InstanceDiskNumber.LimitExceed", 400)


# Refusals of the request itself, through the SDK's own serialization (V3).
REQUEST_REFUSALS = [
    ({"InstanceName": "1web"}, "InvalidInstanceName.Malformed", 400),
    ({"InstanceName": "w"}, "InvalidInstanceName.Malformed", 400),
    ({"Description": "x"}, "InvalidDescription.Malformed", 400),
    ({"HostName": "-web"}, "InvalidHostName.Malformed", 400),
    ({"HostName": "a--b"}, "InvalidHostName.Malformed", 400),
    ({"IoOptimized": "yes"}, "InvalidIoOptimize.ValueNotSupported", 400),
    ({"MinAmount": 4, "Amount": 3}, "InvalidMinAmount.Malformed", 400),
    ({"ImageFamily": "some-family"}, "UnexpectedImageFamily.ImageIdSupplied", 400),
    ({"LaunchTemplateId": "lt-bp1apo0bbbkuy0rj3xxx"}, "UnsupportedParameter", 400),
    ({"SystemDisk": {"Category": "ephemeral_ssd"}},
     "InvalidSystemDiskCategory.ValueNotSupported", 400),
    ({"SystemDisk": {"Size": 501, "Category": "cloud"}},
     "InvalidSystemDiskSize.ValueNotSupported", 400),
    ({"SystemDisk": {"DiskName": " root"}}, "InvalidDiskName.Malformed", 400),
    ({"SystemDisk": {"Description": "http://x.example"}}, "InvalidDiskDescription.Malformed", 400),
    ({"SystemDisk": {"Encrypted": "true"}}, "InvalidParameter.EncryptedNotSupported", 400),
    ({"DataDisk": [{"Size": 19}]}, "InvalidDataDiskSize.ValueNotSupported", 400),
    ({"DataDisk": [{"Size": 32769}]}, "InvalidDataDiskSize.ValueNotSupported", 400),
    ({"DataDisk": [{"Size": 2001, "Category": "cloud"}]},
     "InvalidDataDiskSize.ValueNotSupported", 400),
    ({"DataDisk": [{"Size": 20, "Category": "local_ssd_pro"}]},
     "InvalidDataDiskCategory.ValueNotSupported", 400),
    ({"DataDisk": [{"Size": 20, "Device": "/dev/xvda"}]}, "InvalidDataDevice.Malformed", 400),
    ({"DataDisk": [{"Size": 20, "Device": "/dev/vdb"}]}, "InvalidDataDevice.Malformed", 400),
    ({"DataDisk": [{"Size": 20, "Device": "/dev/xvdc"}, {"Size": 20, "Device": "/dev/xvdc"}]},
     "InvalidDevice.InUse", 403),
    ({"DataDisk": [{"Size": 20, "Encrypted": True}]}, "InvalidParameter.EncryptedNotSupported", 400),
    ({"DataDisk": [{"Size": 20, "DiskName": "a"}]}, "InvalidDiskName.Malformed", 400),
    ({"DataDisk": [{"Size": 20, "Description": "x"}]}, "InvalidDiskDescription.Malformed", 400),
    ({"DataDisk": [{"Size": 20}] * 17}, "InstanceDiskNumber.LimitExceed", 400),
    # The RunInstances error table: 400 InvalidClientToken.ValueNotSupported "clienttoken is not
    # valid." (ASCII only, at most 64 characters).
    ({"ClientToken": "x" * 65}, "InvalidClientToken.ValueNotSupported", 400),
]


@pytest.mark.parametrize("params,code,status", REQUEST_REFUSALS,
                         ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(REQUEST_REFUSALS)])
def test_a_malformed_run_instances_request_gets_the_documented_code(
        api, base_image, params, code, status):
    name = uniq("refused")
    assert_error(api, "RunInstances",
                 run_params(base_image["ImageId"], **{"InstanceName": name, **params}),
                 code, status)
    if "InstanceName" not in params:
        assert instance_list(describe_instances(api, InstanceName=name)) == []


# DescribeDisks: the DescribeDisks error table names a code per filter value.
@pytest.mark.parametrize("params,code,status", [
    ({"DiskType": "swap"}, "InvalidDiskType.ValueNotSupported", 400),
    ({"Category": "floppy"}, "InvalidCategory.ValueNotSupported", 400),
    ({"Status": "Melting"}, "InvalidStatus.ValueNotSupported", 400),
    ({"DiskIds": json.dumps([f"d-{i:020d}" for i in range(101)])}, "InvalidDiskIds.Malformed", 403),
], ids=["disk-type", "category", "status", "101-ids"])
def test_a_bad_describe_disks_filter_gets_the_documented_code(api, params, code, status):
    assert_error(api, "DescribeDisks", {"RegionId": HZ, **params}, code, status)


def test_describe_instances_refuses_more_than_100_ids_and_filters_it_cannot_apply(api):
    ids = json.dumps([f"i-{i:020d}" for i in range(101)])
    assert_error(api, "DescribeInstances", {"RegionId": HZ, "InstanceIds": ids},
                 "InvalidParameter", 400)
    # No zones, networks or security groups here: a filter on them would be silently wider.
    assert_error(api, "DescribeInstances", {"RegionId": HZ, "VpcId": "vpc-1"},
                 "UnsupportedParameter", 400)
    assert instance_list(describe_instances(api, [NO_INSTANCE])) == []


# ---- the status machine ----

def test_start_stop_and_delete_in_the_wrong_status_are_incorrect_instance_status(
        any_api, base_image):
    iid = run_one(any_api, base_image["ImageId"])
    wait_status(any_api, [iid], "Running")
    assert_error(any_api, "StartInstance", {"InstanceId": iid}, "IncorrectInstanceStatus", 403)
    assert_error(any_api, "DeleteInstance", {"InstanceId": iid}, "IncorrectInstanceStatus", 403)
    assert status_of(any_api, iid) == "Running"
    stop(any_api, iid)
    assert_error(any_api, "StopInstance", {"InstanceId": iid}, "IncorrectInstanceStatus", 403)
    assert status_of(any_api, iid) == "Stopped"
    delete(any_api, iid, force=False)


@pytest.mark.parametrize("action,status", [
    ("StopInstance", "Running"), ("DeleteInstance", "Running"), ("StartInstance", "Stopped"),
])
def test_dry_run_of_the_status_machine_is_dry_run_operation_and_changes_nothing(
        api, base_image, action, status):
    iid = run_one(api, base_image["ImageId"])
    if status == "Stopped":
        stop(api, iid)
    extra = {"Force": True} if action == "DeleteInstance" else {}
    assert_error(api, action, {"InstanceId": iid, "DryRun": True, **extra}, "DryRunOperation", 400)
    assert status_of(api, iid) == status
    delete(api, iid)


def test_delete_instance_with_force_releases_a_running_instance_and_its_disks(api, base_image):
    iid = run_one(api, base_image["ImageId"],
                  DataDisk=[{"Size": 20}, {"Size": 30, "DeleteWithInstance": False}])
    wait_status(api, [iid], "Running")
    sysd, gone, kept = disks_of_instance(api, iid)
    assert kept["Size"] == 30 and kept["DeleteWithInstance"] is False
    api.call("DeleteInstance", {"InstanceId": iid, "Force": True})
    assert instance(api, iid) is None
    assert disks(api, InstanceId=iid) == []
    assert disk(api, sysd["DiskId"]) is None and disk(api, gone["DiskId"]) is None
    left = disk(api, kept["DiskId"])  # DeleteWithInstance=false: the disk stays, detached
    assert left is not None and left["Status"] == "Available", left
    assert left.get("InstanceId", "") == "", left


@pytest.mark.parametrize("action", ["StartInstance", "StopInstance", "DeleteInstance"])
def test_an_unknown_instance_is_invalid_instance_id_not_found(any_api, action):
    assert_error(any_api, action, {"InstanceId": NO_INSTANCE}, "InvalidInstanceId.NotFound", 404)


def test_another_accounts_instance_is_invalid_instance_id_not_found(api, other_api, base_image):
    iid = run_one(api, base_image["ImageId"])
    sysd = system_disk(api, iid)
    for action in ("StopInstance", "StartInstance", "DeleteInstance"):
        assert_error(other_api, action, {"InstanceId": iid}, "InvalidInstanceId.NotFound", 404)
    assert_error(other_api, "ReplaceSystemDisk",
                 {"InstanceId": iid, "ImageId": base_image["ImageId"]},
                 "InvalidInstanceId.NotFound", 404)
    assert_error(other_api, "CreateSnapshot", {"DiskId": sysd["DiskId"]},
                 "InvalidDiskId.NotFound", 404)
    assert instance(other_api, iid) is None
    assert disks(other_api, InstanceId=iid) == []
    assert status_of(api, iid) == "Running"
    delete(api, iid)


def test_create_image_from_another_accounts_instance_is_invalid_instance_id_not_found(
        api, other_api, base_image):
    iid = run_one(api, base_image["ImageId"])
    assert_error(other_api, "CreateImage", {"RegionId": HZ, "InstanceId": iid,
                                            "ImageName": uniq("theft")},
                 "InvalidInstanceId.NotFound", 404)
    assert_error(api, "CreateImage", {"RegionId": HZ, "InstanceId": NO_INSTANCE,
                                      "ImageName": uniq("none")},
                 "InvalidInstanceId.NotFound", 404)
    delete(api, iid)


@pytest.mark.parametrize("action,params", [
    ("CreateSnapshot", {}),
    ("ResetDisk", {"SnapshotId": NO_SNAPSHOT}),
    ("ReInitDisk", {}),
])
def test_an_unknown_disk_is_invalid_disk_id_not_found(any_api, action, params):
    assert_error(any_api, action, {"DiskId": NO_DISK, **params}, "InvalidDiskId.NotFound", 404)


# ---- ReplaceSystemDisk ----

def test_replace_system_disk_of_a_running_instance_is_incorrect_instance_status(api, base_image):
    iid = run_one(api, base_image["ImageId"])
    assert_error(api, "ReplaceSystemDisk", {"InstanceId": iid, "ImageId": base_image["ImageId"]},
                 "IncorrectInstanceStatus", 403)
    delete(api, iid)


def test_replace_system_disk_with_an_image_that_has_data_disks_is_operation_denied(
        api, base_image, two_disk_image):
    iid = run_one(api, base_image["ImageId"])
    stop(api, iid)
    assert_error(api, "ReplaceSystemDisk",
                 {"InstanceId": iid, "ImageId": two_disk_image["ImageId"]},
                 "OperationDenied", 400)
    delete(api, iid)


def test_replace_system_disk_refusals_follow_the_run_instances_image_rules(
        api, base_image, failed_image):
    iid = run_one(api, base_image["ImageId"])
    stop(api, iid)
    arm = pick_image(lambda i: i.architecture == "arm64", "for arm64")
    big = pick_image(lambda i: i.architecture == "x86_64" and i.boot_mode == "BIOS"
                     and i.raw["size_gib"] > 20, "of more than 20 GiB for x86_64 BIOS")
    cases = [
        ({"ImageId": arm.id}, "ImageNotSupportInstanceType", 403),
        ({"ImageId": failed_image}, "OperationDenied.ImageNotValid", 403),
        ({"ImageId": NO_IMAGE}, "InvalidImageId.NotFound", 404),
        ({"ImageId": big.id, "SystemDisk": {"Size": big.raw["size_gib"] - 10}},
         "InvalidSystemDiskSize.LessThanImageSize", 404),
    ]
    for params, code, status in cases:
        assert_error(api, "ReplaceSystemDisk", {"InstanceId": iid, **params}, code, status)
    assert instance(api, iid)["ImageId"] == base_image["ImageId"]
    delete(api, iid)


def test_replace_system_disk_gives_a_new_disk_from_the_new_image(api, isrv, std_disk, tmp_path):
    first = own_image(api, isrv, std_disk)
    other_raw = make_raw(tmp_path / "other.raw", "64M", (("0x7e", "4M", "1M"),))
    second = own_image(api, isrv, other_raw)
    iid = run_one(api, first["ImageId"])
    old = system_disk(api, iid)
    stop(api, iid)
    body = api.call("ReplaceSystemDisk", {"InstanceId": iid, "ImageId": second["ImageId"],
                                          "SystemDisk": {"Size": 50}}).body
    new_id = body.get("DiskId")
    assert isinstance(new_id, str) and new_id.startswith("d-") and new_id != old["DiskId"], body
    new = system_disk(api, iid)
    assert (new["DiskId"], new["ImageId"], new["Size"]) == (new_id, second["ImageId"], 50)
    assert disk(api, old["DiskId"]) is None
    assert instance(api, iid)["ImageId"] == second["ImageId"]
    assert nbd_size(isrv, new_id) == 50 * GIB
    expect_pattern(isrv, new_id, "0x7e", "4M", "1M")
    assert find_image(api, first["ImageId"])["Usage"] == "none"
    assert find_image(api, second["ImageId"])["Usage"] == "instance"
    start(api, iid)
    delete(api, iid)


# ---- CreateSnapshot, ResetDisk and ReInitDisk ----

@pytest.mark.parametrize("name", ["auto-nightly", "auto1", "autoSnap"])
def test_a_snapshot_name_starting_with_auto_is_invalid_snapshot_name_malformed(
        api, base_image, name):
    iid = run_one(api, base_image["ImageId"])
    sysd = system_disk(api, iid)
    assert_error(api, "CreateSnapshot", {"DiskId": sysd["DiskId"], "SnapshotName": name},
                 "InvalidSnapshotName.Malformed", 400)
    delete(api, iid)


def test_create_snapshot_is_accomplished_with_its_source_disk(any_api, base_image):
    iid = run_one(any_api, base_image["ImageId"])
    sysd = system_disk(any_api, iid)
    name = uniq("snap")
    sid = create_snapshot(any_api, sysd["DiskId"], SnapshotName=name, Description="a backup")
    snap = wait_snapshot(any_api, sid)
    assert snap["SnapshotId"] == sid
    assert (snap["SnapshotName"], snap["Description"]) == (name, "a backup")
    assert snap["SourceDiskId"] == sysd["DiskId"]
    assert snap["SourceDiskType"].lower() == "system"
    assert snap["SourceDiskSize"] == str(sysd["Size"])  # a string of GiB (reference §5.17)
    assert snap["Progress"] == "100%"
    assert snap["SnapshotType"] == "user"
    delete(any_api, iid)
    # Snapshots outlive their disk.
    assert snapshot(any_api, sid)["SourceDiskId"] == sysd["DiskId"]


def test_two_snapshots_of_a_disk_in_a_row_are_refused_only_as_creating_snapshot(api, base_image):
    iid = run_one(api, base_image["ImageId"])
    sysd = system_disk(api, iid)
    first = create_snapshot(api, sysd["DiskId"])
    try:
        second = create_snapshot(api, sysd["DiskId"])
    except ApiError as e:  # only while the first is progressing: timing decides
        assert (e.code, e.status) == ("IncorrectDiskStatus.CreatingSnapshot", 403), e
        second = None
    wait_snapshot(api, first)
    if second:
        wait_snapshot(api, second)
    delete(api, iid)


def test_reset_disk_of_a_running_instance_is_incorrect_instance_status(api, base_image):
    iid = run_one(api, base_image["ImageId"])
    sysd = system_disk(api, iid)
    sid = snapshot_of(api, sysd["DiskId"])["SnapshotId"]
    assert_error(api, "ResetDisk", {"DiskId": sysd["DiskId"], "SnapshotId": sid},
                 "IncorrectInstanceStatus", 403)
    assert_error(api, "ReInitDisk", {"DiskId": sysd["DiskId"]}, "IncorrectInstanceStatus", 403)
    delete(api, iid)


def test_reset_disk_with_a_snapshot_of_another_disk_is_invalid_parameter_mismatch(
        api, base_image):
    a, b = run_instances(api, base_image["ImageId"], Amount=2)
    disk_a, disk_b = system_disk(api, a), system_disk(api, b)
    snap_b = snapshot_of(api, disk_b["DiskId"])["SnapshotId"]
    stop(api, a)
    assert_error(api, "ResetDisk", {"DiskId": disk_a["DiskId"], "SnapshotId": snap_b},
                 "InvalidParameter.Mismatch", 403)
    # The image's own snapshot is no snapshot of this disk either.
    assert_error(api, "ResetDisk", {"DiskId": disk_a["DiskId"],
                                    "SnapshotId": base_image["_SnapshotId"]},
                 "InvalidParameter.Mismatch", 403)
    assert_error(api, "ResetDisk", {"DiskId": disk_a["DiskId"], "SnapshotId": NO_SNAPSHOT},
                 "InvalidSnapshotId.NotFound", 404)
    delete_quietly(api, [a, b])


def test_disks_are_served_over_nbd_with_the_images_bytes(api, isrv, base_image):
    iid = run_one(api, base_image["ImageId"], DataDisk=[{"Size": 20}])
    sysd, data = disks_of_instance(api, iid)
    assert nbd_size(isrv, sysd["DiskId"]) == sysd["Size"] * GIB
    assert nbd_size(isrv, data["DiskId"]) == 20 * GIB
    expect_pattern(isrv, sysd["DiskId"], "0x5a", "1M", "2M")
    expect_pattern(isrv, sysd["DiskId"], "0xc3", "40M", "1M")
    expect_pattern(isrv, sysd["DiskId"], "0", "64M", "64M")  # beyond the image: zeros
    expect_pattern(isrv, data["DiskId"], "0", "0", "4M")
    delete(api, iid)


def test_reset_disk_and_reinit_disk_bring_back_the_snapshot_and_the_image(api, isrv, base_image):
    iid = run_one(api, base_image["ImageId"], DataDisk=[{"Size": 20}])
    sysd, data = disks_of_instance(api, iid)
    d = sysd["DiskId"]
    write_pattern(isrv, d, "0x11", "8M", "1M")
    snap = snapshot_of(api, d)["SnapshotId"]
    write_pattern(isrv, d, "0x22", "8M", "1M")
    write_pattern(isrv, d, "0x33", "1M", "1M")
    write_pattern(isrv, data["DiskId"], "0x77", "0", "2M")
    stop(api, iid)

    api.call("ResetDisk", {"DiskId": d, "SnapshotId": snap})
    expect_pattern(isrv, d, "0x11", "8M", "1M")
    expect_pattern(isrv, d, "0x5a", "1M", "2M")
    expect_pattern(isrv, data["DiskId"], "0x77", "0", "2M")  # the other disk is untouched

    api.call("ReInitDisk", {"DiskId": d})
    expect_pattern(isrv, d, "0", "8M", "1M")
    expect_pattern(isrv, d, "0x5a", "1M", "2M")
    expect_pattern(isrv, d, "0xc3", "40M", "1M")
    # A data disk made empty goes back to empty.
    api.call("ReInitDisk", {"DiskId": data["DiskId"]})
    expect_pattern(isrv, data["DiskId"], "0", "0", "2M")
    assert status_of(api, iid) == "Stopped"  # AutoStartInstance not asked
    assert [x["DiskId"] for x in disks_of_instance(api, iid)] == [d, data["DiskId"]]
    delete(api, iid)


def test_a_snapshot_holds_every_acknowledged_write_flushed_or_not(api, isrv, base_image):
    iid = run_one(api, base_image["ImageId"])
    d = system_disk(api, iid)["DiskId"]
    qemu_io(isrv, d, "write -P 0x3c 12M 1M")  # acknowledged, never flushed by the client
    sid = snapshot_of(api, d)["SnapshotId"]
    copy = run_one(api, base_image["ImageId"], DataDisk=[{"SnapshotId": sid}])
    (data,) = disks(api, InstanceId=copy, DiskType="data")
    expect_pattern(isrv, data["DiskId"], "0x3c", "12M", "1M")
    expect_pattern(isrv, data["DiskId"], "0x5a", "1M", "2M")
    delete_quietly(api, [iid, copy])


def test_a_detached_disk_can_be_snapshotted_and_reset_but_not_reinitialised(
        api, isrv, base_image):
    iid = run_one(api, base_image["ImageId"], DataDisk=[{"Size": 20, "DeleteWithInstance": False}])
    (data,) = disks(api, InstanceId=iid, DiskType="data")
    write_pattern(isrv, data["DiskId"], "0x21", "0", "1M")
    delete(api, iid)
    left = disk(api, data["DiskId"])
    assert left["Status"] == "Available", left
    # CreateSnapshot: "In_use, or Available having been attached before" (reference §5.17).
    sid = snapshot_of(api, data["DiskId"])["SnapshotId"]
    write_pattern(isrv, data["DiskId"], "0x22", "0", "1M")
    # ResetDisk: "the disk must be In_use or Available" (the ResetDisk doc).
    api.call("ResetDisk", {"DiskId": data["DiskId"], "SnapshotId": sid})
    expect_pattern(isrv, data["DiskId"], "0x21", "0", "1M")
    # ReInitDisk: "the disk must be In_use", else 403 IncorrectDiskStatus (the ReInitDisk doc).
    assert_error(api, "ReInitDisk", {"DiskId": data["DiskId"]}, "IncorrectDiskStatus", 403)
    expect_pattern(isrv, data["DiskId"], "0x21", "0", "1M")


def test_dry_run_reset_disk_changes_nothing(api, isrv, base_image):
    iid = run_one(api, base_image["ImageId"])
    d = system_disk(api, iid)["DiskId"]
    snap = snapshot_of(api, d)["SnapshotId"]
    write_pattern(isrv, d, "0x44", "8M", "1M")
    stop(api, iid)
    assert_error(api, "ResetDisk", {"DiskId": d, "SnapshotId": snap, "DryRun": True},
                 "DryRunOperation", 400)
    expect_pattern(isrv, d, "0x44", "8M", "1M")
    delete(api, iid)


# ---- CreateImage from an instance ----

def test_create_image_from_an_instance_maps_every_disk_and_keeps_the_bytes(api, isrv, base_image):
    iid = run_one(api, base_image["ImageId"], DataDisk=[{"Size": 20}])
    sysd, data = disks_of_instance(api, iid)
    write_pattern(isrv, sysd["DiskId"], "0x55", "8M", "1M")
    write_pattern(isrv, data["DiskId"], "0x66", "0", "1M")
    name = uniq("frominst")
    image_id = create_image(api, InstanceId=iid, ImageName=name, Description="from an instance")
    image = wait_image(api, image_id)
    assert image["Status"] == "Available", image
    assert (image["ImageName"], image["Description"]) == (name, "from an instance")
    assert image["Size"] == sysd["Size"]  # the image is as big as the system disk
    mappings = disks_of(image)
    assert [m.get("Type") for m in mappings] == ["system", "data"], mappings
    assert [m.get("Device") for m in mappings] == ["/dev/xvda", "/dev/xvdb"], mappings
    assert [m.get("Size") for m in mappings] == [str(sysd["Size"]), "20"], mappings
    snap_ids = [m["SnapshotId"] for m in mappings]
    assert len(set(snap_ids)) == 2 and all(s.startswith("s-") for s in snap_ids)
    listed = {s["SnapshotId"]: s for s in snapshots(api, snap_ids)}
    assert listed[snap_ids[0]]["SourceDiskId"] == sysd["DiskId"]
    assert listed[snap_ids[1]]["SourceDiskId"] == data["DiskId"]
    assert {s["Status"] for s in listed.values()} == {"accomplished"}
    assert {s["Usage"] for s in listed.values()} == {"image"}

    # A new instance of the new image has the bytes written into the old one.
    copy = run_one(api, image_id)
    csys, cdata = disks_of_instance(api, copy)
    expect_pattern(isrv, csys["DiskId"], "0x55", "8M", "1M")
    expect_pattern(isrv, csys["DiskId"], "0x5a", "1M", "2M")
    expect_pattern(isrv, cdata["DiskId"], "0x66", "0", "1M")
    delete_quietly(api, [iid, copy])


def test_an_image_from_an_instance_keeps_the_source_images_architecture_and_boot_mode(api):
    img = pick_image(lambda i: i.architecture == "arm64" and i.os_type == "linux", "for arm64")
    ty = pick_type(lambda t: t.architecture == "arm64" and img.boot_mode in t.raw["boot_modes"]
                   and (t.raw["nvme"] != "required" or img.nvme == "supported"),
                   f"arm64 booting {img.boot_mode}")
    assert broken_rules(img, ty) == []
    iid = run_one(api, img.id, ty.id)
    assert instance(api, iid)["OSType"] == img.os_type
    image = wait_image(api, create_image(api, InstanceId=iid))
    assert image["Status"] == "Available", image
    assert (image["Architecture"], image["BootMode"], image["Platform"], image["OSType"]) == (
        "arm64", img.boot_mode, img.raw["platform"], img.os_type), image
    # So the new image follows the same rules as its source.
    assert_error(api, "RunInstances", run_params(image["ImageId"], DEFAULT_TYPE),
                 "ImageNotSupportInstanceType", 403)
    delete_quietly(api, [run_one(api, image["ImageId"], ty.id), iid])


# ---- DeleteImage and DeleteSnapshot against instances and disks ----

def test_delete_image_in_use_needs_force_and_then_the_disk_cannot_be_reinitialised(
        api, isrv, std_disk):
    image = own_image(api, isrv, std_disk)
    iid = run_one(api, image["ImageId"])
    sysd = system_disk(api, iid)
    assert_error(api, "DeleteImage", {"RegionId": HZ, "ImageId": image["ImageId"]},
                 "ImageUsingByInstance", 403)
    assert find_image(api, image["ImageId"])["Status"] == "Available"
    api.call("DeleteImage", {"RegionId": HZ, "ImageId": image["ImageId"], "Force": True})
    assert find_image(api, image["ImageId"]) is None
    # The instance keeps running on its own disk.
    assert status_of(api, iid) == "Running"
    expect_pattern(isrv, sysd["DiskId"], "0x5a", "1M", "2M")
    stop(api, iid)
    # ReInitDisk: the system disk's source image is gone (the ReInitDisk error table).
    assert_error(api, "ReInitDisk", {"DiskId": sysd["DiskId"]},
                 "InvalidDiskId.OperationNotSupported", 404)
    delete(api, iid)


def test_a_snapshot_a_disk_was_created_from_has_usage_disk_and_needs_force_to_go(
        api, isrv, base_image):
    src = run_one(api, base_image["ImageId"])
    src_disk = system_disk(api, src)["DiskId"]
    sid = snapshot_of(api, src_disk)["SnapshotId"]
    assert snapshot(api, sid)["Usage"] == "none"

    iid = run_one(api, base_image["ImageId"], DataDisk=[{"SnapshotId": sid}])
    (data,) = disks(api, InstanceId=iid, DiskType="data")
    assert data["SourceSnapshotId"] == sid
    assert data["Size"] == system_disk(api, src)["Size"]  # no Size: the snapshot's disk size
    expect_pattern(isrv, data["DiskId"], "0x5a", "1M", "2M")
    assert snapshot(api, sid)["Usage"] == "disk"
    body = api.call("DescribeSnapshots", {"RegionId": HZ, "Usage": "disk", "MaxResults": 100}).body
    assert sid in {s["SnapshotId"] for s in body["Snapshots"]["Snapshot"]}
    body = api.call("DescribeSnapshots", {"RegionId": HZ, "Usage": "none", "MaxResults": 100}).body
    assert sid not in {s["SnapshotId"] for s in body["Snapshots"]["Snapshot"]}

    assert_error(api, "DeleteSnapshot", {"SnapshotId": sid}, "SnapshotCreatedDisk", 403)
    assert snapshot(api, sid) is not None
    api.call("DeleteSnapshot", {"SnapshotId": sid, "Force": True})
    assert snapshot(api, sid) is None
    # The disk keeps its bytes, but can no longer be re-initialised to its source snapshot.
    expect_pattern(isrv, data["DiskId"], "0x5a", "1M", "2M")
    stop(api, iid)
    assert_error(api, "ReInitDisk", {"DiskId": data["DiskId"]}, "InvalidSourceSnapshot", 403)
    delete_quietly(api, [src, iid])


def test_the_image_snapshot_of_a_system_disk_is_used_by_image_and_disk(api, base_image):
    iid = run_one(api, base_image["ImageId"])
    assert snapshot(api, base_image["_SnapshotId"])["Usage"] == "image_disk"
    assert_error(api, "DeleteSnapshot", {"SnapshotId": base_image["_SnapshotId"]},
                 "SnapshotCreatedImage", 403)
    delete(api, iid)
