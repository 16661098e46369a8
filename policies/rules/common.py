"""What every rule module uses: typed constructors for policies and unknown-tolerant readers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

Validate = Callable[[ResourceValidationArgs, ReportViolation], None]


def resource_rule(
    name: str,
    description: str,
    types: Iterable[str],
    validate: Validate,
    *,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> ResourceValidationPolicy:
    """A policy that only looks at resources of `types`.

    `config` is the rule's config schema (JSON-schema properties, each with a default); the
    pack's config file can change the values and the enforcement level per stack."""
    wanted = frozenset(types)

    def run(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in wanted:
            validate(args, report)

    run.__name__ = validate.__name__
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=run,
        enforcement_level=enforcement,
        config_schema=PolicyConfigSchema(properties=dict(config)) if config else None,
    )


def stack_rule(
    name: str,
    description: str,
    validate: Callable[[StackValidationArgs, ReportViolation], None],
    *,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> StackValidationPolicy:
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        config_schema=PolicyConfigSchema(properties=dict(config)) if config else None,
    )


def setting(args: ResourceValidationArgs | StackValidationArgs, policy_config: Mapping[str, Any], key: str) -> Any:
    """A rule's config value: the stack's pack config if set, else the schema default."""
    value = args.get_config().get(key)
    return policy_config[key]["default"] if value is None else value


def dig(value: Any, *path: str | int) -> Any:
    """value[path0][path1]..., or None where any step is missing (mappings and lists alike)."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, Sequence) or isinstance(value, str) or not -len(value) <= part < len(value):
                return None
            value = value[part]
        else:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        if value is None:
            return None
    return value


def as_list(value: Any) -> list[Any]:
    """A list for a list, [] for nothing, [value] for a single value (IAM allows both)."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def json_document(value: Any) -> Any:
    """An IAM/bucket policy given as a JSON string or an object (None if it cannot be read)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def statements(document: Any) -> list[Any]:
    return as_list(dig(document, "Statement"))


def truthy(value: Any) -> bool:
    """Provider booleans arrive as bools, sometimes as strings ("true")."""
    return value is True or (isinstance(value, str) and value.lower() == "true")
