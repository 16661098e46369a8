"""The components as a multi-language Pulumi package (provider/PulumiPlugin.yaml hosts them).

Pulumi's Python SDK infers a provider schema from these classes' annotations and docstrings, and a
TypeScript, Go, YAML (or Python) stack gets a generated SDK with `pulumi package add`. Each class is
a thin shell around the component of the same name: its Args are a TypedDict of plain values and
Inputs (the settings as the TypedDicts generated from the settings models, in package_settings.py),
its outputs are Outputs. It validates the settings exactly as the Python component does - the same
model, the same messages - and builds that component as its child.

No `from __future__ import annotations` here: the analyzer reads annotations as written.
"""

from typing import Required, TypedDict

import pulumi

from . import artifact_store, gpu_node_pool, model_serving, platform
from .artifact_store import ArtifactSettings, Bucket
from .config import parse_platform_config
from .gpu_node_pool import GpuPoolSettings
from .model_serving import KServeSettings
from .package_settings import ArtifactSettingsInput, GpuPoolSettingsInput, KServeSettingsInput, PlatformConfigInput
from .spec import settings_arg

VERSION = "0.1.0"
"""The package's version (a semver tag `v<VERSION>` releases it)."""


def _inside(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent)


class GpuNodePoolArgs(TypedDict, total=False):
    pool: Required[GpuPoolSettingsInput]
    """The pool: NVIDIA GPU instance types of one GPU model (AWS data), capacity type, sizes, disk and labels."""
    cluster_name: Required[pulumi.Input[str]]
    """EKS cluster the pool joins."""
    node_role_arn: Required[pulumi.Input[str]]
    """IAM role of the nodes."""
    subnet_ids: Required[pulumi.Input[list[str]]]
    """Private subnets for the nodes."""
    tags: dict[str, str]
    """Tags for every AWS resource. Default: none."""


class GpuNodePool(pulumi.ComponentResource):
    """A managed node group of NVIDIA GPU nodes that scales to zero (the cluster autoscaler's
    node-template tags let it start the first node for a pending GPU pod): EKS NVIDIA AMI, tainted
    nvidia.com/gpu=true:NoSchedule, labelled with the GPU model and pool, encrypted gp3 root volume,
    IMDSv2 with a hop limit of 1. (Karpenter NodePools are declared by MlPlatform.)"""

    node_group_name: pulumi.Output[str]
    """The EKS managed node group's name."""
    max_gpus: pulumi.Output[int]
    """GPUs the pool holds at maxSize."""

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:GpuNodePool", name, None, opts)
        pool = gpu_node_pool.GpuNodePool(
            name,
            gpu_node_pool.GpuNodePoolArgs(
                pool=settings_arg(GpuPoolSettings, args["pool"], "pool", "GpuNodePool", name),
                cluster_name=args["cluster_name"],
                node_role_arn=args["node_role_arn"],
                subnet_ids=args["subnet_ids"],
                tags=args.get("tags") or {},
            ),
            opts=_inside(self),
        )
        assert pool.node_group_name is not None  # a managed node group
        self.node_group_name = pool.node_group_name
        self.max_gpus = pulumi.Output.from_input(pool.max_gpus)
        self.register_outputs({"nodeGroupName": self.node_group_name, "maxGpus": self.max_gpus})


class ArtifactStoreArgs(TypedDict, total=False):
    settings: ArtifactSettingsInput
    """Version expiry, access-log retention and whether a destroy may empty the buckets. Default: the defaults."""
    protect: bool
    """Protect buckets and the key from deletion (and retain them if removed from the program). Default: false."""
    tags: dict[str, str]
    """Tags for every resource. Default: none."""


class ArtifactStore(pulumi.ComponentResource):
    """Two private buckets (artifacts, data) and an access-log bucket: versioned, SSE-KMS with a
    rotating customer key, every public-access block, no ACLs, TLS-only policies, noncurrent
    versions expired, access logged."""

    artifact_bucket: pulumi.Output[str]
    """Name of the artifacts bucket (MLflow artifacts, models)."""
    data_bucket: pulumi.Output[str]
    """Name of the data bucket (datasets, feature store offline data)."""
    log_bucket: pulumi.Output[str]
    """Name of the access-log bucket."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the KMS key encrypting both data buckets."""

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ArtifactStore", name, None, opts)
        store = artifact_store.ArtifactStore(
            name,
            artifact_store.ArtifactStoreArgs(
                settings=settings_arg(ArtifactSettings, args.get("settings") or {}, "settings", "ArtifactStore", name),
                protect=bool(args.get("protect", False)),
                tags=args.get("tags") or {},
            ),
            opts=_inside(self),
        )
        self.artifact_bucket = store.bucket_names[Bucket.ARTIFACTS]
        self.data_bucket = store.bucket_names[Bucket.DATA]
        self.log_bucket = store.log_bucket_name
        self.kms_key_arn = store.kms_key_arn
        self.register_outputs(
            {
                "artifactBucket": self.artifact_bucket,
                "dataBucket": self.data_bucket,
                "logBucket": self.log_bucket,
                "kmsKeyArn": self.kms_key_arn,
            }
        )


