"""GpuNodePool: NVIDIA GPU nodes that scale to zero - a Karpenter NodePool and EC2NodeClass, or an
EKS managed node group scaled by the cluster autoscaler."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field, field_validator, model_validator

from ..kit import guardrails
from ..kit.common import ComponentArgsError, PlatformComponent, child, documented, tagged
from ..kit.gpu import ACCELERATOR_LABEL, GPU_POOL_LABEL, GPU_RESOURCE, GPU_TYPE_LABEL, gpu_spec, gpus_per_node
from ..kit.schedule import cron
from ..kit.spec import Count, Issue, Spec, fail, matching, name_rule, section, settings_arg, size_range
from ..kit.versions import KARPENTER_AMI_ALIAS
from .karpenter import DISCOVERY_TAG, Karpenter
from .node_group import IMDS_OPTIONS, NodeGroupSpec, managed_node_group

AUTOSCALER_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
NVIDIA_AMI_TYPE = "AL2023_x86_64_NVIDIA"
GPU_TAINT: aws.eks.NodeGroupTaintArgsDict = {"key": GPU_RESOURCE, "value": "true", "effect": "NO_SCHEDULE"}
"""Only pods that tolerate it (those asking for GPUs) land on GPU nodes."""


CAPACITY_TYPES = {"ON_DEMAND": ["on-demand"], "SPOT": ["spot"], "SPOT_OR_ON_DEMAND": ["spot", "on-demand"]}
"""Pool capacity types, in Karpenter's spelling (with both, Karpenter takes spot while EC2 has it)."""

KarpenterDuration = Annotated[
    str, matching(r"([0-9]+(s|m|h))+|Never", "a duration like 30s, 5m, 1h or 1h30m, or Never")
]
WindowDuration = Annotated[
    str, matching(r"[0-9]+(h|m)|[0-9]+h[0-9]+m", "a duration in hours and minutes like 8h, 90m or 1h30m")
]


class FrozenWindow(Spec):
    """A time when Karpenter may not take the pool's nodes away (consolidation, drift, expiry)."""

    schedule: str
    """When the window opens: cron in UTC (five fields or a macro such as @daily), e.g. "0 8 * * 1-5"."""
    duration: WindowDuration
    """How long it stays open, e.g. 10h."""

    _schedule = field_validator("schedule")(cron)


class PoolDisruption(Spec):
    """How Karpenter may disrupt the pool's nodes to save money (gpuProvisioner karpenter only)."""

    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] = "WhenEmptyOrUnderutilized"
    """WhenEmpty removes only idle nodes; WhenEmptyOrUnderutilized also repacks pods onto fewer or cheaper nodes. Default: WhenEmptyOrUnderutilized."""
    consolidate_after: KarpenterDuration = "5m"
    """How long a node must be idle or underused before it goes (Never: no consolidation). Default: 5m."""
    expire_after: KarpenterDuration = "720h"
    """Replace nodes older than this (picks up new AMIs and patches). Default: 720h."""
    max_unavailable: Annotated[
        str, matching(r"(100|[0-9]{1,2})%|[0-9]+", "a node count like 1 or a percentage like 10%")
    ] = "10%"
    """Most nodes disrupted at once. Default: 10%."""
    frozen: list[FrozenWindow] = Field(default_factory=list)
    """Windows when no node may be disrupted (e.g. a serving pool's business hours). Default: none."""

    def budgets(self) -> list[dict[str, str]]:
        """Karpenter's disruption budgets: the steady limit, and zero inside each frozen window."""
        return [
            {"nodes": self.max_unavailable},
            *({"nodes": "0", "schedule": w.schedule, "duration": w.duration} for w in self.frozen),
        ]


