"""Kubernetes workloads, KServe InferenceServices and MLflow: bounded, unprivileged, pinned, probed,
no secrets in plain env values."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from components.kit.gpu import GPU_RESOURCE
from policies.rules.common import EXCEPTIONS_CONFIG, as_list, dig, excepted, resource_rule, setting, truthy

WORKLOADS = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:core/v1:Pod",
    "kubernetes:core/v1:PodTemplate",
    "kubernetes:core/v1:ReplicationController",
}
LONG_RUNNING = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:core/v1:ReplicationController",
}
INFERENCE_SERVICE = {"kubernetes:serving.kserve.io/v1beta1:InferenceService"}
SERVING_RUNTIMES = {
    "kubernetes:serving.kserve.io/v1alpha1:ServingRuntime",
    "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime",
}
MODEL_CACHES = {
    "kubernetes:serving.kserve.io/v1alpha1:LocalModelCache",
    "kubernetes:serving.kserve.io/v1alpha1:LocalModelNamespaceCache",
}
POD_CARRIERS = WORKLOADS | INFERENCE_SERVICE | SERVING_RUNTIMES
"""Everything that becomes a pod: workloads, KServe InferenceServices and serving runtimes."""
WORKLOAD_PATCHES = {f"{t}Patch" for t in WORKLOADS}
"""pulumi-kubernetes' server-side-apply patches of workloads: what they set is judged (privileged,
host namespaces...); what they leave out belongs to the object they patch."""
DEPLOYMENT = {"kubernetes:apps/v1:Deployment"}
CONFIG_MAP = {"kubernetes:core/v1:ConfigMap"}
KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
KSERVE_FRAMEWORKS = (
    "model",
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "huggingface",
    "pmml",
    "lightgbm",
    "paddle",
    "art",
)
"""An InferenceService component's container-shaped fields (besides `containers`)."""

SECRET_WORDS = re.compile(
    r"(?i)(password|passwd|passwrd|passphrase|secret|credential|api_?key|access_?key|private_?key)"
)
"""Spelled out anywhere in a variable's name (DB_PASSWORD, PGPASSWORD, MYSQL_ROOT_PASSWD, CLIENT_SECRET)."""
SECRET_ABBREVIATIONS = frozenset({"pass", "pwd", "pw", "pswd", "passw", "creds", "cred", "apikey", "pat"})
"""Abbreviations people use, as a whole word of the name (DB_PASS, MYSQL_PWD, ADMIN_PW, dbPass, GH_PAT)."""


def _words(name: str) -> list[str]:
    """A name's words: split at _ - . and at camelCase (dbPassWord -> db, pass, word)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [w for w in re.split(r"[_\-.\s]+", spaced.lower()) if w]


def secret_name(name: str) -> bool:
    """Whether a variable (or ConfigMap key) named so holds a credential: a secret word spelled out, a
    common abbreviation as a word, or a token (HF_TOKEN, authToken - not TOKENIZERS_PARALLELISM or
    MAX_TOKENS, which are not credentials)."""
    words = _words(name)
    return (
        bool(SECRET_WORDS.search(name))
        or any(w in SECRET_ABBREVIATIONS for w in words)
        or any(w.endswith("token") for w in words)
    )


SECRET_VALUES = (
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"(?i)\b(?:password|passwd|pwd)=[^&;\s]+"), "a password= setting"),
    (re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), "a Hugging Face token"),
)
"""Credentials recognised by their value, whatever the variable or argument is called."""


def pod_spec(resource_type: str, props: Any) -> Any:
    """The pod spec of a workload (the first one, for an object that has several)."""
    specs = pod_specs(resource_type, props)
    return specs[0] if specs else None


def pod_specs(resource_type: str, props: Any) -> list[Any]:
    """Every pod spec an object carries: a workload's template, an InferenceService's predictor,
    transformer and explainer, a serving runtime's spec."""
    resource_type = resource_type.removesuffix("Patch")
    if resource_type == "kubernetes:core/v1:Pod" or resource_type in SERVING_RUNTIMES:
        found = [props.get("spec")]
    elif resource_type == "kubernetes:batch/v1:CronJob":
        found = [dig(props, "spec", "jobTemplate", "spec", "template", "spec")]
    elif resource_type == "kubernetes:core/v1:PodTemplate":
        found = [dig(props, "template", "spec")]
    elif resource_type in INFERENCE_SERVICE:
        found = [dig(props, "spec", component) for component in KSERVE_COMPONENTS]
    else:
        found = [dig(props, "spec", "template", "spec")]
    return [spec for spec in found if spec is not None]


