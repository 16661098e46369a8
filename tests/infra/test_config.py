"""The stack config is checked before anything is declared; every problem is reported at once,
each with its key path, the value found and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, DictSecrets, parse_platform_config
from components.testing import ProgramFailed
from tests.infra.conftest import run_platform, stack_config

DELETE = object()

EXISTING_CLUSTER = {
    "name": "shared-eks",
    "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC",
    "oidcIssuerUrl": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
    "nodeSecurityGroupId": "sg-0123456789abcdef0",
}
ADOPTED_DEFAULTS = {"gpuProvisioner": None, "gpuPools.0.disruption": None, "cluster.workloadIdentity": None}
"""What the shipped dev stack states for a cluster it creates (Karpenter, Pod Identity): unset, an
adopted cluster takes its own defaults (clusterAutoscaler, IRSA). Filled with DELETE below."""
EXISTING_VPC = {
    "vpcId": "vpc-0123456789abcdef0",
    "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    "cidrBlocks": ["10.40.0.0/16"],
}


ADOPTED_DEFAULTS = dict.fromkeys(ADOPTED_DEFAULTS, DELETE)


def changed(stack: str, changes: dict[str, Any]) -> dict[str, Any]:
    """A shipped stack's platform config with `changes` (dotted paths; list indexes as numbers)."""
    config = stack_config(stack)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = config
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if value is DELETE:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return config


