"""DescribeImages through every official Python client (V3, V1 and the legacy SDK)."""

from __future__ import annotations

import math

import pytest

from catalog import CATALOG, iso
from clients import ApiError
from expect import check_public_image, image_list, is_int

HZ = "cn-hangzhou"


def describe_all(sdk, **params):
    body = sdk.call("DescribeImages", {"RegionId": HZ, "PageSize": 100, **params}).body
    images = image_list(body)
    assert body["TotalCount"] == len(images), "more than one page: raise PageSize"
    return body, images


def ids(images) -> list[str]:
    return [i["ImageId"] for i in images]


def test_system_images_page_through_total_count(sdk):
    expected = {i.id for i in CATALOG.visible(HZ)}
    assert len(expected) > 10  # several pages of 5
    pages = math.ceil(len(expected) / 5)
    seen = []
    for page in range(1, pages + 1):
        body = sdk.call(
            "DescribeImages",
            {"RegionId": HZ, "ImageOwnerAlias": "system", "PageSize": 5, "PageNumber": page},
        ).body
        assert is_int(body["TotalCount"]) and body["TotalCount"] == len(expected)
        assert is_int(body["PageNumber"]) and body["PageNumber"] == page
        assert is_int(body["PageSize"]) and body["PageSize"] == 5
        assert body["RegionId"] == HZ
        assert isinstance(body["RequestId"], str) and body["RequestId"]
        batch = image_list(body)
        want = 5 if page < pages else len(expected) - 5 * (pages - 1)
        assert len(batch) == want, f"page {page}"
        seen += ids(batch)
    assert len(seen) == len(set(seen)), "an image appeared on two pages"
    assert set(seen) == expected
    # One page past the end: empty, same total.
    body = sdk.call(
        "DescribeImages",
        {"RegionId": HZ, "ImageOwnerAlias": "system", "PageSize": 5, "PageNumber": pages + 1},
    ).body
    assert image_list(body) == []
    assert body["TotalCount"] == len(expected)


def test_defaults_are_page_1_of_10_available_images(sdk):
    body = sdk.call("DescribeImages", {"RegionId": HZ}).body
    assert body["PageNumber"] == 1
    assert body["PageSize"] == 10
    # No ImageOwnerAlias: system + self + others; there are no custom images yet.
    assert body["TotalCount"] == len(CATALOG.visible(HZ))
    images = image_list(body)
    assert len(images) == 10
    assert {i["Status"] for i in images} == {"Available"}


@pytest.mark.parametrize(
    "image_id",
    [
        "centos_7_9_x64_20G_alibase_20240321.vhd",
        "centos_6_08_32_40G_alibase_20170710.vhd",
        "win2022_21H2_x64_dtc_zh-cn_40G_uefi_alibase_20260114.vhd",
        "aliyun_3_arm64_20G_alibase_20240819.vhd",
        "debian_12_5_x64_20G_alibase_20240325.vhd",
        "rhel_7_05_64_20G_alibase_20180917.vhd",
    ],
)
def test_image_id_returns_the_catalog_entry(sdk, image_id):
    body, images = describe_all(sdk, ImageId=image_id)
    assert body["TotalCount"] == 1
    (img,) = images
    check_public_image(img, CATALOG.image(image_id))


def test_every_system_image_has_catalog_values_and_sdk_types(sdk):
    body, images = describe_all(sdk, ImageOwnerAlias="system")
    assert len(images) == len(CATALOG.visible(HZ))
    for img in images:
        check_public_image(img, CATALOG.image(img["ImageId"]))


def test_unknown_image_id_gives_an_empty_list(sdk):
    body = sdk.call("DescribeImages", {"RegionId": HZ, "ImageId": "m-bp1doesnotexist0000"}).body
    assert body["TotalCount"] == 0
    assert image_list(body) == []


