"""The components as a multi-language Pulumi package (provider/PulumiPlugin.yaml hosts them).

Pulumi's Python SDK infers a provider schema from these classes' annotations and docstrings, and a
TypeScript, Go, YAML (or Python) stack gets a generated SDK with `pulumi package add`. Each class is
a thin shell around the component of the same name: its Args are a TypedDict of plain values and
Inputs (the settings as the TypedDicts generated from the settings models, in settings.py),
its outputs are Outputs. It validates the settings exactly as the Python component does - the same
model, the same messages - and builds that component as its child.

No `from __future__ import annotations` here: the analyzer reads annotations as written.
"""

import inspect
from typing import Any, Required, TypedDict

import pulumi
from mlops_platform.components import platform
from mlops_platform.components.cluster import gpu_node_pool
from mlops_platform.components.cluster.gpu_node_pool import GpuPoolSettings
from mlops_platform.components.cluster.network import PrivatePlacement
from mlops_platform.components.config import parse_platform_config
from mlops_platform.components.data import artifact_store
from mlops_platform.components.data.artifact_store import ArtifactAccess, ArtifactSettings, Bucket
from mlops_platform.components.kit import identity as workload_identity
from mlops_platform.components.kit.common import ComponentArgsError
from mlops_platform.components.kit.identity import IdentityMode, OidcIdentity
from mlops_platform.components.kit.spec import settings_arg
from mlops_platform.components.services import (
    drift_monitor,
    feature_store,
    mlflow_tracking,
    model_endpoint,
    model_serving,
    training_pipeline,
)
from mlops_platform.components.services.drift_monitor import DriftMonitorSettings
from mlops_platform.components.services.feature_store import FeatureStoreSettings
from mlops_platform.components.services.mlflow_tracking import MlflowSettings
from mlops_platform.components.services.model_endpoint import EndpointSettings
from mlops_platform.components.services.model_serving import KServeInstall, KServeSettings
from mlops_platform.components.services.training_pipeline import TrainingSettings

from . import settings as sdk

VERSION = "0.1.0"
"""The package's version (a semver tag `v<VERSION>` releases it)."""
NAMESPACE = "mlops-platform"
"""The package's namespace: SDKs are named after it (TypeScript `@mlops-platform/mlops`, Python
`mlops_platform_mlops`) wherever the package is installed from - without it, a git source's owner."""


def _inside(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent)


class GpuNodePoolArgs(TypedDict, total=False):
    pool: Required[sdk.GpuPoolSettings]
    """The pool: NVIDIA GPU instance types of one GPU model (AWS data), capacity type, sizes, disk and labels. Plain: checked, every problem at once, before any resource is declared."""
    cluster_name: Required[pulumi.Input[str]]
    """EKS cluster the pool joins."""
    node_role_arn: Required[pulumi.Input[str]]
    """IAM role of the nodes."""
    subnet_ids: Required[pulumi.Input[list[str]]]
    """Private subnets for the nodes."""
    tags: dict[str, str]
    """Tags for every AWS resource. Default: none. Plain: merged into each resource's tags."""


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
    settings: sdk.ArtifactSettings
    """Version expiry, access-log retention and whether a destroy may empty the buckets. Default: the defaults. Plain: checked, every problem at once, before any resource is declared."""
    protect: bool
    """Protect buckets and the key from deletion (and retain them if removed from the program). Default: false. Plain: a resource option."""
    tags: dict[str, str]
    """Tags for every resource. Default: none. Plain: merged into each resource's tags."""


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
    settings: sdk.KServeSettings
    """The deployment mode. Default: Standard. Plain: checked, every problem at once, before any resource is declared."""
    namespace: str
    """Namespace of the KServe controller (created by the caller). Default: kserve. Plain: it names the objects (a DNS label, checked before any resource is declared)."""


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
    config: Required[sdk.PlatformConfig]
    """The platform's settings: what a stack file holds under `mlops-platform:platform`, checked by the same rules (every problem at once, each naming the key). Plain: checked, every problem at once, before any resource is declared."""
    stack: Required[str]
    """Stack name: names the cluster (mlops-<stack>) unless the config does. Plain: it names the cluster."""
    region: Required[str]
    """AWS region of the stack (zones and instance types are checked against AWS's data for it). Plain: the AWS data the config is checked against."""
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
        config = parse_platform_config(args["config"], region=args["region"], python_names=True)
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


# --------------------------------------------------------------------------- what the services share


