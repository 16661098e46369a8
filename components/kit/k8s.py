"""Kubernetes building blocks every workload shares: labels, security contexts, scheduling.

Fragments are typed `Any`: they are manifest JSON, checked where it matters - against the
Kubernetes schema by `make plan` and the tests - rather than against pulumi_kubernetes' TypedDicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import model_validator

from .common import child
from .gpu import ACCELERATOR_LABEL, GPU_POOL_LABEL, GPU_RESOURCE
from .quantity import scale_cpu
from .spec import Issue, Spec, fail, matching
from .versions import HelmChart

PART_OF = "mlops-platform"


def labels(app: str, component: str) -> dict[str, str]:
    """Recommended labels (app.kubernetes.io/*): selectors use name + component."""
    return {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
    }


def selector(app: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/component": component}


def metadata(
    name: str, namespace: str | None, labels: Mapping[str, str], annotations: Mapping[str, Any] | None = None
) -> Any:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def service_spec(pod_selector: Mapping[str, str], ports: Mapping[str, int]) -> Any:
    """A ClusterIP Service spec: one named port per entry, to the container port of the same name."""
    return {
        "type": "ClusterIP",
        "selector": dict(pod_selector),
        "ports": [{"name": port_name, "port": port, "targetPort": port_name} for port_name, port in ports.items()],
    }


RESTRICTED_CONTAINER: Any = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Container security context meeting the `restricted` Pod Security Standard, read-only root."""


PULL_ALWAYS: Any = {"pullPolicy": "Always"}
"""A chart image's pull policy, as the platform's own images have it: the tag is resolved with the registry
at every start, so a pod never runs an image left on the node that its pull credentials no longer reach."""


def pod_security(uid: int = 10001) -> Any:
    """Pod security context: a fixed non-root uid/gid (above the host's range) and group-owned volumes."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(cpu: str, memory: str, cpu_limit: str | None = None, memory_limit: str | None = None) -> Any:
    """Requests and limits; memory limit defaults to the request (no overcommit), CPU limit to twice it."""
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": cpu_limit or scale_cpu(cpu, 2), "memory": memory_limit or memory},
    }


CLUSTER_LOCAL = {"networking.kserve.io/visibility": "cluster-local"}
"""KServe's label keeping an InferenceService inside the cluster, whatever its controller's ingress settings."""

SYSTEM_NODE_LABEL = {"mlops.platform/node-role": "system"}
"""The label of the system node group's nodes (EksCluster sets it; platform services select it)."""
SYSTEM_NODES: dict[str, str] = dict(SYSTEM_NODE_LABEL)
"""Node selector of the system node group."""


def pod(
    containers: list[Any],
    volumes: list[Any] | None = None,
    *,
    service_account: str | None = None,
    api_access: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A platform pod: non-root with the runtime's seccomp profile, on the system nodes, without a
    Kubernetes API token unless it needs one (`api_access`). `extra` adds or overrides PodSpec fields."""
    spec: dict[str, Any] = {
        "automountServiceAccountToken": api_access,
        "securityContext": pod_security(),
        "nodeSelector": dict(SYSTEM_NODES),
        "containers": containers,
    }
    if service_account is not None:
        spec["serviceAccountName"] = service_account
    if volumes:
        spec["volumes"] = volumes
    return {**spec, **extra}


def run_once(labels: Mapping[str, str], pod_spec: Mapping[str, Any], *, retries: int) -> Any:
    """A Job spec that retries its pod until it succeeds (idempotent setup work)."""
    return {
        "backoffLimit": retries,
        "template": {"metadata": {"labels": dict(labels)}, "spec": {"restartPolicy": "OnFailure", **pod_spec}},
    }


GPU_TOLERATION: Any = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}


def request_gpus(pod: dict[str, Any], resources: Any, gpus: int, pool: str | None) -> None:
    """Ask for `gpus` GPUs: the GPU limit, the GPU taint's toleration, and a node selector for the
    named pool (or any GPU node). Nothing when `gpus` is 0."""
    if not gpus:
        return
    resources["limits"][GPU_RESOURCE] = str(gpus)
    resources["requests"][GPU_RESOURCE] = str(gpus)
    pod["tolerations"] = [GPU_TOLERATION]
    pod["nodeSelector"] = {GPU_POOL_LABEL: pool} if pool else {ACCELERATOR_LABEL: "nvidia"}


def http_probe(
    path: str, port: int | str, *, initial_delay: int = 5, period: int = 10, failures: int = 3
) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def tmp_volume(name: str = "tmp", size: str = "256Mi") -> Any:
    """A scratch volume for programs that need a writable /tmp under a read-only root."""
    return {"name": name, "emptyDir": {"sizeLimit": size}}


def secret_volume(name: str, secret: str) -> Any:
    """A Secret mounted as files, readable by the pod's group (its fsGroup) and no one else."""
    return {"name": name, "secret": {"secretName": secret, "defaultMode": 0o440}}


def env(values: Mapping[str, str]) -> Any:
    return [{"name": key, "value": value} for key, value in values.items()]


def secret_env(name: str, secret: str, key: str) -> Any:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


@dataclass(frozen=True)
class ScrapeTarget:
    """Something Prometheus should scrape: pods behind a Service (or pods directly)."""

    name: str
    namespace: str
    selector: Mapping[str, str]
    port: str
    """Port name (of the Service, or of the container for pods)."""
    path: str = "/metrics"
    pods: bool = False
    """Scrape pods directly (PodMonitor) instead of through a Service (ServiceMonitor)."""


class IngressSettings(Spec):
    """Publish a service through an Ingress (the AWS Load Balancer Controller's `alb` class by default)."""

    host: Annotated[
        str,
        matching(
            r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", "a lower-case DNS name like mlflow.example.com (no scheme or path)"
        ),
    ]
    """DNS name the service is published under."""
    class_name: str = "alb"
    """IngressClass. Default: alb (AWS Load Balancer Controller)."""
    internal: bool = True
    """Keep the load balancer inside the VPC. Default: true."""
    tls_certificate_arn: (
        Annotated[
            str,
            matching(
                r"arn:aws[a-z-]*:acm:.+", "an ACM certificate ARN like arn:aws:acm:<region>:<account>:certificate/<id>"
            ),
        ]
        | None
    ) = None
    """ACM certificate for HTTPS. Required when internal is false."""

    @model_validator(mode="after")
    def _public_needs_tls(self) -> IngressSettings:
        if not self.internal and self.tls_certificate_arn is None:
            fail(
                [
                    Issue(
                        ("tls_certificate_arn",),
                        None,
                        "an internet-facing ingress needs an ACM certificate (HTTPS only)",
                    )
                ]
            )
        return self

    def annotations(self) -> dict[str, str]:
        """The AWS Load Balancer Controller's annotations: internal unless asked, HTTPS-only with a certificate."""
        found = {
            "alb.ingress.kubernetes.io/scheme": "internal" if self.internal else "internet-facing",
            "alb.ingress.kubernetes.io/target-type": "ip",
        }
        if self.tls_certificate_arn:
            found.update(
                {
                    "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS": 443}]',
                    "alb.ingress.kubernetes.io/certificate-arn": self.tls_certificate_arn,
                    "alb.ingress.kubernetes.io/ssl-policy": TLS_POLICY,
                }
            )
        return found


TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def spread_over_zones(pod_selector: Mapping[str, str]) -> Any:
    return {
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": dict(pod_selector)},
    }


DENY_ALL_INGRESS: Any = {"podSelector": {}, "policyTypes": ["Ingress"]}


def namespace(
    resource_name: str,
    name: str,
    *,
    pod_security: str = "restricted",
    deny_ingress: bool = False,
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.core.v1.Namespace:
    """A namespace enforcing a Pod Security Standard (restricted unless its workloads need more),
    and, if asked, denying all ingress except what each workload's NetworkPolicy admits. `opts`
    carries the cluster's provider (and the parent, inside a component)."""
    opts = opts or pulumi.ResourceOptions()
    created = k8s.core.v1.Namespace(
        resource_name,
        metadata={
            "name": name,
            "labels": {
                "app.kubernetes.io/part-of": PART_OF,
                "pod-security.kubernetes.io/enforce": pod_security,
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
        opts=opts,
    )
    if deny_ingress:
        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-deny-ingress",
            metadata=metadata("default-deny-ingress", name, labels("default-deny-ingress", "network-policy")),
            spec=DENY_ALL_INGRESS,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[created])),
        )
    return created


def helm_release(
    parent: pulumi.Resource,
    resource_name: str,
    release: str,
    chart: HelmChart,
    namespace: str,
    values: Mapping[str, Any],
    *,
    after: Sequence[pulumi.Resource] = (),
    atomic: bool = False,
) -> k8s.helm.v3.Release:
    """A release of a pinned chart (an OCI chart's reference is its whole URL, with no repository),
    installed after `after`; `atomic` rolls a failed install or upgrade back."""
    return k8s.helm.v3.Release(
        resource_name,
        name=release,
        chart=chart.chart,
        version=chart.version,
        repository_opts={"repo": chart.repo} if chart.repo else None,
        namespace=namespace,
        values=values,
        atomic=atomic,
        opts=child(parent, depends_on=list(after)),
    )


def disruption_budget(
    parent: pulumi.Resource,
    resource_name: str,
    name: str,
    ns: str,
    labels: Mapping[str, str],
    pod_selector: Mapping[str, str],
    replicas: int,
) -> k8s.policy.v1.PodDisruptionBudget:
    """Keep one replica through voluntary disruptions when there are several; with one, let drains proceed."""
    budget: Any = {"selector": {"matchLabels": dict(pod_selector)}}
    budget.update({"minAvailable": 1} if replicas > 1 else {"maxUnavailable": 1})
    return k8s.policy.v1.PodDisruptionBudget(
        resource_name, metadata=metadata(name, ns, labels), spec=budget, opts=child(parent)
    )


def ingress_policy(
    parent: pulumi.Resource,
    resource_name: str,
    name: str,
    ns: str,
    pod_selector: Mapping[str, str],
    port: int,
    from_namespaces: Sequence[str],
    *,
    open_to_all: bool = False,
) -> k8s.networking.v1.NetworkPolicy:
    """Admit traffic to `port` of the selected pods only from their own namespace and `from_namespaces`
    (or from anywhere, for pods published through an Ingress: they authenticate every request)."""
    sources: Any = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}}}
        for n in sorted({ns, *from_namespaces})
    ]
    rule: Any = {"ports": [{"protocol": "TCP", "port": port}]}
    if open_to_all:
        rule = {}  # every source, every port (e.g. Knative's queue-proxy in front of a predictor)
    else:
        rule["from"] = sources
    spec: Any = {"podSelector": {"matchLabels": dict(pod_selector)}, "policyTypes": ["Ingress"], "ingress": [rule]}
    return k8s.networking.v1.NetworkPolicy(
        resource_name, metadata=metadata(name, ns, labels(name, "network-policy")), spec=spec, opts=child(parent)
    )


def ingress(
    parent: pulumi.Resource,
    resource_name: str,
    name: str,
    ns: str,
    labels_: Mapping[str, str],
    port: int,
    args: IngressSettings,
) -> k8s.networking.v1.Ingress:
    """An Ingress for the AWS Load Balancer Controller (see IngressSettings.annotations)."""
    annotations = {**args.annotations(), "alb.ingress.kubernetes.io/healthcheck-path": "/health"}
    spec: Any = {
        "ingressClassName": args.class_name,
        "rules": [
            {
                "host": args.host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": name, "port": {"number": port}}},
                        }
                    ]
                },
            }
        ],
    }
    return k8s.networking.v1.Ingress(
        resource_name, metadata=metadata(name, ns, labels_, annotations), spec=spec, opts=child(parent)
    )
