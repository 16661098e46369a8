"""Settings: each setting declared once - name, type, default, documentation and validation.

A component's settings are a `Spec` model. The same model is a section of the stack config
(`platform.gpuPools[]` is a list of `GpuPoolSettings`, keys in camelCase) and the settings a
team passes to the component in Python (snake_case). The README's config reference is
generated from these models, so the three never disagree.

Problems are found once and rendered for whoever made them:

    stack config:  platform.gpuPools[0].maxSize = 1: must be >= minSize (3)
    Python:        GpuNodePool vision: pool.max_size = 1: must be >= min_size (3)

A message names another field as `{min_size}`; it is rendered in the caller's spelling. (Settings
built in Python raise pydantic's ValidationError at once; a component given a mapping instead
raises ComponentArgsError naming its argument.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, ValidationError, ValidationInfo
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from . import aws_facts, quantity
from .common import ComponentArgsError

Style = Literal["config", "python"]
PathPart = str | int


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Issue:
    """A problem raised by a validator: a path relative to the model it runs on (or to the config
    root when `absolute`), the value found, and a message that may name fields as `{field}`."""

    path: tuple[PathPart, ...]
    value: Any
    message: str
    absolute: bool = False


def fail(issues: Iterable[Issue]) -> None:
    """Raise every issue at once (as one pydantic error, so paths and values survive)."""
    found = list(issues)
    if found:
        summary = "; ".join(render_message(i.message, "python") for i in found)
        raise PydanticCustomError("settings", "{summary}", {"summary": summary, "issues": found})


def field_name(name: str, style: Style) -> str:
    return to_camel(name) if style == "config" else name


class _Names(dict[str, str]):
    def __init__(self, style: Style) -> None:
        super().__init__()
        self.style: Style = style

    def __missing__(self, key: str) -> str:
        return field_name(key, self.style)


def render_message(message: str, style: Style) -> str:
    return message.format_map(_Names(style))


def render_value(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass(frozen=True)
class Problem:
    """One problem, rendered: where, the value found, what is allowed."""

    path: str
    message: str
    value: Any = None
    has_value: bool = True

    def __str__(self) -> str:
        if not self.has_value:
            return f"{self.path}: {self.message}"
        return f"{self.path} = {render_value(self.value)}: {self.message}"


_MESSAGES = {
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "ip_v4_network": "not a valid IPv4 CIDR (like 10.0.0.0/16, host bits zero)",
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "string_pattern_mismatch": "must match {pattern}",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "literal_error": "must be one of: {expected}",
    "enum": "must be one of: {expected}",
    "float_type": "must be a number",
}


YAML11_BOOLEANS = frozenset({"yes", "no", "on", "off", "y", "n"})


def join_path(base: Sequence[PathPart], relative: Sequence[PathPart]) -> tuple[PathPart, ...]:
    out = list(base)
    for part in relative:
        if part == "..":
            out.pop()
        else:
            out.append(part)
    return tuple(out)


def render_path(root: str, parts: Iterable[PathPart], style: Style) -> str:
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # A field name is an identifier; a map key (a label like karpenter.sh/team) is kept as written.
            name = field_name(part, style) if part.isidentifier() else part
            out = f"{out}.{name}" if out else name
    return out


def problems_of(error: ValidationError, *, root: str, style: Style) -> list[Problem]:
    """Every problem in a pydantic ValidationError, rendered in the caller's spelling."""
    found: list[Problem] = []
    for detail in error.errors():
        loc = tuple(detail["loc"])
        kind = detail["type"]
        if kind == "settings":
            for issue in detail["ctx"]["issues"]:
                path = issue.path if issue.absolute else join_path(loc, issue.path)
                message = render_message(issue.message, style)
                found.append(Problem(render_path(root, path, style), message, issue.value))
        elif kind == "missing":
            found.append(Problem(render_path(root, loc, style), "required key is missing", has_value=False))
        elif kind == "extra_forbidden":
            found.append(Problem(render_path(root, loc, style), "unknown key", detail["input"]))
        elif kind == "value_error":  # raised by this package's validators: the message says what is allowed
            found.append(Problem(render_path(root, loc, style), str(detail["ctx"]["error"]), detail["input"]))
        elif (
            kind == "string_type" and isinstance(detail["input"], int | float) and not isinstance(detail["input"], bool)
        ):
            found.append(
                Problem(
                    render_path(root, loc, style),
                    f'must be a string, and YAML read a number: write "{detail["input"]}" in quotes',
                    detail["input"],
                )
            )
        elif kind == "bool_type" and str(detail["input"]).lower() in YAML11_BOOLEANS:
            found.append(
                Problem(
                    render_path(root, loc, style),
                    "must be true or false (YAML 1.2, as Pulumi reads stack files, keeps yes/no/on/off as strings)",
                    detail["input"],
                )
            )
        else:
            template = _MESSAGES.get(kind, detail["msg"])
            found.append(
                Problem(render_path(root, loc, style), template.format(**detail.get("ctx", {})), detail["input"])
            )
    return found


