"""ModelEndpoint: one KServe InferenceService serving a registered model by alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import k8s as kube
from components._common import ComponentArgsError, PlatformComponent, child
from components.artifact_store import Access, ArtifactStore, Bucket, Grant
from components.gpu import GPU_RESOURCE
from components.gpu_node_pool import ACCELERATOR_LABEL, GPU_POOL_LABEL
from components.irsa import ROLE_ARN_ANNOTATION, OidcIdentity
from components.model_serving import ServingMode

HTTP_PORT = 8080
ARTIFACT_PREFIX = "mlflow"


@dataclass(frozen=True)
class DirectArtifactAccess:
    """Read model artifacts straight from S3 (when MLflow does not proxy them): an IRSA role that can
    read only the MLflow prefix of the artifacts bucket."""

    artifacts: ArtifactStore
    oidc: OidcIdentity


@dataclass
class ModelEndpointArgs:
    namespace: str
    """Namespace of the InferenceService."""
    image: str
    """The serving image (apps/serving)."""
    model: str
    """Registered model name."""
    mlflow_url: pulumi.Input[str]
    """MLflow tracking server URL."""
    mlflow_credentials_secret: str
    """Secret (in `namespace`) with MLFLOW_TRACKING_USERNAME/PASSWORD of a read-only account."""
    alias: str = "champion"
    """Registry alias to serve and follow. Default: champion."""
    mode: ServingMode = ServingMode.STANDARD
    """KServe deployment mode (ModelServing's). Default: Standard."""
    min_replicas: int = 1
    """Fewest replicas (0 only in Serverless mode). Default: 1."""
    max_replicas: int = 3
    """Most replicas. Default: 3."""
    canary_traffic_percent: int | None = None
    """Traffic share of a new revision during rollout (Serverless only). Default: none."""
    cpu: str = "500m"
    """CPU request (limit twice). Default: 500m."""
    memory: str = "1Gi"
    """Memory request and limit. Default: 1Gi."""
    gpus: int = 0
    """GPUs per replica. Default: 0."""
    gpu_pool: str | None = None
    """GPU pool to schedule on (node label mlops.platform/gpu-pool). Default: any GPU node."""
    monitor_url: str | None = None
    """Drift monitor ingestion URL for prediction logs. Default: no logging."""
    feature_server_url: pulumi.Input[str] | None = None
    """Feast feature server, for entity-keyed requests. Default: none."""
    direct_artifact_access: DirectArtifactAccess | None = None
    """Give the predictor read access to model artifacts in S3. Default: artifacts come through MLflow."""


class ModelEndpoint(PlatformComponent):
    """The predictor (apps/serving) loads `models:/<model>@<alias>`, follows the alias and swaps
    versions without dropping requests. Standard mode: HPA on CPU and rolling updates with
    maxUnavailable 0; Serverless: concurrency autoscaling and optional canary. GPU endpoints get
    the GPU limit, the toleration and a node selector for their pool. Non-root, read-only root."""

    url: pulumi.Output[str]
    scrape_target: kube.ScrapeTarget

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ModelEndpoint", name, None, opts)
        self._validate(name, args)
        ns = args.namespace
        labels = kube.labels(name, "predictor")
        account_name = f"{name}-predictor"
        annotations: dict[str, pulumi.Input[str]] = {}
        if args.direct_artifact_access is not None:
            role = args.direct_artifact_access.artifacts.irsa_role(
                f"{name}-irsa",
                oidc=args.direct_artifact_access.oidc,
                namespace=ns,
                service_account=account_name,
                grants=[Grant(Bucket.ARTIFACTS, ARTIFACT_PREFIX, Access.READ)],
                parent=self,
            )
            annotations[ROLE_ARN_ANNOTATION] = role.arn
        k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=kube.metadata(account_name, ns, labels, annotations),
            automount_service_account_token=False,
            opts=child(self),
        )

        resources = kube.resources(args.cpu, args.memory)
        predictor: dict[str, Any] = {
            "serviceAccountName": account_name,
            "automountServiceAccountToken": False,
            "minReplicas": args.min_replicas,
            "maxReplicas": args.max_replicas,
            "securityContext": kube.pod_security(),
            "containers": [
                {
                    "name": "kserve-container",
                    "image": args.image,
                    "imagePullPolicy": "Always",
                    "args": ["--model_name", name, "--http_port", str(HTTP_PORT)],
                    "env": self._env(args),
                    "envFrom": [{"secretRef": {"name": args.mlflow_credentials_secret}}],
                    "ports": [{"name": "http1", "containerPort": HTTP_PORT, "protocol": "TCP"}],
                    "resources": resources,
                    "securityContext": kube.RESTRICTED_CONTAINER,
                    "readinessProbe": kube.http_probe("/v2/health/ready", HTTP_PORT, period=5),
                    "livenessProbe": kube.http_probe("/v2/health/live", HTTP_PORT, initial_delay=30),
                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                }
            ],
            "volumes": [kube.tmp_volume(size="2Gi")],
        }
        annotations_isvc = {"serving.kserve.io/deploymentMode": args.mode.kserve_name}
        if args.mode is ServingMode.STANDARD:
            annotations_isvc["serving.kserve.io/autoscalerClass"] = "hpa"
            predictor.update(
                {
                    "scaleMetric": "cpu",
                    "scaleTarget": 70,
                    "deploymentStrategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
                    },
                }
            )
        else:
            predictor.update({"scaleMetric": "concurrency", "scaleTarget": 20})
            if args.canary_traffic_percent is not None:
                predictor["canaryTrafficPercent"] = args.canary_traffic_percent
        if args.gpus:
            resources["limits"][GPU_RESOURCE] = str(args.gpus)
            resources["requests"][GPU_RESOURCE] = str(args.gpus)
            predictor["tolerations"] = [kube.GPU_TOLERATION]
            predictor["nodeSelector"] = (
                {GPU_POOL_LABEL: args.gpu_pool} if args.gpu_pool else {ACCELERATOR_LABEL: "nvidia"}
            )
        k8s.apiextensions.CustomResource(
            f"{name}-isvc",
            api_version="serving.kserve.io/v1beta1",
            kind="InferenceService",
            metadata=kube.metadata(name, ns, labels, annotations_isvc),
            spec={"predictor": predictor},
            opts=child(self),
        )
        # Predictors are the cluster's inference API: any namespace may call them (the namespace denies by default).
        kube.ingress_policy(
            self,
            f"{name}-netpol",
            f"{name}-predictor",
            ns,
            {"serving.kserve.io/inferenceservice": name},
            HTTP_PORT,
            [],
            open_to_all=True,
        )
        self.url = pulumi.Output.from_input(f"http://{name}-predictor.{ns}.svc.cluster.local")
        self.scrape_target = kube.ScrapeTarget(
            f"{name}-predictor", ns, {"serving.kserve.io/inferenceservice": name}, "http1", pods=True
        )
        self.register_outputs({"url": self.url})

    @staticmethod
    def _env(args: ModelEndpointArgs) -> list[Any]:
        env: list[Any] = [
            {"name": "MLFLOW_TRACKING_URI", "value": args.mlflow_url},
            *kube.env({"MODEL_NAME": args.model, "MODEL_ALIAS": args.alias, "HOME": "/tmp"}),
        ]
        if args.monitor_url:
            env.append({"name": "MONITOR_URL", "value": args.monitor_url})
        if args.feature_server_url is not None:
            env.append({"name": "FEAST_URL", "value": args.feature_server_url})
        return env

    @staticmethod
    def _validate(name: str, args: ModelEndpointArgs) -> None:
        problems = []
        if args.max_replicas < max(args.min_replicas, 1):
            problems.append(f"max_replicas ({args.max_replicas}) must be >= max(min_replicas ({args.min_replicas}), 1)")
        if args.mode is ServingMode.STANDARD and args.min_replicas < 1:
            problems.append(f"min_replicas ({args.min_replicas}) must be >= 1 in Standard mode (no scale to zero)")
        if args.canary_traffic_percent is not None:
            if args.mode is ServingMode.STANDARD:
                problems.append(f"canary_traffic_percent ({args.canary_traffic_percent}) needs Serverless mode")
            elif not 0 <= args.canary_traffic_percent <= 100:
                problems.append(f"canary_traffic_percent ({args.canary_traffic_percent}) must be between 0 and 100")
        if problems:
            raise ComponentArgsError("ModelEndpoint", name, problems)
