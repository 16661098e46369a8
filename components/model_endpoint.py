"""ModelEndpoint: one KServe InferenceService serving a registered model by alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from . import k8s as kube
from ._common import ComponentArgsError, PlatformComponent, child, documented
from .contracts import PredictorSettings
from .mlflow_tracking import MlflowClient
from .model_serving import KServeSettings, ModelServing, ServingMode
from .monitoring import MonitoringHooks
from .spec import (
    Cpu,
    DnsLabel,
    Issue,
    Memory,
    ModelName,
    Spec,
    check_names,
    fail,
    name_rule,
    render_message,
    settings_arg,
)
from .workload import Workload

HTTP_PORT = 8080


class EndpointSettings(Spec):
    """One InferenceService serving a registered model by alias."""

    name: DnsLabel
    """InferenceService name (unique)."""
    model: ModelName
    """Registered model name in MLflow."""
    alias: Annotated[
        str,
        name_rule(
            chars=r"[a-z0-9_-]",
            allowed="lower-case letters, digits, '_' and '-'",
            first=r"[a-z]",
            first_words="a lower-case letter",
            max_length=63,
        ),
    ] = "champion"
    """Registry alias served (`models:/<model>@<alias>`). Default: champion."""
    min_replicas: Annotated[int, Field(ge=0, le=100)] = 1
    """Fewest replicas (0 only in Serverless mode, never in prod). Default: 1."""
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 3
    """Most replicas. Default: 3."""
    canary_traffic_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    """Share of traffic for the latest revision during a rollout (Serverless mode only). Default: none."""
    cpu: Cpu = "500m"
    """CPU request (limit: twice). Default: 500m."""
    memory: Memory = "1Gi"
    """Memory request and limit. Default: 1Gi."""
    gpus: Annotated[int, Field(ge=0, le=8)] = 0
    """GPUs per replica; needs a GPU pool. Default: 0."""
    gpu_pool: str | None = None
    """GPU pool to run on. Default: any pool (when gpus > 0)."""

    @model_validator(mode="after")
    def _replicas(self) -> EndpointSettings:
        if self.max_replicas < self.min_replicas:
            fail([Issue(("max_replicas",), self.max_replicas, f"must be >= {{min_replicas}} ({self.min_replicas})")])
        return self


def mode_issues(endpoint: EndpointSettings, mode: ServingMode) -> list[Issue]:
    """What an endpoint asks that the serving mode cannot honour (the config and the component both
    ask this)."""
    issues = []
    if mode is ServingMode.STANDARD and endpoint.canary_traffic_percent is not None:
        issues.append(
            Issue(
                ("canary_traffic_percent",),
                endpoint.canary_traffic_percent,
                "canary rollouts need mode Serverless (Standard mode rolls out with maxUnavailable 0)",
            )
        )
    if mode is ServingMode.STANDARD and endpoint.min_replicas == 0:
        issues.append(Issue(("min_replicas",), 0, "Standard mode cannot scale to zero; use >= 1 or mode Serverless"))
    return issues


class ServingSettings(KServeSettings):
    """KServe and the inference endpoints."""

    endpoints: list[EndpointSettings] = Field(default_factory=list)
    """One InferenceService per entry. Default: none."""

    @model_validator(mode="after")
    def _endpoints(self) -> ServingSettings:
        issues = []
        for index, endpoint in enumerate(self.endpoints):
            issues += [
                Issue(("endpoints", index, *i.path), i.value, i.message) for i in mode_issues(endpoint, self.mode)
            ]
        names = [e.name for e in self.endpoints]
        issues += [
            Issue(("endpoints", i, "name"), n, "duplicate endpoint name") for i, n in enumerate(names) if n in names[:i]
        ]
        fail(issues)
        return self


@documented
@dataclass
class ModelEndpointArgs:
    endpoint: EndpointSettings
    """Model and alias to serve, replicas, resources, GPUs."""
    namespace: str
    """Namespace of the InferenceService."""
    image: str
    """The serving image (apps/serving)."""
    mlflow: MlflowClient
    """MLflow's URL and a read-only account (MlflowTracking.client("serving"))."""
    serving: ModelServing
    """The KServe installation: its mode, and what must exist before an InferenceService."""
    monitor_url: pulumi.Input[str] | None = None
    """Drift monitor ingestion URL for prediction logs (DriftMonitor.ingest_url). Default: no logging."""
    feature_server_url: pulumi.Input[str] | None = None
    """Feast feature server, for entity-keyed requests (FeatureStore.url). Default: none."""
    monitoring: MonitoringHooks | None = None
    """Scrape the predictor's pods. Default: not monitored."""


