"""Kubernetes privilege paths: bindings to the built-in admin roles, roles that amount to admin
(wildcards, escalate, bind, impersonate), a role that can start pods where credentials live without
an admission policy limiting what it starts - directly, or through the custom resources a controller
turns into pods - and namespaces below the `restricted` Pod Security Standard."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from policies.rules.common import EXCEPTIONS_CONFIG, as_list, dig, excepted, resource_rule, stack_rule
from policies.rules.kubernetes import WORKLOADS, pod_spec

ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
NAMESPACE = {"kubernetes:core/v1:Namespace"}
SECRET = "kubernetes:core/v1:Secret"
POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
POLICY_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"

ADMIN_ROLES = ("cluster-admin", "admin", "edit")
ESCALATING_VERBS = ("escalate", "bind", "impersonate")
POD_STARTERS = {
    ("", "pods"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("", "replicationcontrollers"),
}
"""(API group, resource) of the kinds whose creation starts a pod of the creator's choosing."""
POD_CARRYING_CUSTOM = {
    ("serving.kserve.io", "inferenceservices"): "InferenceService",
    ("serving.kserve.io", "servingruntimes"): "ServingRuntime",
    ("serving.kserve.io", "clusterservingruntimes"): "ClusterServingRuntime",
    ("serving.kserve.io", "llminferenceservices"): "LLMInferenceService",
    ("serving.kserve.io", "llminferenceserviceconfigs"): "LLMInferenceServiceConfig",
    ("keda.sh", "scaledjobs"): "ScaledJob",
    ("monitoring.coreos.com", "prometheuses"): "Prometheus",
    ("monitoring.coreos.com", "prometheusagents"): "PrometheusAgent",
    ("monitoring.coreos.com", "alertmanagers"): "Alertmanager",
    ("monitoring.coreos.com", "thanosrulers"): "ThanosRuler",
}
"""Custom resources whose spec carries containers, which their controller runs as written: creating one
starts a pod of the creator's choosing as surely as creating a Deployment (each pinned CRD schema in
offline/crd_schemas is checked against this list; the Prometheus operator's kinds carry `containers`
and `volumes` in its API)."""


def patched(types: set[str]) -> set[str]:
    """The types and their server-side-apply patches (`...:RoleBindingPatch`): a risk set by a patch is a risk."""
    return types | {f"{t}Patch" for t in types}


def _name(props: Any, fallback: str) -> str:
    namespace = dig(props, "metadata", "namespace")
    name = dig(props, "metadata", "name") or fallback
    return f"{namespace}/{name}" if namespace else str(name)


BINDING_CONFIG = {
    **EXCEPTIONS_CONFIG,
    "exceptions": {
        **EXCEPTIONS_CONFIG["exceptions"],
        "description": "Bindings (namespace/name, or name for cluster-wide) allowed to grant cluster-admin, admin or edit, and why.",
    },
}


def rbac_no_admin_binding(args: ResourceValidationArgs, report: ReportViolation) -> None:
    role = dig(args.props, "roleRef", "name")
    kind = dig(args.props, "roleRef", "kind")
    name = _name(args.props, args.name)
    if kind == "ClusterRole" and role in ADMIN_ROLES and not excepted(args, name):
        listed = ", ".join(f"{s.get('kind')} {s.get('name')}" for s in as_list(args.props.get("subjects")))
        subjects = listed or ("its existing subjects" if args.resource_type.endswith("Patch") else "nobody")
        report(
            f"Binding {name} gives {subjects} the built-in {role} role; bind a role listing the verbs and resources "
            "they need (or list the binding in the pack config's exceptions, with the reason)"
        )


SENSITIVE_GROUPS = ("*", "", "rbac.authorization.k8s.io")
"""API groups where every verb on every resource is cluster admin: all of them, the core group (pods,
secrets, service accounts), RBAC itself. A wildcard inside another group (an operator's own CRDs) is not."""
IMPLICITLY_ESCALATING = (
    "roles",
    "clusterroles",
    "rolebindings",
    "clusterrolebindings",
    "users",
    "groups",
    "serviceaccounts",
)
"""Resources on which `*` includes escalate, bind or impersonate."""


def rules_problem(rules: Iterable[Any]) -> str | None:
    for rule in rules:
        verbs = [str(v) for v in as_list(rule.get("verbs"))]
        resources = [str(r) for r in as_list(rule.get("resources"))]
        groups = [str(g) for g in as_list(rule.get("apiGroups"))]
        if "*" in verbs and "*" in resources and (wide := [g for g in groups if g in SENSITIVE_GROUPS]):
            where = "every API group" if "*" in wide else " and ".join(f"the {g or 'core'} API group" for g in wide)
            return f"allows every verb on every resource in {where}"
        if escalating := [v for v in verbs if v in ESCALATING_VERBS]:
            return f"allows {', '.join(escalating)} (a path to more privilege than it holds)"
        if "*" in verbs and (implicit := [r for r in resources if r in IMPLICITLY_ESCALATING]):
            return f"allows every verb on {', '.join(implicit)} (escalate, bind or impersonate among them)"
    return None


