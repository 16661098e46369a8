"""What upstream publishes for the pinned releases is the test. Each block below is copied as data
from one upstream artifact, its provenance beside it; the platform's documents are compared with it
statement by statement, and any difference not listed with its reason fails. When versions.py moves
to another release, the provenance check fails and names what to re-read."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.cluster.karpenter import (
    INTERRUPTION_EVENTS,
    KARPENTER_POLICY_SOURCE,
    NODE_POLICIES,
    controller_policy,
    queue_policy,
)
from components.kit import guardrails
from components.kit.versions import KARPENTER_CHART
from components.testing import Graph, Resource

# --------------------------------------------------------------------------- Karpenter 1.14
KARPENTER_CFN = {
    "repository": "aws/karpenter-provider-aws",
    "path": "website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml",
    "commit": "e0834c2bd02ed804561d5748ab92f5c2b8f86d60",
    "release": "1.14",
}
"""The getting-started CloudFormation of Karpenter 1.14 (the docs the v1.14.x tags publish), read at
that commit. Its six managed policies, node role, queue policy and EventBridge rules follow."""

UPSTREAM_CONTROLLER_STATEMENTS: list[dict[str, Any]] = [
    # NodeLifecyclePolicy
    {
        "Sid": "AllowScopedEC2InstanceAccessActions",
        "Effect": "Allow",
        "Resource": [
            "arn:${AWS::Partition}:ec2:${AWS::Region}::image/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:security-group/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:subnet/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:capacity-reservation/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:placement-group/*",
        ],
        "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
    },
    {
        "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
        "Effect": "Allow",
        "Resource": "arn:${AWS::Partition}:ec2:${AWS::Region}:*:launch-template/*",
        "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        "Condition": {
            "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"},
            "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
        },
    },
    {
        "Sid": "AllowScopedEC2InstanceActionsWithTags",
        "Effect": "Allow",
        "Resource": [
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:fleet/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:instance/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:volume/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:network-interface/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:launch-template/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:spot-instances-request/*",
        ],
        "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
        "Condition": {
            "StringEquals": {
                "aws:RequestTag/kubernetes.io/cluster/${ClusterName}": "owned",
                "aws:RequestTag/eks:eks-cluster-name": "${ClusterName}",
            },
            "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
        },
    },
    {
        "Sid": "AllowScopedResourceCreationTagging",
        "Effect": "Allow",
        "Resource": [
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:fleet/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:instance/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:volume/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:network-interface/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:launch-template/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:spot-instances-request/*",
        ],
        "Action": "ec2:CreateTags",
        "Condition": {
            "StringEquals": {
                "aws:RequestTag/kubernetes.io/cluster/${ClusterName}": "owned",
                "aws:RequestTag/eks:eks-cluster-name": "${ClusterName}",
                "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
            },
            "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
        },
    },
    {
        "Sid": "AllowScopedResourceTagging",
        "Effect": "Allow",
        "Resource": "arn:${AWS::Partition}:ec2:${AWS::Region}:*:instance/*",
        "Action": "ec2:CreateTags",
        "Condition": {
            "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"},
            "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
            "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": "${ClusterName}"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]},
        },
    },
    {
        "Sid": "AllowScopedDeletion",
        "Effect": "Allow",
        "Resource": [
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:instance/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:*:launch-template/*",
        ],
        "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
        "Condition": {
            "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"},
            "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
        },
    },
    # IAMIntegrationPolicy
    {
        "Sid": "AllowPassingInstanceRole",
        "Effect": "Allow",
        "Resource": "${KarpenterNodeRole.Arn}",
        "Action": "iam:PassRole",
        "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}},
    },
    {
        "Sid": "AllowScopedInstanceProfileCreationActions",
        "Effect": "Allow",
        "Resource": "arn:${AWS::Partition}:iam::${AWS::AccountId}:instance-profile/*",
        "Action": ["iam:CreateInstanceProfile"],
        "Condition": {
            "StringEquals": {
                "aws:RequestTag/kubernetes.io/cluster/${ClusterName}": "owned",
                "aws:RequestTag/eks:eks-cluster-name": "${ClusterName}",
                "aws:RequestTag/topology.kubernetes.io/region": "${AWS::Region}",
            },
            "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
        },
    },
    {
        "Sid": "AllowScopedInstanceProfileTagActions",
        "Effect": "Allow",
        "Resource": "arn:${AWS::Partition}:iam::${AWS::AccountId}:instance-profile/*",
        "Action": ["iam:TagInstanceProfile"],
        "Condition": {
            "StringEquals": {
                "aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned",
                "aws:ResourceTag/topology.kubernetes.io/region": "${AWS::Region}",
                "aws:RequestTag/kubernetes.io/cluster/${ClusterName}": "owned",
                "aws:RequestTag/eks:eks-cluster-name": "${ClusterName}",
                "aws:RequestTag/topology.kubernetes.io/region": "${AWS::Region}",
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
        "Resource": "arn:${AWS::Partition}:iam::${AWS::AccountId}:instance-profile/*",
        "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
        "Condition": {
            "StringEquals": {
                "aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned",
                "aws:ResourceTag/topology.kubernetes.io/region": "${AWS::Region}",
            },
            "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
        },
    },
    # EKSIntegrationPolicy
    {
        "Sid": "AllowAPIServerEndpointDiscovery",
        "Effect": "Allow",
        "Resource": "arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/${ClusterName}",
        "Action": "eks:DescribeCluster",
    },
    # InterruptionPolicy
    {
        "Sid": "AllowInterruptionQueueActions",
        "Effect": "Allow",
        "Resource": "${KarpenterInterruptionQueue.Arn}",
        "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
    },
    # ZonalShiftPolicy
    {
        "Sid": "AllowZonalShiftStatusReadOnly",
        "Effect": "Allow",
        "Resource": "*",
        "Action": ["arc-zonal-shift:GetManagedResource"],
        "Condition": {
            "StringEquals": {
                "arc-zonal-shift:ResourceIdentifier": (
                    "arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/${ClusterName}"
                )
            }
        },
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
        "Condition": {"StringEquals": {"aws:RequestedRegion": "${AWS::Region}"}},
    },
    {
        "Sid": "AllowSSMReadActions",
        "Effect": "Allow",
        "Resource": "arn:${AWS::Partition}:ssm:${AWS::Region}::parameter/aws/service/*",
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
        "Resource": "arn:${AWS::Partition}:iam::${AWS::AccountId}:instance-profile/*",
        "Action": "iam:GetInstanceProfile",
    },
]

CONTROLLER_DIFFERENCES: dict[str, str] = {}
"""Sid -> why the platform's statement differs from upstream's. None: the controller gets exactly
what upstream grants, nothing more, nothing less."""

UPSTREAM_NODE_ROLE = {
    "trusts": {"ec2.amazonaws.com", "pods.eks.amazonaws.com"},
    "managed": {
        "AmazonEKS_CNI_Policy",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonSSMManagedInstanceCore",
    },
}
"""KarpenterNodeRole: its AssumeRolePolicyDocument's service principals and ManagedPolicyArns."""
NODE_ROLE_DIFFERENCES = {
    "pods.eks.amazonaws.com": "no pod assumes the node role: every workload has its own role",
    "AmazonEKS_CNI_Policy": "aws-node has its own role (the vpc-cni add-on's Pod Identity association, or IRSA)",
}