def workload_id(props: Any, fallback: str) -> str:
    return f"{dig(props, 'metadata', 'namespace') or 'default'}/{dig(props, 'metadata', 'name') or fallback}"


def containers(spec: Any) -> Iterator[Any]:
    yield from as_list(dig(spec, "initContainers"))
    yield from as_list(dig(spec, "ephemeralContainers"))
    yield from as_list(dig(spec, "containers"))
    for framework in KSERVE_FRAMEWORKS:
        if isinstance(dig(spec, framework), Mapping):
            yield {"name": framework, **dict(spec[framework])} if not dig(spec, framework, "name") else spec[framework]


def all_containers(args: ResourceValidationArgs) -> Iterator[tuple[Any, Any]]:
    """(pod spec, container) of every container the object would run."""
    for spec in pod_specs(args.resource_type, args.props):
        for container in containers(spec):
            yield spec, container


def _exception_config(why: str) -> dict[str, Any]:
    return {**EXCEPTIONS_CONFIG, "exceptions": {**EXCEPTIONS_CONFIG["exceptions"], "description": why}}


def _excepted(args: ResourceValidationArgs) -> bool:
    return excepted(args, workload_id(args.props, args.name))


ROOT_CONFIG = _exception_config("Workloads (namespace/name) that must run as root, and why.")
PROBE_CONFIG = _exception_config(
    "Long-running workloads (namespace/name), containers (namespace/name/container) or one probe of a container "
    "(namespace/name/container:readinessProbe) without a health endpoint, and why."
)
HOST_CONFIG = _exception_config("Workloads (namespace/name) that need the host's namespaces, and why.")
HOST_PATH_CONFIG = _exception_config("Workloads (namespace/name) that mount host paths, and why.")
CAPABILITY_CONFIG = _exception_config("Workloads (namespace/name) that add Linux capabilities, and why.")


def _missing_resources(resources: Any) -> list[str]:
    return [
        f"{kind}.{what}"
        for kind in ("requests", "limits")
        for what in ("cpu", "memory")
        if not dig(resources, kind, what)
    ]


def k8s_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for _, container in all_containers(args):
        missing = _missing_resources(container.get("resources"))
        if missing:
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} has no {', '.join(missing)}; set requests and limits"
            )


def _security(spec: Any, container: Any, key: str) -> Any:
    own = dig(container, "securityContext", key)
    return own if own is not None else dig(spec, "securityContext", key)


def k8s_non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _excepted(args):
        return
    for spec, container in all_containers(args):
        where = f"Container '{container.get('name')}' in {workload_id(args.props, args.name)}"
        if _security(spec, container, "runAsUser") == 0:
            report(f"{where} runs as user 0 (root); set securityContext.runAsUser to a non-zero uid")
        elif args.resource_type in WORKLOAD_PATCHES:
            continue  # a patch that leaves runAsNonRoot out keeps the patched object's
        elif not truthy(_security(spec, container, "runAsNonRoot")):
            report(f"{where} may run as root; set securityContext.runAsNonRoot to true")


def k8s_no_privilege_escalation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for _, container in all_containers(args):
        if dig(container, "securityContext", "allowPrivilegeEscalation") is not False:
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} may escalate privileges; set securityContext.allowPrivilegeEscalation to false"
            )


def k8s_not_privileged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for _, container in all_containers(args):
        if truthy(dig(container, "securityContext", "privileged")):
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} is privileged; remove securityContext.privileged"
            )


HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")


def k8s_host_namespaces(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _excepted(args):
        return
    for spec in pod_specs(args.resource_type, args.props):
        shared = [field for field in HOST_NAMESPACES if truthy(dig(spec, field))]
        if shared:
            report(
                f"{workload_id(args.props, args.name)} shares the node's {', '.join(shared)}; remove it (or list the "
                "workload in the pack config's exceptions, with the reason)"
            )


def k8s_no_host_path(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _excepted(args):
        return
    for spec in pod_specs(args.resource_type, args.props):
        for volume in as_list(dig(spec, "volumes")):
            if volume.get("hostPath") is not None:
                report(
                    f"{workload_id(args.props, args.name)} mounts the node's {dig(volume, 'hostPath', 'path')} "
                    f"(volume '{volume.get('name')}'); use a volume that is not the host's filesystem"
                )


ALLOWED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
"""The one capability the `restricted` Pod Security Standard lets a container add."""


def k8s_no_added_capabilities(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _excepted(args):
        return
    for _, container in all_containers(args):
        added = [str(c) for c in as_list(dig(container, "securityContext", "capabilities", "add"))]
        extra = [c for c in added if c.upper().removeprefix("CAP_") not in ALLOWED_CAPABILITIES]
        if extra:
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} adds {', '.join(extra)}; "
                "drop ALL and add nothing (NET_BIND_SERVICE at most)"
            )


DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_problem(image: str | None) -> str | None:
    """Why an image reference is not pinned, or None if it is."""
    if not image:
        return "has no image"
    if "@sha256:" in image:
        return None if DIGEST.search(image) else f"has a malformed digest ('{image}': sha256 is 64 hex characters)"
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return f"uses image '{image}' without a tag"
    if tag == "latest":
        return f"uses image '{image}' (latest)"
    return None


def k8s_image_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for _, container in all_containers(args):
        problem = image_problem(container.get("image"))
        if problem:
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} {problem}; pin a release tag or digest"
            )


