"""NVIDIA GPU instance types on AWS: how many GPUs each has and of which model.

One table serves the stack config validation, the node-pool labels and autoscaler
hints, the plan report, and the policy pack's GPU budget rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GPU_RESOURCE = "nvidia.com/gpu"
"""Extended resource the NVIDIA device plugin advertises; also the taint key on GPU nodes."""
GPU_POOL_LABEL = "mlops.platform/gpu-pool"
"""Node label naming the GPU pool a node belongs to."""
GPU_TYPE_LABEL = "mlops.platform/gpu-type"
"""Node label naming the pool's GPU model."""
ACCELERATOR_LABEL = "accelerator"
"""Node label every GPU node carries (`nvidia`)."""


@dataclass(frozen=True)
class GpuSpec:
    gpus: int
    model: str
    """Label-safe GPU model name, used as the `node.kubernetes.io/gpu-type`-style label value."""


def _family(model: str, sizes: dict[str, int]) -> dict[str, GpuSpec]:
    return {size: GpuSpec(count, model) for size, count in sizes.items()}


_SINGLE_TO_QUAD = {
    "xlarge": 1,
    "2xlarge": 1,
    "4xlarge": 1,
    "8xlarge": 1,
    "16xlarge": 1,
    "12xlarge": 4,
    "24xlarge": 4,
    "48xlarge": 8,
}

_FAMILIES: dict[str, dict[str, GpuSpec]] = {
    "g4dn": _family(
        "nvidia-t4",
        {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1, "12xlarge": 4, "metal": 8},
    ),
    "g5": _family("nvidia-a10g", _SINGLE_TO_QUAD),
    "g6": _family("nvidia-l4", _SINGLE_TO_QUAD),
    "g6e": _family("nvidia-l40s", _SINGLE_TO_QUAD),
    "p3": _family("nvidia-v100", {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}),
    "p3dn": _family("nvidia-v100", {"24xlarge": 8}),
    "p4d": _family("nvidia-a100", {"24xlarge": 8}),
    "p4de": _family("nvidia-a100-80gb", {"24xlarge": 8}),
    "p5": _family("nvidia-h100", {"48xlarge": 8}),
    "p5e": _family("nvidia-h200", {"48xlarge": 8}),
    "p5en": _family("nvidia-h200", {"48xlarge": 8}),
}

GPU_INSTANCE_TYPES: dict[str, GpuSpec] = {
    f"{family}.{size}": spec for family, sizes in _FAMILIES.items() for size, spec in sizes.items()
}
"""Every x86_64 NVIDIA instance type the EKS AL2023 NVIDIA AMI supports, by name."""


def gpu_spec(instance_type: str) -> GpuSpec | None:
    """The GPU spec of an instance type, or None when it has no NVIDIA GPU we support."""
    return GPU_INSTANCE_TYPES.get(instance_type)


def gpus_per_node(instance_types: Iterable[str]) -> int:
    """The most GPUs one node of a pool with these instance types can have (0 if none is known)."""
    return max((spec.gpus for t in instance_types if (spec := gpu_spec(t))), default=0)


def pool_max_gpus(instance_types: Iterable[str], max_size: int) -> int:
    """Upper bound of GPUs a pool can hold when scaled to `max_size` nodes."""
    return gpus_per_node(instance_types) * max_size


def gpu_families_hint() -> str:
    return ", ".join(f"{family}.*" for family in _FAMILIES)
