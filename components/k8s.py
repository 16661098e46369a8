"""Kubernetes building blocks every workload shares: labels, security contexts, scheduling.

Fragments are typed `Any`: they are manifest JSON, checked where it matters - against the
Kubernetes schema by `make plan` and the tests - rather than against pulumi_kubernetes' TypedDicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.eks_cluster import SYSTEM_NODE_LABEL
from components.gpu import GPU_RESOURCE

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
        "limits": {"cpu": cpu_limit or _double(cpu), "memory": memory_limit or memory},
    }


def _double(cpu: str) -> str:
    return f"{int(cpu[:-1]) * 2}m" if cpu.endswith("m") else str(float(cpu) * 2).rstrip("0").rstrip(".")


SYSTEM_NODES: dict[str, str] = dict(SYSTEM_NODE_LABEL)
"""Node selector of the system node group."""

GPU_TOLERATION: Any = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}


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


def env(values: Mapping[str, str]) -> Any:
    return [{"name": key, "value": value} for key, value in values.items()]


def secret_env(name: str, secret: str, key: str) -> Any:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