LLM_SERVERS = re.compile(r"(?i)vllm|text-generation-inference|huggingfaceserver|sglang|tensorrt-llm|llama[._-]?cpp")
"""What serves an LLM: vLLM and the other engines, named by the image or the command that starts them."""
LLM_MODEL_FORMATS = frozenset({"vllm", "huggingface"})


def _serves_llm(container: Any) -> bool:
    words = [
        str(container.get("image") or ""),
        *map(str, as_list(container.get("command"))),
        *map(str, as_list(container.get("args"))),
    ]
    if any(LLM_SERVERS.search(word) for word in words):
        return True
    model_format = dig(container, "modelFormat", "name")
    return container.get("name") == "huggingface" or str(model_format).lower() in LLM_MODEL_FORMATS


def llm_image_digest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """An LLM server pulls tens of GB and answers with what its engine computes: a tag can be moved under
    it, a digest cannot."""
    for _, container in all_containers(args):
        image = container.get("image")
        if not _serves_llm(container) or (image is None and container.get("name") in KSERVE_FRAMEWORKS):
            continue  # a model spec without an image takes its ServingRuntime's, judged there
        if not DIGEST.search(str(image or "")):
            report(
                f"LLM server container '{container.get('name')}' in {workload_id(args.props, args.name)} uses image "
                f"'{image}'; pin it by digest (<image>@sha256:<64 hex>)"
            )


def k8s_probes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """An exception names the workload (`namespace/name`), one of its containers (`namespace/name/container`)
    or one probe of one container (`namespace/name/container:readinessProbe`): an upstream chart's sidecar
    without a health endpoint, or its controller that offers a liveness probe and no readiness probe."""
    if args.resource_type not in LONG_RUNNING or _excepted(args):
        return
    workload = workload_id(args.props, args.name)
    for container in as_list(dig(pod_spec(args.resource_type, args.props), "containers")):
        own = f"{workload}/{container.get('name')}"
        missing = [
            p
            for p in ("readinessProbe", "livenessProbe")
            if not container.get(p) and not excepted(args, own) and not excepted(args, f"{own}:{p}")
        ]
        if missing:
            report(
                f"Container '{container.get('name')}' in {workload_id(args.props, args.name)} has no {' or '.join(missing)}; add them"
            )


def _names_a_file(variable: Any) -> bool:
    """POSTGRES_PASSWORD_FILE=/run/secrets/...: where a secret is mounted, not the secret."""
    name, value = str(variable.get("name")).upper(), str(variable.get("value"))
    return name.endswith(("_FILE", "_PATH", "_DIR")) and value.startswith("/") and secret_value(value) is None


def _working_directory(variable: Any) -> bool:
    """PWD=/app: the shell's working directory, not a password."""
    return str(variable.get("name")) == "PWD" and str(variable.get("value")).startswith("/")


OBJECT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _names_a_secret(variable: Any) -> bool:
    """SECRET_NAME=kserve-webhook-server-cert: which Secret to read (a Kubernetes object name), not a secret."""
    words = _words(str(variable.get("name")))
    return bool(words) and words[-1] in ("name", "ref") and bool(OBJECT_NAME.match(str(variable.get("value"))))


def secret_value(text: str) -> str | None:
    """What credential a plain value carries, if any."""
    return next((what for pattern, what in SECRET_VALUES if pattern.search(text)), None)


def _config_map_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A ConfigMap is readable by whoever may read the namespace's configuration: no credential in it,
    under a credential's name or inside a file it holds."""
    where = f"ConfigMap {workload_id(args.props, args.name)}"
    for key, value in (args.props.get("data") or {}).items():
        text = str(value)
        single = "\n" not in text.strip()
        variable = {"name": key, "value": text}
        if single and text and secret_name(str(key)) and not _names_a_secret(variable) and not _names_a_file(variable):
            report(f"Key '{key}' of {where} holds a secret in plain text; put it in a Secret")
        elif what := secret_value(text):
            report(f"Key '{key}' of {where} holds {what} in plain text; put it in a Secret")


