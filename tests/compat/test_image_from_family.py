"""DescribeImageFromFamily through every official Python client."""

from __future__ import annotations

import pytest

from catalog import CATALOG
from expect import FAMILY_MODEL_FIELDS, check_public_image

HZ = "cn-hangzhou"


@pytest.mark.parametrize(
    "family,newest",
    [
        ("acs:centos_7_9_x64", "centos_7_9_x64_20G_alibase_20240321.vhd"),
        ("acs:alibaba_cloud_linux_3_2104_lts_x64", "aliyun_3_x64_20G_alibase_20241103.vhd"),
        # The older member is Deprecated, the newer Available.
        ("acs:ubuntu_16_04_x64", "ubuntu_16_04_x64_20G_alibase_20221227.vhd"),
        ("acs:windows_server_2008_r2_ent_sp1_x64_en-us",
         "win2008r2_64_ent_sp1_en-us_40G_alibase_20190318.vhd"),
        ("acs:centos_6_8_i386", "centos_6_08_32_40G_alibase_20170710.vhd"),
    ],
)
def test_newest_available_member(sdk, family, newest):
    # The expectation is also derived from the catalog's creation_time.
    assert CATALOG.newest_in_family(HZ, family).id == newest
    result = sdk.call("DescribeImageFromFamily", {"RegionId": HZ, "ImageFamily": family})
    body = result.body
    assert isinstance(body["RequestId"], str) and body["RequestId"]
    # The legacy SDK hands back the raw JSON: every field. The typed SDK keeps its model's fields.
    only = None if result.model is None else FAMILY_MODEL_FIELDS
    check_public_image(body["Image"], CATALOG.image(newest), only)
    if result.model is not None:  # the typed model of alibabacloud-ecs20140526
        assert result.model.image.image_id == newest
        assert result.model.image.size == CATALOG.image(newest).raw["size_gib"]


def test_every_public_family_resolves(sdk):
    families = sorted({i.family for i in CATALOG.visible(HZ)})
    assert len(families) > 30
    for family in families:
        body = sdk.call("DescribeImageFromFamily", {"RegionId": HZ, "ImageFamily": family}).body
        assert body["Image"]["ImageId"] == CATALOG.newest_in_family(HZ, family).id, family


@pytest.mark.parametrize(
    "region,family",
    [
        (HZ, "acs:no_such_family"),
        (HZ, "my-family"),
        # RHEL 6.9 is published in Hangzhou and Beijing only.
        ("cn-shanghai", "acs:rhel_6_9_x64"),
    ],
)
def test_family_without_an_image_gives_an_empty_image(sdk, region, family):
    assert CATALOG.newest_in_family(region, family) is None
    body = sdk.call("DescribeImageFromFamily", {"RegionId": region, "ImageFamily": family}).body
    assert isinstance(body["RequestId"], str) and body["RequestId"]
    assert body.get("Image") in ({}, None), body


def test_region_limited_family_resolves_where_published(sdk):
    result = sdk.call(
        "DescribeImageFromFamily", {"RegionId": "cn-beijing", "ImageFamily": "acs:rhel_6_9_x64"}
    )
    only = None if result.model is None else FAMILY_MODEL_FIELDS
    check_public_image(result.body["Image"], CATALOG.image("rhel_6_09_64_20G_alibase_20180208.vhd"), only)
