"""Sharing through the official SDK (reference §5.9-§5.11): every cell of the access table in
docs/access.md, the owner's sharing rules, and marketplace images.

Four accounts play the table's columns: the owner (testak), the account an image is shared with
(otherak, `friend`), and a third account (thirdak, `stranger`) that is the community viewer of a
published image and the "other account" of an image shared with `friend` only. Every call is
signed as the account of its column. The server is this module's own: it has 50 more accounts
(so the 50-account share limit can be reached) and a catalog with one marketplace image.
"""

from __future__ import annotations

import pytest

from clients import ApiError, make_client
from instance_helpers import (
    DEFAULT_TYPE, create_instance, delete, delete_quietly, run_one, stop, system_disk,
    wait_status,
)
from lifecycle_helpers import (
    ALL_STATUS, HZ, SH, assert_error, create_image, disks_of, export_and_wait, import_and_wait,
    mapping, put_object, snapshots, uniq, wait_image,
)
from stencil_server import ACCOUNTS, Server, serving

OWNER_ID, FRIEND_ID, STRANGER_ID = (a[0] for a in ACCOUNTS[:3])
NOT_FOUND = ("InvalidImageId.NotFound", 404)
# 50 accounts besides the three of every test server, for the share limit.
EXTRA_ACCOUNTS = [(f"40000000000000{n:02d}", f"extraak{n}", f"extrasecret{n}") for n in range(50)]
MARKET_ID = "m-bp1market0000000001"
MARKET_CODE = "cmjj0001"
MARKET_SUPPLIER = "Acme Software"

MARKET_CATALOG = f"""format_version = 1

[[image]]
id = "{MARKET_ID}"
name = "acme-appliance"
family = "acs:acme_appliance_x64"
os_name = "Acme Appliance 1.0 64位"
os_name_en = "Acme Appliance 1.0 64 bit"
platform = "Others Linux"
architecture = "x86_64"
boot_mode = "BIOS"
size_gib = 20
nvme_support = "supported"
creation_time = 2026-01-05T00:00:00Z
product_code = "{MARKET_CODE}"
supplier_name = "{MARKET_SUPPLIER}"
price_per_hour = 0.25
"""


# ---- the server, the accounts and the images ----

@pytest.fixture(scope="module")
def ssrv(tmp_path_factory):
    base = tmp_path_factory.mktemp("stencil-sharing")
    catalog = base / "market-images.toml"
    catalog.write_text(MARKET_CATALOG)
    extra = [f'[catalog]\npublic_images = "{catalog}"']
    for uid, ak, secret in EXTRA_ACCOUNTS:
        extra.append(f'[[account]]\nid = "{uid}"\naccess_key_id = "{ak}"\n'
                     f'access_key_secret = "{secret}"')
    with serving(Server(base, extra_config="\n\n".join(extra))) as srv:
        yield srv


@pytest.fixture(scope="module")
def owner(ssrv):
    return make_client("v3", ssrv.endpoint)


@pytest.fixture(scope="module")
def friend(ssrv):
    return make_client("v3", ssrv.endpoint, "otherak", "othersecret")


@pytest.fixture(scope="module")
def stranger(ssrv):
    return make_client("v3", ssrv.endpoint, "thirdak", "thirdsecret")


@pytest.fixture(scope="module")
def source_key(ssrv, std_disk):
    """The standard test disk as an object in the server's Hangzhou bucket."""
    return put_object(ssrv, std_disk)


def new_image(owner, key: str, family: str | None = None) -> str:
    """A fresh Available custom image of the owner (in a family of its own when asked)."""
    image = import_and_wait(owner, [mapping(key, "RAW")], ImageName=uniq("shr"))
    if family:
        owner.call("ModifyImageAttribute", {"RegionId": HZ, "ImageId": image["ImageId"],
                                            "ImageFamily": family})
    return image["ImageId"]


def share(owner, image_id: str, add=(), remove=(), **params) -> None:
    req = {"RegionId": HZ, "ImageId": image_id, **params}
    if add:
        req["AddAccount"] = list(add)
    if remove:
        req["RemoveAccount"] = list(remove)
    owner.call("ModifyImageSharePermission", req)