class ModelServingArgs(TypedDict, total=False):
    settings: KServeSettingsInput
    """The deployment mode. Default: Standard."""
    namespace: str
    """Namespace of the KServe controller (created by the caller). Default: kserve."""


class ModelServing(pulumi.ComponentResource):
    """cert-manager, Knative Serving in Serverless mode, then KServe's CRDs and controller - each Helm
    release pinned and ordered. Give it the cluster's Kubernetes provider (`providers`)."""

    mode: pulumi.Output[str]
    """The KServe deployment mode installed: Standard or Serverless."""

    def __init__(self, name: str, args: ModelServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ModelServing", name, None, opts)
        serving = model_serving.ModelServing(
            name,
            model_serving.ModelServingArgs(
                settings=settings_arg(KServeSettings, args.get("settings") or {}, "settings", "ModelServing", name),
                namespace=args.get("namespace") or "kserve",
            ),
            opts=_inside(self),
        )
        self.mode = pulumi.Output.from_input(serving.mode.value)
        self.register_outputs({"mode": self.mode})


class MlPlatformArgs(TypedDict, total=False):
    config: Required[PlatformConfigInput]
    """The platform's settings: what a stack file holds under `mlops-platform:platform`, checked by the same rules (every problem at once, each naming the key)."""
    stack: Required[str]
    """Stack name: names the cluster (mlops-<stack>) unless the config does."""
    region: Required[str]
    """AWS region of the stack (zones and instance types are checked against AWS's data for it)."""
    kubeconfig: pulumi.Input[str]
    """Kubeconfig of an adopted cluster (pass a secret); required when config.cluster.existing is set."""


class MlPlatform(pulumi.ComponentResource):
    """The whole platform: network, EKS with GPU pools that scale to zero (Karpenter or managed node
    groups), artifact storage, MLflow, Feast, monitoring, KServe endpoints, the training pipeline and
    the drift monitor, wired together."""

    vpc_id: pulumi.Output[str]
    """The VPC (created or adopted)."""
    cluster_name: pulumi.Output[str]
    """The EKS cluster."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig using `aws eks get-token` (secret)."""
    artifact_bucket: pulumi.Output[str]
    """Name of the artifacts bucket."""
    data_bucket: pulumi.Output[str]
    """Name of the data bucket."""
    mlflow_url: pulumi.Output[str]
    """Cluster-internal URL of MLflow."""
    mlflow_admin_password: pulumi.Output[str]
    """MLflow's generated admin password (secret)."""
    grafana_admin_password: pulumi.Output[str]
    """Grafana's generated admin password (secret)."""
    endpoints: pulumi.Output[dict[str, str]]
    """Cluster-internal URL of each inference endpoint, by name."""

    def __init__(self, name: str, args: MlPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:MlPlatform", name, None, opts)
        config = parse_platform_config(args["config"], region=args["region"])
        built = platform.MlPlatform(
            name,
            platform.MlPlatformArgs(
                config=config, stack=args["stack"], region=args["region"], kubeconfig=args.get("kubeconfig")
            ),
            opts=_inside(self),
        )
        outputs = built.outputs()
        self.vpc_id = pulumi.Output.from_input(outputs["vpcId"])  # type: ignore[arg-type]
        self.cluster_name = built.cluster.cluster_name
        self.kubeconfig = built.cluster.kubeconfig
        self.artifact_bucket = built.artifacts.bucket_names[Bucket.ARTIFACTS]
        self.data_bucket = built.artifacts.bucket_names[Bucket.DATA]
        self.mlflow_url = pulumi.Output.from_input(built.mlflow.url)
        self.mlflow_admin_password = built.mlflow.admin_password
        self.grafana_admin_password = built.monitoring.grafana_admin_password
        self.endpoints = pulumi.Output.all(**{endpoint: e.url for endpoint, e in built.endpoints.items()}).apply(dict)
        self.register_outputs({"clusterName": self.cluster_name, "endpoints": self.endpoints})


COMPONENTS = (GpuNodePool, ArtifactStore, ModelServing, MlPlatform)
"""What the package hosts (provider/__main__.py) and its schema describes."""
