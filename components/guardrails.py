"""Checks shared by the stack config validation and the policy pack.

Where the config model refuses something before any resource is declared and a policy
refuses the same thing in a preview, both call the function here, so the rule and its
message live in one place.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .gpu import gpu_families_hint, gpu_spec, pool_max_gpus

EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""All five EKS control-plane log types."""

REQUIRED_TAGS = ("owner", "environment", "cost-center")
"""Tags every taggable AWS resource carries (cost allocation and ownership)."""


@dataclass(frozen=True)
class GpuBudget:
    max_gpus_per_pool: int
    max_gpus_total: int
    allow_spot: bool


@dataclass(frozen=True)
class PoolCapacity:
    name: str
    instance_types: Sequence[str]
    max_size: int
    capacity_type: str


def open_to_world(cidrs: Iterable[str]) -> list[str]:
    """The CIDRs in `cidrs` that admit every address (x.x.x.x/0)."""
    found = []
    for cidr in cidrs:
        try:
            if ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
                found.append(cidr)
        except ValueError:
            continue
    return found


def public_endpoint_message(cidrs: Iterable[str]) -> str:
    return (
        f"public API endpoint open to {', '.join(cidrs)}; list only the CIDRs that must reach it "
        "(VPN or office egress), or turn the public endpoint off"
    )


def non_gpu_instance_types(instance_types: Iterable[str]) -> list[str]:
    return [t for t in instance_types if gpu_spec(t) is None]


def non_gpu_message(bad: Sequence[str]) -> str:
    return (
        f"{', '.join(bad)} {'is not a GPU instance type' if len(bad) == 1 else 'are not GPU instance types'}; "
        f"allowed: NVIDIA instance types ({gpu_families_hint()})"
    )


def pool_budget_message(pool: PoolCapacity, gpus: int, limit: int) -> str:
    return (
        f"GPU pool '{pool.name}' can reach {gpus} GPUs ({pool.max_size} x {'/'.join(pool.instance_types)}); "
        f"the budget allows {limit} per pool"
    )


def total_budget_message(total: int, limit: int) -> str:
    return f"GPU pools can reach {total} GPUs in total; the budget allows {limit}"


def spot_message(pool_name: str) -> str:
    return f"GPU pool '{pool_name}' uses SPOT capacity, which this environment does not allow; use ON_DEMAND"


def gpu_budget_violations(pools: Sequence[PoolCapacity], budget: GpuBudget) -> list[tuple[int | None, str]]:
    """Every way `pools` break `budget`, as (pool index or None for the whole stack, message)."""
    found: list[tuple[int | None, str]] = []
    total = 0
    for index, pool in enumerate(pools):
        gpus = pool_max_gpus(pool.instance_types, pool.max_size)
        total += gpus
        if gpus > budget.max_gpus_per_pool:
            found.append((index, pool_budget_message(pool, gpus, budget.max_gpus_per_pool)))
        if pool.capacity_type == "SPOT" and not budget.allow_spot:
            found.append((index, spot_message(pool.name)))
    if total > budget.max_gpus_total:
        found.append((None, total_budget_message(total, budget.max_gpus_total)))
    return found
