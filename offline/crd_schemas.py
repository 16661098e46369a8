"""Schemas for the custom resources the platform creates, for `make plan`'s validation.

The real CRDs are not available offline (the InferenceService CRD alone is megabytes). These
schemas list the fields of each API that the platform may use - names from the projects' API
references - and reject anything else, so a typo or a field in the wrong place fails the plan.
Where a custom resource embeds Kubernetes types (a predictor *is* a PodSpec), those parts are
checked against the real Kubernetes schema of the cluster's version.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate

SCHEMA_ROOT = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


def k8s(name: str) -> dict[str, Any]:
    """A reference to a Kubernetes definition, e.g. io.k8s.api.core.v1.Container."""
    return {"$ref": f"#/$defs/{name}"}


INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
STR_MAP = {"type": "object", "additionalProperties": STR}
META = k8s("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
SELECTOR = k8s("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector")


def closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return closed(
        {"apiVersion": {"const": api_version}, "kind": {"const": kind}, "metadata": META, "spec": spec},
        ("apiVersion", "kind", "metadata", "spec"),
    )


_ENDPOINT_COMMON = {
    "path": STR,
    "scheme": {"enum": ["http", "https"]},
    "interval": {
        "type": "string",
        "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
    },
    "scrapeTimeout": STR,
    "honorLabels": BOOL,
    "honorTimestamps": BOOL,
    "params": {"type": "object"},
    "relabelings": {"type": "array"},
    "metricRelabelings": {"type": "array"},
    "tlsConfig": {"type": "object"},
    "followRedirects": BOOL,
    "enableHttp2": BOOL,
    "filterRunning": BOOL,
}
_NAMESPACE_SELECTOR = closed({"any": BOOL, "matchNames": {"type": "array", "items": STR}})

SERVICE_MONITOR = resource(
    "monitoring.coreos.com/v1",
    "ServiceMonitor",
    closed(
        {
            "jobLabel": STR,
            "targetLabels": {"type": "array", "items": STR},
            "podTargetLabels": {"type": "array", "items": STR},
            "selector": SELECTOR,
            "namespaceSelector": _NAMESPACE_SELECTOR,
            "sampleLimit": INT,
            "endpoints": {
                "type": "array",
                "minItems": 1,
                "items": closed({"port": STR, "targetPort": {"type": ["integer", "string"]}, **_ENDPOINT_COMMON}),
            },
        },
        ("selector", "endpoints"),
    ),
)

POD_MONITOR = resource(
    "monitoring.coreos.com/v1",
    "PodMonitor",
    closed(
        {
            "jobLabel": STR,
            "podTargetLabels": {"type": "array", "items": STR},
            "selector": SELECTOR,
            "namespaceSelector": _NAMESPACE_SELECTOR,
            "sampleLimit": INT,
            "podMetricsEndpoints": {
                "type": "array",
                "minItems": 1,
                "items": closed({"port": STR, "portNumber": INT, **_ENDPOINT_COMMON}),
            },
        },
        ("selector", "podMetricsEndpoints"),
    ),
)

_RULE = {
    "type": "object",
    "properties": {
        "alert": STR,
        "record": STR,
        "expr": {"type": ["string", "integer"]},
        "for": STR,
        "keep_firing_for": STR,
        "labels": STR_MAP,
        "annotations": STR_MAP,
    },
    "required": ["expr"],
    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
    "additionalProperties": False,
}
PROMETHEUS_RULE = resource(
    "monitoring.coreos.com/v1",
    "PrometheusRule",
    closed(
        {
            "groups": {
                "type": "array",
                "items": closed(
                    {
                        "name": STR,
                        "interval": STR,
                        "limit": INT,
                        "partial_response_strategy": STR,
                        "rules": {"type": "array", "items": _RULE},
                    },
                    ("name", "rules"),
                ),
            }
        },
        ("groups",),
    ),
)

# KServe v1beta1: a predictor is a PodSpec plus the component extension fields.
_COMPONENT_EXTENSION = {
    "minReplicas": {"type": "integer", "minimum": 0},
    "maxReplicas": {"type": "integer", "minimum": 0},
    "scaleTarget": INT,
    "scaleMetric": {"enum": ["cpu", "memory", "concurrency", "rps"]},
    "scaleMetricType": {"enum": ["Utilization", "AverageValue"]},
    "containerConcurrency": INT,
    "timeout": INT,
    "canaryTrafficPercent": {"type": "integer", "minimum": 0, "maximum": 100},
    "logger": {"type": "object"},
    "batcher": {"type": "object"},
    "labels": STR_MAP,
    "annotations": STR_MAP,
    "deploymentStrategy": k8s("io.k8s.api.apps.v1.DeploymentStrategy"),
    "autoScaling": {"type": "object"},
}
_MODEL = {
    "type": "object",
    "properties": {
        "modelFormat": closed({"name": STR, "version": STR}, ("name",)),
        "runtime": STR,
        "protocolVersion": {"enum": ["v1", "v2", "grpc-v2"]},
        "storageUri": STR,
    },
}


def inference_service(kubernetes_version: str) -> dict[str, Any]:
    pod_spec = _definitions(kubernetes_version)["$defs"]["io.k8s.api.core.v1.PodSpec"]
    predictor = {
        "type": "object",
        "properties": {**pod_spec["properties"], **_COMPONENT_EXTENSION, "model": _MODEL},
        "additionalProperties": False,
    }
    return resource("serving.kserve.io/v1beta1", "InferenceService", closed({"predictor": predictor}, ("predictor",)))


KNATIVE_SERVING = resource(
    "operator.knative.dev/v1beta1",
    "KnativeServing",
    closed(
        {
            "version": STR,
            "ingress": closed(
                {"kourier": closed({"enabled": BOOL}), "istio": {"type": "object"}, "contour": {"type": "object"}}
            ),
            "config": {"type": "object", "additionalProperties": STR_MAP},
            "high-availability": closed({"replicas": INT}),
        }
    ),
)


@cache
def _definitions(kubernetes_version: str) -> dict[str, Any]:
    """kubernetes-validate's strict definitions of that version (JSON Schema 2020-12, `$defs`)."""
    path = SCHEMA_ROOT / f"v{kubernetes_version}.0-local-strict" / "_definitions.json"
    return dict(json.loads(path.read_text()))


def schema_for(api_version: str, kind: str, kubernetes_version: str) -> dict[str, Any] | None:
    if kind == "InferenceService" and api_version == "serving.kserve.io/v1beta1":
        return inference_service(kubernetes_version)
    return {
        ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
        ("monitoring.coreos.com/v1", "PodMonitor"): POD_MONITOR,
        ("monitoring.coreos.com/v1", "PrometheusRule"): PROMETHEUS_RULE,
        ("operator.knative.dev/v1beta1", "KnativeServing"): KNATIVE_SERVING,
    }.get((api_version, kind))


def validator(schema: dict[str, Any], kubernetes_version: str) -> Any:
    """A validator whose `#/$defs/...` refs are the cluster version's strict Kubernetes definitions."""
    import jsonschema

    return jsonschema.Draft202012Validator({**schema, "$defs": _definitions(kubernetes_version)["$defs"]})