def rbac_no_admin_equivalent(args: ResourceValidationArgs, report: ReportViolation) -> None:
    name = _name(args.props, args.name)
    if (problem := rules_problem(as_list(args.props.get("rules")))) and not excepted(args, name):
        report(f"{args.resource_type.rsplit(':', 1)[-1]} {name} {problem}; list the verbs and resources it needs")


BUILT_IN_GROUPS = ("", "apps", "batch", "policy", "autoscaling", "coordination.k8s.io")
"""API groups of Kubernetes' own kinds (and any `*.k8s.io`): writing their status is the kubelet's and
the built-in controllers' work, not a sign of a controller of custom resources."""
Kind = tuple[str, str]
"""(API group, resource)."""


def _starts_pods(rules: Iterable[Any]) -> list[str]:
    """What the rules let their holder create that becomes a pod - a pod, a workload, or a custom resource
    that carries containers - as `group/resource`."""
    kinds = sorted({*POD_STARTERS, *POD_CARRYING_CUSTOM})
    found = []
    for rule in rules:
        verbs = [str(v) for v in as_list(rule.get("verbs"))]
        if "create" not in verbs and "*" not in verbs:
            continue
        for group in [str(g) for g in as_list(rule.get("apiGroups"))]:
            for resource in [str(r) for r in as_list(rule.get("resources"))]:
                for wanted_group, wanted in kinds:
                    if group in ("*", wanted_group) and resource in ("*", wanted):
                        found.append(f"{wanted_group}/{wanted}".lstrip("/"))
    return sorted(set(found))


def _reconciled(rules: Iterable[Any]) -> set[Kind]:
    """The custom resources whose status the rules let their holder write: what a controller reconciles.
    Named exactly - a wildcard resource or group is a broad grant, not the mark of a controller."""
    found: set[Kind] = set()
    for rule in rules:
        if not {"update", "patch", "*"} & {str(v) for v in as_list(rule.get("verbs"))}:
            continue
        for group in [str(g) for g in as_list(rule.get("apiGroups"))]:
            if group == "*" or group in BUILT_IN_GROUPS or group.endswith(".k8s.io"):
                continue
            for resource in [str(r) for r in as_list(rule.get("resources"))]:
                kind, _, sub = resource.partition("/")
                if sub == "status" and kind not in ("", "*"):
                    found.add((group, kind))
    return found


def _controllers(resources: list[Any], grants: Mapping[str, list[Any]]) -> set[str]:
    """Service accounts a workload of the stack runs as that write the status of custom resources the
    stack defines (a CustomResourceDefinition of its own or its charts'): the controllers. The pods such
    a controller starts are written from the resources it reconciles, so whoever may create those decides
    what runs - and is judged as a pod starter where they carry containers."""
    defined = {
        (str(dig(r.props, "spec", "group")), str(dig(r.props, "spec", "names", "plural")))
        for r in resources
        if r.resource_type == CRD
    }
    run_as = set()
    for r in resources:
        if r.resource_type in WORKLOADS and (spec := pod_spec(r.resource_type, r.props)) is not None:
            account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
            run_as.add(f"system:serviceaccount:{dig(r.props, 'metadata', 'namespace') or 'default'}:{account}")
    return {user for user in run_as if _reconciled(grants.get(user, [])) & defined}


def _username(subject: Any, namespace: str | None) -> str | None:
    if subject.get("kind") != "ServiceAccount":
        return None
    return f"system:serviceaccount:{subject.get('namespace') or namespace}:{subject.get('name')}"


def _limited(username: str, kinds: list[str], policies: Mapping[str, Any], bindings: list[Any]) -> bool:
    """A Deny-bound ValidatingAdmissionPolicy matches this user's creates of every one of these kinds."""
    limited: set[str] = set()
    for binding in bindings:
        if "Deny" not in [str(a) for a in as_list(dig(binding.props, "spec", "validationActions"))]:
            continue
        policy = policies.get(str(dig(binding.props, "spec", "policyName")))
        if policy is None or not as_list(dig(policy.props, "spec", "validations")):
            continue
        conditions = " ".join(str(c.get("expression")) for c in as_list(dig(policy.props, "spec", "matchConditions")))
        if f'"{username}"' not in conditions and f"'{username}'" not in conditions:
            continue
        for rule in as_list(dig(policy.props, "spec", "matchConstraints", "resourceRules")):
            operations = [str(o) for o in as_list(rule.get("operations"))]
            if "CREATE" not in operations and "*" not in operations:
                continue
            groups = [str(g) for g in as_list(rule.get("apiGroups"))]
            for kind in kinds:
                group, _, resource = kind.rpartition("/")
                if (group in groups or "*" in groups) and (
                    resource in [str(r) for r in as_list(rule.get("resources"))]
                    or "*" in as_list(rule.get("resources"))
                ):
                    limited.add(kind)
    return limited >= set(kinds)


