"""Custom resources validated against the real CRD schemas, the way the API server's strict field
validation does: the `openAPIV3Schema` of the CRD at the release the platform pins (copied with
their provenance from the projects' releases into offline/crd_schemas/, index.json says where
from), or of a CRD a rendered chart installs. An unknown field is an error unless the schema
preserves unknown fields there; `metadata` is checked as Kubernetes' ObjectMeta.

What has no schema is reported as not validated - never as valid. The schemas' CEL rules
(`x-kubernetes-validations`, e.g. Karpenter's "label domain karpenter.sh is restricted") are
evaluated with cel-python, as the API server does on create: a rule runs where its field is present,
with `self` bound to it; the Kubernetes CEL library's `find` and `split` are provided. Transition
rules (`oldSelf`) apply to updates only; they and any rule cel-python cannot evaluate are returned
with the result (`Result.unchecked`) so the plan lists them as not checked.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import kubernetes_validate
from celpy import celtypes

SCHEMA_DIR = Path(__file__).with_name("crd_schemas")
KUBERNETES_SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@dataclass(frozen=True)
class SchemaSource:
    group: str
    kind: str
    version: str
    project: str
    release: str
    source: str
    """Where the schema was taken from (repository:path, or the rendered chart)."""
    schema: Mapping[str, Any]


def index() -> list[dict[str, Any]]:
    return list(json.loads((SCHEMA_DIR / "index.json").read_text()))


@cache
def pinned() -> dict[tuple[str, str], SchemaSource]:
    """(apiVersion, kind) -> the schema copied into the repository."""
    found = {}
    for entry in index():
        schema = json.loads((SCHEMA_DIR / entry["file"]).read_text())
        api_version = f"{entry['group']}/{entry['version']}"
        found[(api_version, entry["kind"])] = SchemaSource(
            entry["group"], entry["kind"], entry["version"], entry["project"], entry["release"], entry["source"], schema
        )
    return found


def from_crds(objects: Iterable[Mapping[str, Any]], origin: str) -> dict[tuple[str, str], SchemaSource]:
    """The schemas of the CustomResourceDefinitions among `objects` (what a chart installs)."""
    found = {}
    for crd in objects:
        if crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd.get("spec") or {}
        for version in spec.get("versions") or []:
            schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or None
            if schema is None or not version.get("served", True):
                continue
            api_version = f"{spec['group']}/{version['name']}"
            kind = spec["names"]["kind"]
            found[(api_version, kind)] = SchemaSource(
                spec["group"], kind, version["name"], origin, "", f"{origin}: CRD {crd['metadata']['name']}", schema
            )
    return found


@cache
def _kubernetes_definitions(kubernetes_version: str) -> dict[str, Any]:
    path = KUBERNETES_SCHEMAS / f"v{kubernetes_version}.0-local-strict" / "_definitions.json"
    return dict(json.loads(path.read_text())["$defs"])


def strict(node: Any) -> Any:
    """An OpenAPI v3 structural schema as JSON Schema with the API server's strictness: objects
    refuse fields they do not declare unless x-kubernetes-preserve-unknown-fields says otherwise."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict(value) for key, value in node.items() if not key.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("x-kubernetes-embedded-resource"):
        out.setdefault("properties", {})
        for field in ("apiVersion", "kind"):
            out["properties"].setdefault(field, {"type": "string"})
        out["properties"].setdefault("metadata", {"type": "object"})
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    declares_fields = "properties" in node or node.get("type") == "object"
    if declares_fields and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


@cache
def _validator(key: str, kubernetes_version: str) -> jsonschema.Draft202012Validator:
    source = _SOURCES[key]
    schema = copy.deepcopy(strict(source.schema))
    properties = schema.setdefault("properties", {})
    properties["metadata"] = {"$ref": f"#/$defs/{OBJECT_META}"}
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    return jsonschema.Draft202012Validator({**schema, "$defs": _kubernetes_definitions(kubernetes_version)})


_SOURCES: dict[str, SchemaSource] = {}