# --------------------------------------------------------------------------- the base model


class Spec(BaseModel):
    """Base of every settings model: immutable, unknown keys refused, camelCase in the stack file,
    snake_case in Python, every field documented by the docstring under it."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        frozen=True,
        use_attribute_docstrings=True,
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.__doc__ = settings_doc(cls)


def section() -> Any:
    """The default of a nested settings model: validated like a written one, so defaults that depend
    on the environment are resolved with it (a default instance would keep dev's)."""
    return Field(default_factory=dict, validate_default=True)


def settings_doc(model: type[BaseModel]) -> str:
    """The class docstring plus one line per field (so `help()` shows every setting and its default)."""
    head = (model.__doc__ or "").rstrip()
    lines = [f"    {name}: {field.description or ''}" for name, field in model.model_fields.items()]
    return f"{head}\n\n    Settings:\n" + "\n".join(lines) if lines else head


S = TypeVar("S", bound=Spec)


def settings_arg(model: type[S], value: S | Mapping[str, Any], argument: str, component: str, name: str) -> S:
    """A settings argument given as the model or as a mapping (another language, a YAML file):
    validated here, problems raised as ComponentArgsError naming the argument."""
    if isinstance(value, model):
        return value
    if not isinstance(value, Mapping):
        raise ComponentArgsError(component, name, [f"{argument} must be {model.__name__} or a mapping"])
    try:
        return model.model_validate(dict(value))
    except ValidationError as error:
        raise ComponentArgsError(
            component, name, [str(p) for p in problems_of(error, root=argument, style="python")]
        ) from None


def environment(info: ValidationInfo) -> str | None:
    """The stack's environment, when the settings are validated as part of a stack config."""
    return (info.context or {}).get("environment")


# --------------------------------------------------------------------------- shared field types

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def dns_label(value: str) -> str:
    """A DNS-1123 label (Kubernetes object and namespace names), explained in words."""
    if not value:
        raise ValueError("must not be empty")
    if len(value) > 63:
        raise ValueError(f"must be at most 63 characters (has {len(value)})")
    bad = list(dict.fromkeys(c for c in value if not (c.islower() or c.isdigit() or c == "-") or not c.isascii()))
    if bad:
        raise ValueError(f"may hold only lower-case letters, digits and '-' (found {', '.join(repr(c) for c in bad)})")
    if not DNS_LABEL.match(value):
        raise ValueError("must start and end with a letter or digit")
    return value


DnsLabel = Annotated[str, AfterValidator(dns_label)]


def name_rule(*, chars: str, allowed: str, first: str, first_words: str, max_length: int) -> Any:
    """A name checked rule by rule, each refusal explained in words with the offending characters."""
    char, first_char = re.compile(chars), re.compile(first)

    def check(value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        bad = list(dict.fromkeys(c for c in value if not char.fullmatch(c)))
        if bad:
            raise ValueError(f"may hold only {allowed} (found {', '.join(repr(c) for c in bad)})")
        if not first_char.fullmatch(value[0]):
            raise ValueError(f"must start with {first_words} (starts with {value[0]!r})")
        if len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters (has {len(value)})")
        return value

    return AfterValidator(check)


def matching(pattern: str, what: str) -> Any:
    """A value of a fixed form (an id, an ARN, a URL), refused with what the form is."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {what}")
        return value

    return AfterValidator(check)


ModelName = Annotated[
    str,
    name_rule(
        chars=r"[A-Za-z0-9_.-]",
        allowed="letters, digits, '_', '.' and '-'",
        first=r"[A-Za-z0-9]",
        first_words="a letter or digit",
        max_length=100,
    ),
]
"""A registered model name in MLflow."""


def check_names(component: str, name: str, names: Mapping[str, str]) -> None:
    """Kubernetes names a component is given (argument -> value) must be DNS-1123 labels; every
    problem at once, as ComponentArgsError."""
    problems = []
    for argument, value in names.items():
        try:
            dns_label(value)
        except ValueError as error:
            problems.append(f"{argument} = {value!r}: {error}")
    if problems:
        raise ComponentArgsError(component, name, problems)


def ipv4_network(value: Any) -> IPv4Network:
    if isinstance(value, IPv4Network):
        return value
    try:
        return IPv4Network(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"not a valid IPv4 CIDR ({error})") from None


Cidr = Annotated[IPv4Network, PlainValidator(ipv4_network)]
RFC1918 = tuple(IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
"""An IPv4 network (`10.0.0.0/16`; host bits must be zero)."""
Cpu = Annotated[str, AfterValidator(quantity.cpu)]
"""A CPU quantity (Kubernetes grammar): 500m, 1, 2.5."""
Memory = Annotated[str, AfterValidator(quantity.memory)]
"""A memory quantity (Kubernetes grammar): 512Mi, 2Gi, 1.5G."""
Count = Annotated[int, Field(ge=0, le=1000)]

CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def retention_days(value: int) -> int:
    if value not in CLOUDWATCH_RETENTION_DAYS:
        fail(
            [
                Issue(
                    (),
                    value,
                    f"must be one of CloudWatch's retention periods: {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))}",
                )
            ]
        )
    return value


RetentionDays = Annotated[int, AfterValidator(retention_days)]


def ec2_instance_type(value: str) -> str:
    """An instance type EC2 has (AWS's DescribeInstanceTypes data)."""
    if aws_facts.instance_type(value) is None:
        raise ValueError(aws_facts.unknown_type_message(value))
    return value


InstanceType = Annotated[str, AfterValidator(ec2_instance_type)]
"""An EC2 instance type that exists (m6i.large)."""

MANAGED_CLASSES_WITHOUT_EC2_TWIN = frozenset({"db.serverless"})
"""Classes of a managed service that mirror no EC2 type (Aurora Serverless v2's capacity class)."""


def managed_class(prefix: str) -> Any:
    """An RDS (`db.`) or ElastiCache (`cache.`) class: the EC2 type it mirrors must exist, which
    catches typos (db.m7g.larg) AWS would only refuse at deploy time."""

    def check(value: str) -> str:
        if value in MANAGED_CLASSES_WITHOUT_EC2_TWIN:
            return value
        if not value.startswith(f"{prefix}."):
            raise ValueError(f"must start with '{prefix}.' (e.g. {prefix}.t4g.medium)")
        ec2 = value.removeprefix(f"{prefix}.")
        if aws_facts.instance_type(ec2) is None:
            hint = aws_facts.closest(ec2, aws_facts.instance_types())
            raise ValueError(
                f"no such {prefix}. class: {ec2} is not an EC2 instance type, and {prefix}. classes mirror EC2's"
                + (f" (did you mean {prefix}.{hint}?)" if hint else "")
            )
        return value

    return AfterValidator(check)


def size_range(min_size: int | None, max_size: int | None, desired_size: int | None) -> list[Issue]:
    """min <= desired <= max for a node group or a replica range."""
    issues = []
    if min_size is not None and max_size is not None and max_size < min_size:
        issues.append(Issue(("max_size",), max_size, f"must be >= {{min_size}} ({min_size})"))
    elif (
        desired_size is not None
        and min_size is not None
        and max_size is not None
        and not min_size <= desired_size <= max_size
    ):
        issues.append(
            Issue(
                ("desired_size",),
                desired_size,
                f"must be between {{min_size}} ({min_size}) and {{max_size}} ({max_size})",
            )
        )
    return issues
