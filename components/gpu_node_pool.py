"""GpuNodePool: a managed node group of NVIDIA GPU nodes that can scale to zero."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import guardrails
from components._common import ComponentArgsError, PlatformComponent, child
from components.gpu import GPU_RESOURCE, gpu_spec, gpus_per_node
from components.node_group import NodeGroupSpec, managed_node_group

GPU_TYPE_LABEL = "mlops.platform/gpu-type"
GPU_POOL_LABEL = "mlops.platform/gpu-pool"
ACCELERATOR_LABEL = "accelerator"
AUTOSCALER_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
NVIDIA_AMI_TYPE = "AL2023_x86_64_NVIDIA"
GPU_TAINT: aws.eks.NodeGroupTaintArgsDict = {"key": GPU_RESOURCE, "value": "true", "effect": "NO_SCHEDULE"}
"""Only pods that tolerate it (those asking for GPUs) land on GPU nodes."""


@dataclass
class GpuNodePoolArgs:
    cluster_name: pulumi.Input[str]
    """EKS cluster the pool joins."""
    node_role_arn: pulumi.Input[str]
    """IAM role of the nodes (EksCluster.node_role_arn)."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets for the nodes."""
    instance_types: Sequence[str]
    """NVIDIA instance types, one GPU model and count per node (e.g. ["g5.xlarge", "g5.2xlarge"])."""
    max_size: int
    """Maximum nodes (at least 1)."""
    min_size: int = 0
    """Minimum nodes; 0 lets the pool scale to zero. Default: 0."""
    desired_size: int | None = None
    """Initial nodes. Default: min_size."""
    capacity_type: str = "ON_DEMAND"
    """ON_DEMAND or SPOT. Default: ON_DEMAND."""
    disk_size_gib: int = 100
    """Root volume in GiB (room for CUDA images). Default: 100."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra node labels. Default: none."""
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
        self._name = name
        self._validate(args)
        spec = gpu_spec(args.instance_types[0])
        assert spec is not None
        labels = {
            ACCELERATOR_LABEL: "nvidia",
            GPU_TYPE_LABEL: spec.model,
            GPU_POOL_LABEL: name,
            **args.labels,
        }
        node_group = managed_node_group(
            name,
            cluster_name=args.cluster_name,
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            spec=NodeGroupSpec(
                instance_types=args.instance_types,
                min_size=args.min_size,
                max_size=args.max_size,
                desired_size=args.desired_size,
                disk_size_gib=args.disk_size_gib,
                capacity_type=args.capacity_type,
                ami_type=NVIDIA_AMI_TYPE,
                labels=labels,
                taints=[GPU_TAINT],
            ),
            tags=args.tags,
            opts=child(self),
        )
        self.node_group_name = node_group.node_group_name
        self.autoscaling_group_name = node_group.resources.apply(_autoscaling_group_name)
        self.max_gpus = gpus_per_node(args.instance_types) * args.max_size
        # Managed node groups do not copy their tags to the autoscaling group: tag it directly.
        for key, value in autoscaler_template_tags(labels, gpus_per_node(args.instance_types)).items():
            aws.autoscaling.Tag(
                f"{name}-{key.removeprefix(AUTOSCALER_TEMPLATE + '/').replace('/', '-')}",
                autoscaling_group_name=self.autoscaling_group_name,
                tag={"key": key, "value": value, "propagate_at_launch": False},
                opts=child(self),
            )
        self.register_outputs(
            {"nodeGroupName": self.node_group_name, "autoscalingGroupName": self.autoscaling_group_name}
        )

    def _validate(self, args: GpuNodePoolArgs) -> None:
        problems = []
        bad = guardrails.non_gpu_instance_types(args.instance_types)
        if not args.instance_types or bad:
            problems.append(
                f"instance_types ({list(args.instance_types)}): {guardrails.non_gpu_message(bad or ['[]'])}"
            )
        elif len({gpu_spec(t) for t in args.instance_types}) > 1:
            problems.append(f"instance_types ({list(args.instance_types)}) must share one GPU model and count per node")
        if args.max_size < max(args.min_size, 1):
            problems.append(f"max_size ({args.max_size}) must be >= max(min_size ({args.min_size}), 1)")
        if args.capacity_type not in ("ON_DEMAND", "SPOT"):
            problems.append(f"capacity_type ({args.capacity_type!r}) must be ON_DEMAND or SPOT")
        if problems:
            raise ComponentArgsError("GpuNodePool", self._name, problems)


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