def test_image_name_filter(sdk):
    # Exact name: exactly that image.
    name = "ubuntu_22_04_arm64_20G_alibase_20230712.vhd"
    _, images = describe_all(sdk, ImageName=name)
    assert ids(images) == [name]
    # ImageName is a fuzzy (substring) match (reference §5.1).
    _, images = describe_all(sdk, ImageName="centos_7_9")
    expected = {i.id for i in CATALOG.visible(HZ) if "centos_7_9" in i.name}
    assert len(expected) == 3
    assert set(ids(images)) == expected


def test_image_family_filter(sdk):
    _, images = describe_all(sdk, ImageFamily="acs:debian_12_x64")
    assert set(ids(images)) == {
        "debian_12_2_x64_20G_alibase_20231128.vhd",
        "debian_12_5_x64_20G_alibase_20240325.vhd",
    }


@pytest.mark.parametrize(
    "param,value",
    [("OSType", "windows"), ("OSType", "linux"), ("Architecture", "arm64"), ("Architecture", "i386")],
)
def test_os_type_and_architecture_filters(sdk, param, value):
    attr = {"OSType": "os_type", "Architecture": "architecture"}[param]
    expected = {i.id for i in CATALOG.visible(HZ) if getattr(i, attr) == value}
    assert expected
    _, images = describe_all(sdk, **{param: value})
    assert set(ids(images)) == expected
    assert {i[param] for i in images} == {value}


def test_instance_type_filter_hides_incompatible_images(sdk):
    ty = CATALOG.instance_type("ecs.g7.xlarge")  # 16 GiB, x86_64
    assert ty.memory >= 4
    _, images = describe_all(sdk, ImageOwnerAlias="system", InstanceType=ty.id)
    archs = {i["Architecture"] for i in images}
    assert "i386" not in archs and "arm64" not in archs
    assert set(ids(images)) == {i.id for i in CATALOG.visible(HZ)
                                if i.architecture == "x86_64"}


def test_instance_type_filter_on_a_small_type_keeps_32_bit_images(sdk):
    ty = CATALOG.instance_type("ecs.t5-lc1m2.small")  # 2 GiB, x86_64, BIOS only
    _, images = describe_all(sdk, ImageOwnerAlias="system", InstanceType=ty.id)
    got = set(ids(images))
    assert "centos_6_08_32_40G_alibase_20170710.vhd" in got
    assert "centos_7_9_uefi_x64_20G_alibase_20230816.vhd" not in got  # UEFI only
    assert got == {i.id for i in CATALOG.visible(HZ)
                   if i.architecture != "arm64" and i.boot_mode != "UEFI"}


def test_status_default_hides_deprecated_and_all_shows_them(sdk):
    deprecated = {i.id for i in CATALOG.images if i.status == "Deprecated" and i.in_region(HZ)}
    assert len(deprecated) == 2
    _, default = describe_all(sdk, ImageOwnerAlias="system")
    assert not deprecated & set(ids(default))
    _, everything = describe_all(sdk, ImageOwnerAlias="system", Status="ALL")
    assert set(ids(everything)) == {i.id for i in CATALOG.images if i.in_region(HZ)}
    _, only = describe_all(sdk, ImageOwnerAlias="system", Status="Deprecated")
    assert set(ids(only)) == deprecated
    assert {i["Status"] for i in only} == {"Deprecated"}
    _, both = describe_all(sdk, ImageOwnerAlias="system", Status="Available,Deprecated")
    assert len(both) == len(everything)


def test_region_scopes_the_catalog(sdk):
    _, shanghai = describe_all(sdk, RegionId="cn-shanghai", ImageOwnerAlias="system")
    expected = {i.id for i in CATALOG.visible("cn-shanghai")}
    assert "rhel_6_09_64_20G_alibase_20180208.vhd" not in expected
    assert set(ids(shanghai)) == expected


