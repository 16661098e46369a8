"""The AWS half of the platform, asserted on the whole recorded graph of each shipped stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.cluster.gpu_node_pool import AUTOSCALER_TEMPLATE, NVIDIA_AMI_TYPE
from components.kit.guardrails import EKS_LOG_TYPES, REQUIRED_TAGS
from components.kit.versions import CLUSTER_AUTOSCALER, EKS_ADDONS
from components.testing import Graph, Resource, Secret, contains_secret
from policies.rules.tags import TAGGABLE
from tests.infra.conftest import run_platform, stack_config

BUCKET = "aws:s3/bucket:Bucket"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def gpu_node_groups(graph: Graph) -> list[Resource]:
    return [g for g in graph.of_type(NODE_GROUP) if g.inputs["amiType"] == NVIDIA_AMI_TYPE]


def companions(graph: Graph, bucket: Resource, type_: str) -> list[Resource]:
    return [r for r in graph.of_type(type_) if r.name == bucket.name]


# --------------------------------------------------------------------------- GPU pools: Karpenter (the default)


def custom(graph: Graph, kind: str) -> dict[str, Resource]:
    return {r.get("metadata.name"): r for r in graph.kubernetes_objects() if r.get("kind") == kind}


def test_each_gpu_pool_is_a_node_pool_and_an_ec2_node_class_from_the_stack_config(graph: Graph, stack: str) -> None:
    wanted = {p["name"]: p for p in stack_config(stack)["gpuPools"]}
    pools, classes = custom(graph, "NodePool"), custom(graph, "EC2NodeClass")
    assert set(pools) == set(classes) == set(wanted)
    assert not gpu_node_groups(graph), "Karpenter stacks declare no GPU managed node group"
    capacity = {"SPOT": ["spot"], "ON_DEMAND": ["on-demand"]}
    for name, pool in pools.items():
        spec = pool.get("spec")
        template = spec["template"]["spec"]
        requirements = {r["key"]: r["values"] for r in template["requirements"]}
        assert requirements["node.kubernetes.io/instance-type"] == wanted[name]["instanceTypes"], name
        assert requirements["karpenter.sh/capacity-type"] == capacity[wanted[name]["capacityType"]], name
        assert requirements["kubernetes.io/arch"] == ["amd64"], name
        assert template["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": name}
        assert template["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}], name
        labels = spec["template"]["metadata"]["labels"]
        assert labels["accelerator"] == "nvidia" and labels["mlops.platform/gpu-pool"] == name, name
        assert labels["mlops.platform/gpu-type"].startswith("nvidia-"), name
        # 1 GPU per node on the shipped types: the limit is maxSize nodes' worth.
        assert spec["limits"] == {"nvidia.com/gpu": str(wanted[name]["maxSize"])}, name
        disruption = wanted[name].get("disruption", {})
        assert spec["disruption"]["consolidationPolicy"] == disruption.get(
            "consolidationPolicy", "WhenEmptyOrUnderutilized"
        ), name
        assert spec["disruption"]["budgets"] == [
            {"nodes": disruption.get("maxUnavailable", "10%")},
            *({"nodes": "0", **window} for window in disruption.get("frozen", [])),
        ], name
        assert spec["disruption"]["consolidateAfter"] == disruption.get("consolidateAfter", "5m"), name
        assert set(pool.options["dependencies"]) & {r.urn for r in graph.of_type("kubernetes:helm.sh/v3:Release")}, name


def test_ec2_node_classes_pin_the_ami_require_imdsv2_encrypt_and_discover_by_tag(graph: Graph) -> None:
    role = graph.one("aws:iam/role:Role", "mlops-karpenter-node")
    cluster = graph.one("aws:eks/cluster:Cluster").get("name")
    assert custom(graph, "EC2NodeClass")
    for name, node_class in custom(graph, "EC2NodeClass").items():
        spec = node_class.get("spec")
        assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20250915"}], name
        assert "@latest" not in json.dumps(spec), name
        assert spec["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,
            "httpTokens": "required",
        }, name
        (disk,) = spec["blockDeviceMappings"]
        assert disk["ebs"]["encrypted"] is True and disk["ebs"]["volumeType"] == "gp3", name
        assert (
            spec["subnetSelectorTerms"]
            == spec["securityGroupSelectorTerms"]
            == [{"tags": {"karpenter.sh/discovery": cluster}}]
        ), name
        assert spec["role"] == role.name, name  # the mocks name a role after its resource
    private = [s for s in graph.of_type("aws:ec2/subnet:Subnet") if "private" in s.name]
    assert private and all(s.get("tags")["karpenter.sh/discovery"] == cluster for s in private)
    assert [
        s
        for s in graph.of_type("aws:ec2/subnet:Subnet")
        if "public" in s.name and "karpenter.sh/discovery" in s.get("tags")
    ] == []
    (sg_tag,) = graph.of_type("aws:ec2/tag:Tag")
    assert (sg_tag.get("key"), sg_tag.get("value")) == ("karpenter.sh/discovery", cluster)


def test_karpenter_nodes_join_through_an_access_entry_with_a_role_of_their_own(graph: Graph) -> None:
    role = graph.one("aws:iam/role:Role", "mlops-karpenter-node")
    assert json.loads(role.get("assumeRolePolicy"))["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = sorted(
        a.get("policyArn").rsplit("/", 1)[-1]
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("mlops-karpenter-node-")
    )
    assert attached == [
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKSWorkerNodePolicy",
        "AmazonSSMManagedInstanceCore",
    ]
    entry = graph.one("aws:eks/accessEntry:AccessEntry", "mlops-karpenter-node")
    assert entry.get("type") == "EC2_LINUX"


def test_karpenter_controller_is_pinned_on_system_nodes_and_wired_to_its_interruption_queue(graph: Graph) -> None:
    (release,) = [r for r in graph.of_type("kubernetes:helm.sh/v3:Release") if r.get("name") == "karpenter"]
    assert (release.get("chart"), release.get("version")) == ("oci://public.ecr.aws/karpenter/karpenter", "1.14.1")
    assert release.get("values.nodeSelector") == {"mlops.platform/node-role": "system"}
    assert release.get("values.replicas") == 2
    queue = graph.one("aws:sqs/queue:Queue", "mlops-karpenter-interruptions")
    assert queue.get("sqsManagedSseEnabled") is True
    assert release.get("values.settings.interruptionQueue") == queue.get("name")
    rules = {r.name: json.loads(r.get("eventPattern")) for r in graph.of_type("aws:cloudwatch/eventRule:EventRule")}
    assert sorted(p["detail-type"][0] for p in rules.values()) == [
        "AWS Health Event",
        "EC2 Capacity Reservation Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
        "EC2 Spot Instance Interruption Warning",
    ]
    targets = graph.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert sorted(t.name for t in targets) == sorted(rules)
    assert all(t.get("arn") == queue.get("arn") or "interruptions" in str(t.get("arn")) for t in targets)
    policy = json.loads(graph.one("aws:sqs/queuePolicy:QueuePolicy").get("policy"))
    allow, deny = policy["Statement"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert len(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == 5
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_karpenter_may_only_touch_this_clusters_instances_queue_and_node_role(graph: Graph) -> None:
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "mlops-karpenter-controller").get("policy"))
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    cluster = graph.one("aws:eks/cluster:Cluster").get("name")
    owned = f"kubernetes.io/cluster/{cluster}"
    assert by_sid["AllowScopedDeletion"]["Condition"]["StringEquals"] == {f"aws:ResourceTag/{owned}": "owned"}
    assert by_sid["AllowScopedEC2InstanceActionsWithTags"]["Condition"]["StringEquals"] == {
        f"aws:RequestTag/{owned}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster,
    }
    launch_templates = by_sid["AllowScopedEC2LaunchTemplateAccessActions"]
    assert launch_templates["Condition"]["StringEquals"] == {f"aws:ResourceTag/{owned}": "owned"}
    assert by_sid["AllowPassingInstanceRole"]["Resource"] == "arn:aws:iam::123456789012:role/mlops-karpenter-node"
    assert "interruptions" in by_sid["AllowInterruptionQueueActions"]["Resource"]
    assert by_sid["AllowAPIServerEndpointDiscovery"]["Resource"].endswith(f":cluster/{cluster}")
    assert by_sid["AllowRegionalReadActions"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    for statement in policy["Statement"]:
        assert statement["Action"] != "*" and "iam:*" not in statement["Action"], statement["Sid"]


# --------------------------------------------------------------------------- GPU pools: managed node groups


def test_gpu_pools_match_the_stack_config(legacy_graph: Graph, stack: str) -> None:
    graph = legacy_graph
    wanted = {f"mlops-gpu-{p['name']}": p for p in stack_config(stack)["gpuPools"]}
    groups = {g.name: g for g in gpu_node_groups(graph)}
    assert set(groups) == set(wanted)
    assert not custom(graph, "NodePool") and not graph.of_type("aws:sqs/queue:Queue")
    for name, group in groups.items():
        assert group.get("instanceTypes") == wanted[name]["instanceTypes"], name
        assert group.get("capacityType") == wanted[name]["capacityType"], name
        assert group.get("scalingConfig.minSize") == 0, f"{name} must be able to scale to zero"
        assert group.get("scalingConfig.maxSize") == wanted[name]["maxSize"], name
        assert "scalingConfig.desiredSize" in group.options["ignoreChanges"], f"{name}: the autoscaler owns desiredSize"


def test_gpu_pools_are_tainted_and_labelled(legacy_graph: Graph) -> None:
    for group in gpu_node_groups(legacy_graph):
        assert group.get("taints") == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}], group.name
        labels = group.get("labels")
        assert labels["accelerator"] == "nvidia", group.name
        assert labels["mlops.platform/gpu-type"].startswith("nvidia-"), group.name
        assert labels["mlops.platform/gpu-pool"] == group.name.removeprefix("mlops-gpu-"), group.name


def test_gpu_pools_carry_the_scale_from_zero_tags_on_their_autoscaling_group(legacy_graph: Graph) -> None:
    graph = legacy_graph
    for group in gpu_node_groups(graph):
        asg = f"eks-{group.name}-asg"
        tags = {
            t.get("tag.key"): t.get("tag.value")
            for t in graph.of_type("aws:autoscaling/tag:Tag")
            if t.get("autoscalingGroupName") == asg
        }
        expected = {f"{AUTOSCALER_TEMPLATE}/label/{k}": v for k, v in group.get("labels").items()}
        expected[f"{AUTOSCALER_TEMPLATE}/taint/nvidia.com/gpu"] = "true:NoSchedule"
        expected[f"{AUTOSCALER_TEMPLATE}/resources/nvidia.com/gpu"] = "1"
        assert tags == expected, group.name
        assert all(t.get("tag.propagateAtLaunch") is False for t in graph.of_type("aws:autoscaling/tag:Tag"))


@pytest.mark.parametrize("path", ["karpenter", "clusterAutoscaler"])
def test_every_launch_template_requires_imdsv2_and_encrypts_the_root_volume(
    graph: Graph, legacy_graph: Graph, path: str
) -> None:
    chosen = graph if path == "karpenter" else legacy_graph
    templates = chosen.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == len(chosen.of_type(NODE_GROUP))
    for template in templates:
        assert template.get("metadataOptions.httpTokens") == "required", template.name
        assert template.get("metadataOptions.httpPutResponseHopLimit") == 1, template.name
        assert template.get("blockDeviceMappings.0.ebs.encrypted") == "true", template.name
        assert template.get("blockDeviceMappings.0.ebs.volumeType") == "gp3", template.name


def test_gpu_agents_run_only_on_gpu_nodes_and_tolerate_the_taint(graph: Graph) -> None:
    daemonsets = {d.get("metadata.name"): d for d in graph.of_type("kubernetes:apps/v1:DaemonSet")}
    assert {"nvidia-device-plugin", "dcgm-exporter"} <= set(daemonsets)
    for name in ("nvidia-device-plugin", "dcgm-exporter"):
        spec = daemonsets[name].get("spec.template.spec")
        assert spec["nodeSelector"] == {"accelerator": "nvidia"}, name
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"], name


@pytest.mark.parametrize("path", ["karpenter", "clusterAutoscaler"])
def test_cluster_autoscaler_matches_the_kubernetes_minor_and_may_only_scale_this_clusters_groups(
    graph: Graph, legacy_graph: Graph, path: str
) -> None:
    """Both paths keep it for the system node group (Karpenter scales only the GPU pools)."""
    chosen = graph if path == "karpenter" else legacy_graph
    (release,) = [r for r in chosen.of_type("kubernetes:helm.sh/v3:Release") if r.get("chart") == "cluster-autoscaler"]
    version = chosen.one("aws:eks/cluster:Cluster").get("version")
    assert (release.get("chart"), release.get("version")) == (
        "cluster-autoscaler",
        CLUSTER_AUTOSCALER[version].chart.version,
    )
    assert release.get("values.image.tag") == f"v{version}.0"
    role = chosen.one("aws:iam/role:Role", "mlops-autoscaler-identity")
    policy = json.loads(chosen.one("aws:iam/rolePolicy:RolePolicy", "mlops-autoscaler-identity").get("policy"))
    scale = next(s for s in policy["Statement"] if s["Sid"] == "ScaleOwnedGroups")
    cluster = chosen.one("aws:eks/cluster:Cluster").get("name")
    assert scale["Condition"] == {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}}
    annotations = release.get("values.rbac.serviceAccount.annotations")
    if path == "clusterAutoscaler":
        assert annotations["eks.amazonaws.com/role-arn"].endswith(f"role/{role.name}")
    else:
        assert annotations == {}
        association = chosen.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "mlops-autoscaler-identity")
        assert (association.get("namespace"), association.get("serviceAccount")) == (
            "kube-system",
            "cluster-autoscaler",
        )


def test_every_supported_kubernetes_version_has_its_own_cluster_autoscaler_release() -> None:
    assert set(CLUSTER_AUTOSCALER) == set(EKS_ADDONS)
    for minor, release in CLUSTER_AUTOSCALER.items():
        assert release.image_tag.startswith(f"v{minor}."), minor
        # kubernetes/autoscaler's table: 1.33.x -> chart 9.47.0+ (1.32 -> 9.45.0+, 1.34 -> 9.51.0+).
        assert (
            {"1.32": (9, 45), "1.33": (9, 47), "1.34": (9, 51)}[minor]
            <= tuple(int(n) for n in release.chart.version.split(".")[:2])
            < {"1.32": (9, 47), "1.33": (9, 51), "1.34": (9, 99)}[minor]
        ), minor


# --------------------------------------------------------------------------- S3


def test_every_bucket_is_private_versioned_encrypted_and_tls_only(graph: Graph) -> None:
    buckets = graph.of_type(BUCKET)
    assert {b.name for b in buckets} == {"mlops-artifacts-artifacts", "mlops-artifacts-data", "mlops-artifacts-logs"}
    kms_key = graph.one("aws:kms/key:Key", "mlops-artifacts-key")
    for bucket in buckets:
        (blocks,) = companions(graph, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        assert all(
            blocks.get(f) is True
            for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        (ownership,) = companions(graph, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        assert ownership.get("rule.objectOwnership") == "BucketOwnerEnforced"
        (versioning,) = companions(graph, bucket, "aws:s3/bucketVersioning:BucketVersioning")
        assert versioning.get("versioningConfiguration.status") == "Enabled"
        (sse,) = companions(
            graph, bucket, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        default = sse.get("rules.0.applyServerSideEncryptionByDefault")
        if bucket.name.endswith("-logs"):
            assert default == {"sseAlgorithm": "AES256"}, "S3 server access logs only support SSE-S3"
        else:
            assert default == {
                "sseAlgorithm": "aws:kms",
                "kmsMasterKeyId": f"arn:aws:kms:us-east-1:123456789012:key/{kms_key.name}",
            }
        (policy,) = companions(graph, bucket, "aws:s3/bucketPolicy:BucketPolicy")
        deny = json.loads(policy.get("policy"))["Statement"][0]
        assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        (lifecycle,) = companions(graph, bucket, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        noncurrent = [r for r in lifecycle.get("rules") if "noncurrentVersionExpiration" in r]
        assert noncurrent and noncurrent[0]["status"] == "Enabled"


def test_data_buckets_log_access_to_the_log_bucket(graph: Graph) -> None:
    logging = {r.name: r for r in graph.of_type("aws:s3/bucketLogging:BucketLogging")}
    assert set(logging) == {"mlops-artifacts-artifacts", "mlops-artifacts-data"}
    for entry in logging.values():
        assert entry.get("targetBucket") == "mlops-artifacts-logs-0a1b2c3d"


def test_noncurrent_versions_expire_after_the_configured_days(graphs: dict[str, Graph]) -> None:
    for stack, days in (("dev", 7), ("prod", 90)):
        lifecycle = graphs[stack].one(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "mlops-artifacts-data"
        )
        assert lifecycle.get("rules.0.noncurrentVersionExpiration.noncurrentDays") == days


# --------------------------------------------------------------------------- EKS


def test_eks_logs_everything_encrypts_secrets_and_limits_its_endpoint(graph: Graph, stack: str) -> None:
    cluster = graph.one("aws:eks/cluster:Cluster")
    assert cluster.get("enabledClusterLogTypes") == list(EKS_LOG_TYPES)
    assert cluster.get("encryptionConfig.resources") == ["secrets"]
    key = graph.one("aws:kms/key:Key", "mlops-eks-secrets")
    assert cluster.get("encryptionConfig.provider.keyArn") == f"arn:aws:kms:us-east-1:123456789012:key/{key.name}"
    assert key.get("enableKeyRotation") is True
    assert cluster.get("vpcConfig.endpointPrivateAccess") is True
    settings = stack_config(stack)["cluster"]
    assert cluster.get("vpcConfig.endpointPublicAccess") is settings.get("endpointPublicAccess", True)
    assert cluster.get("vpcConfig.publicAccessCidrs") == settings.get("publicAccessCidrs")
    assert cluster.get("accessConfig.authenticationMode") == "API"
    system = graph.one(NODE_GROUP, "mlops-eks-system")
    assert system.get("scalingConfig.minSize") >= 2
    assert system.get("labels") == {"mlops.platform/node-role": "system"}


def test_the_oidc_provider_serves_sts(graph: Graph) -> None:
    provider = graph.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.get("clientIdLists") == ["sts.amazonaws.com"]
    assert provider.get("url").startswith("https://oidc.eks.")


def test_every_irsa_role_trusts_exactly_one_service_account(legacy_graph: Graph) -> None:
    graph = legacy_graph
    irsa = [r for r in graph.of_type("aws:iam/role:Role") if "AssumeRoleWithWebIdentity" in r.get("assumeRolePolicy")]
    expected = {
        "mlops-eks-vpc-cni": "system:serviceaccount:kube-system:aws-node",
        "mlops-eks-aws-ebs-csi-driver": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
        "mlops-autoscaler-identity": "system:serviceaccount:kube-system:cluster-autoscaler",
    }
    assert {r.name for r in irsa} >= set(expected)
    assert not graph.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert "eks-pod-identity-agent" not in {a.get("addonName") for a in graph.of_type("aws:eks/addon:Addon")}
    for role in irsa:
        (statement,) = json.loads(role.get("assumeRolePolicy"))["Statement"]
        assert set(statement["Condition"]) == {"StringEquals"}, role.name
        conditions = statement["Condition"]["StringEquals"]
        subjects = [v for k, v in conditions.items() if k.endswith(":sub")]
        assert len(subjects) == 1 and isinstance(subjects[0], str) and "*" not in subjects[0], role.name
        assert [v for k, v in conditions.items() if k.endswith(":aud")] == ["sts.amazonaws.com"], role.name
        if role.name in expected:
            assert subjects == [expected[role.name]]


def workload_roles(graph: Graph) -> list[Resource]:
    return [
        r
        for r in graph.of_type("aws:iam/role:Role")
        if any(k in r.get("assumeRolePolicy") for k in ("pods.eks.amazonaws.com", "AssumeRoleWithWebIdentity"))
    ]


def test_pod_identity_binds_each_role_to_one_service_account_of_this_cluster_only(graph: Graph) -> None:
    cluster_arn = f"arn:aws:eks:us-east-1:123456789012:cluster/{graph.one('aws:eks/cluster:Cluster').get('name')}"
    agent = next(a for a in graph.of_type("aws:eks/addon:Addon") if a.get("addonName") == "eks-pod-identity-agent")
    system_nodes = graph.one(NODE_GROUP, "mlops-eks-system")
    assert agent.urn in system_nodes.options["dependencies"], (
        "aws-node gets its role through the agent: it must run first"
    )
    roles = workload_roles(graph)
    assert len(roles) >= 6
    bound: dict[str, tuple[str, str]] = {}
    for association in graph.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
        bound[association.name] = (association.get("namespace"), association.get("serviceAccount"))
    for addon in graph.of_type("aws:eks/addon:Addon"):
        for item in addon.get("podIdentityAssociations") or []:
            bound[addon.name] = ("kube-system", item["serviceAccount"])
        assert addon.get("serviceAccountRoleArn") is None, addon.name
    assert len(set(bound.values())) == len(bound), "two roles for one service account"
    for role in roles:
        (statement,) = json.loads(role.get("assumeRolePolicy"))["Statement"]
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}, role.name
        assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"], role.name
        assert statement["Condition"]["StringEquals"]["aws:RequestTag/eks-cluster-arn"] == cluster_arn, role.name
        assert role.name in bound, f"{role.name} is bound to no service account"
    sa_annotations = [
        sa.get("metadata.annotations") or {} for sa in graph.kubernetes_objects() if sa.get("kind") == "ServiceAccount"
    ]
    assert not any("eks.amazonaws.com/role-arn" in a for a in sa_annotations)


def grants(graph: Graph) -> dict[tuple[str, str], tuple[list[str], list[str]]]:
    """(namespace, service account) -> (its role's inline policies, its managed policy ARNs)."""
    bindings: dict[str, tuple[str, str]] = {}
    for role in workload_roles(graph):
        (statement,) = json.loads(role.get("assumeRolePolicy"))["Statement"]
        subject = next(
            (v for k, v in (statement.get("Condition", {}).get("StringEquals") or {}).items() if k.endswith(":sub")),
            None,
        )
        if subject is not None:
            namespace, account = subject.split(":")[2:4]
            bindings[role.name] = (namespace, account)
    for association in graph.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
        bindings[association.name] = (association.get("namespace"), association.get("serviceAccount"))
    for addon in graph.of_type("aws:eks/addon:Addon"):
        for item in addon.get("podIdentityAssociations") or []:
            bindings[addon.name] = ("kube-system", item["serviceAccount"])
    found = {}
    for name, account in bindings.items():
        inline = sorted(
            json.dumps(json.loads(p.get("policy")), sort_keys=True)
            for p in graph.of_type("aws:iam/rolePolicy:RolePolicy")
            if p.name == name
        )
        managed = sorted(
            a.get("policyArn")
            for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.name.startswith(f"{name}-")
        )
        found[account] = (inline, managed)
    return found


def test_each_workload_keeps_exactly_its_grants_under_pod_identity(graph: Graph, legacy_graph: Graph) -> None:
    """Switching IRSA -> Pod Identity changes trust and binding, never what a workload may do."""
    now, before = grants(graph), grants(legacy_graph)
    karpenter = ("kube-system", "karpenter")
    assert karpenter in now and karpenter not in before
    now.pop(karpenter)
    assert now == before
    assert ("mlops", "training") in now and now[("mlops", "training")][0]
    assert now[("kube-system", "aws-node")] == ([], ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"])


def test_the_kubernetes_provider_and_the_kubeconfig_output_are_secret(graph: Graph) -> None:
    provider = graph.one("pulumi:providers:kubernetes")
    assert isinstance(provider.inputs["kubeconfig"], Secret)
    secret_outputs = {k for k, v in graph.outputs.items() if contains_secret(v)}
    assert secret_outputs == {"kubeconfig", "mlflowAdminPassword", "grafanaAdminPassword"}
    assert all(isinstance(graph.outputs[k], Secret) for k in secret_outputs)


def test_every_kubernetes_object_uses_the_clusters_provider(graph: Graph) -> None:
    provider = graph.one("pulumi:providers:kubernetes")
    for obj in graph.kubernetes_objects() + graph.of_type("kubernetes:helm.sh/v3:Release"):
        assert (obj.options["provider"] or "").startswith(provider.urn), obj.name


# --------------------------------------------------------------------------- network


def test_network_spans_the_configured_zones_with_nat_per_environment(graph: Graph, stack: str) -> None:
    zones = stack_config(stack)["network"]["availabilityZones"]
    subnets = graph.of_type("aws:ec2/subnet:Subnet")
    public = [s for s in subnets if s.get("tags").get("kubernetes.io/role/elb") == "1"]
    private = [s for s in subnets if s.get("tags").get("kubernetes.io/role/internal-elb") == "1"]
    assert sorted(s.get("availabilityZone") for s in public) == sorted(zones)
    assert sorted(s.get("availabilityZone") for s in private) == sorted(zones)
    assert all(s.get("mapPublicIpOnLaunch") is False for s in public)
    nat = graph.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nat) == (len(zones) if stack == "prod" else 1)
    assert graph.one("aws:ec2/flowLog:FlowLog").get("trafficType") == "ALL"
    default_sg = graph.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert "ingress" not in default_sg.inputs and "egress" not in default_sg.inputs


# --------------------------------------------------------------------------- tags and protection


def test_every_taggable_aws_resource_carries_the_required_tags(graph: Graph, stack: str) -> None:
    taggable = [r for r in graph if r.type in TAGGABLE]
    assert len(taggable) > 30
    for resource in taggable:
        tags = resource.get("tags") or {}
        assert all(tags.get(key) for key in REQUIRED_TAGS), f"{resource.type} {resource.name}: {tags}"
        assert tags["environment"] == stack


STATEFUL = {"aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:eks/cluster:Cluster"}


def test_prod_state_is_protected_and_dev_state_is_not(graphs: dict[str, Graph]) -> None:
    for stack, protected in (("prod", True), ("dev", False)):
        stateful = [r for r in graphs[stack] if r.type in STATEFUL]
        assert len(stateful) == 6
        for resource in stateful:
            assert resource.protect is protected, f"{stack}: {resource.type} {resource.name}"
            assert resource.options["retainOnDelete"] is protected, f"{stack}: {resource.type} {resource.name}"
    assert graphs["prod"].one("aws:eks/cluster:Cluster").get("deletionProtection") is True
    assert all(b.get("forceDestroy") is False for b in graphs["prod"].of_type(BUCKET))


def test_children_are_parented_to_their_component(graph: Graph) -> None:
    components = {r.urn: r for r in graph if r.type.startswith("mlops:index:")}
    for resource in graph:
        if resource.type == "mlops:index:MlPlatform":
            assert "pulumi:pulumi:Stack" in (resource.parent or "")
            continue
        assert resource.parent in components, f"{resource.type} {resource.name} is not inside a component"


# --------------------------------------------------------------------------- adopting what exists


@pytest.fixture(scope="module")
def adopted() -> Graph:
    return run_adopted()


def run_adopted(**cluster: Any) -> Graph:
    platform = stack_config("dev")
    # The dev stack states Karpenter and Pod Identity for the cluster it creates; adopted, the defaults apply.
    platform.pop("gpuProvisioner")
    platform["gpuPools"][0].pop("disruption")
    platform["cluster"].pop("workloadIdentity")
    platform["cluster"].update(cluster)
    platform["network"]["existingVpc"] = {
        "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        "cidrBlocks": ["10.60.0.0/16"],
    }
    platform["cluster"]["existing"] = {
        "name": "shared-eks",
        "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC",
        "oidcIssuerUrl": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
        "nodeSecurityGroupId": "sg-0123456789abcdef0",
    }
    return run_platform(
        platform,
        extra={"mlops-platform:kubeconfig": "apiVersion: v1\nkind: Config\n"},
        secret_keys=("mlops-platform:kubeconfig",),
    )


def test_an_adopted_cluster_with_the_pod_identity_agent_gets_roles_trusted_by_its_arn() -> None:
    graph = run_adopted(workloadIdentity="podIdentity")
    roles = workload_roles(graph)
    assert roles
    for role in roles:
        (statement,) = json.loads(role.get("assumeRolePolicy"))["Statement"]
        assert statement["Condition"]["StringEquals"]["aws:RequestTag/eks-cluster-arn"] == (
            "arn:aws:eks:us-east-1:123456789012:cluster/shared-eks"
        ), role.name
    associations = graph.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert associations and {a.get("clusterName") for a in associations} == {"shared-eks"}


def test_an_existing_vpc_and_cluster_are_adopted_not_created(adopted: Graph) -> None:
    for created in (
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/natGateway:NatGateway",
        "aws:eks/cluster:Cluster",
    ):
        assert adopted.of_type(created) == [], created
    provider = adopted.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == Secret("apiVersion: v1\nkind: Config\n")
    (gpu_pool,) = gpu_node_groups(adopted)
    assert gpu_pool.get("clusterName") == "shared-eks"
    assert gpu_pool.get("subnetIds") == ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    assert adopted.outputs["clusterName"] == "shared-eks"
