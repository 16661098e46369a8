"""EKS: encrypted secrets, full control-plane logs, a restricted endpoint, cluster admin only for the
principals the config names (access entries, access policies, the aws-auth ConfigMap); nodes with
IMDSv2 whatever launches them (launch templates, instances, Karpenter EC2NodeClasses), GPU pools -
managed node groups or Karpenter NodePools - of GPU types only, tainted, within budget, and never
spot-only under a GPU InferenceService where the environment forbids it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from components.kit import guardrails
from components.kit.gpu import GPU_POOL_LABEL, GPU_RESOURCE, gpu_spec
from policies.rules.common import as_list, dig, resource_rule, setting, stack_rule
from policies.rules.kubernetes import KSERVE_COMPONENTS, containers

CLUSTER = {"aws:eks/cluster:Cluster"}
NODE_GROUP = {guardrails.NODE_GROUP_TYPE}
NODE_POOL = {guardrails.NODE_POOL_TYPE}
EC2_NODE_CLASS = {"kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"}
INFERENCE_SERVICE = {"kubernetes:serving.kserve.io/v1beta1:InferenceService"}
LAUNCH_TEMPLATE = {"aws:ec2/launchTemplate:LaunchTemplate"}
INSTANCE = {"aws:ec2/instance:Instance"}
ACCESS_ENTRY = {"aws:eks/accessEntry:AccessEntry"}
ACCESS_POLICY = {"aws:eks/accessPolicyAssociation:AccessPolicyAssociation"}
CONFIG_MAP = {"kubernetes:core/v1:ConfigMap"}
ADMIN_ACCESS_POLICIES = ("AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy")
ADMIN_GROUPS = ("system:masters",)
ADMINS_CONFIG = {
    "adminPrincipalArns": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "IAM principals that may administer the cluster (the stack's cluster.adminPrincipalArns).",
    }
}

BUDGET_CONFIG = {
    "maxGpusPerPool": {
        "type": "integer",
        "default": 8,
        "description": "Most GPUs one node group may reach at maxSize.",
    },
    "maxGpusTotal": {"type": "integer", "default": 16, "description": "Most GPUs all node groups together may reach."},
    "allowSpot": {"type": "boolean", "default": True, "description": "Whether GPU node groups may use SPOT capacity."},
}


def _budget(args: ResourceValidationArgs | StackValidationArgs) -> guardrails.GpuBudget:
    return guardrails.GpuBudget(
        max_gpus_per_pool=int(setting(args, BUDGET_CONFIG, "maxGpusPerPool")),
        max_gpus_total=int(setting(args, BUDGET_CONFIG, "maxGpusTotal")),
        allow_spot=bool(setting(args, BUDGET_CONFIG, "allowSpot")),
    )


def eks_secrets_encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = args.props.get("encryptionConfig")
    resources = [str(r) for r in as_list(dig(config, "resources"))]
    if "secrets" not in resources or not dig(config, "provider", "keyArn"):
        report(
            f"EKS cluster '{args.name}' does not encrypt Kubernetes secrets; set encryptionConfig with resources [secrets] and a KMS keyArn"
        )


def eks_control_plane_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    enabled = {str(t) for t in as_list(args.props.get("enabledClusterLogTypes"))}
    missing = [t for t in guardrails.EKS_LOG_TYPES if t not in enabled]
    if missing:
        report(f"EKS cluster '{args.name}' does not log {', '.join(missing)}; enable all five control-plane log types")


def eks_public_endpoint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    vpc = args.props.get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess") is False:  # AWS turns the public endpoint on when this is unset
        return
    cidrs = [str(c) for c in as_list(vpc.get("publicAccessCidrs"))]
    if not cidrs:
        report(
            f"EKS cluster '{args.name}' has a public endpoint without publicAccessCidrs (AWS opens it to 0.0.0.0/0); "
            "list the CIDRs that must reach it, or set endpointPublicAccess to false"
        )
        return
    if unreachable := guardrails.unreachable_cidrs(cidrs):
        report(f"EKS cluster '{args.name}': {guardrails.unreachable_message(unreachable)}")
    if guardrails.too_wide_for_prod(cidrs):
        report(f"EKS cluster '{args.name}': {guardrails.public_endpoint_message(cidrs)}")


def imdsv2_required(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in EC2_NODE_CLASS:
        # Karpenter's default (metadataOptions omitted or httpTokens unset) is required.
        tokens = dig(args.props, "spec", "metadataOptions", "httpTokens") or "required"
        if tokens != "required":
            report(
                f"EC2NodeClass '{args.name}' allows IMDSv1 (httpTokens {tokens}); set spec.metadataOptions.httpTokens to required"
            )
        return
    tokens = dig(args.props, "metadataOptions", "httpTokens")
    if tokens != "required":
        kind = "Launch template" if args.resource_type in LAUNCH_TEMPLATE else "EC2 instance"
        report(
            f"{kind} '{args.name}' allows IMDSv1 (httpTokens {tokens or 'unset'}); set metadataOptions.httpTokens to required"
        )


def _template_of(group: Any, templates: Mapping[str, Any]) -> Any:
    """The launch template a node group launches from: the one its launchTemplate input refers to (a
    property dependency), or whose explicit name it gives."""
    for dependency in (group.property_dependencies or {}).get("launchTemplate", []):
        if dependency.urn in templates:
            return templates[dependency.urn]
    name = dig(group.props, "launchTemplate", "name")
    return next((t for t in templates.values() if name and t.props.get("name") == name), None)


def node_groups_imdsv2(args: StackValidationArgs, report: ReportViolation) -> None:
    """A managed node group without a launch template of this stack runs EKS's default one, which
    leaves IMDSv1 on: every pod could read the node role's credentials."""
    templates = {r.urn: r for r in args.resources if r.resource_type in LAUNCH_TEMPLATE}
    for group in (r for r in args.resources if r.resource_type in NODE_GROUP):
        template = _template_of(group, templates)
        if template is None:
            report(
                f"Node group '{group.name}' has no launch template of this stack (EKS's default leaves IMDSv1 on); "
                "launch it from a template with metadataOptions.httpTokens required",
                group.urn,
            )
        elif dig(template.props, "metadataOptions", "httpTokens") != "required":
            report(
                f"Node group '{group.name}' launches from '{template.name}', which allows IMDSv1; set its "
                "metadataOptions.httpTokens to required",
                group.urn,
            )