class GpuPoolSettings(Spec):
    """A GPU node pool: NVIDIA nodes of one GPU model, able to scale to zero."""

    name: Annotated[
        str,
        name_rule(
            chars=r"[a-z0-9-]",
            allowed="lower-case letters, digits and '-'",
            first=r"[a-z]",
            first_words="a lower-case letter",
            max_length=31,
        ),
    ]
    """Pool name, unique in the stack (lower-case letters, digits, dashes)."""
    instance_types: Annotated[list[str], Field(min_length=1)]
    """NVIDIA GPU instance types for x86_64, all with the same GPU model, count and memory, each offered in one of the stack's zones (AWS data; e.g. [g5.xlarge, g5.2xlarge])."""
    capacity_type: Literal["ON_DEMAND", "SPOT", "SPOT_OR_ON_DEMAND"] = "ON_DEMAND"
    """ON_DEMAND, SPOT, or SPOT_OR_ON_DEMAND (spot while EC2 has it, else on-demand; gpuProvisioner karpenter only). Default: ON_DEMAND."""
    min_size: Count = 0
    """Minimum nodes; 0 lets the pool scale to zero when no GPU pod is pending. Default: 0."""
    max_size: Annotated[int, Field(ge=1, le=1000)] = 1
    """Maximum nodes. Default: 1."""
    desired_size: Count | None = None
    """Initial nodes (the cluster autoscaler owns it afterwards). Default: minSize."""
    disk_size_gib: Annotated[int, Field(ge=20, le=16384)] = 100
    """Root volume size, GiB (gp3, encrypted): room for CUDA images. Default: 100."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra node labels. Default: none."""
    disruption: PoolDisruption = section()
    """Consolidation, expiry and disruption budgets (gpuProvisioner karpenter only)."""

    @field_validator("instance_types")
    @classmethod
    def _gpu_types(cls, value: list[str]) -> list[str]:
        bad = guardrails.non_gpu_instance_types(value)
        if bad:
            fail([Issue((), value, guardrails.non_gpu_message(bad))])
        kinds = {spec.describe() for t in value if (spec := gpu_spec(t))}
        if len(kinds) > 1:
            fail(
                [
                    Issue(
                        (),
                        value,
                        f"mixes GPU kinds ({', '.join(sorted(kinds))}); a pool's nodes share one GPU model and count",
                    )
                ]
            )
        return value

    @field_validator("labels")
    @classmethod
    def _own_labels(cls, value: dict[str, str]) -> dict[str, str]:
        """Labels the platform or Karpenter own are not the pool's to set (Karpenter's NodePool CRD
        refuses its domains; the platform's would mislabel the pool)."""
        ours = (ACCELERATOR_LABEL, GPU_TYPE_LABEL, GPU_POOL_LABEL, "kubernetes.io/hostname")
        fail(
            Issue((key,), label, "is set by the platform or Karpenter; use a label of your own domain")
            for key, label in value.items()
            if key in ours or key.split("/")[0].endswith(("karpenter.sh", "karpenter.k8s.aws"))
        )
        return value

    @model_validator(mode="after")
    def _sizes(self) -> GpuPoolSettings:
        fail(size_range(self.min_size, self.max_size, self.desired_size))
        return self

    @property
    def gpu_model(self) -> str:
        spec = gpu_spec(self.instance_types[0])
        assert spec is not None  # validated
        return spec.model

    @property
    def gpus_per_node(self) -> int:
        return gpus_per_node(self.instance_types)

    def capacity(self) -> guardrails.PoolCapacity:
        return guardrails.PoolCapacity(self.name, self.instance_types, self.max_size, self.capacity_type)


@documented
@dataclass
class GpuNodePoolArgs:
    pool: GpuPoolSettings
    """The pool: instance types, capacity type, sizes, disk, labels and disruption."""
    cluster_name: pulumi.Input[str]
    """EKS cluster the pool joins."""
    karpenter: Karpenter | None = None
    """Provision the pool with this Karpenter installation (a NodePool and an EC2NodeClass; give the component the cluster's Kubernetes provider). Default: a managed node group for the cluster autoscaler."""
    node_role_arn: pulumi.Input[str] | None = None
    """IAM role of the nodes (EksCluster.node_role_arn). Required for a managed node group."""
    subnet_ids: pulumi.Input[Sequence[str]] | None = None
    """Private subnets for the nodes. Required for a managed node group (Karpenter finds them by discovery tag)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every AWS resource (and, with Karpenter, every node and volume). Default: none."""


