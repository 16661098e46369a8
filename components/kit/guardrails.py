"""Checks shared by the stack config validation and the policy pack.

Where the config model refuses something before any resource is declared and a policy
refuses the same thing in a preview, both call the function here, so the rule and its
message live in one place.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .gpu import GPU_RESOURCE, gpu_families, gpu_spec, pool_max_gpus, why_not_gpu

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
    """ON_DEMAND, SPOT or SPOT_OR_ON_DEMAND."""
    gpu_limit: int | None = None
    """A Karpenter NodePool's `nvidia.com/gpu` limit: the pool's cap, whatever its instance types."""

    @property
    def max_gpus(self) -> int:
        if self.gpu_limit is not None:
            return self.gpu_limit
        return pool_max_gpus(self.instance_types, self.max_size)

    def describe_reach(self) -> str:
        if self.gpu_limit is not None:
            return f"its {GPU_RESOURCE} limit"
        return f"{self.max_size} x {'/'.join(self.instance_types)}"


NODE_GROUP_TYPE = "aws:eks/nodeGroup:NodeGroup"
NODE_POOL_TYPE = "kubernetes:karpenter.sh/v1:NodePool"
KARPENTER_CAPACITY_TYPES = frozenset({"on-demand", "spot", "reserved"})
"""karpenter.sh/capacity-type values (reserved: EC2 capacity reservations, billed like on-demand)."""


INSTANCE_TYPE_KEY = "node.kubernetes.io/instance-type"


def node_pool_template(props: Any) -> Any:
    """A NodePool's node template spec (requirements, taints), {} when it has none."""
    return (((props.get("spec") or {}).get("template") or {}).get("spec")) or {}


def _terms(requirements: Any, key: str) -> list[Any]:
    """A NodePool's requirements on `key`. Mapping/Sequence, not dict/list: the policy engine hands
    rules read-only proxies of both."""
    listed = requirements if isinstance(requirements, Sequence) and not isinstance(requirements, str) else []
    return [item for item in listed if isinstance(item, Mapping) and item.get("key") == key]


def node_pool_requirement(requirements: Any, key: str) -> list[str] | None:
    """The values a NodePool allows for `key` (In only), or None when it does not restrict it."""
    for item in _terms(requirements, key):
        if item.get("operator") == "In":
            return [str(v) for v in item.get("values") or []]
    return None


def node_pool_instance_types(props: Any) -> list[str] | None:
    """The instance types a NodePool lists (In), or None when it does not restrict them."""
    return node_pool_requirement(node_pool_template(props).get("requirements"), INSTANCE_TYPE_KEY)


def node_pool_capacity_types(requirements: Any) -> set[str]:
    """The capacity types a NodePool's karpenter.sh/capacity-type requirements leave Karpenter, however
    they are written (In, NotIn, Exists; every requirement on the key must hold). Karpenter launches
    on-demand when none names the key."""
    terms = _terms(requirements, "karpenter.sh/capacity-type")
    if not terms:
        return {"on-demand"}
    allowed = set(KARPENTER_CAPACITY_TYPES)
    for term in terms:
        values = {str(v) for v in term.get("values") or []}
        operator = term.get("operator")
        if operator == "In":
            allowed &= values
        elif operator == "NotIn":
            allowed -= values
        elif operator == "DoesNotExist":
            allowed = set()
    return allowed


def node_pool_gpu_limit(props: Any) -> int | None:
    """A NodePool's `nvidia.com/gpu` limit (None when it has none or it is not a whole number)."""
    limit = ((props.get("spec") or {}).get("limits") or {}).get(GPU_RESOURCE)
    try:
        value = float(str(limit))
    except ValueError:
        return None
    return int(value) if value.is_integer() and value >= 0 else None


def node_pool_may_launch_gpus(props: Any) -> bool:
    """Whether a NodePool can start GPU instances: unless its instance-type requirement lists only
    types without GPUs, Karpenter may pick one for a pod that asks for GPUs."""
    types = node_pool_instance_types(props)
    return types is None or any(gpu_spec(t) is not None for t in types)


def declared_gpu_pool(resource_type: str, name: str, props: Any) -> PoolCapacity | None:
    """The GPU capacity a resource declares - an EKS managed node group or a Karpenter NodePool - or
    None when it can start no GPU node. What the plan's GPU table and the policy pack's budget read."""
    if resource_type == NODE_GROUP_TYPE:
        types = [str(t) for t in props.get("instanceTypes") or []]
        if not any(gpu_spec(t) for t in types):
            return None
        return PoolCapacity(
            name=name,
            instance_types=[t for t in types if gpu_spec(t)],
            max_size=int((props.get("scalingConfig") or {}).get("maxSize") or 0),
            capacity_type=str(props.get("capacityType") or "ON_DEMAND"),
        )
    if resource_type == NODE_POOL_TYPE and node_pool_may_launch_gpus(props):
        types = node_pool_instance_types(props) or []
        capacity = node_pool_capacity_types(node_pool_template(props).get("requirements"))
        limit = node_pool_gpu_limit(props)
        return PoolCapacity(
            name=name,
            instance_types=[t for t in types if gpu_spec(t)],
            max_size=0,
            capacity_type=(
                "SPOT" if capacity == {"spot"} else "SPOT_OR_ON_DEMAND" if "spot" in capacity else "ON_DEMAND"
            ),
            gpu_limit=limit,
        )
    return None