class ModelEndpoint(PlatformComponent):
    """The predictor (apps/serving) loads `models:/<model>@<alias>`, follows the alias and swaps
    versions without dropping requests. Standard mode: HPA on CPU and rolling updates with
    maxUnavailable 0; Serverless: concurrency autoscaling and optional canary. GPU endpoints get
    the GPU limit, the toleration and a node selector for their pool. Non-root, read-only root."""

    url: pulumi.Output[str]
    """Cluster-internal URL of the predictor."""
    scrape_target: kube.ScrapeTarget

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ModelEndpoint", name, None, opts)
        endpoint = settings_arg(EndpointSettings, args.endpoint, "endpoint", "ModelEndpoint", name)
        isvc = endpoint.name
        check_names("ModelEndpoint", name, {"namespace": args.namespace})
        mode = args.serving.mode
        problems = [
            f"endpoint.{i.path[0]} = {i.value!r}: {render_message(i.message, 'python')}"
            for i in mode_issues(endpoint, mode)
        ]
        if problems:
            raise ComponentArgsError("ModelEndpoint", name, problems)
        ns = args.namespace
        predictor_name = f"{isvc}-predictor"
        workload = Workload(self, name, isvc, ns, "predictor")
        workload.identity(args.mlflow.artifacts, args.mlflow.artifact_grants(), account=predictor_name)
        resources = kube.resources(endpoint.cpu, endpoint.memory)
        predictor: dict[str, Any] = {
            "serviceAccountName": predictor_name,
            "automountServiceAccountToken": False,
            "minReplicas": endpoint.min_replicas,
            "maxReplicas": endpoint.max_replicas,
            "securityContext": kube.pod_security(),
            "containers": [
                {
                    "name": "kserve-container",
                    "image": args.image,
                    "imagePullPolicy": "Always",
                    "args": ["--model_name", isvc, "--http_port", str(HTTP_PORT)],
                    "env": [
                        *args.mlflow.env(),
                        *PredictorSettings.env(
                            model_name=endpoint.model,
                            model_alias=endpoint.alias,
                            monitor_url=args.monitor_url,
                            feast_url=args.feature_server_url,
                        ),
                        *kube.env({"HOME": "/tmp"}),
                    ],
                    "envFrom": args.mlflow.env_from(),
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
        annotations = {"serving.kserve.io/deploymentMode": mode.kserve_name}
        if mode is ServingMode.STANDARD:
            annotations["serving.kserve.io/autoscalerClass"] = "hpa"
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
            if endpoint.canary_traffic_percent is not None:
                predictor["canaryTrafficPercent"] = endpoint.canary_traffic_percent
        kube.request_gpus(predictor, resources, endpoint.gpus, endpoint.gpu_pool)
        k8s.apiextensions.CustomResource(
            f"{name}-isvc",
            api_version="serving.kserve.io/v1beta1",
            kind="InferenceService",
            metadata=kube.metadata(isvc, ns, workload.labels, annotations),
            spec={"predictor": predictor},
            opts=child(self, depends_on=list(args.serving.ready)),
        )
        # Predictors are the cluster's inference API: any namespace may call them (the namespace denies by default).
        pods = {"serving.kserve.io/inferenceservice": isvc}
        kube.ingress_policy(self, f"{name}-netpol", predictor_name, ns, pods, HTTP_PORT, [], open_to_all=True)
        self.url = pulumi.Output.from_input(f"http://{predictor_name}.{ns}.svc.cluster.local")
        self.scrape_target = kube.ScrapeTarget(predictor_name, ns, pods, "http1", pods=True)
        if args.monitoring is not None:
            args.monitoring.scrape(self, f"{name}-podmonitor", self.scrape_target)
        self.register_outputs({"url": self.url})