def _find(value: Any, pattern: Any) -> celtypes.StringType:
    """Kubernetes CEL regex library: the first match of `pattern`, or ""."""
    match = re.search(str(pattern), str(value))
    return celtypes.StringType(match.group(0) if match else "")


def _split(value: Any, separator: Any) -> celtypes.ListType:
    """Kubernetes CEL strings library."""
    return celtypes.ListType([celtypes.StringType(part) for part in str(value).split(str(separator))])


CEL_FUNCTIONS = {"find": _find, "split": _split}


@cache
def _cel_program(rule: str) -> Any:
    environment = celpy.Environment()
    return environment.program(environment.compile(rule), functions=CEL_FUNCTIONS)


@dataclass
class CelOutcome:
    failures: list[str]
    """Where a rule failed, and its message."""
    unevaluated: list[str]
    """Rules that could not be evaluated here (transition rules, unsupported functions)."""


def check_cel(schema: Any, data: Any, path: str = "", outcome: CelOutcome | None = None) -> CelOutcome:
    """Evaluate every CEL rule of `schema` whose field `data` holds, as the API server does on create."""
    outcome = outcome if outcome is not None else CelOutcome([], [])
    if not isinstance(schema, dict):
        return outcome
    for rule in schema.get("x-kubernetes-validations") or []:
        expression = str(rule.get("rule", ""))
        if "oldSelf" in expression:
            outcome.unevaluated.append(f"{path or '<root>'}: transition rule (updates only): {expression}")
            continue
        try:
            result = _cel_program(expression).evaluate({"self": celpy.json_to_cel(data)})
        except Exception as error:  # a rule cel-python cannot compile or run
            outcome.unevaluated.append(f"{path or '<root>'}: {expression} ({type(error).__name__})")
            continue
        if isinstance(result, celpy.CELEvalError):
            outcome.unevaluated.append(
                f"{path or '<root>'}: {expression} ({result.args[0] if result.args else result})"
            )
        elif not bool(result):
            outcome.failures.append(f"{path or '<root>'}: {rule.get('message') or expression}")
    if isinstance(data, dict):
        for key, child in (schema.get("properties") or {}).items():
            if key in data:
                check_cel(child, data[key], f"{path}.{key}" if path else key, outcome)
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(data):
            check_cel(schema["items"], item, f"{path}[{index}]", outcome)
    return outcome


def cel_rules(schema: Any) -> int:
    """How many CEL validation rules (x-kubernetes-validations) a schema holds, at any depth."""
    if isinstance(schema, list):
        return sum(cel_rules(item) for item in schema)
    if not isinstance(schema, dict):
        return 0
    own = len(schema.get("x-kubernetes-validations") or [])
    return own + sum(cel_rules(v) for k, v in schema.items() if k != "x-kubernetes-validations")


@dataclass(frozen=True)
class Result:
    ok: bool | None
    """True valid, False invalid, None not validated (no schema)."""
    detail: str
    unchecked: tuple[str, ...] = ()
    """CEL rules that apply to the object and were not evaluated (transition rules, unsupported functions)."""


def validate(
    obj: Mapping[str, Any], kubernetes_version: str, extra: Mapping[tuple[str, str], SchemaSource] | None = None
) -> Result:
    """Validate one custom resource; `extra` are schemas of CRDs rendered beside it."""
    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    source = (extra or {}).get(key) or pinned().get(key)
    if source is None:
        return Result(None, f"not validated: no schema for {key[0]} {key[1]}")
    cache_key = f"{source.source}|{key[0]}|{key[1]}"
    _SOURCES.setdefault(cache_key, source)
    errors = sorted(
        _validator(cache_key, kubernetes_version).iter_errors(dict(obj)), key=lambda e: list(e.absolute_path)
    )
    origin = f"{source.project} {source.release}".strip()
    if not errors:
        cel = check_cel(source.schema, dict(obj))
        if cel.failures:
            return Result(False, "CEL: " + "; ".join(cel.failures[:5]), tuple(cel.unevaluated))
        return Result(True, f"CRD schema {key[0]} {key[1]} ({origin})", tuple(cel.unevaluated))
    detail = "; ".join(f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:5])
    return Result(False, detail)