def problems(config: dict[str, Any], secrets: dict[str, bool] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_platform_config(config, secrets=DictSecrets(secrets or {}))
    return [str(p) for p in caught.value.problems]


CASES = [
    (
        "unknown top-level key",
        "dev",
        {"gpuPool": []},
        "platform.gpuPool = []: unknown key; allowed keys here: artifacts, cluster, database, environment, featureStore, gpuPools, gpuProvisioner, guardrails, images, llmEndpoints, mlflow, monitor, monitoring, network, protectState, serving, spotServiceLinkedRole, tags, training",
    ),
    (
        "unknown nested key",
        "dev",
        {"network.vpcCidrr": "10.0.0.0/16"},
        'platform.network.vpcCidrr = "10.0.0.0/16": unknown key; allowed keys here: availabilityZones, existingVpc, flowLogRetentionDays, natGateways, serviceCidr, vpcCidr',
    ),
    (
        "wrong type: integer",
        "dev",
        {"gpuPools.0.maxSize": "two"},
        'platform.gpuPools[0].maxSize = "two": must be an integer',
    ),
    (
        "wrong type: boolean",
        "dev",
        {"cluster.endpointPublicAccess": "yes"},
        'platform.cluster.endpointPublicAccess = "yes": must be true or false (YAML 1.2, as Pulumi reads stack files, keeps yes/no/on/off as strings)',
    ),
    (
        "wrong type: list",
        "dev",
        {"network.availabilityZones": "us-east-1a"},
        'platform.network.availabilityZones = "us-east-1a": must be a list',
    ),
    (
        "unknown environment",
        "dev",
        {"environment": "staging"},
        "platform.environment = \"staging\": must be one of: 'dev' or 'prod'",
    ),
    ("missing required key", "dev", {"tags.owner": DELETE}, "platform.tags.owner: required key is missing"),
    (
        "min > max",
        "dev",
        {"gpuPools.0.minSize": 3, "gpuPools.0.maxSize": 1},
        "platform.gpuPools[0].maxSize = 1: must be >= minSize (3)",
    ),
    (
        "desired outside min..max",
        "dev",
        {"gpuPools.0.desiredSize": 5},
        "platform.gpuPools[0].desiredSize = 5: must be between minSize (0) and maxSize (2)",
    ),
    (
        "system nodes below two",
        "dev",
        {"cluster.systemNodes.minSize": 1},
        "platform.cluster.systemNodes.minSize = 1: must be >= 2",
    ),
    (
        "GPU pool of CPU instances",
        "dev",
        {"gpuPools.0.instanceTypes": ["m5.large", "g4dn.xlarge"]},
        'platform.gpuPools[0].instanceTypes = ["m5.large", "g4dn.xlarge"]: m5.large has no GPU. A GPU pool holds NVIDIA GPU instance types for x86_64 (families g4dn, g5, g6, g6e, g7, g7e, gr6, p3dn, p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300)',
    ),
    (
        "GPU pool mixing GPU kinds",
        "dev",
        {"gpuPools.0.instanceTypes": ["g4dn.xlarge", "g4dn.12xlarge"]},
        'platform.gpuPools[0].instanceTypes = ["g4dn.xlarge", "g4dn.12xlarge"]: mixes GPU kinds (1 x nvidia-t4 (16 GiB), 4 x nvidia-t4 (16 GiB)); a pool\'s nodes share one GPU model and count',
    ),
    (
        "invalid CIDR",
        "dev",
        {"network.vpcCidr": "10.0.0.0/33"},
        "platform.network.vpcCidr = \"10.0.0.0/33\": not a valid IPv4 CIDR ('33' is not a valid netmask)",
    ),
    (
        "CIDR with host bits",
        "dev",
        {"network.vpcCidr": "10.20.0.1/16"},
        'platform.network.vpcCidr = "10.20.0.1/16": not a valid IPv4 CIDR (10.20.0.1/16 has host bits set)',
    ),
    (
        "VPC too small",
        "dev",
        {"network.vpcCidr": "10.20.0.0/24"},
        'platform.network.vpcCidr = "10.20.0.0/24": must be a /16 to /20 network',
    ),
    (
        "overlapping CIDRs",
        "dev",
        {"network.serviceCidr": "10.20.128.0/17"},
        'platform.network.serviceCidr = "10.20.128.0/17": overlaps vpcCidr (10.20.0.0/16); pick a range outside the VPC',
    ),
    (
        "fewer than two AZs",
        "dev",
        {"network.availabilityZones": ["us-east-1a"]},
        'platform.network.availabilityZones = ["us-east-1a"]: needs at least 2 availability zones (or set existingVpc)',
    ),
    (
        "not an AZ name",
        "dev",
        {"network.availabilityZones": ["us-east-1a", "east"]},
        'platform.network.availabilityZones[1] = "east": not an availability zone name like us-east-1a',
    ),
    (
        "invalid public access CIDR",
        "dev",
        {"cluster.endpointPublicAccess": True, "cluster.publicAccessCidrs": ["8.8.8.0/24", "300.1.1.0/24"]},
        "platform.cluster.publicAccessCidrs[1] = \"300.1.1.0/24\": not a valid IPv4 CIDR (Octet 300 (> 255) not permitted in '300.1.1.0')",
    ),
    (
        "prod API open to the world",
        "prod",
        {"cluster.endpointPublicAccess": True, "cluster.publicAccessCidrs": ["8.8.8.0/24", "0.0.0.0/0"]},
        'platform.cluster.publicAccessCidrs = ["8.8.8.0/24", "0.0.0.0/0"]: public API endpoint open to 3,702,258,432 public addresses through 8.8.8.0/24, 0.0.0.0/0 (more than a /8); list only the CIDRs that must reach it (VPN or office egress), or turn the public endpoint off',
    ),
    (
        "prod API open to the world in two halves",
        "prod",
        {"cluster.endpointPublicAccess": True, "cluster.publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
        'platform.cluster.publicAccessCidrs = ["0.0.0.0/1", "128.0.0.0/1"]: public API endpoint open to 3,702,258,432 public addresses through 0.0.0.0/1, 128.0.0.0/1 (more than a /8); list only the CIDRs that must reach it (VPN or office egress), or turn the public endpoint off',
    ),
    (
        "prod API open to a /7",
        "prod",
        {"cluster.endpointPublicAccess": True, "cluster.publicAccessCidrs": ["2.0.0.0/7"]},
        'platform.cluster.publicAccessCidrs = ["2.0.0.0/7"]: public API endpoint open to 33,554,432 public addresses through 2.0.0.0/7 (more than a /8); list only the CIDRs that must reach it (VPN or office egress), or turn the public endpoint off',
    ),
    (
        "public endpoint for private and documentation addresses",
        "dev",
        {
            "cluster.endpointPublicAccess": True,
            "cluster.publicAccessCidrs": ["10.0.0.0/8", "8.8.8.0/24", "203.0.113.0/24"],
        },
        'platform.cluster.publicAccessCidrs = ["10.0.0.0/8", "8.8.8.0/24", "203.0.113.0/24"]: 10.0.0.0/8, 203.0.113.0/24 are private or reserved address space: no client on the internet has such an address, so it can never reach a public endpoint (EKS refuses it too); list your public egress CIDRs, or turn the public endpoint off and reach the API from the VPC',
    ),
    (
        "public endpoint without CIDRs",
        "dev",
        {"cluster.endpointPublicAccess": True},
        "platform.cluster.publicAccessCidrs = []: list the CIDRs allowed to reach the public endpoint, or set endpointPublicAccess: false",
    ),
    (
        "unsupported Kubernetes version",
        "dev",
        {"cluster.kubernetesVersion": "1.25"},
        'platform.cluster.kubernetesVersion = "1.25": must be one of 1.33 (versions with pinned add-ons)',
    ),
    (
        "GPU budget per pool",
        "dev",
        {"gpuPools.0.maxSize": 5},
        [
            "platform.gpuPools[0].maxSize = 5: GPU pool 't4-spot' can reach 5 GPUs (5 x g4dn.xlarge/g4dn.2xlarge); the budget allows 4 per pool",
            "platform.gpuPools = [5]: GPU pools can reach 5 GPUs in total; the budget allows 4",
        ],
    ),
    (
        "spot not allowed",
        "dev",
        {"guardrails.allowSpot": False},
        "platform.gpuPools[0].maxSize = 2: GPU pool 't4-spot' uses SPOT capacity, which this environment does not allow; use ON_DEMAND",
    ),
    (
        "duplicate pool names",
        "prod",
        {"gpuPools.1.name": "a10g-serving"},
        'platform.gpuPools[1].name = "a10g-serving": duplicate pool name; names must be unique',
    ),
    (
        "prod without protection",
        "prod",
        {"protectState": False},
        "platform.protectState = false: must be true (or unset) in prod: stateful resources are protected",
    ),
    (
        "prod force-destroy",
        "prod",
        {"artifacts.forceDestroy": True},
        "platform.artifacts.forceDestroy = true: must be false in prod: a destroy must never delete artifacts",
    ),
    (
        "canary outside 0-100",
        "dev",
        {"serving.mode": "Serverless", "serving.endpoints.0.canaryTrafficPercent": 120},
        "platform.serving.endpoints[0].canaryTrafficPercent = 120: must be <= 100",
    ),
    (
        "canary in Standard mode",
        "dev",
        {"serving.endpoints.0.canaryTrafficPercent": 10},
        "platform.serving.endpoints[0].canaryTrafficPercent = 10: canary rollouts need mode Serverless (Standard mode rolls out with maxUnavailable 0)",
    ),
    (
        "scale to zero in Standard mode",
        "dev",
        {"serving.endpoints.0.minReplicas": 0},
        "platform.serving.endpoints[0].minReplicas = 0: Standard mode cannot scale to zero: with no replica running, no "
        "request is measured to wake one (with hpa or keda); use >= 1, or mode Serverless (Knative's activator holds "
        "the request)",
    ),
    (
        "scale to zero in prod",
        "prod",
        {
            "serving.mode": "Serverless",
            "serving.endpoints.0.minReplicas": 0,
            "serving.endpoints.0.autoscaler": DELETE,
            "serving.endpoints.0.targetRequestsPerSecond": DELETE,
        },
        "platform.serving.endpoints[0].minReplicas = 0: must be >= 1 in prod",
    ),
    (
        "GPU endpoint without GPU pools",
        "dev",
        {"gpuPools": [], "serving.endpoints.0.gpus": 1},
        "platform.serving.endpoints[0].gpus = 1: asks for GPUs but the stack has no gpuPools to run on",
    ),
    (
        "GPU endpoint on an unknown pool",
        "prod",
        {"serving.endpoints.1.gpuPool": "h100"},
        'platform.serving.endpoints[1].gpuPool = "h100": no such GPU pool; gpuPools has: a10g-serving, l4-training-spot',
    ),
    (
        "training pool without GPUs",
        "prod",
        {"training.gpus": 0},
        "platform.training.gpus = 0: gpuPool is 'l4-training-spot' but no GPU is requested; set gpus >= 1 or drop gpuPool",
    ),
    (
        "duplicate endpoint",
        "prod",
        {"serving.endpoints.1.name": "churn"},
        'platform.serving.endpoints[1].name = "churn": duplicate endpoint name',
    ),
    (
        "monitor of an unknown endpoint",
        "dev",
        {"monitor.endpoint": "fraud"},
        'platform.monitor.endpoint = "fraud": no such endpoint; serving.endpoints has: churn',
    ),
    (
        "single MLflow replica in prod",
        "prod",
        {"mlflow.replicas": 1},
        "platform.mlflow.replicas = 1: must be >= 2 in prod",
    ),
    (
        "short backups in prod",
        "prod",
        {"database.backupRetentionDays": 3},
        "platform.database.backupRetentionDays = 3: must be >= 7 in prod",
    ),
    (
        "single-AZ database in prod",
        "prod",
        {"database.multiAz": False},
        "platform.database.multiAz = false: must be true (or unset) in prod",
    ),
    (
        "unpinned image tag",
        "dev",
        {"images.tag": "latest"},
        'platform.images.tag = "latest": must name a release; `latest` is not pinned',
    ),
    (
        "bad cron schedule",
        "dev",
        {"training.schedule": "every day"},
        'platform.training.schedule = "every day": has 2 fields; Kubernetes needs five (minute, hour, day of month, month, day of week) or a macro such as @hourly',
    ),
    (
        "public ingress without TLS",
        "dev",
        {"mlflow.ingress": {"host": "mlflow.example.com", "internal": False}},
        "platform.mlflow.ingress.tlsCertificateArn = null: an internet-facing ingress needs an ACM certificate (HTTPS only)",
    ),
    (
        "bad memory quantity",
        "dev",
        {"mlflow.memory": "2GB"},
        'platform.mlflow.memory = "2GB": not a Kubernetes quantity (a number with an optional unit: Ki, Mi, Gi, Ti (binary), m, k, M, G, T (decimal) or an exponent, e.g. 500m, 2Gi)',
    ),
    (
        "memory in bytes by mistake",
        "dev",
        {"mlflow.memory": "512"},
        'platform.mlflow.memory = "512": must be at least 1Mi (a bare number is bytes: write 512Mi or 2Gi)',
    ),
    (
        "two decimal points in a CPU quantity",
        "dev",
        {"serving.endpoints.0.cpu": "1.5.0"},
        'platform.serving.endpoints[0].cpu = "1.5.0": not a Kubernetes quantity (a number with an optional unit: Ki, Mi, Gi, Ti (binary), m, k, M, G, T (decimal) or an exponent, e.g. 500m, 2Gi)',
    ),
    (
        "CPU below a millicore",
        "dev",
        {"training.cpu": "100u"},
        'platform.training.cpu = "100u": must be at least 1m (one millicore)',
    ),
    (
        "endpoint name that is not a DNS label",
        "dev",
        {"serving.endpoints.0.name": "Churn_v2", "monitor.endpoint": DELETE},
        "platform.serving.endpoints[0].name = \"Churn_v2\": may hold only lower-case letters, digits and '-' (found 'C', '_')",
    ),
    (
        "Karpenter pool with a warm minimum",
        "dev",
        {"gpuPools.0.minSize": 1},
        "platform.gpuPools[0].minSize = 1: Karpenter starts GPU nodes for pending GPU pods only; use 0 (or "
        "gpuProvisioner clusterAutoscaler for warm nodes)",
    ),
    (
        "Karpenter pool with a desired size",
        "dev",
        {"gpuPools.0.desiredSize": 0},
        "platform.gpuPools[0].desiredSize = 0: Karpenter has no desired size; remove it",
    ),
    (
        "spot-or-on-demand on managed node groups",
        "dev",
        {
            "gpuProvisioner": "clusterAutoscaler",
            "gpuPools.0.capacityType": "SPOT_OR_ON_DEMAND",
            "gpuPools.0.disruption": DELETE,
        },
        'platform.gpuPools[0].capacityType = "SPOT_OR_ON_DEMAND": a managed node group has one capacity type; '
        "SPOT_OR_ON_DEMAND needs gpuProvisioner karpenter",
    ),
    (
        "disruption settings on managed node groups",
        "dev",
        {"gpuProvisioner": "clusterAutoscaler"},
        'platform.gpuPools[0].disruption = {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m"}: applies to '
        "gpuProvisioner karpenter only; remove it",
    ),
    (
        "unknown GPU provisioner",
        "dev",
        {"gpuProvisioner": "karpentr"},
        "platform.gpuProvisioner = \"karpentr\": must be one of: 'karpenter' or 'clusterAutoscaler'",
    ),
    (
        "unknown workload identity",
        "dev",
        {"cluster.workloadIdentity": "pod-identity"},
        "platform.cluster.workloadIdentity = \"pod-identity\": must be one of: 'podIdentity' or 'irsa'",
    ),
    (
        "pool label in Karpenter's domain",
        "dev",
        {"gpuPools.0.labels": {"karpenter.sh/team": "vision", "accelerator": "amd", "team": "vision"}},
        [
            'platform.gpuPools[0].labels.karpenter.sh/team = "vision": is set by the platform or Karpenter; use a '
            "label of your own domain",
            'platform.gpuPools[0].labels.accelerator = "amd": is set by the platform or Karpenter; use a label of '
            "your own domain",
        ],
    ),
    (
        "consolidation policy misspelt",
        "dev",
        {"gpuPools.0.disruption.consolidationPolicy": "WhenIdle"},
        "platform.gpuPools[0].disruption.consolidationPolicy = \"WhenIdle\": must be one of: 'WhenEmpty' or "
        "'WhenEmptyOrUnderutilized'",
    ),
    (
        "consolidateAfter without a unit",
        "dev",
        {"gpuPools.0.disruption.consolidateAfter": "300"},
        'platform.gpuPools[0].disruption.consolidateAfter = "300": must be a duration like 30s, 5m, 1h or 1h30m, or Never',
    ),
    (
        "frozen window with a bad cron",
        "prod",
        {"gpuPools.0.disruption.frozen.0.schedule": "0 25 * * 1-5"},
        "platform.gpuPools[0].disruption.frozen[0].schedule = \"0 25 * * 1-5\": hour field '25' is out of range or malformed (allowed: 0-23)",
    ),
    (
        "frozen window in seconds",
        "prod",
        {"gpuPools.0.disruption.frozen.0.duration": "30s"},
        'platform.gpuPools[0].disruption.frozen[0].duration = "30s": must be a duration in hours and minutes like 8h, 90m or 1h30m',
    ),
    (
        "max unavailable over 100%",
        "prod",
        {"gpuPools.0.disruption.maxUnavailable": "150%"},
        'platform.gpuPools[0].disruption.maxUnavailable = "150%": must be a node count like 1 or a percentage like 10%',
    ),
    (
        "prod GPU endpoint on a spot-only pool",
        "prod",
        {"serving.endpoints.1.gpuPool": "l4-training-spot"},
        "platform.serving.endpoints[1].gpuPool = \"l4-training-spot\": endpoint 'churn-gpu' can be served from spot-only "
        "GPU pool(s) l4-training-spot: one spot reclaim can take every replica at once, which prod does not allow; "
        "serve it from an ON_DEMAND or SPOT_OR_ON_DEMAND pool",
    ),
    (
        "prod GPU endpoint on any pool, one of them spot-only",
        "prod",
        {"serving.endpoints.1.gpuPool": DELETE},
        "platform.serving.endpoints[1].gpuPool = null: endpoint 'churn-gpu' can be served from spot-only GPU pool(s) "
        "l4-training-spot: one spot reclaim can take every replica at once, which prod does not allow; serve it from "
        "an ON_DEMAND or SPOT_OR_ON_DEMAND pool",
    ),
    (
        "reserved tag in extra",
        "dev",
        {"tags.extra": {"owner": "x"}},
        "platform.tags.extra.owner = \"x\": 'owner' is set by the platform; remove it from extra",
    ),
]


@pytest.mark.parametrize(("stack", "changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_malformed_config_is_reported_with_its_message(
    stack: str, changes: dict[str, Any], expected: str | list[str]
) -> None:
    assert problems(changed(stack, changes)) == ([expected] if isinstance(expected, str) else expected)


def test_a_missing_required_secret_is_named() -> None:
    config = changed(
        "dev", {"cluster.existing": EXISTING_CLUSTER, "network.existingVpc": EXISTING_VPC, **ADOPTED_DEFAULTS}
    )
    assert problems(config) == [
        "platform.cluster.existing.kubeconfigSecret = \"kubeconfig\": config key 'kubeconfig' is not set; "
        "cluster.existing needs it: pulumi config set --secret kubeconfig ..."
    ]


def test_a_required_secret_set_in_plain_text_is_refused() -> None:
    config = changed(
        "dev", {"cluster.existing": EXISTING_CLUSTER, "network.existingVpc": EXISTING_VPC, **ADOPTED_DEFAULTS}
    )
    assert problems(config, secrets={"kubeconfig": False}) == [
        "platform.cluster.existing.kubeconfigSecret = \"kubeconfig\": config key 'kubeconfig' is set in plain text; set it again with --secret"
    ]
    parse_platform_config(config, secrets=DictSecrets({"kubeconfig": True}))  # as a secret: accepted


def test_an_adopted_cluster_defaults_to_the_cluster_autoscaler_and_irsa_and_refuses_karpenter() -> None:
    adopted = {"cluster.existing": EXISTING_CLUSTER, "network.existingVpc": EXISTING_VPC}
    config = changed(
        "dev",
        {**adopted, "gpuProvisioner": DELETE, "gpuPools.0.disruption": DELETE, "cluster.workloadIdentity": DELETE},
    )
    parsed = parse_platform_config(config, secrets=DictSecrets({"kubeconfig": True}))
    assert parsed.provisioner == "clusterAutoscaler" and parsed.cluster.identity_mode.value == "irsa"
    assert problems(changed("dev", adopted), secrets={"kubeconfig": True})[0] == (
        'platform.gpuProvisioner = "karpenter": Karpenter needs a cluster the platform creates (it declares the '
        "nodes' access entry and discovery tags); an adopted cluster uses clusterAutoscaler"
    )


def test_pod_identity_on_an_adopted_cluster_is_reported_as_unchecked_not_passed() -> None:
    adopted = {"cluster.existing": EXISTING_CLUSTER, "network.existingVpc": EXISTING_VPC, **ADOPTED_DEFAULTS}
    secrets = DictSecrets({"kubeconfig": True})
    irsa = parse_platform_config(changed("dev", adopted), secrets=secrets)
    assert not any("eks-pod-identity-agent" in u for u in irsa.unchecked())
    pod = parse_platform_config(changed("dev", {**adopted, "cluster.workloadIdentity": "podIdentity"}), secrets=secrets)
    assert (
        "the adopted cluster runs the eks-pod-identity-agent add-on, which workloadIdentity podIdentity needs: "
        "the cluster's add-ons are not in the config"
    ) in pod.unchecked()


def test_karpenter_durations_accept_never_where_karpenter_does() -> None:
    parsed = parse_platform_config(
        changed("dev", {"gpuPools.0.disruption": {"consolidateAfter": "Never", "expireAfter": "Never"}})
    )
    assert parsed.gpu_pools[0].disruption.consolidate_after == "Never"
    assert problems(changed("dev", {"gpuPools.0.disruption.expireAfter": "30d"})) == [
        'platform.gpuPools[0].disruption.expireAfter = "30d": must be a duration like 30s, 5m, 1h or 1h30m, or Never'
    ]
    assert problems(changed("dev", {"gpuPools.0.disruption.consolidateAfter": "never"})) == [
        'platform.gpuPools[0].disruption.consolidateAfter = "never": must be a duration like 30s, 5m, 1h or 1h30m, or Never'
    ]


def test_an_adopted_cluster_needs_an_adopted_vpc() -> None:
    config = changed("dev", {"cluster.existing": EXISTING_CLUSTER, **ADOPTED_DEFAULTS})
    assert problems(config, secrets={"kubeconfig": True}) == [
        "platform.network.existingVpc = null: required when cluster.existing is set (databases live in the cluster's VPC)"
    ]


def test_every_problem_is_reported_at_once() -> None:
    config = changed(
        "prod",
        {
            "tags.costCenter": DELETE,
            "network.vpcCidr": "10.0.0.0/33",
            "network.availabilityZones": ["us-east-1a"],
            "cluster.endpointPublicAccess": True,
            "cluster.publicAccessCidrs": ["0.0.0.0/0"],
            "gpuPools.0.instanceTypes": ["m5.large"],
            "gpuPools.1.maxSize": "four",
            "artifacts.forceDestroy": True,
            "bogus": 1,
        },
    )
    found = problems(config)
    assert [p.split(" ")[0].rstrip(":") for p in found] == [
        "platform.tags.costCenter",
        "platform.network.vpcCidr",
        "platform.network.availabilityZones",
        "platform.cluster.publicAccessCidrs",
        "platform.gpuPools[0].instanceTypes",
        "platform.gpuPools[1].maxSize",
        "platform.artifacts.forceDestroy",
        "platform.bogus",
    ]


def test_a_missing_platform_key_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"platform: not set; add `mlops-platform:platform` to the stack file"):
        parse_platform_config(None)


def test_the_shipped_stacks_are_valid() -> None:
    dev = parse_platform_config(stack_config("dev"))
    prod = parse_platform_config(stack_config("prod"))
    assert (dev.protect, dev.network.nat_per_az) == (False, False)
    assert (prod.protect, prod.network.nat_per_az) == (True, True)
    assert prod.aws_tags() == {"owner": "ml-platform", "environment": "prod", "cost-center": "ml-prod-0001"}


def test_an_invalid_config_stops_the_program_before_any_resource() -> None:
    with pytest.raises(ProgramFailed) as failed:
        run_platform(changed("dev", {"gpuPools.0.minSize": 3, "gpuPools.0.maxSize": 1}))
    assert "platform.gpuPools[0].maxSize = 1: must be >= minSize (3)" in str(failed.value)
    assert len(failed.value.graph) == 0


def test_aws_region_is_required() -> None:
    from components.testing import run_program
    from tests.infra.conftest import ROOT

    with pytest.raises(ProgramFailed, match=r"aws:region: not set"):
        run_program(ROOT / "__main__.py", config={"mlops-platform:platform": stack_config("dev")}, stack="test")


@pytest.mark.parametrize(
    ("cpu", "memory"), [("250m", "512Mi"), ("1.5", "1.5Gi"), ("2", "2G"), ("0.5", "1e9"), ("1500m", "4096Mi")]
)
def test_every_kubernetes_quantity_form_is_accepted(cpu: str, memory: str) -> None:
    config = parse_platform_config(
        changed("dev", {"serving.endpoints.0.cpu": cpu, "serving.endpoints.0.memory": memory})
    )
    assert (config.serving.endpoints[0].cpu, config.serving.endpoints[0].memory) == (cpu, memory)


def test_environment_dependent_defaults_follow_the_environment() -> None:
    """Sections a stack file leaves out get the defaults of its environment, not dev's."""
    prod = changed("prod", {"database": DELETE, "featureStore": DELETE, "mlflow": DELETE})
    config = parse_platform_config(prod)
    assert config.database.mode.value == "managed" and config.database.multi_az is True
    assert config.feature_store.redis.mode.value == "managed"
    assert config.mlflow.replicas == 2
    dev = parse_platform_config(stack_config("dev"))  # no database or natGateways in it
    assert (dev.database.mode.value, dev.database.multi_az, dev.network.nat_gateways) == ("inCluster", False, "single")