def k8s_no_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type.removesuffix("Patch") in CONFIG_MAP:
        _config_map_secrets(args, report)
        return
    for _, container in all_containers(args):
        where = f"container '{container.get('name')}' in {workload_id(args.props, args.name)}"
        for variable in as_list(container.get("env")):
            value = variable.get("value")
            if not value:
                continue
            harmless = _names_a_file(variable) or _working_directory(variable) or _names_a_secret(variable)
            if secret_name(str(variable.get("name"))) and not harmless:
                report(
                    f"Env var '{variable.get('name')}' of {where} holds a secret in plain text; use valueFrom.secretKeyRef"
                )
            elif what := secret_value(str(value)):
                report(
                    f"Env var '{variable.get('name')}' of {where} holds {what} in plain text; use valueFrom.secretKeyRef"
                )
        for field in ("command", "args"):
            for word in as_list(container.get(field)):
                if what := secret_value(str(word)):
                    report(
                        f"{where[:1].upper()}{where[1:]} has {what} in its {field}, in plain text; read it from a mounted Secret"
                    )
    for field, uri in storage_uris(args.resource_type, args.props):
        if what := secret_value(uri):
            report(
                f"{field} of {workload_id(args.props, args.name)} holds {what} in plain text; give the credential "
                "through the service account's Secret"
            )


def storage_uris(resource_type: str, props: Any) -> list[tuple[str, str]]:
    """Where an object has KServe fetch a model: an InferenceService's storageUri(s), a model cache's source."""
    if resource_type in MODEL_CACHES:
        return [("spec.sourceModelUri", str(uri))] if (uri := dig(props, "spec", "sourceModelUri")) else []
    found = []
    for spec in pod_specs(resource_type, props):
        for framework in KSERVE_FRAMEWORKS:
            if uri := dig(spec, framework, "storageUri"):
                found.append((f"{framework}.storageUri", str(uri)))
        found += [(f"storageUris[{i}]", str(u.get("uri"))) for i, u in enumerate(as_list(spec.get("storageUris")))]
    return found


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
    resource_rule(
        "k8s-run-as-non-root",
        "Containers run as non-root (user 0 never), unless excepted with a reason.",
        POD_CARRIERS | WORKLOAD_PATCHES,
        k8s_non_root,
        config=ROOT_CONFIG,
    ),
    resource_rule(
        "k8s-no-privilege-escalation",
        "Containers cannot escalate privileges.",
        POD_CARRIERS,
        k8s_no_privilege_escalation,
    ),
    resource_rule(
        "k8s-not-privileged", "No privileged containers.", POD_CARRIERS | WORKLOAD_PATCHES, k8s_not_privileged
    ),
    resource_rule(
        "k8s-host-namespaces",
        "No pod shares the node's network, PID or IPC namespace, unless excepted with a reason.",
        POD_CARRIERS | WORKLOAD_PATCHES,
        k8s_host_namespaces,
        config=HOST_CONFIG,
    ),
    resource_rule(
        "k8s-no-host-path",
        "No pod mounts the node's filesystem, unless excepted with a reason.",
        POD_CARRIERS | WORKLOAD_PATCHES,
        k8s_no_host_path,
        config=HOST_PATH_CONFIG,
    ),
    resource_rule(
        "k8s-no-added-capabilities",
        "Containers add no Linux capability beyond NET_BIND_SERVICE, unless excepted with a reason.",
        POD_CARRIERS | WORKLOAD_PATCHES,
        k8s_no_added_capabilities,
        config=CAPABILITY_CONFIG,
    ),
    resource_rule(
        "k8s-image-pinned", "Images are pinned (a release tag or digest, never latest).", POD_CARRIERS, k8s_image_pinned
    ),
    resource_rule(
        "k8s-probes",
        "Long-running containers have readiness and liveness probes, unless excepted with a reason.",
        WORKLOADS,
        k8s_probes,
        config=PROBE_CONFIG,
    ),
    resource_rule(
        "k8s-no-plaintext-secrets",
        "No credential in a plain env value, command, argument or ConfigMap - by its name (abbreviations included) "
        "or by its value.",
        POD_CARRIERS | WORKLOAD_PATCHES | CONFIG_MAP | {f"{t}Patch" for t in CONFIG_MAP} | MODEL_CACHES,
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
        "llm-image-digest",
        "LLM servers (vLLM and other engines, by image, command or model format) run images pinned by digest.",
        POD_CARRIERS | WORKLOAD_PATCHES,
        llm_image_digest,
    ),
    resource_rule(
        "mlflow-authenticated", "The MLflow server requires authentication.", DEPLOYMENT, mlflow_authenticated
    ),
]
