"""ModelServing: KServe (CRDs and controller) and what its deployment mode needs."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..kit import k8s as kube
from ..kit.common import ComponentArgsError, PlatformComponent, child, documented
from ..kit.gpu import ACCELERATOR_LABEL
from ..kit.llm import MODEL_CACHE_PATH
from ..kit.observability import DASHBOARDS_DIR, RULES_DIR, MonitoringHooks
from ..kit.spec import Issue, Spec, settings_arg
from ..kit.versions import (
    CERT_MANAGER_CHART,
    KEDA_CHART,
    KNATIVE_OPERATOR_CHART,
    KNATIVE_SERVING_VERSION,
    KSERVE_CHART,
    KSERVE_CRD_CHART,
    KSERVE_LOCALMODEL_CHART,
    KSERVE_LOCALMODEL_CRD_CHART,
)

KEDA_NAMESPACE = "keda"
MODEL_CACHE_JOBS_NAMESPACE = "kserve-localmodel-jobs"
"""Where KServe's model cache runs its download jobs (the chart's default name)."""


def predictor_base(service_account: str, min_replicas: int, max_replicas: int) -> dict[str, Any]:
    """What every predictor the platform declares starts from: its own service account, no API token
    mounted, its replica bounds, the restricted pod security context."""
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "minReplicas": min_replicas,
        "maxReplicas": max_replicas,
        "securityContext": kube.pod_security(),
    }


def keda_prometheus_scaling(server: pulumi.Input[str], query: str, target: dict[str, str]) -> dict[str, Any]:
    """KServe's autoScaling block for its KEDA autoscaler class: one Prometheus trigger (KServe writes it
    into a ScaledObject) aiming `query` at `target` (Value: the total; AverageValue: per replica)."""
    return {
        "metrics": [
            {
                "type": "External",
                "external": {
                    "metric": {"backend": "prometheus", "serverAddress": server, "query": query},
                    "target": target,
                },
            }
        ]
    }


class ServingMode(enum.Enum):
    """How KServe runs predictors - a trade-off:

    STANDARD: plain Deployments, Services and a HorizontalPodAutoscaler (CPU). Few moving parts,
    no Knative or mesh to operate; rollouts are rolling updates with maxUnavailable 0. No scale
    to zero and no traffic-split canaries. The default.

    SERVERLESS: Knative Serving (installed here through the Knative operator, with Kourier as
    ingress). Request-driven autoscaling down to zero replicas, revisions, and canary rollouts
    (`canaryTrafficPercent`). Costs a cold start after scale-to-zero and a larger control plane.
    """

    STANDARD = "Standard"
    SERVERLESS = "Serverless"

    @property
    def kserve_name(self) -> str:
        """KServe's own name for the mode (it renamed Serverless to Knative)."""
        return "Standard" if self is ServingMode.STANDARD else "Knative"


def rollout_issues(
    mode: ServingMode, canary_traffic_percent: int | None, min_replicas: int, measured: str
) -> list[Issue]:
    """What a mode cannot do for an endpoint (predictive or LLM): a canary in Standard mode, which rolls out
    with maxUnavailable 0, and zero replicas in Standard mode, where with no replica running `measured`
    to wake one."""
    issues = []
    if mode is ServingMode.STANDARD and canary_traffic_percent is not None:
        issues.append(
            Issue(
                ("canary_traffic_percent",),
                canary_traffic_percent,
                "canary rollouts need mode Serverless (Standard mode rolls out with maxUnavailable 0)",
            )
        )
    if mode is ServingMode.STANDARD and min_replicas == 0:
        issues.append(
            Issue(
                ("min_replicas",),
                0,
                f"Standard mode cannot scale to zero: with no replica running, {measured}; use >= 1, "
                "or mode Serverless (Knative's activator holds the request)",
            )
        )
    return issues


@dataclass(frozen=True)
class KServeInstall:
    """An installed KServe as endpoints need it: its mode, what they must be created after, and where
    KEDA reads request rates (None: no KEDA). ModelServing is one; a stack whose KServe another stack
    installed states it with this."""

    mode: ServingMode | pulumi.Output[str]
    """The deployment mode, or ModelServing.mode as an output (an endpoint then checks itself against it
    when it resolves)."""
    ready: Sequence[pulumi.Resource] = ()
    keda_query_url: pulumi.Input[str] | None = None


class KServeSettings(Spec):
    """How KServe runs predictors."""

    mode: ServingMode = ServingMode.STANDARD
    """KServe deployment mode: Standard (Deployments + HPA; no scale to zero, no canary) or Serverless (Knative: scale to zero, canary rollouts). Default: Standard."""