@pytest.fixture(scope="module")
def shared_img(owner, source_key):
    """An image of the owner shared with `friend` only, in a family of its own."""
    family = uniq("fam-shared")
    image_id = new_image(owner, source_key, family)
    share(owner, image_id, add=[FRIEND_ID])
    return {"ImageId": image_id, "Family": family}


@pytest.fixture(scope="module")
def community_img(owner, source_key):
    """An image of the owner published as a community image, in a family of its own."""
    family = uniq("fam-comm")
    image_id = new_image(owner, source_key, family)
    share(owner, image_id, IsPublic=True)
    return {"ImageId": image_id, "Family": family}


def listed(sdk, image_id: str, region: str = HZ, **params) -> dict | None:
    """The image as DescribeImages lists it to `sdk` (any status), or None."""
    body = sdk.call("DescribeImages", {"RegionId": region, "ImageId": image_id,
                                       "Status": ALL_STATUS, **params}).body
    images = body["Images"].get("Image", [])
    assert len(images) <= 1 and body["TotalCount"] == len(images), body
    return images[0] if images else None


def from_family(sdk, family: str) -> str | None:
    image = sdk.call("DescribeImageFromFamily", {"RegionId": HZ, "ImageFamily": family}).body
    return (image.get("Image") or {}).get("ImageId")


def share_permission(sdk, image_id: str, **params) -> dict:
    return sdk.call("DescribeImageSharePermission",
                    {"RegionId": HZ, "ImageId": image_id, **params}).body


def shared_accounts(owner, image_id: str) -> list[str]:
    body = share_permission(owner, image_id, PageSize=100)
    return [a["AliyunId"] for a in body["Accounts"]["Account"]]


# ---- the access table, row by row (docs/access.md) ----

def test_describe_images_without_alias_lists_own_shared_and_community_images(
        owner, friend, stranger, shared_img, community_img):
    mine = listed(owner, shared_img["ImageId"])
    assert (mine["ImageOwnerAlias"], mine["IsSelfShared"]) == ("self", "true")
    assert listed(owner, community_img["ImageId"])["IsSelfShared"] == "true"
    theirs = listed(friend, shared_img["ImageId"])
    assert theirs is not None, "shared-with lists the image"
    assert (theirs["ImageOwnerAlias"], theirs["ImageOwnerId"], theirs["IsSelfShared"],
            theirs["IsPublic"]) == ("others", int(OWNER_ID), "false", False)
    community = listed(stranger, community_img["ImageId"])
    assert (community["ImageOwnerAlias"], community["IsPublic"]) == ("others", True)
    assert listed(stranger, shared_img["ImageId"]) is None, "other account: not listed"


def test_describe_images_self_lists_the_owners_images_only(
        owner, friend, stranger, shared_img, community_img):
    assert listed(owner, shared_img["ImageId"], ImageOwnerAlias="self") is not None
    assert listed(friend, shared_img["ImageId"], ImageOwnerAlias="self") is None
    assert listed(stranger, community_img["ImageId"], ImageOwnerAlias="self") is None
    assert listed(stranger, shared_img["ImageId"], ImageOwnerAlias="self") is None


def test_describe_images_others_lists_images_shared_with_the_caller(
        owner, friend, stranger, shared_img, community_img):
    assert listed(owner, shared_img["ImageId"], ImageOwnerAlias="others") is None
    assert listed(friend, shared_img["ImageId"], ImageOwnerAlias="others") is not None
    assert listed(stranger, community_img["ImageId"], ImageOwnerAlias="others") is None
    assert listed(stranger, shared_img["ImageId"], ImageOwnerAlias="others") is None


def test_describe_images_others_public_lists_community_images(
        owner, friend, stranger, shared_img, community_img):
    pub = {"ImageOwnerAlias": "others", "IsPublic": True}
    assert listed(owner, community_img["ImageId"], **pub) is None
    assert listed(friend, shared_img["ImageId"], **pub) is None
    assert listed(stranger, community_img["ImageId"], **pub) is not None
    assert listed(stranger, shared_img["ImageId"], **pub) is None


def test_nobody_sees_the_image_in_another_region(owner, friend, stranger, shared_img,
                                                 community_img):
    for sdk in (owner, friend, stranger):
        for image in (shared_img, community_img):
            assert listed(sdk, image["ImageId"], region=SH) is None


