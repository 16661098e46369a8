"""The AWS half of the platform, asserted on the whole recorded graph of each shipped stack."""

from __future__ import annotations

import json

import pytest

from components.gpu_node_pool import AUTOSCALER_TEMPLATE, NVIDIA_AMI_TYPE
from components.guardrails import EKS_LOG_TYPES, REQUIRED_TAGS
from components.testing import Graph, Resource, Secret, contains_secret
from policies.rules.tags import TAGGABLE
from tests.infra.conftest import run_platform, stack_config

BUCKET = "aws:s3/bucket:Bucket"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def gpu_node_groups(graph: Graph) -> list[Resource]:
    return [g for g in graph.of_type(NODE_GROUP) if g.inputs["amiType"] == NVIDIA_AMI_TYPE]


def companions(graph: Graph, bucket: Resource, type_: str) -> list[Resource]:
    return [r for r in graph.of_type(type_) if r.name == bucket.name]


# --------------------------------------------------------------------------- GPU pools


def test_gpu_pools_match_the_stack_config(graph: Graph, stack: str) -> None:
    wanted = {f"mlops-gpu-{p['name']}": p for p in stack_config(stack)["gpuPools"]}
    groups = {g.name: g for g in gpu_node_groups(graph)}
    assert set(groups) == set(wanted)
    for name, group in groups.items():
        assert group.get("instanceTypes") == wanted[name]["instanceTypes"], name
        assert group.get("capacityType") == wanted[name]["capacityType"], name
        assert group.get("scalingConfig.minSize") == 0, f"{name} must be able to scale to zero"
        assert group.get("scalingConfig.maxSize") == wanted[name]["maxSize"], name
        assert "scalingConfig.desiredSize" in group.options["ignoreChanges"], f"{name}: the autoscaler owns desiredSize"


def test_gpu_pools_are_tainted_and_labelled(graph: Graph) -> None:
    for group in gpu_node_groups(graph):
        assert group.get("taints") == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}], group.name
        labels = group.get("labels")
        assert labels["accelerator"] == "nvidia", group.name
        assert labels["mlops.platform/gpu-type"].startswith("nvidia-"), group.name
        assert labels["mlops.platform/gpu-pool"] == group.name.removeprefix("mlops-gpu-"), group.name


def test_gpu_pools_carry_the_scale_from_zero_tags_on_their_autoscaling_group(graph: Graph) -> None:
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


def test_every_launch_template_requires_imdsv2_and_encrypts_the_root_volume(graph: Graph) -> None:
    templates = graph.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == len(graph.of_type(NODE_GROUP))
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


def test_cluster_autoscaler_is_pinned_and_may_only_scale_this_clusters_groups(graph: Graph) -> None:
    (release,) = [r for r in graph.of_type("kubernetes:helm.sh/v3:Release") if r.get("chart") == "cluster-autoscaler"]
    assert (release.get("chart"), release.get("version")) == ("cluster-autoscaler", "9.38.0")
    assert release.get("values.image.tag") == "v1.33.0"
    role = graph.one("aws:iam/role:Role", "mlops-autoscaler-irsa")
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "mlops-autoscaler-irsa").get("policy"))
    scale = next(s for s in policy["Statement"] if s["Sid"] == "ScaleOwnedGroups")
    cluster = graph.one("aws:eks/cluster:Cluster").get("name")
    assert scale["Condition"] == {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}}
    assert release.get("values.rbac.serviceAccount.annotations")["eks.amazonaws.com/role-arn"].endswith(
        f"role/{role.name}"
    )


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


def test_every_irsa_role_trusts_exactly_one_service_account(graph: Graph) -> None:
    irsa = [r for r in graph.of_type("aws:iam/role:Role") if "AssumeRoleWithWebIdentity" in r.get("assumeRolePolicy")]
    expected = {
        "mlops-eks-vpc-cni": "system:serviceaccount:kube-system:aws-node",
        "mlops-eks-aws-ebs-csi-driver": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
        "mlops-autoscaler-irsa": "system:serviceaccount:kube-system:cluster-autoscaler",
    }
    assert {r.name for r in irsa} >= set(expected)
    for role in irsa:
        (statement,) = json.loads(role.get("assumeRolePolicy"))["Statement"]
        assert set(statement["Condition"]) == {"StringEquals"}, role.name
        conditions = statement["Condition"]["StringEquals"]
        subjects = [v for k, v in conditions.items() if k.endswith(":sub")]
        assert len(subjects) == 1 and isinstance(subjects[0], str) and "*" not in subjects[0], role.name
        assert [v for k, v in conditions.items() if k.endswith(":aud")] == ["sts.amazonaws.com"], role.name
        if role.name in expected:
            assert subjects == [expected[role.name]]


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
    platform = stack_config("dev")
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
