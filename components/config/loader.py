"""Reading the stack's configuration: from a running Pulumi program, or from a mapping (tests, the
offline plan). Nothing is declared before it is valid."""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pulumi
from pydantic import ValidationError

from ..spec import Problem
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


class PulumiSecrets:
    """SecretSource over the running stack's configuration."""

    def status(self, key: str) -> Literal["missing", "plain", "secret"]:
        full_key = f"{PROJECT}:{key}"
        if pulumi.runtime.get_config(full_key) is None:
            return "missing"
        return "secret" if pulumi.runtime.is_config_secret(full_key) else "plain"


def parse_platform_config(raw: Any, *, secrets: SecretSource | None = None) -> PlatformConfig:
    """Validate the raw `platform` object; raise ConfigError listing every problem."""
    if raw is None:
        raise ConfigError([Problem(ROOT, f"not set; add `{PROJECT}:{CONFIG_KEY}` to the stack file", has_value=False)])
    environment = raw.get("environment") if isinstance(raw, Mapping) else None
    context = {
        "environment": environment if environment in typing.get_args(Environment) else None,
        "secrets": secrets,
    }
    try:
        return PlatformConfig.model_validate_json(
            json.dumps(raw), strict=True, context=context, by_alias=True, by_name=False
        )
    except ValidationError as error:
        raise ConfigError(config_problems(error, PlatformConfig)) from None


@dataclass(frozen=True)
class StackConfig:
    """Everything the program reads from the stack's configuration."""

    platform: PlatformConfig
    region: str
    kubeconfig: pulumi.Output[str] | None = None
    """The adopted cluster's kubeconfig (a secret), when cluster.existing is set."""


def load_stack_config() -> StackConfig:
    """Read and validate the running stack's config; raise ConfigError before anything is declared."""
    problems: list[Problem] = []
    region = pulumi.Config("aws").get("region")
    if not region:
        problems.append(Problem("aws:region", "not set: pulumi config set aws:region <region>", has_value=False))
    try:
        raw = pulumi.Config(PROJECT).get_object(CONFIG_KEY)
        platform = parse_platform_config(raw, secrets=PulumiSecrets())
    except ConfigError as error:
        problems = error.problems + problems
    if problems:
        raise ConfigError(problems)
    kubeconfig = None
    if platform.cluster.existing is not None:
        kubeconfig = pulumi.Config(PROJECT).require_secret(platform.cluster.existing.kubeconfig_secret)
    return StackConfig(platform=platform, region=str(region), kubeconfig=kubeconfig)
