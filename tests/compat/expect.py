"""Shared assertions: wire types the SDK models declare (reference §3) and catalog values."""

from __future__ import annotations

from catalog import Image, InstanceType, iso

# Declared types of DescribeImagesResponseBodyImagesImage (reference §3).
STR_FIELDS = (
    "ImageId", "ImageName", "Description", "ImageFamily", "ImageVersion", "Status", "Progress",
    "CreationTime", "Architecture", "OSType", "Platform", "OSName", "OSNameEn",
    "ImageOwnerAlias", "IsSelfShared", "ProductCode", "SupplierName", "Usage", "BootMode",
    "LicenseType", "ResourceGroupId",
)
INT_FIELDS = ("Size", "ImageOwnerId")
BOOL_FIELDS = (
    "IsCopied", "IsSubscribed", "IsSupportIoOptimized", "IsSupportCloudinit", "IsPublic",
    "LoginAsNonRootSupported", "Usable",
)
REQUIRED_FIELDS = (
    "ImageId", "ImageName", "ImageFamily", "ImageVersion", "Description", "Status", "Progress",
    "CreationTime", "Size", "Architecture", "OSType", "Platform", "OSName", "OSNameEn",
    "ImageOwnerAlias", "IsSupportIoOptimized", "IsSupportCloudinit", "BootMode", "Features",
)


def is_int(v) -> bool:
    return type(v) is int  # bool is an int subclass in Python


# The fields the SDK model of DescribeImageFromFamily's `Image` declares (reference §5.12): the
# typed SDKs drop the rest (OSNameEn, BootMode, Features, ...) while deserialising.
FAMILY_MODEL_FIELDS = (
    "ImageId", "ImageName", "ImageFamily", "ImageVersion", "Status", "Progress", "Size",
    "Architecture", "OSType", "OSName", "Platform", "Description", "CreationTime",
    "ImageOwnerAlias", "IsCopied", "IsSelfShared", "IsSubscribed", "IsSupportCloudinit",
    "IsSupportIoOptimized", "ProductCode", "Usage", "DiskDeviceMappings", "Tags",
)


def check_types(img: dict, required=REQUIRED_FIELDS) -> None:
    missing = [f for f in required if f not in img]
    assert not missing, f"{img.get('ImageId')}: missing {missing}"
    for f in STR_FIELDS:
        if f in img:
            assert isinstance(img[f], str), f"{f} should be a string, got {img[f]!r}"
    for f in INT_FIELDS:
        if f in img:
            assert is_int(img[f]), f"{f} should be an integer, got {img[f]!r}"
    for f in BOOL_FIELDS:
        if f in img:
            assert isinstance(img[f], bool), f"{f} should be a boolean, got {img[f]!r}"
    if "DiskDeviceMappings" in img:
        ddm = img["DiskDeviceMappings"]
        assert isinstance(ddm, dict) and isinstance(ddm.get("DiskDeviceMapping", []), list), ddm
        for d in ddm.get("DiskDeviceMapping", []):
            if "Size" in d:
                assert isinstance(d["Size"], str), f"DiskDeviceMapping.Size should be a string: {d}"
    if "Tags" in img:
        assert isinstance(img["Tags"], dict) and isinstance(img["Tags"].get("Tag", []), list)
    if "Features" in img:
        assert isinstance(img["Features"], dict), img["Features"]


def check_public_image(img: dict, cat: Image, only=None) -> None:
    """A system image as DescribeImages or DescribeImageFromFamily shows it. `only`: the fields
    the SDK's model keeps (all when None)."""
    required = REQUIRED_FIELDS if only is None else [f for f in REQUIRED_FIELDS if f in only]
    check_types(img, required)
    raw = cat.raw
    expected = {
        "ImageId": cat.id,
        "ImageName": cat.name,
        "ImageFamily": cat.family,
        "ImageVersion": raw.get("version", ""),
        "Description": raw.get("description", ""),
        "OSName": raw["os_name"],
        "OSNameEn": raw["os_name_en"],
        "Platform": raw["platform"],
        "OSType": cat.os_type,
        "Architecture": cat.architecture,
        "BootMode": cat.boot_mode,
        "Size": raw["size_gib"],
        "Status": cat.status,
        "Progress": "100%",
        "CreationTime": iso(cat.created),
        "ImageOwnerAlias": "system",
        "IsSupportCloudinit": raw.get("is_support_cloudinit", True),
        "IsSupportIoOptimized": raw.get("is_support_io_optimized", True),
    }
    if only is not None:
        expected = {k: v for k, v in expected.items() if k in only}
    got = {k: img.get(k) for k in expected}
    assert got == expected
    if only is not None and "Features" not in only:
        return
    assert img["Features"].get("NvmeSupport") == cat.nvme
    if "imds_support" in raw:
        assert img["Features"].get("ImdsSupport") == raw["imds_support"]
    if "LoginAsNonRootSupported" in img:
        assert img["LoginAsNonRootSupported"] == raw.get("login_as_non_root_supported", False)


def check_instance_type(entry: dict, cat: InstanceType) -> None:
    assert entry["InstanceTypeId"] == cat.id
    assert entry["InstanceTypeFamily"] == cat.raw["family"]
    assert is_int(entry["CpuCoreCount"]) and entry["CpuCoreCount"] == cat.raw["cpu_core_count"]
    # MemorySize is a float in GiB (reference §5.13).
    assert isinstance(entry["MemorySize"], (int, float)) and not isinstance(entry["MemorySize"], bool)
    assert entry["MemorySize"] == cat.memory


def image_list(body: dict) -> list[dict]:
    """`Images.Image[]`, which must be the wrapped-list shape (reference §0.6)."""
    images = body["Images"]
    assert isinstance(images, dict), f"Images should be an object, got {images!r}"
    lst = images.get("Image", [])
    assert isinstance(lst, list), f"Images.Image should be a list, got {lst!r}"
    return lst