class GpuNodePool(PlatformComponent):
    """GPU nodes on the EKS-optimized NVIDIA AMI (driver and container toolkit included).

    Nodes are tainted `nvidia.com/gpu=true:NoSchedule`, so only pods that ask for GPUs land
    there, and labelled with the accelerator, GPU model and pool. Root volumes are encrypted gp3;
    IMDSv2 is required with a hop limit of 1 (pods cannot reach the node's credentials).

    With Karpenter: a NodePool (the pool's instance types and capacity types, an `nvidia.com/gpu`
    limit of max_size nodes' worth, consolidation and disruption budgets) and an EC2NodeClass (the
    pinned AL2023 AMI release, subnets and security groups by discovery tag, Karpenter's node
    role). Nodes exist only while GPU pods need them.

    With the cluster autoscaler: a managed node group whose autoscaling group carries the
    node-template tags (labels, taint, GPU count), so the autoscaler knows a new node would fit a
    pending GPU pod while the pool sits at zero.
    """

    node_group_name: pulumi.Output[str] | None
    """The managed node group (None with Karpenter)."""
    node_pool_name: str | None
    """The Karpenter NodePool (None with a managed node group)."""
    max_gpus: int
    """GPUs the pool holds at max_size."""

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:GpuNodePool", name, None, opts)
        pool = settings_arg(GpuPoolSettings, args.pool, "pool", "GpuNodePool", name)
        problems = [
            f"pool.{i.path[0]} = {i.value!r}: {i.message}"
            for i in provisioner_issues(pool, karpenter=args.karpenter is not None)
        ]
        if args.karpenter is None:
            problems += [
                f"{arg} = null: required for a managed node group (or give karpenter)"
                for arg in ("node_role_arn", "subnet_ids")
                if getattr(args, arg) is None
            ]
        if problems:
            raise ComponentArgsError("GpuNodePool", name, problems)
        labels = {
            ACCELERATOR_LABEL: "nvidia",
            GPU_TYPE_LABEL: pool.gpu_model,
            GPU_POOL_LABEL: pool.name,
            **pool.labels,
        }
        self.max_gpus = pool.gpus_per_node * pool.max_size
        self.node_group_name = None
        self.node_pool_name = None
        if args.karpenter is not None:
            self._karpenter(name, pool, labels, args.karpenter, args)
            self.register_outputs({"nodePoolName": self.node_pool_name})
            return
        assert args.node_role_arn is not None and args.subnet_ids is not None
        node_group = managed_node_group(
            name,
            cluster_name=args.cluster_name,
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            spec=NodeGroupSpec(
                instance_types=pool.instance_types,
                min_size=pool.min_size,
                max_size=pool.max_size,
                desired_size=pool.desired_size,
                disk_size_gib=pool.disk_size_gib,
                capacity_type=pool.capacity_type,
                ami_type=NVIDIA_AMI_TYPE,
                labels=labels,
                taints=[GPU_TAINT],
            ),
            tags=args.tags,
            opts=child(self),
        )
        self.node_group_name = node_group.node_group_name
        autoscaling_group = node_group.resources.apply(_autoscaling_group_name)
        # Managed node groups do not copy their tags to the autoscaling group: tag it directly.
        for key, value in autoscaler_template_tags(labels, pool.gpus_per_node).items():
            aws.autoscaling.Tag(
                f"{name}-{key.removeprefix(AUTOSCALER_TEMPLATE + '/').replace('/', '-')}",
                autoscaling_group_name=autoscaling_group,
                tag={"key": key, "value": value, "propagate_at_launch": False},
                opts=child(self),
            )
        self.register_outputs({"nodeGroupName": self.node_group_name, "autoscalingGroupName": autoscaling_group})

    def _karpenter(
        self, name: str, pool: GpuPoolSettings, labels: Mapping[str, str], karpenter: Karpenter, args: GpuNodePoolArgs
    ) -> None:
        after = child(self, depends_on=list(karpenter.ready))
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-nodeclass",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": pool.name, "labels": {GPU_POOL_LABEL: pool.name}},
            spec=ec2_node_class_spec(pool, args.cluster_name, karpenter.node_role_name, args.tags),
            opts=after,
        )
        self.node_pool_name = pool.name
        k8s.apiextensions.CustomResource(
            f"{name}-nodepool",
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata={"name": pool.name, "labels": {GPU_POOL_LABEL: pool.name}},
            spec=node_pool_spec(pool, labels),
            opts=child(self, depends_on=[*karpenter.ready, node_class]),
        )


