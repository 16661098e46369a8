"""The multi-language package's generated parts, from the code that declares them:

- `provider/settings.py`: each settings model (a `Spec`) as a TypedDict Pulumi's schema
  analyzer can read - plain types, every key optional (the model's defaults apply), each field's
  documentation under it, so it lands in the schema's descriptions. Settings stay declared once (the
  Spec); this file is derived from it.
- `provider/schema.json`: the package schema the provider infers from `provider/package.py`.

    python -m offline.package --write     (make schema)
    python -m offline.package --check     (what tests/infra/test_package_provider.py asserts)
"""

from __future__ import annotations

import argparse
import enum
import json
import re
import sys
import types
import typing
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel

from components.kit.spec import Spec

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_MODULE = ROOT / "provider" / "settings.py"
SCHEMA = ROOT / "provider" / "schema.json"
PACKAGE = "mlops"


def exposed_settings() -> list[type[Spec]]:
    """The settings models the package's components take (and every model nested in them)."""
    from components.cluster.gpu_node_pool import GpuPoolSettings
    from components.config import PlatformConfig
    from components.data.artifact_store import ArtifactSettings
    from components.services.drift_monitor import DriftMonitorSettings
    from components.services.feature_store import FeatureStoreSettings
    from components.services.mlflow_tracking import MlflowSettings
    from components.services.model_endpoint import EndpointSettings
    from components.services.model_serving import KServeSettings
    from components.services.training_pipeline import TrainingSettings

    return [
        GpuPoolSettings,
        ArtifactSettings,
        MlflowSettings,
        FeatureStoreSettings,
        KServeSettings,
        EndpointSettings,
        DriftMonitorSettings,
        TrainingSettings,
        PlatformConfig,
    ]


def _choices(annotation: Any) -> list[str]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return [str(a) for a in args]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(m.value) for m in annotation]
    return [c for a in args for c in _choices(a)] if origin in (Union, types.UnionType, typing.Annotated) else []


ENUM_NAMES = {("managed", "inCluster"): "Hosting", ("Standard", "Serverless"): "ServingMode"}
"""Enum names where the field's own name is too generic to stand alone in an SDK (several `mode`s)."""


def _pascal(text: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).replace("-", "_").split("_")
    return "".join(w[:1].upper() + w[1:].lower() for w in words if w)


def _enum_name(field: str, choices: list[str], enums: dict[str, tuple[str, ...]]) -> str:
    """One enum per closed set: named for its field (or ENUM_NAMES), shared by fields with the same set."""
    name = ENUM_NAMES.get(tuple(choices), _pascal(field))
    if enums.get(name, tuple(choices)) != tuple(choices):
        raise ValueError(f"two closed sets would both be the enum {name}: {enums[name]} and {tuple(choices)}")
    enums[name] = tuple(choices)
    return name


def _python_type(annotation: Any, nested: list[type[BaseModel]], field: str, enums: dict[str, tuple[str, ...]]) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _python_type(args[0], nested, field, enums)
    if origin in (Union, types.UnionType):
        kinds = sorted({_python_type(a, nested, field, enums) for a in args if a is not type(None)})
        return kinds[0] if len(kinds) == 1 else "str"  # e.g. a duration or "Never": both strings
    if origin is typing.Literal or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        return _enum_name(field, _choices(annotation), enums)
    if origin is list:
        return f"list[{_python_type(args[0], nested, field, enums)}]"
    if origin is dict:
        return f"dict[str, {_python_type(args[1], nested, field, enums)}]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in nested:
            nested.append(annotation)
        return annotation.__name__
    if annotation is IPv4Network:
        return "str"
    if annotation in (str, int, float, bool):
        return annotation.__name__
    raise TypeError(f"no schema type for {annotation!r}")


def _typeddict(model: type[BaseModel], nested: list[type[BaseModel]], enums: dict[str, tuple[str, ...]]) -> str:
    doc = " ".join((model.__doc__ or model.__name__).split("Settings:")[0].split())
    lines = [f"class {model.__name__}(TypedDict, total=False):", f'    """{doc}"""', ""]
    for name, field in model.model_fields.items():
        kind = _python_type(field.annotation, nested, name, enums)
        if field.is_required():
            kind = f"Required[{kind}]"
        description = " ".join((field.description or "").split())
        description = description.replace("\\", "\\\\").replace('"""', "'''")
        lines += [f"    {name}: {kind}", f'    """{description}"""']
    return "\n".join(lines)


def _enum(name: str, choices: tuple[str, ...]) -> str:
    # each member documented: the schema's enum values need a description (null is not valid there)
    members = "".join(f'    {_pascal(choice)} = "{choice}"\n    """{choice}"""\n' for choice in choices)
    return f'class {name}(enum.StrEnum):\n    """One of: {", ".join(choices)}."""\n\n{members.rstrip()}'


def settings_module() -> str:
    """The source of provider/settings.py: the closed sets as enums, then each model after the models
    it refers to, each named as its settings model is (an SDK adds its own suffix: GpuPoolSettingsArgs)."""
    classes: list[str] = []
    done: set[type[BaseModel]] = set()
    enums: dict[str, tuple[str, ...]] = {}

    def visit(model: type[BaseModel]) -> None:
        if model in done:
            return
        done.add(model)
        nested: list[type[BaseModel]] = []
        source = _typeddict(model, nested, enums)
        for child in nested:
            visit(child)
        classes.append(source)

    for model in exposed_settings():
        visit(model)
    header = (
        '"""GENERATED by `python -m offline.package --write` (make schema) from the settings models - do not\n'
        "edit. The package's settings as TypedDicts Pulumi's schema analyzer reads (no `from __future__ import\n"
        'annotations`: it reads annotations as written)."""\n\n'
        "import enum\n"
        "from typing import Required, TypedDict\n"
    )
    blocks = [_enum(name, choices) for name, choices in sorted(enums.items())] + classes
    return header + "\n\n" + "\n\n\n".join(blocks) + "\n"


def schema() -> dict[str, Any]:
    """The package schema, inferred the way the provider infers it."""
    from mlops_platform.provider.package import COMPONENTS, NAMESPACE, VERSION
    from pulumi.provider.experimental.analyzer import Analyzer
    from pulumi.provider.experimental.schema import generate_schema

    result = Analyzer(PACKAGE).analyze(list(COMPONENTS))
    generated = generate_schema(
        PACKAGE,
        VERSION,
        NAMESPACE,
        result["component_definitions"],
        result["type_definitions"],
        sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}"),
    )
    return dict(generated.to_json())


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.package", description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate the settings module and the schema")
    action.add_argument("--check", action="store_true", help="exit 1 if either differs from the code")
    args = parser.parse_args(argv)
    if args.write:
        SETTINGS_MODULE.write_text(settings_module())
        SCHEMA.parent.mkdir(exist_ok=True)
        SCHEMA.write_text(schema_text())
        print(f"wrote {SETTINGS_MODULE.relative_to(ROOT)} and {SCHEMA.relative_to(ROOT)}")
        return 0
    stale = [
        p
        for p, text in ((SETTINGS_MODULE, settings_module()), (SCHEMA, schema_text()))
        if not p.is_file() or p.read_text() != text
    ]
    for path in stale:
        print(f"{path.relative_to(ROOT)} is stale: run `make schema`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
