"""One way to build an EKS managed node group, shared by the system nodes and the GPU pools:
a launch template with an encrypted gp3 root volume and IMDSv2 required, and a node group
whose desired size belongs to the cluster autoscaler once created."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..kit.common import tagged


@dataclass(frozen=True)
class NodeGroupSpec:
    instance_types: Sequence[str]
    """EC2 instance types."""
    min_size: int
    """Minimum nodes (0 allowed: the pool scales to zero)."""
    max_size: int
    """Maximum nodes (at least 1)."""
    desired_size: int | None = None
    """Initial nodes. Default: min_size."""
    disk_size_gib: int = 50
    """Root volume size in GiB. Default: 50."""
    capacity_type: str = "ON_DEMAND"
    """ON_DEMAND or SPOT. Default: ON_DEMAND."""
    ami_type: str = "AL2023_x86_64_STANDARD"
    """EKS AMI type. Default: AL2023_x86_64_STANDARD."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Kubernetes node labels. Default: none."""
    taints: Sequence[aws.eks.NodeGroupTaintArgsDict] = ()
    """Node taints in the EKS API's spelling ({key, value, effect: NO_SCHEDULE|...}). Default: none."""


IMDS_OPTIONS: aws.ec2.LaunchTemplateMetadataOptionsArgsDict = {
    "http_endpoint": "enabled",
    "http_tokens": "required",  # IMDSv2 only
    "http_put_response_hop_limit": 1,  # pods (not on the host network) cannot reach the node's credentials
    "instance_metadata_tags": "disabled",
}


def managed_node_group(
    name: str,
    *,
    cluster_name: pulumi.Input[str],
    node_role_arn: pulumi.Input[str],
    subnet_ids: pulumi.Input[Sequence[str]],
    spec: NodeGroupSpec,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.eks.NodeGroup:
    launch_template = aws.ec2.LaunchTemplate(
        f"{name}-lt",
        description=f"{name}: encrypted gp3 root volume, IMDSv2 required",
        block_device_mappings=[
            {
                "device_name": "/dev/xvda",
                "ebs": {
                    "volume_size": spec.disk_size_gib,
                    "volume_type": "gp3",
                    "encrypted": "true",
                    "delete_on_termination": "true",
                },
            }
        ],
        metadata_options=IMDS_OPTIONS,
        tag_specifications=[
            {"resource_type": "instance", "tags": tagged(tags, name)},
            {"resource_type": "volume", "tags": tagged(tags, name)},
        ],
        update_default_version=True,
        tags=tagged(tags, f"{name}-lt"),
        opts=opts,
    )
    return aws.eks.NodeGroup(
        name,
        cluster_name=cluster_name,
        node_role_arn=node_role_arn,
        subnet_ids=subnet_ids,
        instance_types=list(spec.instance_types),
        capacity_type=spec.capacity_type,
        ami_type=spec.ami_type,
        scaling_config={
            "min_size": spec.min_size,
            "max_size": spec.max_size,
            "desired_size": spec.min_size if spec.desired_size is None else spec.desired_size,
        },
        update_config={"max_unavailable": 1},
        node_repair_config={"enabled": True},
        launch_template={"id": launch_template.id, "version": launch_template.latest_version.apply(str)},
        labels=dict(spec.labels),
        taints=list(spec.taints),
        tags=tagged(tags, name),
        # The cluster autoscaler moves the desired size; a later `pulumi up` must not move it back.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["scalingConfig.desiredSize"])),
    )