def test_describe_image_from_family_follows_visibility(owner, friend, stranger, shared_img,
                                                       community_img):
    assert from_family(owner, shared_img["Family"]) == shared_img["ImageId"]
    assert from_family(friend, shared_img["Family"]) == shared_img["ImageId"]
    assert from_family(stranger, community_img["Family"]) == community_img["ImageId"]
    assert from_family(stranger, shared_img["Family"]) is None


def test_describe_image_support_instance_types_follows_visibility(
        owner, friend, stranger, shared_img, community_img):
    def types(sdk, image_id):
        body = sdk.call("DescribeImageSupportInstanceTypes",
                        {"RegionId": HZ, "ImageId": image_id}).body
        return body["InstanceTypes"]["InstanceType"]

    assert types(owner, shared_img["ImageId"])
    assert types(friend, shared_img["ImageId"])
    assert types(stranger, community_img["ImageId"])
    assert_error(stranger, "DescribeImageSupportInstanceTypes",
                 {"RegionId": HZ, "ImageId": shared_img["ImageId"]}, *NOT_FOUND)


def test_run_and_create_instance_from_shared_and_community_images(
        owner, friend, stranger, shared_img, community_img):
    made = []
    try:
        for sdk, image in ((owner, shared_img), (friend, shared_img), (stranger, community_img)):
            for launch in (run_one, create_instance):
                iid = launch(sdk, image["ImageId"])
                made.append((sdk, iid))
                assert system_disk(sdk, iid)["ImageId"] == image["ImageId"]
        assert_error(stranger, "RunInstances", {"RegionId": HZ, "ImageId": shared_img["ImageId"],
                                                "InstanceType": DEFAULT_TYPE}, *NOT_FOUND)
        assert_error(stranger, "CreateInstance", {"RegionId": HZ,
                                                  "ImageId": shared_img["ImageId"],
                                                  "InstanceType": DEFAULT_TYPE}, *NOT_FOUND)
    finally:
        for sdk, iid in made:
            delete_quietly(sdk, [iid])


def test_replace_system_disk_from_shared_and_community_images(
        owner, friend, stranger, shared_img, community_img):
    made = []
    try:
        for sdk, image in ((owner, shared_img), (friend, shared_img), (stranger, community_img)):
            iid = run_one(sdk, image["ImageId"])
            made.append((sdk, iid))
            stop(sdk, iid)
            body = sdk.call("ReplaceSystemDisk", {"InstanceId": iid,
                                                  "ImageId": image["ImageId"]}).body
            assert system_disk(sdk, iid)["DiskId"] == body["DiskId"]
        # The stranger's own instance, from the community image, cannot take the shared one.
        stranger_iid = made[-1][1]
        assert_error(stranger, "ReplaceSystemDisk",
                     {"InstanceId": stranger_iid, "ImageId": shared_img["ImageId"]}, *NOT_FOUND)
    finally:
        for sdk, iid in made:
            delete_quietly(sdk, [iid])


def test_modify_image_attribute_is_the_owners_only(owner, friend, stranger, shared_img,
                                                  community_img):
    for sdk, image in ((friend, shared_img), (stranger, community_img), (stranger, shared_img)):
        assert_error(sdk, "ModifyImageAttribute", {"RegionId": HZ, "ImageId": image["ImageId"],
                                                   "Description": "not yours"}, *NOT_FOUND)
    owner.call("ModifyImageAttribute", {"RegionId": HZ, "ImageId": shared_img["ImageId"],
                                        "Description": "still shared"})
    assert listed(friend, shared_img["ImageId"])["Description"] == "still shared"
    assert_error(owner, "ModifyImageAttribute", {"RegionId": HZ, "ImageId": shared_img["ImageId"],
                                                 "Status": "Deprecated"}, "ImageUseShared", 403)
    assert_error(owner, "ModifyImageAttribute", {"RegionId": HZ,
                                                 "ImageId": community_img["ImageId"],
                                                 "Status": "Deprecated"}, "ImageIsPublic", 403)
    assert listed(owner, shared_img["ImageId"])["Status"] == "Available"