def test_creation_time_filters(sdk):
    start, end = "2024-01-01T00:00Z", "2024-03-01T00:00Z"
    _, images = describe_all(
        sdk,
        ImageOwnerAlias="system",
        Filter=[{"Key": "CreationStartTime", "Value": start},
                {"Key": "CreationEndTime", "Value": end}],
    )
    expected = {i.id for i in CATALOG.visible(HZ) if "2024-01-01" <= iso(i.created) < "2024-03-01"}
    assert len(expected) >= 3
    assert set(ids(images)) == expected
    _, after = describe_all(
        sdk, ImageOwnerAlias="system", Filter=[{"Key": "CreationStartTime", "Value": "2024-06-01T00:00Z"}]
    )
    assert set(ids(after)) == {i.id for i in CATALOG.visible(HZ) if iso(i.created) >= "2024-06-01"}


def test_tag_filter_matches_no_public_image(sdk):
    body = sdk.call(
        "DescribeImages",
        {"RegionId": HZ, "Tag": [{"Key": "env", "Value": "prod"}]},
    ).body
    assert body["TotalCount"] == 0
    assert image_list(body) == []


def test_owner_self_is_empty_for_both_accounts(sdk, other_sdk):
    for client in (sdk, other_sdk):
        body = client.call("DescribeImages", {"RegionId": HZ, "ImageOwnerAlias": "self"}).body
        assert body["TotalCount"] == 0
        assert image_list(body) == []


def test_second_account_sees_the_same_public_images(sdk, other_sdk):
    _, mine = describe_all(sdk, ImageOwnerAlias="system")
    _, theirs = describe_all(other_sdk, ImageOwnerAlias="system")
    assert sorted(ids(mine)) == sorted(ids(theirs))


def test_dry_run_raises_dry_run_operation(sdk):
    with pytest.raises(ApiError) as e:
        sdk.call("DescribeImages", {"RegionId": HZ, "DryRun": True})
    assert e.value.code == "DryRunOperation"
    assert e.value.status == 400
    assert e.value.request_id


@pytest.mark.parametrize(
    "name", ["名字 x+y/z!'()*~", "a&b=c%20d;e", "  spaced  out  ", "centos_7_9_x64+20G"]
)
def test_special_characters_survive_signing(sdk, name):
    # The server must verify the signature over these exactly as the SDK encoded them.
    body = sdk.call("DescribeImages", {"RegionId": HZ, "ImageName": name}).body
    assert body["TotalCount"] == 0
    assert image_list(body) == []


def test_boolean_filters(sdk):
    # The Python SDKs send True/False, capitalised (reference §0.4).
    everything = {i.id for i in CATALOG.visible(HZ)}
    _, io = describe_all(sdk, ImageOwnerAlias="system", IsSupportIoOptimized=True)
    assert set(ids(io)) == {i.id for i in CATALOG.visible(HZ)
                            if i.raw.get("is_support_io_optimized", True)} == everything
    _, no_cloudinit = describe_all(sdk, ImageOwnerAlias="system", IsSupportCloudinit=False)
    assert set(ids(no_cloudinit)) == {i.id for i in CATALOG.visible(HZ)
                                      if not i.raw.get("is_support_cloudinit", True)}


@pytest.mark.parametrize(
    "params",
    [
        {"ImageOwnerAlias": "others"},
        {"ImageOwnerAlias": "others", "IsPublic": True},
        {"ImageOwnerAlias": "marketplace"},
        {"Usage": "instance"},  # no instances run from public images here
        {"SnapshotId": "s-bp1doesnotexist0000"},
    ],
)
def test_filters_that_match_no_public_image(sdk, params):
    body = sdk.call("DescribeImages", {"RegionId": HZ, **params}).body
    assert body["TotalCount"] == 0
    assert image_list(body) == []


def test_usage_none_and_network_type_vpc_keep_every_image(sdk):
    expected = {i.id for i in CATALOG.visible(HZ)}
    _, images = describe_all(sdk, Usage="none")
    assert set(ids(images)) == expected
    _, images = describe_all(sdk, Filter=[{"Key": "NetworkType", "Value": "vpc"}])
    assert set(ids(images)) == expected
