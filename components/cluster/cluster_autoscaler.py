"""ClusterAutoscaler: scales the managed node groups - the system nodes, and the GPU pools from and to
zero when `platform.gpuProvisioner` is clusterAutoscaler."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from ..kit import k8s as kube
from ..kit.common import PlatformComponent, child, documented, policy_document
from ..kit.identity import ClusterIdentity
from ..kit.versions import CLUSTER_AUTOSCALER, KUBERNETES_VERSION

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"


@documented
@dataclass
class ClusterAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    """EKS cluster whose node groups (auto-discovered by tag) it scales."""
    region: str
    """AWS region."""
    identity: ClusterIdentity
    """How its pod gets its IAM role (EksCluster.identity: Pod Identity or IRSA)."""
    kubernetes_version: str = KUBERNETES_VERSION
    """The cluster's Kubernetes minor version: picks the autoscaler release built for it (versions.CLUSTER_AUTOSCALER). Default: the newest supported."""
    scale_down_unneeded_time: str = "10m"
    """How long a node must be unneeded before it is removed (an idle GPU node costs money). Default: 10m."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for its IAM role. Default: none."""


class ClusterAutoscaler(PlatformComponent):
    """The Kubernetes cluster autoscaler (Helm chart pinned per Kubernetes minor version), with an IAM
    role that may only resize autoscaling groups owned by this cluster."""

    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ClusterAutoscaler", name, None, opts)
        release = CLUSTER_AUTOSCALER[args.kubernetes_version]
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
        bound = args.identity.role(
            f"{name}-identity",
            renamed_from=f"{name}-irsa",
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy=policy,
            tags=args.tags,
            opts=child(self),
        )
        self.role_arn = bound.role.arn
        kube.helm_release(
            self,
            f"{name}-release",
            "cluster-autoscaler",
            release.chart,
            NAMESPACE,
            {
                "cloudProvider": "aws",
                "awsRegion": args.region,
                "autoDiscovery": {"clusterName": args.cluster_name},
                "image": {"tag": release.image_tag, **kube.PULL_ALWAYS},
                "rbac": {
                    "serviceAccount": {
                        "create": True,
                        "name": SERVICE_ACCOUNT,
                        "annotations": dict(bound.annotations),
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
            after=bound.credentials,
        )
        self.register_outputs({"roleArn": self.role_arn})