def test_delete_image_refusals_by_column(owner, friend, stranger, shared_img, community_img):
    assert_error(friend, "DeleteImage", {"RegionId": HZ, "ImageId": shared_img["ImageId"]},
                 *NOT_FOUND)
    assert_error(stranger, "DeleteImage", {"RegionId": HZ, "ImageId": community_img["ImageId"]},
                 *NOT_FOUND)
    # The other account: ignored, as for an image that does not exist; the image stays.
    stranger.call("DeleteImage", {"RegionId": HZ, "ImageId": shared_img["ImageId"]})
    assert_error(owner, "DeleteImage", {"RegionId": HZ, "ImageId": shared_img["ImageId"]},
                 "ImageUseShared", 403)
    assert_error(owner, "DeleteImage", {"RegionId": HZ, "ImageId": community_img["ImageId"]},
                 "ImageIsPublic", 403)
    for image in (shared_img, community_img):
        assert listed(owner, image["ImageId"])["Status"] == "Available"


def test_export_image_is_the_owners_and_not_of_a_community_image(
        owner, friend, stranger, shared_img, community_img):
    for sdk, image in ((friend, shared_img), (stranger, community_img), (stranger, shared_img)):
        assert_error(sdk, "ExportImage", {"RegionId": HZ, "ImageId": image["ImageId"],
                                          "OSSBucket": f"stencil-{HZ}"}, *NOT_FOUND)
    assert_error(owner, "ExportImage", {"RegionId": HZ, "ImageId": community_img["ImageId"],
                                        "OSSBucket": f"stencil-{HZ}"}, "ImageNotSupported", 403)
    _, objects = export_and_wait(owner, shared_img["ImageId"])
    assert len(objects) == 1


def test_tags_of_the_image_are_the_owners_only(owner, friend, stranger, shared_img,
                                               community_img):
    def tag(sdk, image_id):
        sdk.call("TagResources", {"RegionId": HZ, "ResourceType": "image",
                                  "ResourceId": [image_id],
                                  "Tag": [{"Key": "team", "Value": "web"}]})

    def tags(sdk, image_id):
        body = sdk.call("ListTagResources", {"RegionId": HZ, "ResourceType": "image",
                                             "ResourceId": [image_id]}).body
        return [(t["TagKey"], t["TagValue"]) for t in body["TagResources"].get("TagResource", [])]

    tag(owner, shared_img["ImageId"])
    tag(owner, community_img["ImageId"])
    for sdk, image in ((friend, shared_img), (stranger, community_img), (stranger, shared_img)):
        with pytest.raises(ApiError) as e:
            tag(sdk, image["ImageId"])
        assert (e.value.code, e.value.status) == ("InvalidResourceId.NotFound", 404)
        assert_error(sdk, "UntagResources", {"RegionId": HZ, "ResourceType": "image",
                                             "ResourceId": [image["ImageId"]],
                                             "TagKey": ["team"]},
                     "InvalidResourceId.NotFound", 404)
        assert tags(sdk, image["ImageId"]) == []
    assert tags(owner, shared_img["ImageId"]) == [("team", "web")]


def test_share_actions_are_the_owners_only(owner, friend, stranger, shared_img, community_img):
    for sdk, image in ((friend, shared_img), (stranger, community_img), (stranger, shared_img)):
        iid = image["ImageId"]
        assert_error(sdk, "ModifyImageSharePermission",
                     {"RegionId": HZ, "ImageId": iid, "RemoveAccount": [FRIEND_ID]}, *NOT_FOUND)
        assert_error(sdk, "ModifyImageShareGroupPermission",
                     {"RegionId": HZ, "ImageId": iid, "AddGroup": ["all"]}, *NOT_FOUND)
        assert_error(sdk, "DescribeImageSharePermission", {"RegionId": HZ, "ImageId": iid},
                     *NOT_FOUND)
    assert shared_accounts(owner, shared_img["ImageId"]) == [FRIEND_ID]
    assert listed(stranger, shared_img["ImageId"]) is None, "nothing changed"


def test_the_images_snapshots_stay_the_owners(owner, friend, stranger, shared_img,
                                              community_img):
    for image in (shared_img, community_img):
        snap = disks_of(listed(owner, image["ImageId"]))[0]["SnapshotId"]
        assert [s["SnapshotId"] for s in snapshots(owner, [snap])] == [snap]
        assert_error(owner, "DeleteSnapshot", {"SnapshotId": snap}, "SnapshotCreatedImage", 403)
        for sdk in (friend, stranger):
            assert snapshots(sdk, [snap]) == []
            # Ignored, as for a snapshot that does not exist: the snapshot stays.
            sdk.call("DeleteSnapshot", {"SnapshotId": snap})
        assert [s["SnapshotId"] for s in snapshots(owner, [snap])] == [snap]


