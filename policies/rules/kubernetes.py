"""Kubernetes workloads, KServe InferenceServices and MLflow: bounded, unprivileged, pinned, probed,
no secrets in plain env values."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from components.gpu import GPU_RESOURCE
from policies.rules.common import as_list, dig, resource_rule, setting, truthy

WORKLOADS = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:core/v1:Pod",
}
LONG_RUNNING = {"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet"}
INFERENCE_SERVICE = {"kubernetes:serving.kserve.io/v1beta1:InferenceService"}
DEPLOYMENT = {"kubernetes:apps/v1:Deployment"}

SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|api_?key|access_?key|private_?key|credential)")


def pod_spec(resource_type: str, props: Any) -> Any:
    if resource_type == "kubernetes:core/v1:Pod":
        return props.get("spec")
    if resource_type == "kubernetes:batch/v1:CronJob":
        return dig(props, "spec", "jobTemplate", "spec", "template", "spec")
    return dig(props, "spec", "template", "spec")


def workload_id(props: Any, fallback: str) -> str:
    return f"{dig(props, 'metadata', 'namespace') or 'default'}/{dig(props, 'metadata', 'name') or fallback}"


def containers(spec: Any) -> Iterator[Any]:
    yield from as_list(dig(spec, "initContainers"))
    yield from as_list(dig(spec, "containers"))


def _exempt(args: ResourceValidationArgs, config: dict[str, Any]) -> bool:
    wid = workload_id(args.props, args.name)
    return any(fnmatch.fnmatch(wid, pattern) for pattern in setting(args, config, "exemptWorkloads"))


def _exempt_config(default: list[str], why: str) -> dict[str, Any]:
    return {"exemptWorkloads": {"type": "array", "items": {"type": "string"}, "default": default, "description": why}}


ROOT_AGENTS = ["kube-system/nvidia-device-plugin", "kube-system/dcgm-exporter"]
ROOT_CONFIG = _exempt_config(ROOT_AGENTS, "namespace/name globs of node agents that must run as root.")
PROBE_CONFIG = _exempt_config(
    ["kube-system/nvidia-device-plugin"], "namespace/name globs of workloads without a health endpoint."
)


def _missing_resources(resources: Any) -> list[str]:
    return [
        f"{kind}.{what}"
        for kind in ("requests", "limits")
        for what in ("cpu", "memory")
        if not dig(resources, kind, what)
    ]


def k8s_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(pod_spec(args.resource_type, args.props)):
        missing = _missing_resources(container.get("resources"))
        if missing:
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} has no {', '.join(missing)}; set requests and limits"
            )


def _security(spec: Any, container: Any, key: str) -> Any:
    own = dig(container, "securityContext", key)
    return own if own is not None else dig(spec, "securityContext", key)


def k8s_non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _exempt(args, ROOT_CONFIG):
        return
    spec = pod_spec(args.resource_type, args.props)
    for container in containers(spec):
        if not truthy(_security(spec, container, "runAsNonRoot")):
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} may run as root; set securityContext.runAsNonRoot to true"
            )


def k8s_no_privilege_escalation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(pod_spec(args.resource_type, args.props)):
        if dig(container, "securityContext", "allowPrivilegeEscalation") is not False:
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} may escalate privileges; set securityContext.allowPrivilegeEscalation to false"
            )


def k8s_not_privileged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(pod_spec(args.resource_type, args.props)):
        if truthy(dig(container, "securityContext", "privileged")):
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} is privileged; remove securityContext.privileged"
            )


def image_problem(image: str | None) -> str | None:
    """Why an image reference is not pinned, or None if it is."""
    if not image:
        return "has no image"
    if "@sha256:" in image:
        return None
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return f"uses image '{image}' without a tag"
    if tag == "latest":
        return f"uses image '{image}' (latest)"
    return None


def k8s_image_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(pod_spec(args.resource_type, args.props)):
        problem = image_problem(container.get("image"))
        if problem:
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} {problem}; pin a release tag or digest"
            )


def k8s_probes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LONG_RUNNING or _exempt(args, PROBE_CONFIG):
        return
    for container in as_list(dig(pod_spec(args.resource_type, args.props), "containers")):
        missing = [p for p in ("readinessProbe", "livenessProbe") if not container.get(p)]
        if missing:
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} has no {' or '.join(missing)}; add them"
            )


def k8s_no_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(pod_spec(args.resource_type, args.props)):
        for variable in as_list(container.get("env")):
            if SECRET_NAME.search(str(variable.get("name"))) and variable.get("value"):
                report(
                    f"Env var '{variable.get('name')}' of container '{container.get('name')}' in {workload_id(args.props, args.name)} holds a secret in plain text; use valueFrom.secretKeyRef"
                )


def _predictor_resources(predictor: Any) -> list[tuple[str, Any]]:
    found = [(str(c.get("name") or "container"), c.get("resources")) for c in as_list(predictor.get("containers"))]
    if predictor.get("model") is not None:
        found.append(("model", dig(predictor, "model", "resources")))
    return found


def kserve_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    predictor = dig(args.props, "spec", "predictor") or {}
    entries = _predictor_resources(predictor)
    if not entries:
        report(f"InferenceService '{args.name}' declares no predictor model or container; resources cannot be bounded")
    for name, resources in entries:
        missing = _missing_resources(resources)
        if missing:
            report(
                f"InferenceService '{args.name}' predictor {name} has no {', '.join(missing)}; set requests and limits"
            )


def kserve_gpu_toleration(args: ResourceValidationArgs, report: ReportViolation) -> None:
    predictor = dig(args.props, "spec", "predictor") or {}
    wants_gpu = any(dig(resources, "limits", GPU_RESOURCE) for _, resources in _predictor_resources(predictor))
    tolerates = any(t.get("key") == GPU_RESOURCE for t in as_list(predictor.get("tolerations")))
    if wants_gpu and not tolerates:
        report(
            f"InferenceService '{args.name}' asks for {GPU_RESOURCE} without tolerating the GPU taint; add a toleration for {GPU_RESOURCE}"
        )
    if tolerates and not wants_gpu:
        report(
            f"InferenceService '{args.name}' tolerates the GPU taint without asking for a GPU; remove the toleration or set limits.{GPU_RESOURCE}"
        )


REPLICAS_CONFIG = {
    "minReplicas": {
        "type": "integer",
        "default": 1,
        "description": "Fewest predictor replicas (prod: never scale to zero).",
    }
}


def kserve_min_replicas(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = setting(args, REPLICAS_CONFIG, "minReplicas")
    replicas = dig(args.props, "spec", "predictor", "minReplicas")
    if replicas is None or replicas < minimum:
        report(
            f"InferenceService '{args.name}' has minReplicas {'unset' if replicas is None else f'{replicas:g}'}; at least {minimum} required"
        )


def mlflow_authenticated(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if dig(args.props, "metadata", "labels", "app.kubernetes.io/name") != "mlflow":
        return
    spec = pod_spec(args.resource_type, args.props)
    for container in as_list(dig(spec, "containers")):
        words = [str(w) for w in [*as_list(container.get("command")), *as_list(container.get("args"))]]
        if "server" in words and not any(
            (w == "--app-name" and i + 1 < len(words) and words[i + 1] == "basic-auth") or w == "--app-name=basic-auth"
            for i, w in enumerate(words)
        ):
            report(f"MLflow server '{args.name}' runs without authentication; start it with --app-name basic-auth")


POLICIES = [
    resource_rule("k8s-resources", "Containers set CPU and memory requests and limits.", WORKLOADS, k8s_resources),
    resource_rule("k8s-run-as-non-root", "Containers run as non-root.", WORKLOADS, k8s_non_root, config=ROOT_CONFIG),
    resource_rule(
        "k8s-no-privilege-escalation", "Containers cannot escalate privileges.", WORKLOADS, k8s_no_privilege_escalation
    ),
    resource_rule("k8s-not-privileged", "No privileged containers.", WORKLOADS, k8s_not_privileged),
    resource_rule(
        "k8s-image-pinned", "Images are pinned (a release tag or digest, never latest).", WORKLOADS, k8s_image_pinned
    ),
    resource_rule(
        "k8s-probes",
        "Long-running containers have readiness and liveness probes.",
        WORKLOADS,
        k8s_probes,
        config=PROBE_CONFIG,
    ),
    resource_rule(
        "k8s-no-plaintext-secrets",
        "Secrets reach containers through secretKeyRef, never plain env values.",
        WORKLOADS,
        k8s_no_plaintext_secrets,
    ),
    resource_rule(
        "kserve-resources", "InferenceService predictors set requests and limits.", INFERENCE_SERVICE, kserve_resources
    ),
    resource_rule(
        "kserve-gpu-toleration",
        "GPU predictors tolerate the GPU taint, and only they do.",
        INFERENCE_SERVICE,
        kserve_gpu_toleration,
    ),
    resource_rule(
        "kserve-min-replicas",
        "Predictors keep a minimum of replicas (prod).",
        INFERENCE_SERVICE,
        kserve_min_replicas,
        config=REPLICAS_CONFIG,
    ),
    resource_rule(
        "mlflow-authenticated", "The MLflow server requires authentication.", DEPLOYMENT, mlflow_authenticated
    ),
]