def rbac_pod_starters_limited(args: StackValidationArgs, report: ReportViolation) -> None:
    """Who may create pods (or what makes them: workloads, custom resources carrying containers) in a
    namespace holding Secrets can run a pod that mounts any of them; such a grant needs an admission
    policy limiting what may be created. A controller of the stack is judged through who creates what
    it reconciles."""
    resources = list(args.resources)
    secrets: dict[str, list[str]] = {}
    for r in resources:
        if r.resource_type == SECRET:
            secrets.setdefault(str(dig(r.props, "metadata", "namespace") or "default"), []).append(
                str(dig(r.props, "metadata", "name"))
            )
    roles = {(r.resource_type, _name(r.props, r.name)): r for r in resources if r.resource_type in (ROLE, CLUSTER_ROLE)}
    policies = {str(dig(r.props, "metadata", "name")): r for r in resources if r.resource_type == POLICY}
    bindings = [r for r in resources if r.resource_type == POLICY_BINDING]
    role_bindings = []
    grants: dict[str, list[Any]] = {}
    for binding in (r for r in resources if r.resource_type in (ROLE_BINDING, CLUSTER_ROLE_BINDING)):
        namespace = dig(binding.props, "metadata", "namespace") if binding.resource_type == ROLE_BINDING else None
        kind, role_name = dig(binding.props, "roleRef", "kind"), dig(binding.props, "roleRef", "name")
        key = (ROLE, f"{namespace}/{role_name}") if kind == "Role" else (CLUSTER_ROLE, str(role_name))
        rules = as_list(role.props.get("rules")) if (role := roles.get(key)) is not None else []
        role_bindings.append((binding, namespace, rules))
        for subject in as_list(binding.props.get("subjects")):
            if (username := _username(subject, namespace)) is not None:
                grants.setdefault(username, []).extend(rules)
    controllers = _controllers(resources, grants)
    for binding, namespace, rules in role_bindings:
        kinds = _starts_pods(rules)
        reached = sorted(secrets) if namespace is None else [namespace] if namespace in secrets else []
        if not kinds or not reached:
            continue
        for subject in as_list(binding.props.get("subjects")):
            username = _username(subject, namespace)
            if username in controllers:
                continue  # it starts what the resources it reconciles say; their creators are judged here
            if username is not None and _limited(username, kinds, policies, bindings):
                continue
            who = username or f"{subject.get('kind')} {subject.get('name')}"
            held = "; ".join(f"{ns}: {', '.join(sorted(secrets[ns]))}" for ns in reached)
            report(
                f"{_name(binding.props, binding.name)} lets {who} create {', '.join(kinds)} where Secrets live ({held}): "
                "it could start a pod that mounts them. Limit what it may create with a ValidatingAdmissionPolicy "
                "(a matchCondition on its username) bound with validationActions [Deny]",
                binding.urn,
            )


NAMESPACE_CONFIG = {
    **EXCEPTIONS_CONFIG,
    "exceptions": {
        **EXCEPTIONS_CONFIG["exceptions"],
        "description": "Namespaces allowed below the restricted Pod Security Standard, and why.",
    },
}


def namespace_restricted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    name = str(dig(args.props, "metadata", "name") or args.name)
    level = dig(args.props, "metadata", "labels", "pod-security.kubernetes.io/enforce")
    if level is None and args.resource_type.endswith("Patch"):
        return  # the patch leaves the namespace's level as it is
    if level != "restricted" and not excepted(args, name):
        report(
            f"Namespace {name} enforces the {level or 'unset (privileged)'} Pod Security Standard; label it "
            "pod-security.kubernetes.io/enforce: restricted (or list it in the pack config's exceptions, with the reason)"
        )


POLICIES = [
    resource_rule(
        "k8s-rbac-no-admin-binding",
        "No binding to cluster-admin, admin or edit outside the pack config's exceptions.",
        patched({ROLE_BINDING, CLUSTER_ROLE_BINDING}),
        rbac_no_admin_binding,
        config=BINDING_CONFIG,
    ),
    resource_rule(
        "k8s-rbac-no-admin-equivalent",
        "No role that amounts to admin: every verb on every resource, escalate, bind or impersonate.",
        patched({ROLE, CLUSTER_ROLE}),
        rbac_no_admin_equivalent,
        config=BINDING_CONFIG,
    ),
    stack_rule(
        "k8s-rbac-pod-starters-limited",
        "Whoever may start pods where Secrets live - or create what a controller turns into pods - is limited by "
        "an admission policy.",
        rbac_pod_starters_limited,
    ),
    resource_rule(
        "k8s-namespace-restricted",
        "Namespaces enforce the restricted Pod Security Standard, unless excepted with a reason.",
        patched(NAMESPACE),
        namespace_restricted,
        config=NAMESPACE_CONFIG,
    ),
]