UPSTREAM_INTERRUPTION_RULES = {
    ("aws.health", "AWS Health Event"),
    ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    ("aws.ec2", "EC2 Instance State-change Notification"),
    ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}
"""ScheduledChangeRule, SpotInterruptionRule, RebalanceRule, InstanceStateChangeRule,
CapacityReservationInterruptionRule: each EventPattern's source and detail-type."""

UPSTREAM_QUEUE = {
    "MessageRetentionPeriod": 300,
    "SqsManagedSseEnabled": True,
    "senders": {"events.amazonaws.com", "sqs.amazonaws.com"},
}
"""KarpenterInterruptionQueue and its policy (SendMessage from these services; DenyHTTP)."""
QUEUE_DIFFERENCE = (
    "stricter: only EventBridge, and only the stack's own rules (aws:SourceArn), may send; sqs.amazonaws.com "
    "is not needed for EventBridge targets"
)

# --------------------------------------------------------------------------- EKS Pod Identity
EKS_POD_IDENTITY_TRUST = {
    "source": "Amazon EKS User Guide, 'Create IAM role with trust policy required by EKS Pod Identity' "
    "(pod-id-role) and 'Enable or disable session tags' (pod-id-abac)",
    "principal": "pods.eks.amazonaws.com",
    "actions": ["sts:AssumeRole", "sts:TagSession"],
    "session_tags": {
        "eks-cluster-arn",
        "eks-cluster-name",
        "kubernetes-namespace",
        "kubernetes-service-account",
        "kubernetes-pod-name",
        "kubernetes-pod-uid",
    },
    "documented_scope": {"aws:RequestTag/kubernetes-namespace", "aws:RequestTag/kubernetes-service-account"},
}
"""What AWS documents: the principal and actions, the session tags Pod Identity sets, and the example
scoping a role to one namespace and service account (the cluster by the same means)."""