class StoreRef(TypedDict):
    """An artifact store as workloads reach it (an ArtifactStore's outputs)."""

    artifact_bucket: pulumi.Input[str]
    """Name of the artifacts bucket (ArtifactStore.artifactBucket)."""
    data_bucket: pulumi.Input[str]
    """Name of the data bucket (ArtifactStore.dataBucket)."""
    kms_key_arn: pulumi.Input[str]
    """ARN of the buckets' KMS key (ArtifactStore.kmsKeyArn)."""


class ClusterIdentity(TypedDict, total=False):
    """How the cluster gives a pod its IAM role."""

    mode: Required[str]
    """podIdentity (EKS Pod Identity: give clusterName and clusterArn) or irsa (give oidcProviderArn and oidcIssuerUrl)."""
    cluster_name: pulumi.Input[str]
    """Pod Identity: the cluster its associations are made in."""
    cluster_arn: pulumi.Input[str]
    """Pod Identity: the cluster's ARN, the only source its roles trust."""
    oidc_provider_arn: pulumi.Input[str]
    """IRSA: the cluster's IAM OIDC provider ARN."""
    oidc_issuer_url: pulumi.Input[str]
    """IRSA: the cluster's OIDC issuer URL."""


class MlflowClient(TypedDict):
    """MLflow as one workload uses it: the server and that workload's own account."""

    url: pulumi.Input[str]
    """MLflow's URL (MlflowTracking.url)."""
    credentials_secret: pulumi.Input[str]
    """The Secret, in the workload's namespace, with its account's credentials (MlflowTracking.credentials[user])."""


def _access(component: str, name: str, store: StoreRef, identity: ClusterIdentity) -> ArtifactAccess:
    mode = identity.get("mode")
    if mode == IdentityMode.POD_IDENTITY.value and identity.get("cluster_name") and identity.get("cluster_arn"):
        cluster = workload_identity.ClusterIdentity.pod_identity(identity["cluster_name"], identity["cluster_arn"])
    elif mode == IdentityMode.IRSA.value and identity.get("oidc_provider_arn") and identity.get("oidc_issuer_url"):
        cluster = workload_identity.ClusterIdentity.irsa(
            OidcIdentity(identity["oidc_provider_arn"], identity["oidc_issuer_url"])
        )
    else:
        raise ComponentArgsError(
            component,
            name,
            [
                f"identity = {dict(identity)!r}: mode podIdentity needs clusterName and clusterArn, "
                "mode irsa needs oidcProviderArn and oidcIssuerUrl"
            ],
        )
    names = {Bucket.ARTIFACTS: store["artifact_bucket"], Bucket.DATA: store["data_bucket"]}
    return ArtifactAccess(artifact_store.StoreRef(bucket_names=names, kms_key_arn=store["kms_key_arn"]), cluster)


def _client(mlflow: MlflowClient) -> mlflow_tracking.MlflowClient:
    return mlflow_tracking.MlflowClient(mlflow["url"], mlflow["credentials_secret"])


# --------------------------------------------------------------------------- services


class MlflowTrackingArgs(TypedDict, total=False):
    namespace: Required[str]
    """Namespace of the server (created by the caller). Plain: it names the objects (a DNS label, checked before any resource is declared)."""
    image: Required[pulumi.Input[str]]
    """The mlflow-server image (apps/mlflow_server), pinned to a release."""
    backend_url: Required[pulumi.Input[str]]
    """SQLAlchemy URL of the tracking/registry database (pass a secret)."""
    auth_url: Required[pulumi.Input[str]]
    """SQLAlchemy URL of the authentication database (pass a secret)."""
    artifact_store: Required[StoreRef]
    """Where artifacts go: s3://<artifacts bucket>/mlflow. A plain object; its fields take outputs."""
    identity: Required[ClusterIdentity]
    """How the server's service account gets its role. A plain object; its fields take outputs."""
    settings: sdk.MlflowSettings
    """Replicas, resources, ingress, artifact proxying. Default: the defaults. Plain: checked, every problem at once, before any resource is declared."""
    users: dict[str, str]
    """Workload accounts to create: user name -> namespace that receives its credentials Secret. Default: none. Plain: each user is an account and a Secret of its own."""
    allowed_client_namespaces: list[str]
    """Namespaces whose pods may call the server (its own always may). Default: none. Plain: each one is a NetworkPolicy rule, checked as a DNS label."""