# ---- unsharing and unpublishing take effect at once ----

def test_unsharing_takes_effect_at_once_and_frees_the_image(owner, friend, source_key):
    family = uniq("fam-unshare")
    image_id = new_image(owner, source_key, family)
    share(owner, image_id, add=[FRIEND_ID])
    iid = run_one(friend, image_id)
    try:
        assert listed(friend, image_id) is not None
        share(owner, image_id, remove=[FRIEND_ID])
        assert listed(friend, image_id) is None
        assert listed(friend, image_id, ImageOwnerAlias="others") is None
        assert from_family(friend, family) is None
        assert_error(friend, "RunInstances", {"RegionId": HZ, "ImageId": image_id,
                                              "InstanceType": DEFAULT_TYPE}, *NOT_FOUND)
        assert listed(owner, image_id)["IsSelfShared"] == "false"
        # friend's instance keeps its disk; the owner may deprecate now.
        assert system_disk(friend, iid)["ImageId"] == image_id
        owner.call("ModifyImageAttribute", {"RegionId": HZ, "ImageId": image_id,
                                            "Status": "Deprecated"})
    finally:
        delete_quietly(friend, [iid])
    owner.call("DeleteImage", {"RegionId": HZ, "ImageId": image_id, "Force": True})
    assert listed(owner, image_id) is None


def test_unpublishing_hides_the_community_image_at_once(owner, stranger, source_key):
    image_id = new_image(owner, source_key)
    share(owner, image_id, IsPublic=True)
    assert listed(stranger, image_id, ImageOwnerAlias="others", IsPublic=True) is not None
    share(owner, image_id, IsPublic=False)
    assert listed(stranger, image_id) is None
    assert_error(stranger, "RunInstances", {"RegionId": HZ, "ImageId": image_id,
                                            "InstanceType": DEFAULT_TYPE}, *NOT_FOUND)
    owner.call("DeleteImage", {"RegionId": HZ, "ImageId": image_id})


# ---- the owner's rules (docs/access.md, reference §5.9-§5.11) ----

def test_describe_share_permission_pages_accounts_with_their_share_time(owner, source_key):
    image_id = new_image(owner, source_key)
    share(owner, image_id, add=[FRIEND_ID])
    share(owner, image_id, add=[STRANGER_ID])
    first = share_permission(owner, image_id, PageSize=1)
    assert (first["TotalCount"], first["PageNumber"], first["PageSize"]) == (2, 1, 1)
    assert (first["ImageId"], first["RegionId"]) == (image_id, HZ)
    (account,) = first["Accounts"]["Account"]
    assert account["AliyunId"] == FRIEND_ID, "oldest share first"
    assert isinstance(account["SharedTime"], str) and account["SharedTime"].endswith("Z")
    assert first["ShareGroups"]["ShareGroup"] == []
    second = share_permission(owner, image_id, PageSize=1, PageNumber=2)
    assert [a["AliyunId"] for a in second["Accounts"]["Account"]] == [STRANGER_ID]
    # Sharing again keeps the first time.
    share(owner, image_id, add=[FRIEND_ID])
    again = share_permission(owner, image_id, PageSize=1)["Accounts"]["Account"][0]
    assert again == account
    assert_error(owner, "DescribeImageSharePermission",
                 {"RegionId": HZ, "ImageId": image_id, "PageSize": 101},
                 "InvalidParameter", 400)
    share(owner, image_id, remove=[FRIEND_ID, STRANGER_ID])
    assert shared_accounts(owner, image_id) == []


def test_share_group_all_publishes_and_unpublishes(owner, stranger, source_key):
    image_id = new_image(owner, source_key)
    owner.call("ModifyImageShareGroupPermission", {"RegionId": HZ, "ImageId": image_id,
                                                   "AddGroup": ["all"]})
    body = share_permission(owner, image_id)
    assert body["ShareGroups"]["ShareGroup"] == [{"Group": "all"}]
    assert listed(stranger, image_id)["IsPublic"] is True
    owner.call("ModifyImageShareGroupPermission", {"RegionId": HZ, "ImageId": image_id,
                                                   "RemoveGroup": ["all"]})
    assert share_permission(owner, image_id)["ShareGroups"]["ShareGroup"] == []
    assert listed(stranger, image_id) is None
    err = assert_error(owner, "ModifyImageShareGroupPermission",
                       {"RegionId": HZ, "ImageId": image_id, "AddGroup": ["friends"]},
                       "InvalidGroup.Malformed", 400)
    assert "AddGroup.1" in err.message