NOT_GLOBALLY_REACHABLE = tuple(
    ipaddress.IPv4Network(cidr)
    for cidr in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private (RFC 1918)
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # private (RFC 1918)
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # private (RFC 1918)
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
"""IANA's IPv4 special-purpose ranges that are not globally reachable: no client on the internet has
such an address, so none can reach a public endpoint from one."""

PUBLIC_ENDPOINT_MAX_PREFIX = 8
"""Prod: the public API endpoint may admit at most a /8 worth of public IPv4 addresses."""


def _networks(cidrs: Iterable[str]) -> list[ipaddress.IPv4Network]:
    found = []
    for cidr in cidrs:
        try:
            found.append(ipaddress.IPv4Network(cidr, strict=False))
        except ValueError:
            continue
    return found


def public_addresses(cidrs: Iterable[str]) -> int:
    """How many globally reachable IPv4 addresses the union of `cidrs` covers."""
    remaining = list(ipaddress.collapse_addresses(_networks(cidrs)))
    for special in NOT_GLOBALLY_REACHABLE:
        kept: list[ipaddress.IPv4Network] = []
        for network in remaining:
            if network.subnet_of(special):
                continue
            kept.extend(network.address_exclude(special) if special.subnet_of(network) else [network])
        remaining = kept
    return sum(network.num_addresses for network in remaining)


def unreachable_cidrs(cidrs: Iterable[str]) -> list[str]:
    """The CIDRs entirely inside ranges no internet client can have (private, reserved, documentation)."""
    return [
        cidr for cidr, network in zip(cidrs, _networks(cidrs), strict=False) if public_addresses([str(network)]) == 0
    ]


def too_wide_for_prod(cidrs: Iterable[str]) -> bool:
    return public_addresses(cidrs) > 1 << (32 - PUBLIC_ENDPOINT_MAX_PREFIX)


def public_endpoint_message(cidrs: Sequence[str]) -> str:
    covered = public_addresses(cidrs)
    return (
        f"public API endpoint open to {covered:,} public addresses through {', '.join(cidrs)} (more than a "
        f"/{PUBLIC_ENDPOINT_MAX_PREFIX}); list only the CIDRs that must reach it (VPN or office egress), "
        "or turn the public endpoint off"
    )


def unreachable_message(cidrs: Sequence[str]) -> str:
    return (
        f"{', '.join(cidrs)} {'is' if len(cidrs) == 1 else 'are'} private or reserved address space: no client on "
        "the internet has such an address, so it can never reach a public endpoint (EKS refuses it too); "
        "list your public egress CIDRs, or turn the public endpoint off and reach the API from the VPC"
    )


def non_gpu_instance_types(instance_types: Iterable[str]) -> list[str]:
    return [t for t in instance_types if gpu_spec(t) is None]


def non_gpu_message(bad: Sequence[str]) -> str:
    return (
        "; ".join(why_not_gpu(t) for t in bad)
        + f". A GPU pool holds NVIDIA GPU instance types for x86_64 (families {', '.join(gpu_families())})"
    )


def pool_budget_message(pool: PoolCapacity, gpus: int, limit: int) -> str:
    return f"GPU pool '{pool.name}' can reach {gpus} GPUs ({pool.describe_reach()}); the budget allows {limit} per pool"


def unbounded_pool_message(name: str) -> str:
    return (
        f"Karpenter NodePool '{name}' can launch GPU instances but has no {GPU_RESOURCE} limit, so nothing caps its "
        f"GPUs; set spec.limits[{GPU_RESOURCE}] within the budget (or list only non-GPU instance types)"
    )


def total_budget_message(total: int, limit: int) -> str:
    return f"GPU pools can reach {total} GPUs in total; the budget allows {limit}"


def spot_message(pool_name: str) -> str:
    return f"GPU pool '{pool_name}' uses SPOT capacity, which this environment does not allow; use ON_DEMAND"


MAY_USE_SPOT = frozenset({"SPOT", "SPOT_OR_ON_DEMAND"})
"""Capacity types that can put a pool on spot instances."""
SPOT_ONLY = "SPOT"
"""The capacity type with no on-demand fallback (SPOT_OR_ON_DEMAND falls back)."""


def spot_only_pools(pools: Sequence[PoolCapacity]) -> list[str]:
    return [p.name for p in pools if p.capacity_type == SPOT_ONLY]


def spot_only_serving_message(endpoint: str, pools: Sequence[str]) -> str:
    return (
        f"endpoint '{endpoint}' can be served from spot-only GPU pool(s) {', '.join(pools)}: one spot reclaim can take "
        "every replica at once, which prod does not allow; serve it from an ON_DEMAND or SPOT_OR_ON_DEMAND pool"
    )


def gpu_budget_violations(pools: Sequence[PoolCapacity], budget: GpuBudget) -> list[tuple[int | None, str]]:
    """Every way `pools` break `budget`, as (pool index or None for the whole stack, message)."""
    found: list[tuple[int | None, str]] = []
    total = 0
    for index, pool in enumerate(pools):
        gpus = pool.max_gpus
        total += gpus
        if gpus > budget.max_gpus_per_pool:
            found.append((index, pool_budget_message(pool, gpus, budget.max_gpus_per_pool)))
        if pool.capacity_type in MAY_USE_SPOT and not budget.allow_spot:
            found.append((index, spot_message(pool.name)))
    if total > budget.max_gpus_total:
        found.append((None, total_budget_message(total, budget.max_gpus_total)))
    return found


# --------------------------------------------------------------------------- EKS Pod Identity trust

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
POD_IDENTITY_ACTIONS = ("sts:AssumeRole", "sts:TagSession")
POD_IDENTITY_SCOPE = {
    "kubernetes-namespace": "namespace",
    "kubernetes-service-account": "service account",
    "eks-cluster-arn": "cluster",
}
"""Session tags EKS Pod Identity sets on every assume (tag -> what it pins) that a role's trust must
match exactly, one value each: the form the EKS User Guide documents ("Create IAM role with trust
policy required by EKS Pod Identity", session tags from "Enable or disable session tags")."""


def pod_identity_trust_statement(namespace: str, service_account: str, cluster_arn: str) -> dict[str, Any]:
    """The trust statement of a role only Pod Identity associations for `namespace`/`service_account`
    in the cluster `cluster_arn` can use."""
    values = {
        "kubernetes-namespace": namespace,
        "kubernetes-service-account": service_account,
        "eks-cluster-arn": cluster_arn,
    }
    return {
        "Effect": "Allow",
        "Principal": {"Service": POD_IDENTITY_SERVICE},
        "Action": list(POD_IDENTITY_ACTIONS),
        "Condition": {"StringEquals": {f"aws:RequestTag/{tag}": value for tag, value in values.items()}},
    }


def _listed(value: Any) -> list[str]:
    """A policy field's values as strings: one value or several (Sequence, not list: the policy engine
    hands rules read-only proxies of a document given as an object)."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, Sequence) and not isinstance(value, str) else [str(value)]


def pod_identity_trust_problems(statement: Mapping[str, Any]) -> list[str]:
    """What keeps an Allow statement trusting pods.eks.amazonaws.com from the documented, scoped form:
    each problem completes "trusts pods.eks.amazonaws.com ..."."""
    actions = _listed(statement.get("Action"))
    problems = []
    if "sts:TagSession" not in actions and "sts:*" not in actions:
        problems.append("without sts:TagSession: Pod Identity tags the session, so every assume is denied")
    conditions = statement.get("Condition") or {}
    if not isinstance(conditions, Mapping):
        conditions = {}
    keys = {
        str(key).lower(): (str(operator), value)
        for operator, block in conditions.items()
        for key, value in (block or {}).items()
    }
    if "aws:sourcearn" in keys:
        problems.append(
            "with aws:SourceArn, which Pod Identity does not set to the cluster's ARN: every assume is denied; "
            "scope it by the session tags instead (aws:RequestTag/kubernetes-namespace, "
            "aws:RequestTag/kubernetes-service-account, aws:RequestTag/eks-cluster-arn)"
        )
    for tag, what in POD_IDENTITY_SCOPE.items():
        operator, value = keys.get(f"aws:requesttag/{tag}", ("", None))
        values = _listed(value)
        if not values:
            problems.append(
                f"for any {what} (no StringEquals on aws:RequestTag/{tag}): any Pod Identity association in the "
                f"account can hand it out; pin it to one {what}"
            )
        elif operator != "StringEquals" or len(values) != 1 or any(c in values[0] for c in "*?"):
            problems.append(
                f"for {what}s matching {operator} aws:RequestTag/{tag} = {', '.join(values)}; pin it with StringEquals "
                f"to exactly one {what}"
            )
    return problems
