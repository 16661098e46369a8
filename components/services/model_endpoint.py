"""ModelEndpoint: one KServe InferenceService serving a registered model by alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from mlops_platform.contracts import PredictorSettings
from pydantic import Field, model_validator

from ..kit import k8s as kube
from ..kit.common import ComponentArgsError, PlatformComponent, child, documented
from ..kit.observability import MonitoringHooks
from ..kit.promql import predictor_pods
from ..kit.spec import (
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
from ..kit.workload import ROLLING, Workload
from .mlflow_tracking import MlflowClient
from .model_serving import (
    KServeInstall,
    KServeSettings,
    ModelServing,
    ServingMode,
    keda_prometheus_scaling,
    predictor_base,
    rollout_issues,
)

HTTP_PORT = 8080
DEFAULT_RPS = 10.0
"""Requests per second per replica an endpoint scaled by KEDA aims for, unless it says."""


def request_rate_query(namespace: str, predictor: str) -> str:
    """The endpoint's request rate: answered and failed predictions per second over its pods."""
    pods = predictor_pods(namespace, predictor)
    return (
        f"(sum(rate(mlops_predictions_total{{{pods}}}[1m])) or vector(0)) "
        f"+ (sum(rate(mlops_prediction_errors_total{{{pods}}}[1m])) or vector(0))"
    )


def request_rate_scaling(
    serving: ModelServing | KServeInstall, namespace: str, predictor: str, per_replica: float
) -> dict[str, Any]:
    """KServe's autoScaling block for its KEDA autoscaler class: a Prometheus trigger on the request rate
    (KEDA divides the rate by `per_replica`)."""
    assert serving.keda_query_url is not None
    return keda_prometheus_scaling(
        serving.keda_query_url, request_rate_query(namespace, predictor), {"type": "Value", "value": f"{per_replica:g}"}
    )


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
    autoscaler: Literal["hpa", "keda"] | None = None
    """Standard mode: hpa (a HorizontalPodAutoscaler on CPU) or keda (KEDA scales on the request rate Prometheus measures; the platform installs KEDA). Serverless mode scales with Knative and takes neither. Default: hpa in Standard mode."""
    target_requests_per_second: Annotated[float, Field(gt=0, le=100000)] | None = None
    """With autoscaler keda: requests per second one replica should take (replicas = total rate / this). Default: 10."""
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
    # KServe hands minReplicas 0 to KEDA, but the request rate comes from the predictor's own pods:
    # with none running nothing reports a request, so nothing would ever scale it back up.
    issues = rollout_issues(
        mode,
        endpoint.canary_traffic_percent,
        endpoint.min_replicas,
        "no request is measured to wake one (with hpa or keda)",
    )
    if mode is ServingMode.SERVERLESS and endpoint.autoscaler is not None:
        issues.append(
            Issue(
                ("autoscaler",),
                endpoint.autoscaler,
                "Serverless mode scales with Knative (concurrency); autoscaler applies to mode Standard only",
            )
        )
    if endpoint.target_requests_per_second is not None and endpoint.autoscaler != "keda":
        issues.append(
            Issue(
                ("target_requests_per_second",),
                endpoint.target_requests_per_second,
                "is the request-rate target of {autoscaler} keda; set {autoscaler}: keda or remove it",
            )
        )
    return issues