def test_accounts_are_checked_and_beyond_ten_per_call_are_ignored(owner, source_key):
    image_id = new_image(owner, source_key)
    err = assert_error(owner, "ModifyImageSharePermission",
                       {"RegionId": HZ, "ImageId": image_id, "AddAccount": [OWNER_ID]},
                       "InvalidAccount.Forbbiden", 404)
    assert "AddAccount.1" in err.message
    err = assert_error(owner, "ModifyImageSharePermission",
                       {"RegionId": HZ, "ImageId": image_id,
                        "AddAccount": [FRIEND_ID, "9999999999999999"]},
                       "InvalidAccount.NotFound", 404)
    assert "AddAccount.2" in err.message
    assert shared_accounts(owner, image_id) == [], "a refused request changes nothing"
    # AddAccount.11 names an unknown account but is ignored, as the reference says.
    share(owner, image_id, add=[FRIEND_ID] * 10 + ["9999999999999999"])
    assert shared_accounts(owner, image_id) == [FRIEND_ID]
    share(owner, image_id, remove=[FRIEND_ID])


def test_an_image_is_shared_with_at_most_50_accounts(owner, source_key):
    image_id = new_image(owner, source_key)
    extra = [a[0] for a in EXTRA_ACCOUNTS]
    for i in range(0, 50, 10):
        share(owner, image_id, add=extra[i:i + 10])
    assert share_permission(owner, image_id)["TotalCount"] == 50
    assert_error(owner, "ModifyImageSharePermission",
                 {"RegionId": HZ, "ImageId": image_id, "AddAccount": [FRIEND_ID]},
                 "QuotaExceed.ShareImageUser", 403)
    # Removing one and adding another in one call stays within the limit.
    share(owner, image_id, add=[FRIEND_ID], remove=[extra[0]])
    assert share_permission(owner, image_id)["TotalCount"] == 50
    for i in range(0, 50, 10):
        share(owner, image_id, remove=extra[i:i + 10])
    share(owner, image_id, remove=[FRIEND_ID])
    assert share_permission(owner, image_id)["TotalCount"] == 0


def test_deprecated_images_cannot_be_shared_or_published(owner, source_key):
    image_id = new_image(owner, source_key)
    owner.call("ModifyImageAttribute", {"RegionId": HZ, "ImageId": image_id,
                                        "Status": "Deprecated"})
    for params in ({"AddAccount": [FRIEND_ID]}, {"IsPublic": True}):
        assert_error(owner, "ModifyImageSharePermission",
                     {"RegionId": HZ, "ImageId": image_id, **params},
                     "OperationDenied.InvalidImageStatus", 403)
    assert_error(owner, "ModifyImageShareGroupPermission",
                 {"RegionId": HZ, "ImageId": image_id, "AddGroup": ["all"]},
                 "OperationDenied.InvalidImageStatus", 403)
    # Taking access away is always allowed.
    share(owner, image_id, remove=[FRIEND_ID], IsPublic=False)


def test_community_images_are_not_shared_with_accounts(owner, community_img):
    assert_error(owner, "ModifyImageSharePermission",
                 {"RegionId": HZ, "ImageId": community_img["ImageId"],
                  "AddAccount": [FRIEND_ID]}, "Image.Public", 403)
    assert shared_accounts(owner, community_img["ImageId"]) == []


# ---- marketplace images ----

def market_view(sdk, region: str = HZ) -> dict | None:
    return listed(sdk, MARKET_ID, region=region, ImageOwnerAlias="marketplace")


