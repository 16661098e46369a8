"""ModelServing: KServe (CRDs and controller) and what its deployment mode needs."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import k8s as kube
from components._common import PlatformComponent, child
from components.versions import (
    CERT_MANAGER_CHART,
    KNATIVE_OPERATOR_CHART,
    KNATIVE_SERVING_VERSION,
    KSERVE_CHART,
    KSERVE_CRD_CHART,
)


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


@dataclass
class ModelServingArgs:
    mode: ServingMode = ServingMode.STANDARD
    """Deployment mode. Default: Standard."""
    namespace: str = "kserve"
    """Namespace of the KServe controller (created by the caller). Default: kserve."""


class ModelServing(PlatformComponent):
    """cert-manager (KServe's webhooks need certificates in both modes), Knative Serving in
    Serverless mode, then KServe's CRDs and controller - each Helm release pinned and ordered, so
    nothing that uses a CRD is created before the CRD exists. `ready` is what InferenceServices
    must depend on."""

    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: ModelServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ModelServing", name, None, opts)
        cert_ns = kube.namespace(self, f"{name}-cert-manager-ns", "cert-manager")
        cert_manager = kube.helm_release(
            self,
            f"{name}-cert-manager",
            "cert-manager",
            CERT_MANAGER_CHART,
            "cert-manager",
            {
                "crds": {"enabled": True},
                "nodeSelector": kube.SYSTEM_NODES,
                "webhook": {"nodeSelector": kube.SYSTEM_NODES},
                "cainjector": {"nodeSelector": kube.SYSTEM_NODES},
            },
            after=[cert_ns],
            atomic=True,
        )
        prerequisites: list[pulumi.Resource] = [cert_manager]
        if args.mode is ServingMode.SERVERLESS:
            prerequisites.append(self._knative(name))
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
                        "deploymentMode": args.mode.kserve_name,
                        # Predictors stay cluster-internal; publish one deliberately (Gateway/Ingress) if needed.
                        "gateway": {"disableIngressCreation": True},
                        "nodeSelector": kube.SYSTEM_NODES,
                    }
                }
            },
            after=[crds],
            atomic=True,
        )
        self.ready = [crds, controller]
        self.register_outputs({})

    def _knative(self, name: str) -> pulumi.Resource:
        operator_ns = kube.namespace(self, f"{name}-knative-operator-ns", "knative-operator")
        serving_ns = kube.namespace(self, f"{name}-knative-serving-ns", "knative-serving", pod_security="baseline")
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
