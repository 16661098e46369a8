"""AWS facts from AWS's own data: EC2 `DescribeInstanceTypes` (vCPUs, memory, architectures, GPUs, instance store)
and `DescribeInstanceTypeOfferings` per availability zone, as moto ships them
(moto/ec2/resources/instance_types.json.gz and instance_type_offerings/availability-zone/<region>.json.gz).

The data files are read directly - moto is not imported, no server runs, nothing is mocked. The
regions are those moto has offerings for; their availability zones are the zones those offerings
name. Read once per process (about 0.1 s).
"""

from __future__ import annotations

import difflib
import gzip
import importlib.util
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

NVIDIA_AMI_ARCHITECTURE = "x86_64"
"""The EKS AL2023 NVIDIA AMI the GPU pools run is built for x86_64."""


@dataclass(frozen=True)
class Gpu:
    count: int
    """GPUs per instance (0 for a fractional share of one)."""
    manufacturer: str
    name: str
    """As AWS names it: T4, A10G, L4, A100, H100..."""
    memory_mib: int
    """Memory of one GPU."""

    @property
    def label(self) -> str:
        """Label-safe model name (the `mlops.platform/gpu-type` node label): nvidia-a10g."""
        return f"{self.manufacturer}-{self.name}".lower().replace(" ", "-")

    def describe(self) -> str:
        return f"{self.count} x {self.manufacturer} {self.name} {self.memory_mib // 1024} GiB"


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    architectures: tuple[str, ...]
    gpu: Gpu | None
    instance_store_gb: int = 0
    """Local NVMe (instance store) in GB, 0 for an EBS-only type."""


def _data_dir() -> Path:
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("moto is not installed: its EC2 data files back the config checks (`make venv`)")
    return Path(next(iter(spec.submodule_search_locations))) / "ec2" / "resources"


def _read(path: Path) -> object:
    with gzip.open(path, "rt") as handle:
        return json.load(handle)


@cache
def instance_types() -> dict[str, InstanceType]:
    data = _read(_data_dir() / "instance_types.json.gz")
    assert isinstance(data, dict)
    found = {}
    for name, item in data.items():
        gpus = (item.get("GpuInfo") or {}).get("Gpus") or []
        gpu = None
        if gpus:
            first = gpus[0]
            gpu = Gpu(
                count=sum(int(g.get("Count", 0)) for g in gpus),
                manufacturer=str(first.get("Manufacturer", "")),
                name=str(first.get("Name", "")),
                memory_mib=int((first.get("MemoryInfo") or {}).get("SizeInMiB", 0)),
            )
        found[name] = InstanceType(
            name=name,
            vcpus=int((item.get("VCpuInfo") or {}).get("DefaultVCpus", 0)),
            memory_mib=int((item.get("MemoryInfo") or {}).get("SizeInMiB", 0)),
            architectures=tuple((item.get("ProcessorInfo") or {}).get("SupportedArchitectures", ())),
            gpu=gpu,
            instance_store_gb=int((item.get("InstanceStorageInfo") or {}).get("TotalSizeInGB", 0)),
        )
    return found


def instance_type(name: str) -> InstanceType | None:
    return instance_types().get(name)


@cache
def regions() -> tuple[str, ...]:
    folder = _data_dir() / "instance_type_offerings" / "availability-zone"
    return tuple(sorted(p.name.removesuffix(".json.gz") for p in folder.glob("*.json.gz")))


@cache
def zone_offerings(region: str) -> dict[str, frozenset[str]]:
    """Availability zone -> the instance types offered there ({} for an unknown region)."""
    path = _data_dir() / "instance_type_offerings" / "availability-zone" / f"{region}.json.gz"
    if not path.exists():
        return {}
    data = _read(path)
    assert isinstance(data, list)
    zones: dict[str, set[str]] = {}
    for offering in data:
        zones.setdefault(str(offering["Location"]), set()).add(str(offering["InstanceType"]))
    return {zone: frozenset(types) for zone, types in sorted(zones.items())}


def zones(region: str) -> list[str]:
    return list(zone_offerings(region))


def zones_offering(region: str, instance: str, among: Iterable[str]) -> list[str]:
    """The zones of `among` (in `region`) where `instance` is offered."""
    offered = zone_offerings(region)
    return [zone for zone in among if instance in offered.get(zone, frozenset())]


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """What a typo most likely meant: the closest candidates, alphabetically when they tie
    (`us-east-1 or us-east-2`); None if nothing is close."""
    options = list(candidates)
    scores = {c: difflib.SequenceMatcher(None, name, c).ratio() for c in options}
    best = max(scores.values(), default=0.0)
    if best < 0.8:
        return None
    return " or ".join(sorted(c for c, score in scores.items() if score == best))


def unknown_type_message(name: str) -> str:
    hint = closest(name, instance_types())
    return f"{name} is not an EC2 instance type" + (f" (did you mean {hint}?)" if hint else "")
