"""A `Pulumi.<stack>.yaml` read the way Pulumi's engine reads it: YAML 1.2 (`yes`, `no`, `on` stay
strings; `1.33` is a number), duplicate keys refused, anchors and merge keys allowed. A file Pulumi
would refuse, or that means something else to it than to PyYAML, fails here with its file, line and
column and what to do - never a traceback."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from ..kit.spec import Problem
from .errors import ConfigError

SECRET_PLACEHOLDER = "offline-placeholder-for-an-encrypted-value"
"""Stands in for `secure:` stack values, which cannot be decrypted offline."""


def stand_in(ciphertext: str) -> str:
    """The offline value of one encrypted setting: the placeholder tagged with a digest of its
    ciphertext, so a plan diff sees a changed secret as changed (and learns nothing of it)."""
    return f"{SECRET_PLACEHOLDER}-{hashlib.sha256(ciphertext.encode()).hexdigest()[:12]}"


def _loader() -> YAML:
    loader = YAML(typ="safe", pure=True)
    loader.version = (1, 2)
    loader.allow_duplicate_keys = False
    return loader


def _first_line(text: str, key: str, line: int, column: int) -> int | str:
    """The line (1-based) where `key` first appears at `column`, above `line` (0-based)."""
    for number, content in enumerate(text.splitlines()[:line]):
        if content[column:].startswith(f"{key}:") and not content[:column].strip():
            return number + 1
    return "?"


def _advice(error: MarkedYAMLError, text: str) -> str:
    problem = f"{error.problem or ''} {error.context or ''}"
    if isinstance(error, DuplicateKeyError):
        key = re.search(r'duplicate key "(.*?)"', str(error.problem))
        name = key.group(1) if key else "a key"
        mark = error.problem_mark
        first = _first_line(text, name, mark.line, mark.column) if mark else "?"
        return (
            f"key {name!r} appears twice (first at line {first}): Pulumi refuses duplicate keys (and PyYAML would "
            "silently keep only the last); keep one and merge what they hold"
        )
    if "\\t" in problem or "'\\t'" in problem or "tab" in problem.lower():
        return "a tab character: YAML indents with spaces only"
    if "undefined alias" in problem:
        return f"{error.problem}: define the anchor (&name) before the alias (*name) that uses it"
    if "mapping values are not allowed" in problem:
        return "a ': ' inside a value: put the value in quotes"
    return " ".join(part for part in (error.context, error.problem) if part)


def read_yaml(text: str, source: str) -> Any:
    """YAML 1.2 as Pulumi reads stack files; ConfigError naming file:line:column on any problem."""
    try:
        return _loader().load(io.StringIO(text))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError([Problem(where, _advice(error, text), has_value=False)]) from None


@dataclass(frozen=True)
class StackFile:
    """A stack file's config, as a program run offline receives it."""

    config: dict[str, Any]
    secret_keys: list[str]

    @classmethod
    def load(cls, path: Path, overrides: Mapping[str, Any] | None = None) -> StackFile:
        document = read_yaml(path.read_text(), path.name) or {}
        if not isinstance(document, Mapping) or not isinstance(document.get("config") or {}, Mapping):
            raise ConfigError([Problem(path.name, "must be a mapping with a `config:` mapping", has_value=False)])
        config: dict[str, Any] = {}
        secret_keys: list[str] = []
        for key, value in (document.get("config") or {}).items():
            secure = isinstance(value, Mapping) and set(value) == {"secure"}
            config[str(key)] = stand_in(str(value["secure"])) if secure else value
            if secure:
                secret_keys.append(str(key))
        config.update(overrides or {})
        return cls(config, secret_keys)
