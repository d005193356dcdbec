"""DescribeRegions and DescribeInstanceTypes through every official Python client."""

from __future__ import annotations

from catalog import CATALOG, REGIONS
from expect import check_instance_type
from stencil_server import REGION_NAMES


def test_describe_regions_lists_the_configured_regions(sdk, server):
    body = sdk.call("DescribeRegions", {}).body
    assert isinstance(body["RequestId"], str) and body["RequestId"]
    wrapped = body["Regions"]
    assert isinstance(wrapped, dict), wrapped
    regions = wrapped["Region"]
    assert isinstance(regions, list), regions
    assert sorted(r["RegionId"] for r in regions) == sorted(REGIONS)
    for r in regions:
        assert r["LocalName"] == REGION_NAMES[r["RegionId"]]
        assert r["Status"] == "available"
        # The endpoint a client can reach the region at: the address the server listens on.
        assert r["RegionEndpoint"] == server.endpoint


def test_describe_regions_with_a_region_and_language(sdk):
    body = sdk.call("DescribeRegions", {"RegionId": "cn-beijing", "AcceptLanguage": "en-US"}).body
    assert sorted(r["RegionId"] for r in body["Regions"]["Region"]) == sorted(REGIONS)


def test_describe_instance_types_matches_the_catalog(sdk):
    body = sdk.call("DescribeInstanceTypes", {"RegionId": "cn-hangzhou"}).body
    wrapped = body["InstanceTypes"]
    assert isinstance(wrapped, dict), wrapped
    entries = wrapped["InstanceType"]
    assert isinstance(entries, list)
    assert sorted(e["InstanceTypeId"] for e in entries) == sorted(t.id for t in CATALOG.instance_types)
    for e in entries:
        check_instance_type(e, CATALOG.instance_type(e["InstanceTypeId"]))


def test_describe_instance_types_filters(sdk):
    body = sdk.call("DescribeInstanceTypes",
                    {"RegionId": "cn-hangzhou", "InstanceTypeFamily": "ecs.g7"}).body
    got = sorted(e["InstanceTypeId"] for e in body["InstanceTypes"]["InstanceType"])
    assert got == sorted(t.id for t in CATALOG.instance_types if t.raw["family"] == "ecs.g7")
    assert got == ["ecs.g7.large", "ecs.g7.xlarge"]
    body = sdk.call("DescribeInstanceTypes",
                    {"RegionId": "cn-hangzhou", "InstanceTypes": ["ecs.c7.large", "ecs.g8y.large"]}).body
    entries = body["InstanceTypes"]["InstanceType"]
    assert sorted(e["InstanceTypeId"] for e in entries) == ["ecs.c7.large", "ecs.g8y.large"]
    for e in entries:
        check_instance_type(e, CATALOG.instance_type(e["InstanceTypeId"]))
