"""GpuNodePool: a managed node group of NVIDIA GPU nodes that can scale to zero."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from . import guardrails
from ._common import PlatformComponent, child, documented
from .gpu import ACCELERATOR_LABEL, GPU_POOL_LABEL, GPU_RESOURCE, GPU_TYPE_LABEL, gpu_spec, gpus_per_node
from .node_group import NodeGroupSpec, managed_node_group
from .spec import Count, Issue, Spec, fail, name_rule, settings_arg, size_range

AUTOSCALER_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
NVIDIA_AMI_TYPE = "AL2023_x86_64_NVIDIA"
GPU_TAINT: aws.eks.NodeGroupTaintArgsDict = {"key": GPU_RESOURCE, "value": "true", "effect": "NO_SCHEDULE"}
"""Only pods that tolerate it (those asking for GPUs) land on GPU nodes."""


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
    capacity_type: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    """ON_DEMAND or SPOT capacity. Default: ON_DEMAND."""
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
    """The pool: instance types, capacity type, sizes, disk and labels."""
    cluster_name: pulumi.Input[str]
    """EKS cluster the pool joins."""
    node_role_arn: pulumi.Input[str]
    """IAM role of the nodes (EksCluster.node_role_arn)."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets for the nodes."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every AWS resource. Default: none."""


class GpuNodePool(PlatformComponent):
    """GPU nodes on the EKS NVIDIA AMI (driver and container toolkit included).

    Nodes are tainted `nvidia.com/gpu=true:NoSchedule`, so only pods that ask for GPUs land
    there, and labelled with the accelerator and GPU model. The node group's autoscaling
    group carries the cluster-autoscaler node-template tags (labels, taint, GPU count): with
    no node running, the autoscaler still knows a new node would fit a pending GPU pod, so
    the pool can sit at zero until one arrives. Root volumes are encrypted; IMDSv2 is required.
    """

    node_group_name: pulumi.Output[str]
    autoscaling_group_name: pulumi.Output[str]
    max_gpus: int
    """GPUs the pool holds at max_size."""

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:GpuNodePool", name, None, opts)
        pool = settings_arg(GpuPoolSettings, args.pool, "pool", "GpuNodePool", name)
        labels = {
            ACCELERATOR_LABEL: "nvidia",
            GPU_TYPE_LABEL: pool.gpu_model,
            GPU_POOL_LABEL: pool.name,
            **pool.labels,
        }
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
        self.autoscaling_group_name = node_group.resources.apply(_autoscaling_group_name)
        self.max_gpus = pool.gpus_per_node * pool.max_size
        # Managed node groups do not copy their tags to the autoscaling group: tag it directly.
        for key, value in autoscaler_template_tags(labels, pool.gpus_per_node).items():
            aws.autoscaling.Tag(
                f"{name}-{key.removeprefix(AUTOSCALER_TEMPLATE + '/').replace('/', '-')}",
                autoscaling_group_name=self.autoscaling_group_name,
                tag={"key": key, "value": value, "propagate_at_launch": False},
                opts=child(self),
            )
        self.register_outputs(
            {"nodeGroupName": self.node_group_name, "autoscalingGroupName": self.autoscaling_group_name}
        )


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