class ServingSettings(KServeSettings):
    """KServe and the inference endpoints."""

    endpoints: list[EndpointSettings] = Field(default_factory=list)
    """One InferenceService per entry. Default: none."""

    @property
    def uses_keda(self) -> bool:
        """Whether an endpoint scales through KEDA (the platform then installs it)."""
        return any(e.autoscaler == "keda" for e in self.endpoints)

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
    image: pulumi.Input[str]
    """The serving image (apps/serving)."""
    mlflow: MlflowClient
    """MLflow's URL and a read-only account (MlflowTracking.client("serving"))."""
    serving: ModelServing | KServeInstall
    """The KServe installation: its mode, what must exist before an InferenceService, KEDA's Prometheus."""
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
        if endpoint.autoscaler == "keda" and args.serving.keda_query_url is None:
            raise ComponentArgsError(
                "ModelEndpoint",
                name,
                [
                    "endpoint.autoscaler = 'keda': the ModelServing given installs no KEDA (ModelServingArgs.keda, with monitoring)"
                ],
            )
        ns = args.namespace
        predictor_name = f"{isvc}-predictor"
        workload = Workload(self, name, isvc, ns, "predictor")
        account = workload.identity(args.mlflow.artifacts, args.mlflow.artifact_grants(), account=predictor_name)
        resources = kube.resources(endpoint.cpu, endpoint.memory)
        predictor: dict[str, Any] = {
            **predictor_base(predictor_name, endpoint.min_replicas, endpoint.max_replicas),
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

        def by_mode(mode: ServingMode) -> tuple[dict[str, str], dict[str, Any]]:
            """The annotations and predictor of `mode`, the endpoint's settings checked against it."""
            problems = [
                f"endpoint.{i.path[0]} = {i.value!r}: {render_message(i.message, 'python')}"
                for i in mode_issues(endpoint, mode)
            ]
            if problems:
                raise ComponentArgsError("ModelEndpoint", name, problems)
            annotations = {"serving.kserve.io/deploymentMode": mode.kserve_name}
            shaped = dict(predictor)
            if mode is ServingMode.STANDARD:
                shaped["deploymentStrategy"] = ROLLING
                if endpoint.autoscaler == "keda":
                    annotations["serving.kserve.io/autoscalerClass"] = "keda"
                    shaped["autoScaling"] = request_rate_scaling(
                        args.serving, ns, predictor_name, endpoint.target_requests_per_second or DEFAULT_RPS
                    )
                else:
                    annotations["serving.kserve.io/autoscalerClass"] = "hpa"
                    shaped.update({"scaleMetric": "cpu", "scaleTarget": 70})
            else:
                shaped.update({"scaleMetric": "concurrency", "scaleTarget": 20})
                if endpoint.canary_traffic_percent is not None:
                    shaped["canaryTrafficPercent"] = endpoint.canary_traffic_percent
            kube.request_gpus(shaped, resources, endpoint.gpus, endpoint.gpu_pool)
            return annotations, shaped

        # A known mode is checked now, before anything is declared; one that is another component's output
        # (ModelServing.mode from another stack or language) is checked when it resolves.
        metadata: Any
        spec: Any
        labels = {**workload.labels, **kube.CLUSTER_LOCAL}
        if isinstance(args.serving.mode, ServingMode):
            annotations, shaped = by_mode(args.serving.mode)
            metadata, spec = kube.metadata(isvc, ns, labels, annotations), {"predictor": shaped}
        else:
            shaped_by_mode = pulumi.Output.from_input(args.serving.mode).apply(lambda m: by_mode(ServingMode(m)))
            metadata = shaped_by_mode.apply(lambda s: kube.metadata(isvc, ns, labels, s[0]))
            spec = shaped_by_mode.apply(lambda s: {"predictor": s[1]})
        k8s.apiextensions.CustomResource(
            f"{name}-isvc",
            api_version="serving.kserve.io/v1beta1",
            kind="InferenceService",
            metadata=metadata,
            spec=spec,
            opts=child(self, depends_on=[*args.serving.ready, account]),
        )
        # Predictors are the cluster's inference API: any namespace may call them (the namespace denies by default).
        pods = {"serving.kserve.io/inferenceservice": isvc}
        kube.ingress_policy(self, f"{name}-netpol", predictor_name, ns, pods, HTTP_PORT, [], open_to_all=True)
        self.url = pulumi.Output.from_input(f"http://{predictor_name}.{ns}.svc.cluster.local")
        self.scrape_target = kube.ScrapeTarget(predictor_name, ns, pods, "http1", pods=True)
        if args.monitoring is not None:
            args.monitoring.scrape(self, f"{name}-podmonitor", self.scrape_target)
        self.register_outputs({"url": self.url})
