"""Run the policy pack over a recorded resource graph, as `pulumi preview --policy-pack` would."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from components.testing import Graph, Resource, unwrap
from policies.rules.common import types_looked_at

POLICY_CONFIG_DIR = Path(__file__).resolve().parent.parent / "policies" / "config"


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    resource: str
    """Logical name of the resource, or "(stack)"."""
    message: str


@dataclass(frozen=True)
class PolicyOutcome:
    violations: list[Violation]
    not_run: list[str]
    """Policies that met an unknown value (as in a preview before creation)."""

    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.MANDATORY.value]


def load_pack_config(path: Path | None) -> dict[str, Any]:
    return json.loads(path.read_text()) if path is not None and path.exists() else {}


def settings_for(policy: Policy, pack_config: Mapping[str, Any]) -> tuple[EnforcementLevel, dict[str, Any]]:
    """Enforcement level and config of one policy under a pack config file (Pulumi's format:
    `{"all": level, "<policy>": level | {"enforcementLevel": level, ...values}}`), schema defaults filled."""
    level = policy.enforcement_level or EnforcementLevel.ADVISORY
    if "all" in pack_config:
        level = EnforcementLevel(pack_config["all"])
    entry = pack_config.get(policy.name)
    values: dict[str, Any] = {}
    if isinstance(entry, str):
        level = EnforcementLevel(entry)
    elif isinstance(entry, Mapping):
        values = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        if "enforcementLevel" in entry:
            level = EnforcementLevel(entry["enforcementLevel"])
    schema = policy.config_schema.properties if policy.config_schema else {}
    unknown = set(values) - set(schema)
    if unknown:
        raise ValueError(f"pack config for {policy.name}: unknown keys {sorted(unknown)}; allowed: {sorted(schema)}")
    for key, value in values.items():  # as the engine validates a pack config against the policy's schema
        errors = sorted(jsonschema.Draft7Validator(schema[key]).iter_errors(value), key=str)
        if errors:
            where = ".".join(map(str, errors[0].absolute_path))
            raise ValueError(f"pack config for {policy.name}: {key}{'.' + where if where else ''}: {errors[0].message}")
    return level, {**{k: s.get("default") for k, s in schema.items()}, **values}


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=list(resource.options.get("ignoreChanges", [])),
        delete_before_replace=resource.options.get("deleteBeforeReplace"),
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(resource.options.get("additionalSecretOutputs", [])),
        parent=resource.parent,
    )


def stack_view(resources: Sequence[Resource]) -> list[PolicyResource]:
    """The resources as a stack policy sees them: with their parent, dependencies and, per input, the
    resources that input refers to (how a companion is tied to the bucket it configures)."""
    view = {
        r.urn: PolicyResource(r.type, unwrap(r.inputs), r.urn, r.name, _options(r), None, None, [], {})
        for r in resources
    }
    for r in resources:
        entry = view[r.urn]
        entry.parent = view.get(r.parent or "")
        entry.dependencies = [view[u] for u in r.options.get("dependencies", []) if u in view]
        entry.property_dependencies = {
            prop: [view[u] for u in urns if u in view]
            for prop, urns in r.options.get("propertyDependencies", {}).items()
        }
    return list(view.values())


def evaluate(graph: Graph, policies: Sequence[Policy], pack_config: Mapping[str, Any]) -> PolicyOutcome:
    violations: list[Violation] = []
    not_run: list[str] = []
    resources = [r for r in graph if r.custom]
    names = {r.urn: r.name for r in resources}

    def reporter(policy: Policy, level: EnforcementLevel, resource: str, *, honour_urn: bool) -> Callable[..., None]:
        # The engine ties a resource policy's violations to the resource under validation, whatever urn
        # it passes; a stack policy's to the urn it names (or to the stack).
        def report(message: str, urn: str | None = None) -> None:
            name = names.get(urn or "", resource) if honour_urn else resource
            violations.append(Violation(policy.name, level.value, name, message))

        return report

    # Each resource's inputs are unwrapped and proxied once (the rules only read them), and a rule is
    # called only for the types it looks at: hundreds of chart objects times sixty rules add up.
    cache: dict[str, tuple[Any, PolicyResourceOptions]] = {}

    def seen_as(resource: Resource) -> tuple[Any, PolicyResourceOptions]:
        if resource.urn not in cache:  # only for resources some rule looks at (not a chart's CRDs)
            cache[resource.urn] = (unknown_checking_proxy(unwrap(resource.inputs)), _options(resource))
        return cache[resource.urn]

    for policy in policies:
        level, config = settings_for(policy, pack_config)
        if level is EnforcementLevel.DISABLED:
            continue
        if isinstance(policy, ResourceValidationPolicy):
            types = types_looked_at(policy.name)
            for resource in resources:
                if types is not None and resource.type not in types:
                    continue
                props, options = seen_as(resource)
                args = ResourceValidationArgs(resource.type, props, resource.urn, resource.name, options, None, config)
                try:
                    policy.validate(args, reporter(policy, level, resource.name, honour_urn=False))
                except UnknownValueError as error:
                    not_run.append(f"{policy.name} on {resource.name}: {error.message}")
        elif isinstance(policy, StackValidationPolicy):
            stack_resources = stack_view(resources)
            try:
                policy.validate(
                    StackValidationArgs(stack_resources, config), reporter(policy, level, "(stack)", honour_urn=True)
                )
            except UnknownValueError as error:
                not_run.append(f"{policy.name}: {error.message}")
    return PolicyOutcome(violations, not_run)