class MlflowTracking(pulumi.ComponentResource):
    """MLflow tracking server and model registry with basic auth (admin password generated, one
    account per workload created by a bootstrap Job), artifacts in S3 through a role limited to the
    mlflow/ prefix, a NetworkPolicy admitting only the listed namespaces. Give it the cluster's
    Kubernetes provider."""

    url: pulumi.Output[str]
    """Cluster-internal URL of the server."""
    admin_password: pulumi.Output[str]
    """The generated admin password (secret)."""
    credentials: pulumi.Output[dict[str, str]]
    """Per user: the name of the Secret holding its credentials (in the user's namespace)."""

    def __init__(self, name: str, args: MlflowTrackingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:MlflowTracking", name, None, opts)
        server = mlflow_tracking.MlflowTracking(
            name,
            mlflow_tracking.MlflowTrackingArgs(
                namespace=args["namespace"],
                image=args["image"],
                backend_url=args["backend_url"],
                auth_url=args["auth_url"],
                artifacts=_access("MlflowTracking", name, args["artifact_store"], args["identity"]),
                settings=settings_arg(MlflowSettings, args.get("settings") or {}, "settings", "MlflowTracking", name),
                users=args.get("users") or {},
                allowed_client_namespaces=args.get("allowed_client_namespaces") or [],
            ),
            opts=_inside(self),
        )
        self.url = server.url
        self.admin_password = server.admin_password
        self.credentials = pulumi.Output.from_input(dict(server.credentials))
        self.register_outputs({"url": self.url, "adminPassword": self.admin_password, "credentials": self.credentials})


class FeatureStoreArgs(TypedDict, total=False):
    namespace: Required[str]
    """Namespace of the feature server and jobs (created by the caller). Plain: it names the objects (a DNS label, checked before any resource is declared)."""
    image: Required[pulumi.Input[str]]
    """The features image (apps/features: Feast and the feature repository), pinned to a release."""
    registry_url: Required[pulumi.Input[str]]
    """SQLAlchemy URL of the Feast registry database (pass a secret)."""
    artifact_store: Required[StoreRef]
    """Offline store: s3://<data bucket>/feast. A plain object; its fields take outputs."""
    identity: Required[ClusterIdentity]
    """How the feature server's service account gets its role. A plain object; its fields take outputs."""
    settings: sdk.FeatureStoreSettings
    """Redis (in-cluster or ElastiCache), materialisation schedule, replicas. Default: the defaults. Plain: checked, every problem at once, before any resource is declared."""
    vpc_id: pulumi.Input[str]
    """For a managed (ElastiCache) Redis: the VPC."""
    private_subnet_ids: pulumi.Input[list[str]]
    """For a managed Redis: its subnets."""
    node_security_group_id: pulumi.Input[str]
    """For a managed Redis: the nodes' security group (the only one admitted)."""
    allowed_client_namespaces: list[str]
    """Namespaces whose pods may call the feature server. Default: none. Plain: each one is a NetworkPolicy rule, checked as a DNS label."""
    protect: bool
    """Protect the managed Redis from deletion. Default: false. Plain: a resource option."""
    tags: dict[str, str]
    """Tags for AWS resources. Default: none. Plain: merged into each resource's tags."""


class FeatureStore(pulumi.ComponentResource):
    """Feast: a SQL registry, a Redis online store, the offline store in the data bucket, a feature
    server, a `feast apply` Job and a materialisation CronJob. Give it the cluster's Kubernetes provider."""

    url: pulumi.Output[str]
    """Cluster-internal URL of the feature server."""

    def __init__(self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:FeatureStore", name, None, opts)
        placement = None
        if args.get("vpc_id") is not None:
            placement = PrivatePlacement(
                args["vpc_id"], args.get("private_subnet_ids") or [], args.get("node_security_group_id") or ""
            )
        store = feature_store.FeatureStore(
            name,
            feature_store.FeatureStoreArgs(
                namespace=args["namespace"],
                image=args["image"],
                registry_url=args["registry_url"],
                artifacts=_access("FeatureStore", name, args["artifact_store"], args["identity"]),
                settings=settings_arg(
                    FeatureStoreSettings, args.get("settings") or {}, "settings", "FeatureStore", name
                ),
                placement=placement,
                allowed_client_namespaces=args.get("allowed_client_namespaces") or [],
                protect=bool(args.get("protect", False)),
                tags=args.get("tags") or {},
            ),
            opts=_inside(self),
        )
        self.url = store.url
        self.register_outputs({"url": self.url})


class TrainingPipelineArgs(TypedDict, total=False):
    namespace: Required[str]
    """Namespace of the CronJob and its Jobs (created by the caller). Plain: it names the objects (a DNS label, checked before any resource is declared)."""
    image: Required[pulumi.Input[str]]
    """The training image (apps/training), pinned to a release."""
    mlflow: Required[MlflowClient]
    """MLflow and the training account. A plain object; its fields take outputs."""
    artifact_store: Required[StoreRef]
    """Datasets are read from s3://<data bucket>/datasets/<model>. A plain object; its fields take outputs."""
    identity: Required[ClusterIdentity]
    """How the training service account gets its role. A plain object; its fields take outputs."""
    settings: sdk.TrainingSettings
    """Model, schedule, resources, GPUs, promotion rule. Default: the defaults. Plain: checked, every problem at once, before any resource is declared."""


class TrainingPipeline(pulumi.ComponentResource):
    """A CronJob running the training pipeline (validate, features, train, evaluate, register and
    promote), and the same Job published as a template for the drift monitor. Give it the cluster's
    Kubernetes provider."""

    job_template_configmap: pulumi.Output[str]
    """ConfigMap holding the Job template the drift monitor launches."""
    service_account: pulumi.Output[str]
    """The training service account (give it to DriftMonitor's retraining)."""
    config_maps: pulumi.Output[list[str]]
    """ConfigMaps a training Job mounts (give them to DriftMonitor's retraining)."""
    secrets: pulumi.Output[list[str]]
    """Secrets a training Job reads (give them to DriftMonitor's retraining)."""

    def __init__(self, name: str, args: TrainingPipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:TrainingPipeline", name, None, opts)
        pipeline = training_pipeline.TrainingPipeline(
            name,
            training_pipeline.TrainingPipelineArgs(
                namespace=args["namespace"],
                image=args["image"],
                mlflow=_client(args["mlflow"]),
                artifacts=_access("TrainingPipeline", name, args["artifact_store"], args["identity"]),
                settings=settings_arg(
                    TrainingSettings, args.get("settings") or {}, "settings", "TrainingPipeline", name
                ),
            ),
            opts=_inside(self),
        )
        jobs = pipeline.retraining
        self.job_template_configmap = pulumi.Output.from_input(jobs.template_configmap)
        self.service_account = pulumi.Output.from_input(jobs.service_account)
        resolved = jobs.resolved()
        self.config_maps = resolved.apply(lambda r: [str(c) for c in r.config_maps])  # type: ignore[union-attr]
        self.secrets = resolved.apply(lambda r: [str(s) for s in r.secrets])  # type: ignore[union-attr]
        self.register_outputs({"jobTemplateConfigmap": self.job_template_configmap})


class RetrainingJobs(TypedDict):
    """The retraining Job the monitor may launch (a TrainingPipeline's outputs) - and all it may hold."""

    job_template_configmap: pulumi.Input[str]
    """TrainingPipeline.jobTemplateConfigmap."""
    service_account: pulumi.Input[str]
    """TrainingPipeline.serviceAccount."""
    image: pulumi.Input[str]
    """The training image."""
    secrets: pulumi.Input[list[str]]
    """TrainingPipeline.secrets."""
    config_maps: pulumi.Input[list[str]]
    """TrainingPipeline.configMaps."""


class DriftMonitorArgs(TypedDict, total=False):
    namespace: Required[str]
    """Namespace of the monitor (the training Jobs' namespace). Plain: it names the objects (a DNS label, checked before any resource is declared)."""
    image: Required[pulumi.Input[str]]
    """The monitor image (apps/monitor), pinned to a release."""
    model: Required[str]
    """Registered model to watch. Plain: written into the monitor's config file, checked before any resource is declared."""
    mlflow: Required[MlflowClient]
    """MLflow and the monitor account. A plain object; its fields take outputs."""
    retraining: Required[RetrainingJobs]
    """What the monitor may launch when drift persists. A plain object; its fields take outputs."""
    alias: str
    """Alias of the serving version. Default: champion. Plain: written into the monitor's config file, checked before any resource is declared."""
    settings: sdk.DriftMonitorSettings
    """Windows, thresholds, retraining rule. Default: the defaults. Plain: checked, every problem at once, before any resource is declared."""
    allowed_client_namespaces: list[str]
    """Namespaces whose predictors may send prediction logs. Default: none. Plain: each one is a NetworkPolicy rule, checked as a DNS label."""


class DriftMonitor(pulumi.ComponentResource):
    """The drift monitor: ingests prediction logs and labels, computes per-feature drift against the
    serving version's reference profile, exports Prometheus metrics, and launches the retraining Job
    when drift persists - admitted by a ValidatingAdmissionPolicy that allows nothing else. Give it
    the cluster's Kubernetes provider."""

    ingest_url: pulumi.Output[str]
    """Where predictors send prediction logs (the predictor's MONITOR_URL)."""

    def __init__(self, name: str, args: DriftMonitorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:DriftMonitor", name, None, opts)
        retraining = args["retraining"]
        monitor = drift_monitor.DriftMonitor(
            name,
            drift_monitor.DriftMonitorArgs(
                namespace=args["namespace"],
                image=args["image"],
                model=args["model"],
                mlflow=_client(args["mlflow"]),
                retraining=training_pipeline.RetrainingJobs(
                    retraining["job_template_configmap"],
                    retraining["service_account"],
                    retraining["image"],
                    retraining["secrets"],
                    retraining["config_maps"],
                ),
                alias=args.get("alias") or "champion",
                settings=settings_arg(
                    DriftMonitorSettings, args.get("settings") or {}, "settings", "DriftMonitor", name
                ),
                allowed_client_namespaces=args.get("allowed_client_namespaces") or [],
            ),
            opts=_inside(self),
        )
        self.ingest_url = monitor.ingest_url
        self.register_outputs({"ingestUrl": self.ingest_url})


class ModelEndpointArgs(TypedDict, total=False):
    endpoint: Required[sdk.EndpointSettings]
    """Model and alias to serve, replicas, autoscaling, resources, GPUs. Plain: checked, every problem at once, before any resource is declared."""
    namespace: Required[str]
    """Namespace of the InferenceService (created by the caller). Plain: it names the objects (a DNS label, checked before any resource is declared)."""
    image: Required[pulumi.Input[str]]
    """The serving image (apps/serving), pinned to a release."""
    mlflow: Required[MlflowClient]
    """MLflow and a read-only account. A plain object; its fields take outputs."""
    serving_mode: pulumi.Input[str]
    """The mode KServe runs in (ModelServing.mode, an output): Standard or Serverless. Default: Standard. A string, not the ServingMode enum: Pulumi's Python provider cannot take an output into an enum input."""
    prometheus_url: pulumi.Input[str]
    """Prometheus KEDA reads request rates from; required for endpoint.autoscaler keda (and KEDA installed)."""
    monitor_url: pulumi.Input[str]
    """Drift monitor ingestion URL for prediction logs (DriftMonitor.ingestUrl). Default: no logging."""
    feature_server_url: pulumi.Input[str]
    """Feast feature server for entity-keyed requests (FeatureStore.url). Default: none."""


class ModelEndpoint(pulumi.ComponentResource):
    """One KServe InferenceService serving `models:/<model>@<alias>` with the platform's predictor,
    which follows the alias and swaps versions without dropping requests. Create it after
    ModelServing (dependsOn) and give it the cluster's Kubernetes provider."""

    url: pulumi.Output[str]
    """Cluster-internal URL of the predictor."""

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ModelEndpoint", name, None, opts)

        def checked(given: Any) -> Any:
            return settings_arg(KServeSettings, {"mode": given}, "serving_mode", "ModelEndpoint", name).mode

        given: Any = args.get("serving_mode") or "Standard"
        # A plain mode is checked now; ModelServing.mode (an output) when it resolves.
        mode = (
            checked(given)
            if isinstance(given, str)
            else pulumi.Output.from_input(given).apply(lambda m: checked(m).value)
        )
        endpoint = model_endpoint.ModelEndpoint(
            name,
            model_endpoint.ModelEndpointArgs(
                endpoint=settings_arg(EndpointSettings, args["endpoint"], "endpoint", "ModelEndpoint", name),
                namespace=args["namespace"],
                image=args["image"],
                mlflow=_client(args["mlflow"]),
                serving=KServeInstall(mode, keda_query_url=args.get("prometheus_url")),
                monitor_url=args.get("monitor_url"),
                feature_server_url=args.get("feature_server_url"),
            ),
            opts=_inside(self),
        )
        self.url = endpoint.url
        self.register_outputs({"url": self.url})


COMPONENTS = (
    GpuNodePool,
    ArtifactStore,
    MlflowTracking,
    FeatureStore,
    ModelServing,
    ModelEndpoint,
    DriftMonitor,
    TrainingPipeline,
    MlPlatform,
)
"""What the package hosts (provider/__main__.py) and its schema describes."""

for _component in COMPONENTS:  # the schema's descriptions: the docstrings without their source indentation
    _component.__doc__ = inspect.cleandoc(_component.__doc__ or "")
