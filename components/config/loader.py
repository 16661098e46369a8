"""Reading the stack's configuration: from a running Pulumi program, or from a mapping (tests, the
offline plan). Nothing is declared before it is valid."""

from __future__ import annotations

import contextlib
import json
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pulumi
from pydantic import ValidationError

from ..kit import aws_facts
from ..kit.spec import Problem
from .errors import ROOT, ConfigError, config_problems
from .model import Environment, PlatformConfig

PROJECT = "mlops-platform"
CONFIG_KEY = "platform"


class SecretSource(Protocol):
    """Where secret config values come from (Pulumi config in a program, a dict in tests)."""

    def status(self, key: str) -> Literal["missing", "plain", "secret"]: ...


class DictSecrets:
    """A SecretSource over a plain mapping of key -> is_secret (tests, offline plan)."""

    def __init__(self, keys: Mapping[str, bool]) -> None:
        self._keys = keys

    def status(self, key: str) -> Literal["missing", "plain", "secret"]:
        if key not in self._keys:
            return "missing"
        return "secret" if self._keys[key] else "plain"


PROVIDER_NAMESPACES = ("aws", "kubernetes", "random", "pulumi")
"""Config namespaces of the providers the program uses, and Pulumi's own."""
CREDENTIAL_KEYS = ("aws:accessKey", "aws:secretKey", "aws:token")


def parse_platform_config(
    raw: Any, *, secrets: SecretSource | None = None, region: str | None = None, python_names: bool = False
) -> PlatformConfig:
    """Validate the raw `platform` object; raise ConfigError listing every problem. With `region`
    (a real one), availability zones and instance offerings are checked against AWS's data. Keys are the
    stack file's (camelCase); `python_names`: the fields' own names, as the package's provider hands an
    object of the schema's types to a component (it maps each property to its Python name)."""
    if raw is None:
        raise ConfigError([Problem(ROOT, f"not set; add `{PROJECT}:{CONFIG_KEY}` to the stack file", has_value=False)])
    environment = raw.get("environment") if isinstance(raw, Mapping) else None
    context = {
        "environment": environment if environment in typing.get_args(Environment) else None,
        "secrets": secrets,
        "region": region if region in aws_facts.regions() else None,
    }
    try:
        return PlatformConfig.model_validate_json(
            json.dumps(raw), strict=True, context=context, by_alias=not python_names, by_name=python_names
        )
    except ValidationError as error:
        raise ConfigError(config_problems(error, PlatformConfig)) from None


def region_problems(region: Any) -> list[Problem]:
    """`aws:region` is set and is a real region (AWS's offerings data lists it)."""
    if not region:
        return [Problem("aws:region", "not set: pulumi config set aws:region <region>", has_value=False)]
    known = aws_facts.regions()
    if region in known:
        return []
    if isinstance(region, str) and region[:-1] in known and region[-1].isalpha():
        return [Problem("aws:region", f"is an availability zone; the region is {region[:-1]}", region)]
    hint = aws_facts.closest(str(region), known)
    return [
        Problem(
            "aws:region",
            "not an AWS region" + (f" (did you mean {hint}?)" if hint else f"; known: {', '.join(known)}"),
            region,
        )
    ]


def key_problems(config: Mapping[str, Any], secret_keys: Iterable[str], allowed_own: Iterable[str]) -> list[Problem]:
    """Every key of the stack file is one the program reads, in a namespace that exists, and no
    provider credential is written in plain text."""
    secret = set(secret_keys)
    own = {CONFIG_KEY, *allowed_own}
    found = []
    for key in sorted(config):
        namespace, _, name = key.partition(":")
        if not name:
            found.append(Problem(key, f"a config key needs a namespace: {PROJECT}:{key} or aws:{key}", has_value=False))
        elif namespace == PROJECT and name not in own:
            found.append(
                Problem(
                    key,
                    f"unknown key; {PROJECT} reads {', '.join(f'{PROJECT}:{k}' for k in sorted(own))}",
                    has_value=False,
                )
            )
        elif namespace != PROJECT and namespace not in PROVIDER_NAMESPACES:
            expected = PROJECT if _fold(namespace) == _fold(PROJECT) else None
            found.append(
                Problem(
                    key,
                    f"unknown config namespace {namespace!r}"
                    + (
                        f"; this project's is {PROJECT!r}: write {PROJECT}:{name}"
                        if expected
                        else f"; known: {', '.join((PROJECT, *PROVIDER_NAMESPACES))}"
                    ),
                    has_value=False,
                )
            )
        elif key in CREDENTIAL_KEYS and key not in secret:
            found.append(
                Problem(
                    key,
                    "an AWS credential in plain text in the stack file; remove it and use OIDC or an AWS profile "
                    f"(or, if you must, `pulumi config set --secret {key} ...`)",
                    has_value=False,
                )
            )
    return found


def _fold(namespace: str) -> str:
    return namespace.lower().replace("_", "-").replace(".", "-")


@dataclass(frozen=True)
class StackConfig:
    """Everything the program reads from the stack's configuration."""

    platform: PlatformConfig
    region: str
    kubeconfig: pulumi.Output[str] | None = None
    """The adopted cluster's kubeconfig (a secret), when cluster.existing is set."""


def check_stack(config: Mapping[str, Any], secret_keys: Iterable[str]) -> PlatformConfig:
    """Every check of a stack's whole config - `aws:region`, the platform object (against AWS's data
    for that region), every key and where secrets are - reported at once as one ConfigError.
    `config` is what the engine hands a program (object values may be JSON-encoded)."""
    secret = set(secret_keys)
    region = config.get("aws:region")
    problems = region_problems(region)
    raw = config.get(f"{PROJECT}:{CONFIG_KEY}")
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):  # a plain string: the model says it must be a mapping
            raw = json.loads(raw)
    own = {key.split(":", 1)[1]: key in secret for key in config if key.startswith(f"{PROJECT}:")}
    platform = None
    try:
        platform = parse_platform_config(raw, secrets=DictSecrets(own), region=region)
    except ConfigError as error:
        problems = error.problems + problems
    if platform is None:
        read = ["kubeconfig"]  # which key holds the kubeconfig is unknown: do not call it unknown
    else:
        read = [platform.cluster.existing.kubeconfig_secret] if platform.cluster.existing else []
    problems += key_problems(config, secret, read)
    if problems or platform is None:
        raise ConfigError(problems)
    return platform


def load_stack_config() -> StackConfig:
    """Read and check the running stack's config; raise ConfigError before anything is declared.
    The engine hands a program its whole config (PULUMI_CONFIG): every key is checked, not only the
    ones the program reads."""
    config = dict(pulumi.runtime.get_config_env())
    for key in ("aws:region", f"{PROJECT}:{CONFIG_KEY}"):  # set another way (a test's set_all_config)
        if key not in config and pulumi.runtime.get_config(key) is not None:
            config[key] = pulumi.runtime.get_config(key)
    platform = check_stack(config, pulumi.runtime.get_config_secret_keys_env())
    kubeconfig = None
    if platform.cluster.existing is not None:
        kubeconfig = pulumi.Config(PROJECT).require_secret(platform.cluster.existing.kubeconfig_secret)
    return StackConfig(platform=platform, region=str(config["aws:region"]), kubeconfig=kubeconfig)