CLUSTER_ARN = "arn:aws:eks:us-east-1:123456789012:cluster/mlops-prod"
PARAMETERS = {
    "${AWS::Partition}": "aws",
    "${AWS::Region}": "us-east-1",
    "${AWS::AccountId}": "123456789012",
    "${ClusterName}": "mlops-prod",
    "${KarpenterNodeRole.Arn}": "arn:aws:iam::123456789012:role/mlops-karpenter-node",
    "${KarpenterInterruptionQueue.Arn}": "arn:aws:sqs:us-east-1:123456789012:mlops-prod",
}


def filled(value: Any) -> Any:
    """Upstream's document with the template's parameters filled in."""
    text = json.dumps(value)
    for placeholder, actual in PARAMETERS.items():
        text = text.replace(placeholder, actual)
    assert "${" not in text, re.findall(r"\$\{[^}]+\}", text)
    return json.loads(text)


def normalised(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement with single values and lists read alike, and list order ignored."""

    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return sorted(norm(v) for v in value) if len(value) != 1 else norm(value[0])
        return value

    return norm(statement)


def test_the_pinned_karpenter_is_the_release_these_facts_come_from() -> None:
    pinned = ".".join(KARPENTER_CHART.version.split(".")[:2])
    assert pinned == KARPENTER_CFN["release"] == KARPENTER_POLICY_SOURCE[2], (
        f"versions.py pins Karpenter {KARPENTER_CHART.version}: re-read {KARPENTER_CFN['path'].replace('v1.14', 'v' + pinned)} "
        f"in {KARPENTER_CFN['repository']} at tag v{KARPENTER_CHART.version}, update the upstream data in this file "
        "and KARPENTER_POLICY_SOURCE in components/cluster/karpenter.py"
    )
    assert KARPENTER_POLICY_SOURCE[:2] == (KARPENTER_CFN["repository"], KARPENTER_CFN["path"])


def test_the_controller_policy_is_upstreams_statement_by_statement() -> None:
    ours = json.loads(
        controller_policy(
            cluster_name=PARAMETERS["${ClusterName}"],
            cluster_arn=CLUSTER_ARN,
            region=PARAMETERS["${AWS::Region}"],
            queue_arn=PARAMETERS["${KarpenterInterruptionQueue.Arn}"],
            node_role_arn=PARAMETERS["${KarpenterNodeRole.Arn}"],
        )
    )["Statement"]
    upstream = {s["Sid"]: normalised(s) for s in filled(UPSTREAM_CONTROLLER_STATEMENTS)}
    mine = {s["Sid"]: normalised(s) for s in ours}
    assert len(mine) == len(ours), "Sids are unique"
    missing = sorted(set(upstream) - set(mine) - set(CONTROLLER_DIFFERENCES))
    extra = sorted(set(mine) - set(upstream) - set(CONTROLLER_DIFFERENCES))
    assert missing == [] and extra == [], f"upstream has {missing}, only ours has {extra}"
    changed = [
        sid for sid in upstream if sid in mine and mine[sid] != upstream[sid] and sid not in CONTROLLER_DIFFERENCES
    ]
    for sid in changed:
        assert mine[sid] == upstream[sid], sid
    actions = {a for s in ours for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    for needed in ("iam:ListInstanceProfiles", "ec2:DescribeInstanceStatus", "arc-zonal-shift:GetManagedResource"):
        assert needed in actions, f"the controller calls {needed}"
    for unused in ("ec2:DescribeAvailabilityZones", "sqs:GetQueueAttributes"):
        assert unused not in actions, f"nothing in Karpenter {KARPENTER_CFN['release']} calls {unused}"


def test_the_controller_policy_fits_one_inline_policy() -> None:
    document = controller_policy(
        cluster_name="a" * 100,
        cluster_arn=f"arn:aws:eks:ap-southeast-2:123456789012:cluster/{'a' * 100}",
        region="ap-southeast-2",
        queue_arn=f"arn:aws:sqs:ap-southeast-2:123456789012:{'a' * 80}",
        node_role_arn=f"arn:aws:iam::123456789012:role/{'r' * 64}",
    )
    compact = json.dumps(json.loads(document), separators=(",", ":"))
    assert len(compact) <= 10_240, "IAM limits a role's inline policies to 10,240 characters (whitespace aside)"


def test_the_node_role_is_upstreams_but_what_is_listed(graphs: dict[str, Graph]) -> None:
    graph = graphs["prod"]
    role = graph.one("aws:iam/role:Role", "mlops-karpenter-node")
    trusts = {s["Principal"]["Service"] for s in json.loads(role.get("assumeRolePolicy"))["Statement"]}
    attached = {
        a.get("policyArn").rsplit("/", 1)[-1]
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("mlops-karpenter-node-")
    }
    assert attached == set(NODE_POLICIES)
    assert trusts | (UPSTREAM_NODE_ROLE["trusts"] & set(NODE_ROLE_DIFFERENCES)) == UPSTREAM_NODE_ROLE["trusts"]
    assert attached | (UPSTREAM_NODE_ROLE["managed"] & set(NODE_ROLE_DIFFERENCES)) == UPSTREAM_NODE_ROLE["managed"]
    assert not [p for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.startswith("mlops-karpenter-node")]


def test_the_interruption_rules_are_upstreams(graphs: dict[str, Graph]) -> None:
    assert set(INTERRUPTION_EVENTS.values()) == UPSTREAM_INTERRUPTION_RULES
    graph = graphs["prod"]
    patterns = {
        (p["source"][0], p["detail-type"][0])
        for r in graph.of_type("aws:cloudwatch/eventRule:EventRule")
        for p in [json.loads(r.get("eventPattern"))]
        if r.parent and "Karpenter" in r.parent
    }
    assert patterns == UPSTREAM_INTERRUPTION_RULES
    queue = graph.one("aws:sqs/queue:Queue", "mlops-karpenter-interruptions")
    assert queue.get("messageRetentionSeconds") == UPSTREAM_QUEUE["MessageRetentionPeriod"]
    assert queue.get("sqsManagedSseEnabled") is UPSTREAM_QUEUE["SqsManagedSseEnabled"]
    document = json.loads(queue_policy("arn:aws:sqs:us-east-1:123456789012:q", ["arn:aws:events:us-east-1:1:rule/r"]))
    senders = {s["Principal"]["Service"] for s in document["Statement"] if s["Effect"] == "Allow"}
    assert senders < UPSTREAM_QUEUE["senders"], QUEUE_DIFFERENCE
    assert all("aws:SourceArn" in str(s.get("Condition")) for s in document["Statement"] if s["Effect"] == "Allow")


def _bound_service_accounts(graph: Graph) -> dict[str, tuple[str, str]]:
    """Role URN -> the (namespace, service account) an association or an add-on binds it to."""
    bound: dict[str, tuple[str, str]] = {}
    for association in graph.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
        for urn in association.options["propertyDependencies"]["roleArn"]:
            bound[urn] = (association.get("namespace"), association.get("serviceAccount"))
    for addon in graph.of_type("aws:eks/addon:Addon"):
        for item in addon.get("podIdentityAssociations") or []:
            for urn in addon.options["propertyDependencies"]["podIdentityAssociations"]:
                bound[urn] = ("kube-system", item["serviceAccount"])
    return bound


def test_pod_identity_roles_trust_as_aws_documents_scoped_to_their_service_account(graph: Graph) -> None:
    cluster_arn = f"arn:aws:eks:us-east-1:123456789012:cluster/{graph.one('aws:eks/cluster:Cluster').get('name')}"
    bound = _bound_service_accounts(graph)
    roles = [r for r in graph.of_type("aws:iam/role:Role") if "pods.eks.amazonaws.com" in r.get("assumeRolePolicy")]
    assert len(roles) >= 7 and {r.urn for r in roles} == set(bound)
    for role in roles:
        (statement,) = json.loads(role.get("assumeRolePolicy"))["Statement"]
        namespace, account = bound[role.urn]
        assert statement["Principal"] == {"Service": EKS_POD_IDENTITY_TRUST["principal"]}, role.name
        assert statement["Action"] == EKS_POD_IDENTITY_TRUST["actions"], role.name
        scope = statement["Condition"]["StringEquals"]
        assert set(statement["Condition"]) == {"StringEquals"}, f"{role.name}: only the session tags scope it"
        assert EKS_POD_IDENTITY_TRUST["documented_scope"] <= set(scope)
        assert {k.removeprefix("aws:RequestTag/") for k in scope} <= EKS_POD_IDENTITY_TRUST["session_tags"]
        assert scope == {
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": account,
            "aws:RequestTag/eks-cluster-arn": cluster_arn,
        }, role.name
        assert guardrails.pod_identity_trust_problems(statement) == [], role.name


# --------------------------------------------------------------------------- deploy order, spot role


def _waits_for(graph: Graph, resource: Resource) -> set[str]:
    """What the pack's aws-credentials-before-workloads rule reads as `resource` being created after."""
    from offline.policy_run import stack_view
    from policies.rules.credentials import children_of, waits_for

    view = stack_view([r for r in graph if r.custom])  # what the pack's stack rules see (offline.policy_run)
    (seen_as,) = [r for r in view if r.urn == resource.urn]
    return waits_for(seen_as, children_of(view))


def test_karpenter_installs_after_its_association_and_policy(graph: Graph) -> None:
    release = graph.one("kubernetes:helm.sh/v3:Release", "mlops-karpenter-release")
    waited = _waits_for(graph, release)
    association = graph.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "mlops-karpenter-controller")
    policy = graph.one("aws:iam/rolePolicy:RolePolicy", "mlops-karpenter-controller")
    assert {association.urn, policy.urn} <= waited


