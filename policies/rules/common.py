"""What every rule module uses: typed constructors for policies and unknown-tolerant readers."""

from __future__ import annotations

import contextlib
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
from pulumi_policy.proxy import UnknownValueError

Validate = Callable[[ResourceValidationArgs, ReportViolation], None]

RESOURCE_CHECKS: dict[str, tuple[frozenset[str], Validate]] = {}
"""Every resource rule's types and check, by rule name: what `cannot-verify` re-runs."""


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
            # Never a silent pass: `cannot-verify` reports an unknown value, at the level the stack gives it.
            with contextlib.suppress(UnknownValueError):
                validate(args, report)

    run.__name__ = validate.__name__
    RESOURCE_CHECKS[name] = (wanted, validate)
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=run,
        enforcement_level=enforcement,
        config_schema=PolicyConfigSchema(properties=dict(config)) if config else None,
    )


CANNOT_VERIFY = "cannot-verify"


def types_looked_at(policy_name: str) -> frozenset[str] | None:
    """The resource types a resource policy validates (None: it may look at any): a resource_rule's own
    types; cannot-verify re-runs every resource rule, so theirs."""
    if policy_name == CANNOT_VERIFY:
        return frozenset(t for types, _ in RESOURCE_CHECKS.values() for t in types)
    entry = RESOURCE_CHECKS.get(policy_name)
    return entry[0] if entry is not None else None


def cannot_verify() -> ResourceValidationPolicy:
    """A check whose deciding value is unknown until deployment (a preview before the value exists) is
    reported here - advisory in dev, mandatory in prod - instead of passing silently."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for name, (types, check) in RESOURCE_CHECKS.items():
            if args.resource_type not in types:
                continue
            try:
                check(args, lambda *_, **__: None)
            except UnknownValueError as error:
                report(
                    f"{name} cannot verify '{args.name}' before deployment: the {error.message}; "
                    "make it known at preview (a config value, not a computed one) or check it after `pulumi up`"
                )

    return ResourceValidationPolicy(
        name=CANNOT_VERIFY,
        description="Checks that cannot be decided at preview are reported, never passed.",
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


EXCEPTIONS_CONFIG: dict[str, Mapping[str, Any]] = {
    "exceptions": {
        "type": "array",
        "default": [],
        "description": "Objects this rule does not apply to, each by its exact name and why.",
        "items": {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1}, "reason": {"type": "string", "minLength": 10}},
            "required": ["name", "reason"],
            "additionalProperties": False,
        },
    }
}
"""A rule's exceptions: names, never patterns, each with a reason (policies/config/exceptions.json)."""


def excepted(args: ResourceValidationArgs | StackValidationArgs, name: str) -> bool:
    return any(entry.get("name") == name for entry in setting(args, EXCEPTIONS_CONFIG, "exceptions"))


def stack_rule(
    name: str,
    description: str,
    validate: Callable[[StackValidationArgs, ReportViolation], None],
    *,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> StackValidationPolicy:
    def run(args: StackValidationArgs, report: ReportViolation) -> None:
        try:
            validate(args, report)
        except UnknownValueError as error:
            report(f"{name} cannot verify the stack before deployment: the {error.message}", None)

    run.__name__ = validate.__name__
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=run,
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


def principals(statement: Any) -> dict[str, list[str]]:
    """A statement's principals by kind ("*" for `Principal: "*"`), each as a list of strings - however the
    document was given (a JSON string, or an object the engine hands over as read-only proxies)."""
    principal = statement.get("Principal")
    if principal is None:
        return {}
    if isinstance(principal, str):
        return {"*" if principal == "*" else "?": [principal]}
    return {str(kind): [str(v) for v in as_list(value)] for kind, value in principal.items()}


def to_everyone(statement: Any) -> bool:
    """Whether a statement names every principal: `"*"`, or `{"AWS": "*"}` (alone or in a list)."""
    found = principals(statement)
    return bool(found.get("*")) or "*" in found.get("AWS", [])


def truthy(value: Any) -> bool:
    """Provider booleans arrive as bools, sometimes as strings ("true")."""
    return value is True or (isinstance(value, str) and value.lower() == "true")