def provisioner_issues(pool: GpuPoolSettings, *, karpenter: bool) -> list[Issue]:
    """What a pool asks that its provisioner cannot do (the config and the component both ask)."""
    issues = []
    if karpenter:
        if pool.min_size > 0:
            issues.append(
                Issue(
                    ("min_size",),
                    pool.min_size,
                    "Karpenter starts GPU nodes for pending GPU pods only; use 0 (or gpuProvisioner clusterAutoscaler for warm nodes)",
                )
            )
        if pool.desired_size is not None:
            issues.append(Issue(("desired_size",), pool.desired_size, "Karpenter has no desired size; remove it"))
    else:
        if pool.capacity_type == "SPOT_OR_ON_DEMAND":
            issues.append(
                Issue(
                    ("capacity_type",),
                    pool.capacity_type,
                    "a managed node group has one capacity type; SPOT_OR_ON_DEMAND needs gpuProvisioner karpenter",
                )
            )
        if "disruption" in pool.model_fields_set:
            issues.append(
                Issue(
                    ("disruption",),
                    pool.disruption.model_dump(by_alias=True, exclude_unset=True),
                    "applies to gpuProvisioner karpenter only; remove it",
                )
            )
    return issues


def ec2_node_class_spec(
    pool: GpuPoolSettings, cluster_name: pulumi.Input[str], role: pulumi.Input[str], tags: Mapping[str, str]
) -> dict[str, Any]:
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    return {
        "amiSelectorTerms": [{"alias": KARPENTER_AMI_ALIAS}],
        "role": role,
        # The instance-store NVMe as one RAID0 array for kubelet, containerd and the LLM weight cache
        # (components/kit/llm.py INSTANCE_STORE_MOUNT): images and weights load from local disk.
        "instanceStorePolicy": "RAID0",
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": discovery,
        "metadataOptions": {
            "httpEndpoint": IMDS_OPTIONS["http_endpoint"],
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": IMDS_OPTIONS["http_put_response_hop_limit"],
            "httpTokens": IMDS_OPTIONS["http_tokens"],
        },
        "blockDeviceMappings": [
            {
                "deviceName": "/dev/xvda",
                "ebs": {
                    "volumeSize": f"{pool.disk_size_gib}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "deleteOnTermination": True,
                },
            }
        ],
        "tags": tagged(tags, f"gpu-{pool.name}"),
    }


def node_pool_spec(pool: GpuPoolSettings, labels: Mapping[str, str]) -> dict[str, Any]:
    disruption = pool.disruption
    return {
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": pool.name},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(pool.instance_types)},
                    {
                        "key": "karpenter.sh/capacity-type",
                        "operator": "In",
                        "values": CAPACITY_TYPES[pool.capacity_type],
                    },
                    {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                    {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                ],
                "taints": [{"key": GPU_RESOURCE, "value": "true", "effect": "NoSchedule"}],
                "expireAfter": disruption.expire_after,
            },
        },
        "limits": {GPU_RESOURCE: str(pool.gpus_per_node * pool.max_size)},
        "disruption": {
            "consolidationPolicy": disruption.consolidation_policy,
            "consolidateAfter": disruption.consolidate_after,
            "budgets": disruption.budgets(),
        },
    }


def _autoscaling_group_name(resources: Sequence[aws.eks.outputs.NodeGroupResource]) -> str:
    groups = resources[0].autoscaling_groups or []
    return str(groups[0].name)


def autoscaler_template_tags(labels: Mapping[str, str], gpus: int) -> dict[str, str]:
    """The tags that describe a node of the pool to the cluster autoscaler while none exists."""
    return {
        **{f"{AUTOSCALER_TEMPLATE}/label/{key}": value for key, value in labels.items()},
        f"{AUTOSCALER_TEMPLATE}/taint/{GPU_RESOURCE}": "true:NoSchedule",
        f"{AUTOSCALER_TEMPLATE}/resources/{GPU_RESOURCE}": str(gpus),
    }