def test_spot_pools_launch_after_the_spot_service_linked_role(graph: Graph) -> None:
    (role,) = graph.of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert role.get("awsServiceName") == "spot.amazonaws.com"
    for pool in graph.of_type("kubernetes:karpenter.sh/v1:NodePool"):
        assert role.urn in _waits_for(graph, pool), pool.name


@pytest.mark.parametrize(
    ("change", "roles"),
    [
        ({"spotServiceLinkedRole": "exists"}, 0),
        ({"spotServiceLinkedRole": "create"}, 1),
        ({"allOnDemand": True}, 0),
    ],
    ids=["account-has-it", "create", "no-spot-pool"],
)
def test_the_spot_role_is_created_only_when_a_pool_may_use_spot_and_the_stack_asks(
    change: dict[str, Any], roles: int
) -> None:
    from tests.infra.conftest import run_platform, stack_config

    platform = stack_config("dev")
    if change.pop("allOnDemand", False):
        for pool in platform["gpuPools"]:
            pool["capacityType"] = "ON_DEMAND"
        platform.setdefault("guardrails", {})["allowSpot"] = False
    platform.update(change)
    graph = run_platform(platform)
    assert len(graph.of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole")) == roles


def test_a_misspelt_spot_role_setting_is_refused() -> None:
    from components.config import ConfigError
    from components.config.loader import check_stack
    from tests.infra.conftest import stack_config

    platform = stack_config("dev")
    platform["spotServiceLinkedRole"] = "exist"
    with pytest.raises(ConfigError, match=r"platform\.spotServiceLinkedRole = \"exist\""):
        check_stack({"aws:region": "us-east-1", "mlops-platform:platform": platform}, ())


def test_every_workload_waits_for_its_credentials_on_both_identity_paths(graph: Graph, legacy_graph: Graph) -> None:
    """Pod Identity (the shipped stacks) and IRSA (clusterAutoscaler + irsa): the whole-graph rule
    finds nothing, and it does look - each path has workloads with credentials to wait for."""
    from offline.policy_run import evaluate
    from policies.rules import credentials

    for each in (graph, legacy_graph):
        outcome = evaluate(each, credentials.POLICIES, {})
        assert outcome.violations == [] and outcome.not_run == []
    releases = [
        r for r in legacy_graph.of_type("kubernetes:helm.sh/v3:Release") if r.get("name") == "cluster-autoscaler"
    ]
    assert releases and "eks.amazonaws.com/role-arn" in str(releases[0].get("values"))