def gpu_pool_gpu_types(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in NODE_POOL:
        if not _is_gpu_node_pool(args.props):
            return
        types = [str(t) for t in guardrails.node_pool_instance_types(args.props) or []]
    else:
        if not _is_gpu_group(args.props):
            return
        types = [str(t) for t in as_list(args.props.get("instanceTypes"))]
    if bad := guardrails.non_gpu_instance_types(types):
        report(f"{_kind(args)} '{args.name}': {guardrails.non_gpu_message(bad)}")


def _kind(args: ResourceValidationArgs) -> str:
    return "GPU NodePool" if args.resource_type in NODE_POOL else "GPU node group"


def _gpu_instance_types(props: Any) -> list[str]:
    return [str(t) for t in as_list(props.get("instanceTypes")) if gpu_spec(str(t)) is not None]


def _is_gpu_group(props: Any) -> bool:
    """A GPU node group by any sign: a GPU type, a GPU AMI, the GPU taint or the GPU pool label."""
    return (
        bool(_gpu_instance_types(props))
        or "NVIDIA" in str(props.get("amiType") or "")
        or "GPU" in str(props.get("amiType") or "")
        or any(t.get("key") == GPU_RESOURCE for t in as_list(props.get("taints")))
        or any(str(key).endswith("gpu-pool") for key in (props.get("labels") or {}))
    )


def _is_gpu_node_pool(props: Any) -> bool:
    """A NodePool meant for GPUs by any sign: a GPU limit, the GPU taint, the GPU pool label, a GPU type."""
    labels = dig(props, "spec", "template", "metadata", "labels") or {}
    types = guardrails.node_pool_instance_types(props) or []
    return (
        GPU_RESOURCE in (dig(props, "spec", "limits") or {})
        or any(t.get("key") == GPU_RESOURCE for t in as_list(guardrails.node_pool_template(props).get("taints")))
        or any(str(key).endswith("gpu-pool") for key in labels)
        or any(gpu_spec(str(t)) for t in types)
    )


def gpu_pool_tainted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in NODE_POOL:
        if not _is_gpu_node_pool(args.props):
            return
        taints, effect = as_list(guardrails.node_pool_template(args.props).get("taints")), "NoSchedule"
    else:
        if not _is_gpu_group(args.props):
            return
        taints, effect = as_list(args.props.get("taints")), "NO_SCHEDULE"
    if not any(t.get("key") == GPU_RESOURCE and t.get("effect") == effect for t in taints):
        report(
            f"{_kind(args)} '{args.name}' has no {GPU_RESOURCE} {effect} taint; add it so only GPU pods land (and pay) there"
        )


def _pool(args: ResourceValidationArgs) -> guardrails.PoolCapacity | None:
    return guardrails.declared_gpu_pool(args.resource_type, args.name, args.props)


def gpu_pool_budget(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pool = _pool(args)
    if pool is None:
        return
    if args.resource_type in NODE_POOL and pool.gpu_limit is None:
        report(guardrails.unbounded_pool_message(args.name))
        return
    if args.resource_type in NODE_GROUP and dig(args.props, "scalingConfig", "maxSize") is None:
        report(f"GPU node group '{args.name}' has no scalingConfig.maxSize; set one within the GPU budget")
        return
    budget = _budget(args)
    for _, message in guardrails.gpu_budget_violations(
        [pool], guardrails.GpuBudget(budget.max_gpus_per_pool, 10**9, True)
    ):
        report(message)


def spot_where_allowed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in NODE_POOL:
        pool = _pool(args)
        spot = pool is not None and pool.capacity_type != "ON_DEMAND"
    else:
        spot = _is_gpu_group(args.props) and args.props.get("capacityType") == "SPOT"
    if spot and not _budget(args).allow_spot:
        report(guardrails.spot_message(args.name))


def _declared_pools(args: StackValidationArgs) -> list[tuple[Any, guardrails.PoolCapacity]]:
    return [
        (r, pool)
        for r in args.resources
        if (pool := guardrails.declared_gpu_pool(r.resource_type, r.name, r.props)) is not None
    ]


def gpu_stack_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    # An unbounded NodePool is refused by gpu-pool-budget; the total counts what has a bound.
    pools = [pool for _, pool in _declared_pools(args) if pool.max_gpus or pool.gpu_limit is not None]
    budget = _budget(args)
    for index, message in guardrails.gpu_budget_violations(
        pools, guardrails.GpuBudget(10**9, budget.max_gpus_total, True)
    ):
        if index is None:
            report(message, None)


def _pool_label(resource: Any) -> str | None:
    labels = (
        dig(resource.props, "spec", "template", "metadata", "labels")
        if resource.resource_type in NODE_POOL
        else resource.props.get("labels")
    ) or {}
    return labels.get(GPU_POOL_LABEL)


def _asks_for_gpus(node: Any) -> bool:
    if isinstance(node, Mapping):
        return any(
            (key == GPU_RESOURCE and str(value) not in ("0", "")) or _asks_for_gpus(value)
            for key, value in node.items()
        )
    return isinstance(node, Sequence) and not isinstance(node, str) and any(_asks_for_gpus(item) for item in node)


def serving_not_spot_only(args: StackValidationArgs, report: ReportViolation) -> None:
    """An InferenceService asking for GPUs may land on any GPU pool its node selector does not rule
    out; if one of those is spot-only, one reclaim can take every replica at once."""
    spot_only = {
        _pool_label(resource) or pool.name: pool.name
        for resource, pool in _declared_pools(args)
        if pool.capacity_type == guardrails.SPOT_ONLY
    }
    for isvc in (r for r in args.resources if r.resource_type in INFERENCE_SERVICE):
        predictor = dig(isvc.props, "spec", "predictor") or {}
        if not _asks_for_gpus(predictor):
            continue
        pinned = (predictor.get("nodeSelector") or {}).get(GPU_POOL_LABEL)
        reachable = [name for label, name in spot_only.items() if pinned is None or label == pinned]
        if reachable:
            report(guardrails.spot_only_serving_message(isvc.name, reachable), isvc.urn)


def _gpus_per_replica(component: Any) -> int:
    """GPUs one replica of an InferenceService component asks for (its containers' and model's limits)."""
    total = 0
    for container in containers(component):
        value = dig(container, "resources", "limits", GPU_RESOURCE) or dig(
            container, "resources", "requests", GPU_RESOURCE
        )
        try:
            total += int(str(value or 0))
        except ValueError:
            total += 1  # a malformed count still asks for a GPU
    return total


def serving_within_pools(args: StackValidationArgs, report: ReportViolation) -> None:
    """The GPUs InferenceServices may take at their maxReplicas fit the pools they are pinned to, and all of
    them the stack's GPU budget: LLM and predictive endpoints count in the same budget as the pools."""
    pools = {_pool_label(resource) or pool.name: pool for resource, pool in _declared_pools(args)}
    pinned: dict[str, list[tuple[str, int]]] = {}
    total = 0
    for isvc in (r for r in args.resources if r.resource_type in INFERENCE_SERVICE):
        for component_name in KSERVE_COMPONENTS:
            component = dig(isvc.props, "spec", component_name)
            gpus = _gpus_per_replica(component) if isinstance(component, Mapping) else 0
            if not gpus:
                continue
            replicas = component.get("maxReplicas")
            if not isinstance(replicas, int | float) or replicas < 1:
                report(
                    f"GPU InferenceService '{isvc.name}' {component_name} sets no maxReplicas: the GPUs it may take "
                    "are unbounded; set one within its pool",
                    isvc.urn,
                )
                continue
            take = gpus * int(replicas)
            total += take
            label = (component.get("nodeSelector") or {}).get(GPU_POOL_LABEL)
            if label in pools:
                pinned.setdefault(label, []).append((isvc.name, take))
    for label, takers in pinned.items():
        pool = pools[label]
        asked = sum(take for _, take in takers)
        if asked > pool.max_gpus:
            detail = ", ".join(f"{name}: {take}" for name, take in takers)
            report(
                f"InferenceServices pinned to GPU pool '{label}' may take {asked} GPUs at their maxReplicas ({detail}), "
                f"more than the {pool.max_gpus} the pool reaches; lower maxReplicas or grow the pool within the budget"
            )
    limit = _budget(args).max_gpus_total
    if total > limit:
        report(f"GPU InferenceServices may take {total} GPUs at their maxReplicas, over the stack's budget of {limit}")


def _admins(args: ResourceValidationArgs) -> list[str]:
    return [str(a) for a in setting(args, ADMINS_CONFIG, "adminPrincipalArns")]


def cluster_admin_principals(args: ResourceValidationArgs, report: ReportViolation) -> None:
    admins = _admins(args)
    if args.resource_type in ACCESS_POLICY:
        policy = str(args.props.get("policyArn") or "").rsplit("/", 1)[-1]
        principal = str(args.props.get("principalArn"))
        if policy in ADMIN_ACCESS_POLICIES and principal not in admins:
            report(
                f"EKS access '{args.name}' gives {policy} to {principal}, which is not in cluster.adminPrincipalArns; "
                "add the principal there (it is reviewed) or grant a scoped policy"
            )
    elif args.resource_type in ACCESS_ENTRY:
        groups = [str(g) for g in as_list(args.props.get("kubernetesGroups"))]
        if any(g in ADMIN_GROUPS for g in groups):
            report(
                f"EKS access entry '{args.name}' puts {args.props.get('principalArn')} in system:masters (cluster admin, "
                "beyond any RBAC); list admins in cluster.adminPrincipalArns instead"
            )
    elif (
        dig(args.props, "metadata", "name") == "aws-auth" and dig(args.props, "metadata", "namespace") == "kube-system"
    ):
        for key, arn_key in (("mapRoles", "rolearn"), ("mapUsers", "userarn")):
            try:
                entries = yaml.safe_load(str(dig(args.props, "data", key) or "")) or []
            except yaml.YAMLError:
                entries = []
            for entry in entries if isinstance(entries, list) else []:
                arn = str(entry.get(arn_key)) if isinstance(entry, dict) else ""
                if (
                    any(g in ADMIN_GROUPS for g in as_list(entry.get("groups") if isinstance(entry, dict) else None))
                    and arn not in admins
                ):
                    report(
                        f"aws-auth maps {arn} to system:masters (cluster admin), and it is not in "
                        "cluster.adminPrincipalArns; use access entries for the admins the config names"
                    )


POLICIES = [
    resource_rule(
        "eks-secrets-encryption", "EKS encrypts Kubernetes secrets with KMS.", CLUSTER, eks_secrets_encryption
    ),
    resource_rule(
        "eks-control-plane-logging",
        "EKS sends all five control-plane log types to CloudWatch.",
        CLUSTER,
        eks_control_plane_logging,
    ),
    resource_rule(
        "eks-public-endpoint-restricted",
        "The EKS public endpoint is off or limited to listed CIDRs.",
        CLUSTER,
        eks_public_endpoint,
    ),
    resource_rule(
        "nodes-imdsv2-required",
        "Launch templates, instances and Karpenter EC2NodeClasses require IMDSv2.",
        LAUNCH_TEMPLATE | INSTANCE | EC2_NODE_CLASS,
        imdsv2_required,
    ),
    stack_rule(
        "nodes-launch-template-imdsv2",
        "Every managed node group launches from a template of this stack that requires IMDSv2.",
        node_groups_imdsv2,
    ),
    resource_rule(
        "gpu-pool-gpu-types-only",
        "A GPU node group or NodePool holds NVIDIA GPU instance types only (AWS's instance data).",
        NODE_GROUP | NODE_POOL,
        gpu_pool_gpu_types,
    ),
    resource_rule(
        "eks-cluster-admin-principals",
        "Cluster admin only for the principals the config names, through access entries, policies or aws-auth.",
        ACCESS_POLICY | ACCESS_ENTRY | CONFIG_MAP,
        cluster_admin_principals,
        config=ADMINS_CONFIG,
    ),
    resource_rule(
        "gpu-pool-tainted",
        "GPU node groups and NodePools carry the nvidia.com/gpu NoSchedule taint.",
        NODE_GROUP | NODE_POOL,
        gpu_pool_tainted,
    ),
    resource_rule(
        "gpu-pool-budget",
        "A GPU node group (maxSize) or Karpenter NodePool (its nvidia.com/gpu limit, required when it can launch GPUs) stays within the per-pool GPU budget.",
        NODE_GROUP | NODE_POOL,
        gpu_pool_budget,
        config=BUDGET_CONFIG,
    ),
    resource_rule(
        "gpu-spot-allowed",
        "GPU node groups and NodePools use spot capacity only where the stack allows it.",
        NODE_GROUP | NODE_POOL,
        spot_where_allowed,
        config=BUDGET_CONFIG,
    ),
    stack_rule(
        "gpu-stack-budget",
        "All GPU node groups and NodePools together stay within the stack's GPU budget.",
        gpu_stack_budget,
        config=BUDGET_CONFIG,
    ),
    stack_rule(
        "gpu-serving-within-pools",
        "GPU InferenceServices (LLM and predictive) bound their replicas, within the pools they are pinned to and the stack's GPU budget.",
        serving_within_pools,
        config=BUDGET_CONFIG,
    ),
    stack_rule(
        "gpu-serving-not-spot-only",
        "GPU InferenceServices cannot land on a spot-only GPU pool (disabled in dev).",
        serving_not_spot_only,
    ),
]
