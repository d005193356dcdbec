"""What the shipped catalogs (data/*.toml) say the server must answer.

The expectations are derived here from the data files and the rules the reference documents
(reference §5.1, §5.12, §5.13, §7, and the rule list at the top of data/instance-types.toml),
not from the server's code, so a server that disagrees with its own catalog fails the tests.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"

REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing")


def iso(dt: datetime) -> str:
    """CreationTime on the wire: ISO 8601 UTC with seconds and a `Z`."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Image:
    raw: dict

    @property
    def id(self) -> str:
        return self.raw["id"]

    @property
    def name(self) -> str:
        return self.raw.get("name", self.raw["id"])

    @property
    def family(self) -> str:
        return self.raw["family"]

    @property
    def architecture(self) -> str:
        return self.raw["architecture"]

    @property
    def boot_mode(self) -> str:
        return self.raw["boot_mode"]

    @property
    def nvme(self) -> str:
        return self.raw["nvme_support"]

    @property
    def status(self) -> str:
        return self.raw.get("status", "Available")

    @property
    def created(self) -> datetime:
        return self.raw["creation_time"]

    @property
    def os_type(self) -> str:
        if "os_type" in self.raw:
            return self.raw["os_type"]
        return "windows" if self.raw["platform"].startswith("Windows") else "linux"

    def in_region(self, region: str) -> bool:
        return region in self.raw.get("regions", REGIONS)


@dataclass(frozen=True)
class InstanceType:
    raw: dict

    @property
    def id(self) -> str:
        return self.raw["id"]

    @property
    def memory(self) -> float:
        return float(self.raw["memory_gib"])

    @property
    def architecture(self) -> str:
        return self.raw["architecture"]


def arch_runs_on(image_arch: str, type_arch: str) -> bool:
    # i386 images run on x86_64 hosts; otherwise the architectures must match.
    return image_arch == type_arch or (image_arch == "i386" and type_arch == "x86_64")


def compatible(img: Image, ty: InstanceType) -> bool:
    """The documented rules: architecture; 32-bit only below 4 GiB; Windows from 1 GiB; the
    type boots the image's mode (UEFI-Preferred boots on either); NVMe-only types need
    NvmeSupport=supported."""
    if not arch_runs_on(img.architecture, ty.architecture):
        return False
    if img.architecture == "i386" and ty.memory >= 4.0:
        return False
    if img.os_type == "windows" and ty.memory < 1.0:
        return False
    modes = ty.raw["boot_modes"]
    if img.boot_mode == "UEFI-Preferred":
        if not modes:
            return False
    elif img.boot_mode not in modes:
        return False
    if ty.raw["nvme"] == "required" and img.nvme != "supported":
        return False
    return True


class Catalog:
    @cached_property
    def images(self) -> list[Image]:
        with open(DATA_DIR / "public-images.toml", "rb") as f:
            return [Image(i) for i in tomllib.load(f)["image"]]

    @cached_property
    def instance_types(self) -> list[InstanceType]:
        with open(DATA_DIR / "instance-types.toml", "rb") as f:
            return [InstanceType(t) for t in tomllib.load(f)["instance_type"]]

    def image(self, image_id: str) -> Image:
        (img,) = [i for i in self.images if i.id == image_id]
        return img

    def instance_type(self, type_id: str) -> InstanceType:
        (ty,) = [t for t in self.instance_types if t.id == type_id]
        return ty

    def visible(self, region: str, statuses=("Available",)) -> list[Image]:
        return [i for i in self.images if i.in_region(region) and i.status in statuses]

    def newest_in_family(self, region: str, family: str) -> Image | None:
        cands = [i for i in self.visible(region) if i.family == family]
        return max(cands, key=lambda i: i.created) if cands else None

    def supported_types(self, image_id: str) -> list[InstanceType]:
        img = self.image(image_id)
        return [t for t in self.instance_types if compatible(img, t)]


CATALOG = Catalog()
