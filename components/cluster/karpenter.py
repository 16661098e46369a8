"""Karpenter: the GPU provisioner - its controller, the node role, and the interruption queue that
lets it drain a node before EC2 takes it back.

The GPU pools themselves (a NodePool and an EC2NodeClass each) are declared by GpuNodePool with
this installation as their provisioner. The controller runs on the system nodes and gets its AWS
access through the cluster's workload identity (Pod Identity by default). Its IAM policy is the
one Karpenter documents (getting-started CloudFormation of v1), scoped to this cluster's tag, this
region, this queue and this node role.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..kit import k8s as kube
from ..kit.common import PlatformComponent, assume_role_policy, aws_managed_policy, child, documented, tagged
from ..kit.identity import ClusterIdentity
from ..kit.versions import KARPENTER_CHART

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
DISCOVERY_TAG = "karpenter.sh/discovery"
"""Subnets and security groups carrying this tag (value: the cluster name) are where Karpenter launches nodes."""

KARPENTER_POLICY_SOURCE = (
    "aws/karpenter-provider-aws",
    "website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml",
    "1.14",
)
"""Where the IAM documents, the node role and the interruption rules below come from (repository, path,
release): the getting-started CloudFormation of the Karpenter release versions.KARPENTER_CHART pins.
tests/infra/test_upstream.py holds that file's facts and fails when the pin moves to another release."""

INTERRUPTION_EVENTS: Mapping[str, tuple[str, str]] = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation-interruption": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}
"""EventBridge events Karpenter acts on (rule suffix -> source, detail-type): it cordons and drains
the node before the instance goes, and replaces it ahead of time."""

NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
"""The nodes' own role: join the cluster (and fetch pod-identity credentials), pull images, reach
Systems Manager (sessions without SSH). Pod networking has its own role (the vpc-cni add-on's), so
upstream's AmazonEKS_CNI_Policy is not on the nodes."""


@documented
@dataclass
class KarpenterArgs:
    cluster_name: pulumi.Input[str]
    """EKS cluster whose GPU nodes Karpenter provisions."""
    region: str
    """AWS region of the cluster."""
    identity: ClusterIdentity
    """How the controller gets its IAM role (EksCluster.identity)."""
    security_group_id: pulumi.Input[str]
    """The nodes' security group (EksCluster.node_security_group_id): tagged for discovery."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every AWS resource (and, through the EC2NodeClasses, every node). Default: none."""


class Karpenter(PlatformComponent):
    """Karpenter's controller (pinned chart, two replicas on the system nodes), an encrypted SQS
    queue fed by EventBridge rules for spot interruption warnings, rebalance recommendations,
    instance state changes and AWS Health scheduled changes, and the role its nodes run as (an
    EKS access entry lets them join)."""

    node_role_name: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    ready: list[pulumi.Resource]
    """What NodePools and EC2NodeClasses must be created after (the controller and its CRDs)."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:Karpenter", name, None, opts)
        tags = args.tags
        node_role = aws.iam.Role(
            f"{name}-node",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            description="Karpenter-launched GPU nodes",
            tags=tagged(tags, f"{name}-node"),
            opts=child(self),
        )
        for managed in NODE_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{managed}", role=node_role.name, policy_arn=aws_managed_policy(managed), opts=child(self)
            )
        # Managed node groups get their access entry from EKS; Karpenter's nodes need one declared.
        aws.eks.AccessEntry(
            f"{name}-node",
            cluster_name=args.cluster_name,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            tags=tagged(tags, f"{name}-node"),
            opts=child(self),
        )
        aws.ec2.Tag(
            f"{name}-sg-discovery",
            resource_id=args.security_group_id,
            key=DISCOVERY_TAG,
            value=args.cluster_name,
            opts=child(self),
        )
        queue = self._interruption_queue(name, args.cluster_name, tags)
        policy = pulumi.Output.all(args.cluster_name, args.identity.cluster_arn, queue.arn, node_role.arn).apply(
            lambda v: controller_policy(
                cluster_name=v[0], cluster_arn=v[1], region=args.region, queue_arn=v[2], node_role_arn=v[3]
            )
        )
        bound = args.identity.role(
            f"{name}-controller",
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy=policy,
            tags=tags,
            opts=child(self),
        )
        release = kube.helm_release(
            self,
            f"{name}-release",
            "karpenter",
            KARPENTER_CHART,
            NAMESPACE,
            {
                "settings": {"clusterName": args.cluster_name, "interruptionQueue": queue.name},
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": dict(bound.annotations)},
                "replicas": 2,
                "nodeSelector": kube.SYSTEM_NODES,
                "priorityClassName": "system-cluster-critical",
                "controller": {"resources": kube.resources("500m", "512Mi", "1", "1Gi")},
            },
            after=bound.credentials,
            atomic=True,
        )
        self.node_role_name = node_role.name
        self.queue_name = queue.name
        self.ready = [release]
        self.register_outputs({"nodeRoleName": self.node_role_name, "queueName": self.queue_name})

    def _interruption_queue(self, name: str, cluster_name: pulumi.Input[str], tags: Mapping[str, str]) -> aws.sqs.Queue:
        queue = aws.sqs.Queue(
            f"{name}-interruptions",
            name=cluster_name,
            message_retention_seconds=300,  # a warning older than that is moot
            sqs_managed_sse_enabled=True,
            tags=tagged(tags, f"{name}-interruptions"),
            opts=child(self),
        )
        rules = []
        for suffix, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{suffix}",
                description=f"Karpenter: {detail_type}",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                tags=tagged(tags, f"{name}-{suffix}"),
                opts=child(self),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{suffix}",
                rule=rule.name,
                target_id="KarpenterInterruptionQueue",
                arn=queue.arn,
                opts=child(self),
            )
            rules.append(rule)
        aws.sqs.QueuePolicy(
            f"{name}-interruptions",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, *[rule.arn for rule in rules]).apply(
                lambda v: queue_policy(v[0], v[1:])
            ),
            opts=child(self),
        )
        return queue


def queue_policy(queue_arn: str, rule_arns: Sequence[str]) -> str:
    """Only these EventBridge rules may send to the queue, and only over TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EventBridgeRules",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": list(rule_arns)}},
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": queue_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )


def controller_policy(*, cluster_name: str, cluster_arn: str, region: str, queue_arn: str, node_role_arn: str) -> str:
    """Karpenter's controller policy for one cluster, statement for statement the six policies of its
    getting-started CloudFormation (KARPENTER_POLICY_SOURCE; tests/infra/test_upstream.py compares them):
    launch from this cluster's launch templates, tag and terminate only what carries this cluster's and
    a nodepool's tags, manage only this cluster's instance profiles, pass only this node role, consume
    this queue, describe this cluster, read regional EC2 data, SSM AMI parameters and prices."""
    partition, account = cluster_arn.split(":")[1], cluster_arn.split(":")[4]
    ec2 = f"arn:{partition}:ec2:{region}"
    profiles = f"arn:{partition}:iam::{account}:instance-profile/*"
    owned = f"kubernetes.io/cluster/{cluster_name}"
    created = [
        f"{ec2}:*:{kind}/*"
        for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    ]
    request_tags = {f"aws:RequestTag/{owned}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster_name}
    nodepool_request = {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    owned_nodepool = {
        "StringEquals": {f"aws:ResourceTag/{owned}": "owned"},
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
    }
    launch = ["ec2:RunInstances", "ec2:CreateFleet"]
    statements: list[dict[str, Any]] = [
        # NodeLifecyclePolicy
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Resource": [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:security-group/*",
                f"{ec2}:*:subnet/*",
                f"{ec2}:*:capacity-reservation/*",
                f"{ec2}:*:placement-group/*",
            ],
            "Action": launch,
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:launch-template/*",
            "Action": launch,
            "Condition": owned_nodepool,
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": created,
            "Action": [*launch, "ec2:CreateLaunchTemplate"],
            "Condition": {"StringEquals": request_tags, "StringLike": nodepool_request},
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": created,
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {
                    **request_tags,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": nodepool_request,
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:instance/*",
            "Action": "ec2:CreateTags",
            "Condition": {
                **owned_nodepool,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": owned_nodepool,
        },
        # IAMIntegrationPolicy
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": ["iam:CreateInstanceProfile"],
            "Condition": {
                "StringEquals": {**request_tags, "aws:RequestTag/topology.kubernetes.io/region": region},
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": ["iam:TagInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    f"aws:ResourceTag/{owned}": "owned",
                    "aws:ResourceTag/topology.kubernetes.io/region": region,
                    **request_tags,
                    "aws:RequestTag/topology.kubernetes.io/region": region,
                },
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Condition": {
                "StringEquals": {
                    f"aws:ResourceTag/{owned}": "owned",
                    "aws:ResourceTag/topology.kubernetes.io/region": region,
                },
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        # EKSIntegrationPolicy
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": cluster_arn,
            "Action": "eks:DescribeCluster",
        },
        # InterruptionPolicy
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        },
        # ZonalShiftPolicy
        {
            "Sid": "AllowZonalShiftStatusReadOnly",
            "Effect": "Allow",
            "Resource": "*",
            "Action": ["arc-zonal-shift:GetManagedResource"],
            "Condition": {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": cluster_arn}},
        },
        # ResourceDiscoveryPolicy
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
            "Action": "ssm:GetParameter",
        },
        {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Resource": "*", "Action": "pricing:GetProducts"},
        {
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "iam:ListInstanceProfiles",
        },
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": "iam:GetInstanceProfile",
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
