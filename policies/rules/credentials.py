"""Workloads start after their AWS credentials exist. A pod whose service account gets its role from an
EKS Pod Identity association (or an IRSA role) and starts before that association - or before the
role's policies - gets no credentials or too few (IMDS hop limit 1 leaves no fallback): a controller
exits and an atomic Helm release rolls back. Upstream (Karpenter's getting started) creates the
association before installing the chart; this rule holds every workload of the stack to that, over
the whole resource graph: each one waits - through depends_on or the inputs it takes, transitively,
a component standing for everything under it - for the association (or role) and every policy of
the role."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from components.kit.identity import ROLE_ARN_ANNOTATION
from policies.rules.common import dig, stack_rule
from policies.rules.kubernetes import POD_CARRIERS, pod_specs

ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
ADDON = "aws:eks/addon:Addon"
ROLE = "aws:iam/role:Role"
ROLE_POLICIES = {"aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"}
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
RELEASE = "kubernetes:helm.sh/v3:Release"


def _refers_to(resource: PolicyResource, prop: str) -> list[PolicyResource]:
    return list(resource.property_dependencies.get(prop, []))


def _role_policies(role: PolicyResource, resources: Iterable[PolicyResource]) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in ROLE_POLICIES and role in _refers_to(r, "role")]


def credential_sources(resources: list[PolicyResource]) -> dict[tuple[str, str], list[PolicyResource]]:
    """(namespace, service account) -> what its pods' AWS credentials come from: the association, or
    the IRSA role its service account names, and the role's policies."""
    found: dict[tuple[str, str], list[PolicyResource]] = {}
    for resource in resources:
        if resource.resource_type == ASSOCIATION:
            key = (str(resource.props.get("namespace")), str(resource.props.get("serviceAccount")))
            roles = _refers_to(resource, "roleArn")
            found[key] = [resource, *(p for role in roles for p in _role_policies(role, resources))]
        elif resource.resource_type == SERVICE_ACCOUNT and dig(
            resource.props, "metadata", "annotations", ROLE_ARN_ANNOTATION
        ):
            key = (str(dig(resource.props, "metadata", "namespace")), str(dig(resource.props, "metadata", "name")))
            roles = [r for r in _refers_to(resource, "metadata") if r.resource_type == ROLE]
            found[key] = [*roles, *(p for role in roles for p in _role_policies(role, resources))]
    return found


def _release_service_accounts(values: Any) -> Iterator[str]:
    """Service-account names a chart's values set (`serviceAccount.name`, wherever it sits)."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            if key == "serviceAccount" and isinstance(value, Mapping) and value.get("name"):
                yield str(value["name"])
            elif key == "serviceAccountName" and isinstance(value, str):
                yield value
            else:
                yield from _release_service_accounts(value)
    elif isinstance(values, Sequence) and not isinstance(values, str):  # proxies, not lists, in the engine
        for item in values:
            yield from _release_service_accounts(item)


def _names_an_irsa_role(values: Any) -> bool:
    """Whether a chart's values annotate a service account with an IRSA role."""
    if isinstance(values, Mapping):
        if isinstance(values.get("annotations"), Mapping) and ROLE_ARN_ANNOTATION in values["annotations"]:
            return True
        return any(_names_an_irsa_role(v) for v in values.values())
    return isinstance(values, Sequence) and not isinstance(values, str) and any(_names_an_irsa_role(v) for v in values)


def runs_as(resource: PolicyResource) -> set[tuple[str, str]]:
    """The (namespace, service account) pairs whose pods this resource starts."""
    if resource.resource_type in POD_CARRIERS:
        namespace = str(dig(resource.props, "metadata", "namespace") or "default")
        return {
            (namespace, str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"))
            for spec in pod_specs(resource.resource_type, resource.props)
        }
    if resource.resource_type == RELEASE:
        namespace = str(resource.props.get("namespace") or "default")
        return {(namespace, name) for name in _release_service_accounts(resource.props.get("values"))}
    return set()


def children_of(resources: Iterable[PolicyResource]) -> dict[str, list[PolicyResource]]:
    """Parent URN -> the resources directly under it."""
    children: dict[str, list[PolicyResource]] = {}
    for r in resources:
        if r.parent is not None:
            children.setdefault(r.parent.urn, []).append(r)
    return children


def waits_for(resource: PolicyResource, children: Mapping[str, list[PolicyResource]]) -> set[str]:
    """URNs of everything `resource` is created after: its dependencies and the resources its inputs
    refer to, transitively; depending on a component is depending on everything under it (`children`:
    children_of the stack's resources)."""
    seen: set[str] = set()
    stack = [*resource.dependencies, *(d for ds in resource.property_dependencies.values() for d in ds)]
    while stack:
        current = stack.pop()
        if current.urn in seen:
            continue
        seen.add(current.urn)
        stack.extend(current.dependencies)
        stack.extend(d for ds in current.property_dependencies.values() for d in ds)
        stack.extend(children.get(current.urn, []))
    return seen


def credentials_before_workloads(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    sources = credential_sources(resources)
    children = children_of(resources)
    for resource in resources:
        if resource.resource_type == ADDON:  # EKS makes the add-on's associations: its role's policies first
            needed = [
                p
                for prop in ("podIdentityAssociations", "serviceAccountRoleArn")
                for role in _refers_to(resource, prop)
                for p in _role_policies(role, resources)
            ]
            accounts = "its service accounts"
        else:
            pairs = runs_as(resource)
            needed = [source for pair in sorted(pairs) for source in sources.get(pair, [])]
            accounts = ", ".join(f"{ns}/{sa}" for ns, sa in sorted(pairs) if (ns, sa) in sources)
            if resource.resource_type == RELEASE and _names_an_irsa_role(resource.props.get("values")):
                # IRSA through the chart's own service account: the role its values name, and its policies
                roles = [r for r in _refers_to(resource, "values") if r.resource_type == ROLE]
                needed += [*roles, *(p for role in roles for p in _role_policies(role, resources))]
                accounts = accounts or ", ".join(f"{ns}/{sa}" for ns, sa in sorted(pairs))
        if not needed:
            continue
        waited = waits_for(resource, children)
        missing = sorted({f"{r.resource_type.rsplit(':', 1)[-1]} {r.name}" for r in needed if r.urn not in waited})
        if missing:
            report(
                f"'{resource.name}' starts pods as {accounts}, whose AWS credentials come from {', '.join(missing)}, "
                "without waiting for them: its pods can start with no credentials; add them to its depends_on",
                resource.urn,
            )


POLICIES = [
    stack_rule(
        "aws-credentials-before-workloads",
        "Every workload whose pods get AWS credentials from a Pod Identity association or an IRSA role (and an "
        "EKS add-on whose pods do) is created after that association or role and the role's policies.",
        credentials_before_workloads,
    ),
]