def test_marketplace_images_are_listed_to_every_account_with_their_product(
        owner, friend, stranger):
    for sdk in (owner, friend, stranger):
        img = market_view(sdk)
        assert img is not None
        assert (img["ImageOwnerAlias"], img["ProductCode"], img["SupplierName"]) == (
            "marketplace", MARKET_CODE, MARKET_SUPPLIER)
        assert listed(sdk, MARKET_ID) is None, "the empty alias is system, self and others"
        assert market_view(sdk, SH) is not None, "published in every region"
    assert_error(owner, "ModifyImageAttribute", {"RegionId": HZ, "ImageId": MARKET_ID,
                                                 "Description": "mine now"},
                 "OperationDenied", 403)
    assert_error(owner, "ModifyImageSharePermission",
                 {"RegionId": HZ, "ImageId": MARKET_ID, "AddAccount": [FRIEND_ID]}, *NOT_FOUND)
    assert_error(owner, "DescribeImageSharePermission", {"RegionId": HZ, "ImageId": MARKET_ID},
                 *NOT_FOUND)


def test_is_subscribed_once_the_account_launched_from_the_product(friend, stranger):
    assert market_view(friend)["IsSubscribed"] is False
    iid = run_one(friend, MARKET_ID)
    try:
        assert market_view(friend)["IsSubscribed"] is True
        assert market_view(stranger)["IsSubscribed"] is False
    finally:
        delete(friend, iid)
    assert market_view(friend)["IsSubscribed"] is True, "the subscription outlives the instance"


def test_images_derived_from_marketplace_keep_the_product_and_stay_private(owner, stranger):
    iid = run_one(owner, MARKET_ID)
    try:
        wait_status(owner, [iid], "Running")
        image_id = create_image(owner, InstanceId=iid, ImageName=uniq("derived"))
        image = wait_image(owner, image_id, timeout=120)
        assert image["Status"] == "Available", image
    finally:
        delete(owner, iid)
    mine = listed(owner, image_id)
    assert (mine["ProductCode"], mine["ImageOwnerAlias"]) == (MARKET_CODE, "self")
    assert mine["IsSubscribed"] is True
    for params in ({"AddAccount": [FRIEND_ID]}, {"IsPublic": True}):
        assert_error(owner, "ModifyImageSharePermission",
                     {"RegionId": HZ, "ImageId": image_id, **params}, "ImageNotSupported", 403)
    assert_error(owner, "ExportImage", {"RegionId": HZ, "ImageId": image_id,
                                        "OSSBucket": f"stencil-{HZ}"}, "ImageNotSupported", 403)
    assert listed(stranger, image_id) is None
    owner.call("DeleteImage", {"RegionId": HZ, "ImageId": image_id})


def test_replace_system_disk_from_a_marketplace_image_subscribes_too(stranger, community_img):
    assert market_view(stranger)["IsSubscribed"] is False
    iid = run_one(stranger, community_img["ImageId"])
    try:
        stop(stranger, iid)
        stranger.call("ReplaceSystemDisk", {"InstanceId": iid, "ImageId": MARKET_ID})
        assert system_disk(stranger, iid)["ImageId"] == MARKET_ID
        assert market_view(stranger)["IsSubscribed"] is True
    finally:
        delete(stranger, iid)


# ---- the same calls through every SDK flavour ----

@pytest.mark.parametrize("kind", ["v1", "legacy"])
def test_share_actions_through_v1_and_the_legacy_sdk(ssrv, owner, friend, source_key, kind):
    sdk = make_client(kind, ssrv.endpoint)
    image_id = new_image(owner, source_key)
    sdk.call("ModifyImageSharePermission", {"RegionId": HZ, "ImageId": image_id,
                                            "AddAccount": [FRIEND_ID]})
    body = sdk.call("DescribeImageSharePermission", {"RegionId": HZ, "ImageId": image_id}).body
    assert [a["AliyunId"] for a in body["Accounts"]["Account"]] == [FRIEND_ID]
    assert listed(friend, image_id) is not None
    # The legacy SDK models the group as one scalar, `AddGroup1` (sent as `AddGroup.1`).
    group = {"AddGroup1": "all"} if kind == "legacy" else {"AddGroup": ["all"]}
    sdk.call("ModifyImageShareGroupPermission", {"RegionId": HZ, "ImageId": image_id, **group})
    assert listed(owner, image_id)["IsPublic"] is True
    sdk.call("ModifyImageSharePermission", {"RegionId": HZ, "ImageId": image_id,
                                            "RemoveAccount": [FRIEND_ID], "IsPublic": False})
    assert listed(friend, image_id) is None
    owner.call("DeleteImage", {"RegionId": HZ, "ImageId": image_id})
