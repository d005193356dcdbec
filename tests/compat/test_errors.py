"""Error mapping as each official Python client reports it (reference §1.8, §5.1, §6)."""

from __future__ import annotations

import pytest

from clients import ApiError, make_client

HZ = "cn-hangzhou"


def error_of(sdk, action, params) -> ApiError:
    with pytest.raises(ApiError) as e:
        sdk.call(action, params)
    err = e.value
    assert err.request_id, "errors carry a RequestId"
    return err


@pytest.mark.parametrize(
    "params,code,statuses",
    [
        ({"PageSize": 101}, "InvalidParameter", {400}),
        ({"PageSize": 0}, "InvalidParameter", {400}),
        ({"PageNumber": 0}, "InvalidParameter", {400}),
        ({"OSType": "solaris"}, "InvalidOSType", {404}),
        ({"Architecture": "sparc"}, "InvalidArchitecture", {404}),
        ({"Usage": "sometimes"}, "InvalidUsage", {404}),
        ({"ImageOwnerAlias": "nobody"}, "InvalidImageOwnerAlias.ValueNotSupported", {400}),
        ({"InstanceType": "ecs.nope.large"}, "InvalidInstanceType.ValueNotSupported", {400}),
        ({"Filter": [{"Key": "Colour", "Value": "blue"}]}, "InvalidFilterKey.NotFound", {404}),
        ({"Filter": [{"Key": "CreationStartTime", "Value": "yesterday"}]}, "InvalidFilterValue", {404}),
        ({"Filter": [{"Key": "NetworkType", "Value": "token-ring"}]}, "InvalidFilterValue.NetworkType", {400}),
        ({"IsPublic": True}, "InvalidImageOwnerAlias.PublicImageUnsupported", {400}),
        ({"ImageOwnerAlias": "system", "ImageOwnerId": 1234567890}, "InvalidOperation.ImageOwnerIdUnsupported", {400}),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_describe_images_parameter_errors(sdk, params, code, statuses):
    err = error_of(sdk, "DescribeImages", {"RegionId": HZ, **params})
    assert err.code == code
    assert err.status in statuses


@pytest.mark.parametrize(
    "action,params",
    [
        ("DescribeImages", {}),
        ("DescribeImageFromFamily", {"ImageFamily": "acs:centos_7_9_x64"}),
        ("DescribeImageSupportInstanceTypes", {"ImageId": "centos_7_9_x64_20G_alibase_20240321.vhd"}),
    ],
)
def test_unknown_region(sdk, action, params):
    err = error_of(sdk, action, {"RegionId": "cn-nowhere", **params})
    assert err.code == "InvalidRegionId.NotFound"
    assert err.status in (400, 404)


# The legacy SDK turns a 400 SignatureDoesNotMatch whose message ends in a StringToSign equal to
# its own ("...server string to sign is:<StringToSign>") into InvalidAccessKeySecret
# (aliyunsdkcore/client.py): that code proves the server computed the very same StringToSign.
WRONG_SECRET_CODE = {"v3": "SignatureDoesNotMatch", "v1": "SignatureDoesNotMatch",
                     "legacy": "InvalidAccessKeySecret"}


def test_wrong_secret_is_signature_does_not_match(server, client_kind):
    sdk = make_client(client_kind, server.endpoint, "testak", "not-the-secret")
    err = error_of(sdk, "DescribeRegions", {})
    assert err.code == WRONG_SECRET_CODE[client_kind]
    if client_kind == "legacy":
        assert err.status == 400  # the SDK only translates a 400
    else:
        assert err.status in (400, 403)
    if client_kind != "legacy":
        assert "string to sign" in err.message.lower(), err.message


def test_other_accounts_secret_does_not_sign_for_testak(server, client_kind):
    sdk = make_client(client_kind, server.endpoint, "testak", "othersecret")
    err = error_of(sdk, "DescribeImages", {"RegionId": HZ})
    assert err.code == WRONG_SECRET_CODE[client_kind]


def test_unknown_access_key(server, client_kind):
    sdk = make_client(client_kind, server.endpoint, "nosuchak", "testsecret")
    err = error_of(sdk, "DescribeRegions", {})
    assert err.code == "InvalidAccessKeyId.NotFound"
    assert err.status in (400, 404)


def test_missing_image_family(sdk):
    err = error_of(sdk, "DescribeImageFromFamily", {"RegionId": HZ})
    assert err.code == "MissingParameter"
    assert err.status == 400
    assert "ImageFamily" in err.message
