"""Config problems as people read them: `path = value: what is allowed`, every one at once."""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from ..kit.spec import Problem, problems_of

ROOT = "platform"


class ConfigError(Exception):
    """The stack config is invalid; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"invalid stack config ({count} problem{'s' * (count != 1)}):\n{lines}")


def config_problems(error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """The problems of a ValidationError of `model`, with the keys allowed where a key is unknown."""
    found = []
    for problem in problems_of(error, root=ROOT, style="config"):
        if problem.message == "unknown key":
            allowed = ", ".join(allowed_keys(model, problem.path))
            found.append(Problem(problem.path, f"unknown key; allowed keys here: {allowed}", problem.value))
        else:
            found.append(problem)
    return found


def allowed_keys(model: type[BaseModel], path: str) -> list[str]:
    """The keys the model allows beside the last key of `path` (`platform.network.vpcCidrr`)."""
    parts = path.replace("[", ".[").split(".")[1:-1]
    current: Any = model
    for part in parts:
        if part.startswith("["):
            continue
        field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        current = _model_in(field.annotation) if field is not None else None
        if current is None:
            return []
    return sorted(f.alias or n for n, f in current.model_fields.items())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
