"""DescribeImageSupportInstanceTypes through every official Python client."""

from __future__ import annotations

import pytest

from catalog import CATALOG
from clients import ApiError
from expect import check_instance_type

HZ = "cn-hangzhou"
CENTOS_68_32 = "centos_6_08_32_40G_alibase_20170710.vhd"


def supported(sdk, image_id, region=HZ, **extra):
    body = sdk.call(
        "DescribeImageSupportInstanceTypes", {"RegionId": region, "ImageId": image_id, **extra}
    ).body
    assert body["ImageId"] == image_id
    assert body["RegionId"] == region
    assert isinstance(body["RequestId"], str) and body["RequestId"]
    wrapped = body["InstanceTypes"]
    assert isinstance(wrapped, dict), wrapped
    entries = wrapped.get("InstanceType", [])
    assert isinstance(entries, list), entries
    for e in entries:
        check_instance_type(e, CATALOG.instance_type(e["InstanceTypeId"]))
    return entries


def test_32_bit_image_only_on_types_under_4_gib(sdk):
    entries = supported(sdk, CENTOS_68_32)
    assert entries
    assert all(e["MemorySize"] < 4 for e in entries), entries
    got = {e["InstanceTypeId"] for e in entries}
    # Every x86_64 BIOS type under 4 GiB, and nothing else.
    assert got == {t.id for t in CATALOG.instance_types
                   if t.memory < 4 and t.architecture == "x86_64" and "BIOS" in t.raw["boot_modes"]}
    assert "ecs.t5-lc2m1.nano" in got  # 0.5 GiB is fine for Linux
    assert "ecs.t5-lc1m2.large" not in got  # exactly 4 GiB is not


def test_arm64_image_only_on_arm64_types(sdk):
    entries = supported(sdk, "ubuntu_22_04_arm64_20G_alibase_20230712.vhd")
    got = {e["InstanceTypeId"] for e in entries}
    assert got == {t.id for t in CATALOG.instance_types if t.architecture == "arm64"}
    assert "ecs.g8y.large" in got


@pytest.mark.parametrize(
    "image_id",
    [
        "centos_7_9_x64_20G_alibase_20240321.vhd",
        "centos_7_02_64_20G_alibase_20170818.vhd",
        "win2008_32_stand_sp2_cn_40G_alibase_20151212.vhd",
        "win2022_21H2_x64_dtc_zh-cn_40G_uefi_alibase_20260114.vhd",
        "debian_12_5_x64_20G_alibase_20240325.vhd",
    ],
)
def test_supported_types_follow_the_documented_rules(sdk, image_id):
    entries = supported(sdk, image_id)
    assert [e["InstanceTypeId"] for e in entries] == [t.id for t in CATALOG.supported_types(image_id)]


def test_32_bit_windows_needs_1_to_4_gib(sdk):
    entries = supported(sdk, "win2008_32_stand_sp2_cn_40G_alibase_20151212.vhd")
    assert entries
    assert all(1 <= e["MemorySize"] < 4 for e in entries), entries


def test_change_os_action_type_is_accepted(sdk):
    entries = supported(sdk, CENTOS_68_32, ActionType="ChangeOS")
    assert all(e["MemorySize"] < 4 for e in entries)


def test_unknown_image_is_not_found(sdk):
    with pytest.raises(ApiError) as e:
        sdk.call("DescribeImageSupportInstanceTypes", {"RegionId": HZ, "ImageId": "m-bp1doesnotexist0000"})
    assert e.value.code == "InvalidImageId.NotFound"
    assert e.value.status == 404


def test_image_outside_its_regions_is_not_found(sdk):
    with pytest.raises(ApiError) as e:
        sdk.call("DescribeImageSupportInstanceTypes",
                 {"RegionId": "cn-shanghai", "ImageId": "rhel_6_09_64_20G_alibase_20180208.vhd"})
    assert e.value.code == "InvalidImageId.NotFound"
