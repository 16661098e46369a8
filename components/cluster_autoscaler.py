"""ClusterAutoscaler: scales the node groups, GPU pools from and to zero included."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from . import k8s as kube
from ._common import PlatformComponent, child, documented, policy_document
from .irsa import ROLE_ARN_ANNOTATION, OidcIdentity, workload_role
from .versions import CLUSTER_AUTOSCALER_CHART, CLUSTER_AUTOSCALER_IMAGE_TAG

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"


@documented
@dataclass
class ClusterAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    """EKS cluster whose node groups (auto-discovered by tag) it scales."""
    region: str
    """AWS region."""
    oidc: OidcIdentity
    """The cluster's OIDC provider (for its IRSA role)."""
    scale_down_unneeded_time: str = "10m"
    """How long a node must be unneeded before it is removed (an idle GPU node costs money). Default: 10m."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for its IAM role. Default: none."""


class ClusterAutoscaler(PlatformComponent):
    """The Kubernetes cluster autoscaler (Helm chart, pinned), with an IRSA role that may only
    resize autoscaling groups owned by this cluster."""

    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ClusterAutoscaler", name, None, opts)
        owned_tag = pulumi.Output.concat("aws:ResourceTag/k8s.io/cluster-autoscaler/", args.cluster_name)
        policy = policy_document(
            [
                {
                    "Sid": "ScaleOwnedGroups",
                    "Effect": "Allow",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "Resource": "*",
                    "Condition": {"StringEquals": owned_tag.apply(lambda tag: {tag: "owned"})},
                },
                {
                    "Sid": "Discover",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                        "eks:DescribeNodegroup",
                    ],
                    "Resource": "*",
                },
            ]
        )
        role = workload_role(
            f"{name}-irsa",
            oidc=args.oidc,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy=policy,
            tags=args.tags,
            opts=child(self),
        )
        self.role_arn = role.arn
        kube.helm_release(
            self,
            f"{name}-release",
            "cluster-autoscaler",
            CLUSTER_AUTOSCALER_CHART,
            NAMESPACE,
            {
                "cloudProvider": "aws",
                "awsRegion": args.region,
                "autoDiscovery": {"clusterName": args.cluster_name},
                "image": {"tag": CLUSTER_AUTOSCALER_IMAGE_TAG},
                "rbac": {
                    "serviceAccount": {
                        "create": True,
                        "name": SERVICE_ACCOUNT,
                        "annotations": {ROLE_ARN_ANNOTATION: role.arn},
                    }
                },
                "extraArgs": {
                    "balance-similar-node-groups": True,
                    "expander": "least-waste",
                    "skip-nodes-with-system-pods": False,
                    "scale-down-unneeded-time": args.scale_down_unneeded_time,
                },
                "nodeSelector": kube.SYSTEM_NODES,
                "priorityClassName": "system-cluster-critical",
                "resources": kube.resources("100m", "300Mi", "500m", "600Mi"),
                "securityContext": kube.pod_security(65534),
                "containerSecurityContext": kube.RESTRICTED_CONTAINER,
            },
        )
        self.register_outputs({"roleArn": self.role_arn})