@documented
@dataclass
class ModelServingArgs:
    settings: KServeSettings = field(default_factory=KServeSettings)
    """The deployment mode. Default: Standard."""
    namespace: str = "kserve"
    """Namespace of the KServe controller (created by the caller). Default: kserve."""
    monitoring: MonitoringHooks | None = None
    """Chart every predictor's traffic and alert on latency and errors. Default: neither."""
    keda: bool = False
    """Install KEDA (pinned chart) so Standard-mode endpoints can scale on their request rate, which it reads from the monitoring's Prometheus (so `monitoring` is required). Default: false."""
    llm: bool = False
    """Serve LLM endpoints: with monitoring, the LLM dashboard and alert rules. Default: false."""
    model_cache: bool = False
    """Install KServe's local model cache for LLM weights: its CRDs and controller, node agents on the GPU nodes (the caller's KServe namespace must then admit privileged pods: the agents write the node's NVMe through a host path) and a namespace for its download jobs. Default: false."""


class ModelServing(PlatformComponent):
    """cert-manager (KServe's webhooks need certificates in both modes), Knative Serving in
    Serverless mode, then KServe's CRDs and controller - each Helm release pinned and ordered, so
    nothing that uses a CRD is created before the CRD exists. `ready` is what InferenceServices
    must depend on."""

    ready: list[pulumi.Resource]
    mode: ServingMode
    keda_query_url: pulumi.Input[str] | None
    """The Prometheus KEDA queries for endpoints' request rates (None: no KEDA installed)."""
    model_cache_jobs: str | None
    """The namespace KServe's model cache runs its download jobs in (None: no cache installed)."""

    def __init__(self, name: str, args: ModelServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ModelServing", name, None, opts)
        self.mode = settings_arg(KServeSettings, args.settings, "settings", "ModelServing", name).mode
        problems = []
        if args.keda and args.monitoring is None:
            problems.append("keda = true: KEDA reads request rates from Prometheus; give monitoring too")
        if args.keda and self.mode is ServingMode.SERVERLESS:
            problems.append("keda = true: Serverless mode scales with Knative; KEDA serves mode Standard")
        if problems:
            raise ComponentArgsError("ModelServing", name, problems)
        self.keda_query_url = None
        cert_ns = kube.namespace(f"{name}-cert-manager-ns", "cert-manager", opts=child(self))
        cert_manager = kube.helm_release(
            self,
            f"{name}-cert-manager",
            "cert-manager",
            CERT_MANAGER_CHART,
            "cert-manager",
            {
                "crds": {"enabled": True},
                "nodeSelector": kube.SYSTEM_NODES,
                "resources": kube.resources("50m", "128Mi"),
                "image": kube.PULL_ALWAYS,
                "webhook": {
                    "nodeSelector": kube.SYSTEM_NODES,
                    "resources": kube.resources("20m", "64Mi"),
                    "image": kube.PULL_ALWAYS,
                },
                "cainjector": {
                    "nodeSelector": kube.SYSTEM_NODES,
                    "resources": kube.resources("20m", "128Mi"),
                    "image": kube.PULL_ALWAYS,
                },
                # The post-install hook Job that waits until the API accepts certificates.
                "startupapicheck": {"resources": kube.resources("10m", "32Mi"), "image": kube.PULL_ALWAYS},
            },
            after=[cert_ns],
            atomic=True,
        )
        prerequisites: list[pulumi.Resource] = [cert_manager]
        if self.mode is ServingMode.SERVERLESS:
            prerequisites.append(self._knative(name))
        if args.keda and args.monitoring is not None:
            # Before KServe's controller: it manages ScaledObjects only if their CRD exists when it starts.
            prerequisites.append(self._keda(name))
            self.keda_query_url = args.monitoring.prometheus_url
        localmodel = {"enabled": True, "jobNamespace": MODEL_CACHE_JOBS_NAMESPACE} if args.model_cache else {}
        crds = kube.helm_release(
            self,
            f"{name}-kserve-crd",
            "kserve-crd",
            KSERVE_CRD_CHART,
            args.namespace,
            {},
            after=prerequisites,
            atomic=True,
        )
        controller = kube.helm_release(
            self,
            f"{name}-kserve",
            "kserve",
            KSERVE_CHART,
            args.namespace,
            {
                "kserve": {
                    "controller": {
                        "deploymentMode": self.mode.kserve_name,
                        # Predictors stay cluster-internal; publish one deliberately (Gateway/Ingress) if needed.
                        "gateway": {"disableIngressCreation": True},
                        "nodeSelector": kube.SYSTEM_NODES,
                    },
                    **({"localmodel": localmodel} if localmodel else {}),
                }
            },
            after=[crds],
            atomic=True,
        )
        self.ready = [crds, controller]
        self.model_cache_jobs = None
        if args.model_cache:
            self.ready.append(self._model_cache(name, args.namespace, localmodel, controller))
            self.model_cache_jobs = MODEL_CACHE_JOBS_NAMESPACE
        if args.monitoring is not None:
            args.monitoring.alert_rules(self, f"{name}-rules", RULES_DIR / "serving.rules.yaml")
            args.monitoring.dashboard(self, f"{name}-dashboard", DASHBOARDS_DIR / "serving.json")
            if args.llm:
                args.monitoring.alert_rules(self, f"{name}-llm-rules", RULES_DIR / "llm.rules.yaml")
                args.monitoring.dashboard(self, f"{name}-llm-dashboard", DASHBOARDS_DIR / "llm.json")
        self.register_outputs({})

    def _model_cache(
        self, name: str, namespace: str, localmodel: dict[str, Any], controller: pulumi.Resource
    ) -> pulumi.Resource:
        """KServe's local model cache, after its controller: its CRDs, the cache controller, and a node agent on every
        GPU node keeping the cached models in the instance store's directory; the download jobs run in a
        namespace of their own (their service accounts carry the models' credentials)."""
        # Baseline: KServe writes the download Jobs' pods without a seccomp profile, which `restricted` requires.
        jobs_ns = kube.namespace(
            f"{name}-model-cache-ns",
            MODEL_CACHE_JOBS_NAMESPACE,
            pod_security="baseline",
            deny_ingress=True,
            opts=child(self),
        )
        crds = kube.helm_release(
            self,
            f"{name}-kserve-localmodel-crd",
            "kserve-localmodel-crd",
            KSERVE_LOCALMODEL_CRD_CHART,
            namespace,
            {},
            after=[controller],
            atomic=True,
        )
        # The node agent on every GPU node, writing the instance store's directory. The chart's values.yaml
        # spells its placement twice (`localmodel.agent`, which KServe's node agent template reads, and
        # `localmodelnode.controller`, which its README documents): both say the same, whichever it reads.
        agent = {
            "nodeSelector": {ACCELERATOR_LABEL: "nvidia"},
            "tolerations": [kube.GPU_TOLERATION],
            "hostPath": MODEL_CACHE_PATH,
        }
        return kube.helm_release(
            self,
            f"{name}-kserve-localmodel",
            "kserve-localmodel",
            KSERVE_LOCALMODEL_CHART,
            namespace,
            {
                "kserve": {
                    # kserve-resources owns the shared objects (inferenceservice-config, certificates).
                    "createSharedResources": False,
                    "localmodel": {**localmodel, "agent": agent},
                    "localmodelnode": {"controller": agent},
                }
            },
            after=[crds, jobs_ns],
            atomic=True,
        )

    def _keda(self, name: str) -> pulumi.Resource:
        keda_ns = kube.namespace(f"{name}-keda-ns", KEDA_NAMESPACE, opts=child(self))
        return kube.helm_release(
            self,
            f"{name}-keda",
            "keda",
            KEDA_CHART,
            KEDA_NAMESPACE,
            {
                "nodeSelector": kube.SYSTEM_NODES,
                "priorityClassName": "system-cluster-critical",
            },
            after=[keda_ns],
            atomic=True,
        )

    def _knative(self, name: str) -> pulumi.Resource:
        operator_ns = kube.namespace(f"{name}-knative-operator-ns", "knative-operator", opts=child(self))
        serving_ns = kube.namespace(
            f"{name}-knative-serving-ns", "knative-serving", pod_security="baseline", opts=child(self)
        )
        operator = kube.helm_release(
            self,
            f"{name}-knative-operator",
            "knative-operator",
            KNATIVE_OPERATOR_CHART,
            "knative-operator",
            {"knative_operator": {"knative_operator": {"nodeSelector": kube.SYSTEM_NODES}}},
            after=[operator_ns],
            atomic=True,
        )
        return k8s.apiextensions.CustomResource(
            f"{name}-knative-serving",
            api_version="operator.knative.dev/v1beta1",
            kind="KnativeServing",
            metadata={"name": "knative-serving", "namespace": "knative-serving"},
            spec={
                "version": KNATIVE_SERVING_VERSION,
                "ingress": {"kourier": {"enabled": True}},
                "config": {"network": {"ingress-class": "kourier.ingress.networking.knative.dev"}},
            },
            opts=child(self, depends_on=[operator, serving_ns]),
        )
