"""NVIDIA GPU instance types on AWS: how many GPUs each has and of which model - from AWS's own
instance type data (components/aws_facts.py), not a hand-written list.

One source serves the stack config validation, the node-pool labels and autoscaler hints, the plan
report, and the policy pack's GPU rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import aws_facts

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
    """Label-safe GPU model name (the `mlops.platform/gpu-type` label value): nvidia-a10g."""
    memory_gib: int
    """Memory of one GPU."""

    def describe(self) -> str:
        return f"{self.gpus} x {self.model} ({self.memory_gib} GiB)"


def gpu_spec(instance_type: str) -> GpuSpec | None:
    """The GPU spec of an instance type a GPU pool can run: whole NVIDIA GPUs on x86_64 (the EKS
    NVIDIA AMI). None for anything else."""
    found = aws_facts.instance_type(instance_type)
    if found is None or found.gpu is None or aws_facts.NVIDIA_AMI_ARCHITECTURE not in found.architectures:
        return None
    gpu = found.gpu
    if gpu.manufacturer != "NVIDIA" or gpu.count < 1:
        return None
    return GpuSpec(gpu.count, gpu.label, round(gpu.memory_mib / 1024))


def why_not_gpu(instance_type: str) -> str:
    """Why an instance type cannot be in a GPU pool (it exists, or the message says it does not)."""
    found = aws_facts.instance_type(instance_type)
    if found is None:
        return aws_facts.unknown_type_message(instance_type)
    if found.gpu is None:
        return f"{instance_type} has no GPU"
    if found.gpu.manufacturer != "NVIDIA":
        return f"{instance_type} has {found.gpu.manufacturer} GPUs; the pools run NVIDIA's driver and device plugin"
    if aws_facts.NVIDIA_AMI_ARCHITECTURE not in found.architectures:
        return f"{instance_type} is {'/'.join(found.architectures)}; the EKS NVIDIA AMI the pools use is x86_64"
    return f"{instance_type} has a fractional GPU ({found.gpu.name}), which the device plugin cannot allocate"


def gpu_families() -> list[str]:
    """The instance families whose types a GPU pool can hold."""
    return sorted({name.split(".")[0] for name in aws_facts.instance_types() if gpu_spec(name) is not None})


def gpus_per_node(instance_types: Iterable[str]) -> int:
    """The most GPUs one node of a pool with these instance types can have (0 if none is known)."""
    return max((spec.gpus for t in instance_types if (spec := gpu_spec(t))), default=0)


def fewest_gpus_per_node(instance_types: Iterable[str]) -> int:
    """GPUs on the smallest node a pool with these instance types may get (0 if none is known)."""
    return min((spec.gpus for t in instance_types if (spec := gpu_spec(t))), default=0)


def pool_max_gpus(instance_types: Iterable[str], max_size: int) -> int:
    """Upper bound of GPUs a pool can hold when scaled to `max_size` nodes."""
    return gpus_per_node(instance_types) * max_size
