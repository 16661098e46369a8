"""Kubernetes objects of a recorded graph: written as YAML, schema-validated, scanned by checkov."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from components.testing import Graph, Resource, redact
from offline import crd_schemas

ROOT = Path(__file__).resolve().parent.parent
CHECKOV_SKIPS = Path(__file__).with_name("checkov_skips.yaml")
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def normalise(value: Any) -> Any:
    """Engine inputs carry numbers as floats; Kubernetes wants integers where they are whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def manifest(resource: Resource) -> dict[str, Any]:
    """The object as it would be applied (secrets redacted)."""
    body = normalise(redact(resource.inputs))
    ordered = {"apiVersion": body.pop("apiVersion"), "kind": body.pop("kind")}
    ordered["metadata"] = body.pop("metadata", {})
    ordered.update(body)
    return ordered


def object_id(obj: Mapping[str, Any]) -> str:
    """kind/namespace/name, the id reviewers and the skip file use."""
    meta = obj.get("metadata", {})
    return f"{obj['kind']}/{meta.get('namespace', '-')}/{meta.get('name', '?')}"


def file_name(obj: Mapping[str, Any]) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", object_id(obj).replace("/", "--")) + ".yaml"


def helm_release(resource: Resource) -> dict[str, Any]:
    inputs = normalise(redact(resource.inputs))
    return {
        "release": inputs.get("name", resource.name),
        "namespace": inputs.get("namespace", "default"),
        "chart": inputs.get("chart"),
        "version": inputs.get("version"),
        "repository": (inputs.get("repositoryOpts") or {}).get("repo"),
        "values": inputs.get("values", {}),
    }


def write_manifests(graph: Graph, directory: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Write every object and Helm release to `directory`; return (objects, releases)."""
    directory.mkdir(parents=True, exist_ok=True)
    objects = [manifest(r) for r in graph.kubernetes_objects()]
    for obj in objects:
        (directory / file_name(obj)).write_text(yaml.safe_dump(obj, sort_keys=False))
    releases = [helm_release(r) for r in graph.of_type("kubernetes:helm.sh/v3:Release")]
    for release in releases:
        name = f"HelmRelease--{release['namespace']}--{release['release']}.yaml"
        (directory / name).write_text(yaml.safe_dump(release, sort_keys=False))
    return objects, releases


# --------------------------------------------------------------------------- schema validation


@dataclass(frozen=True)
class SchemaResult:
    object_id: str
    ok: bool
    detail: str


def validate_objects(objects: Iterable[Mapping[str, Any]], kubernetes_version: str) -> list[SchemaResult]:
    """Validate each object against the Kubernetes schema of `kubernetes_version` (strict: unknown
    fields are errors); custom resources against offline/crd_schemas.py."""
    results = []
    for obj in objects:
        oid = object_id(obj)
        try:
            kubernetes_validate.validate(dict(obj), f"{kubernetes_version}.0", strict=True)
            results.append(SchemaResult(oid, True, f"Kubernetes {kubernetes_version} schema"))
        except kubernetes_validate.SchemaNotFoundError:
            schema = crd_schemas.schema_for(obj["apiVersion"], obj["kind"], kubernetes_version)
            if schema is None:
                results.append(SchemaResult(oid, False, f"no schema for {obj['apiVersion']} {obj['kind']}"))
                continue
            errors = sorted(crd_schemas.validator(schema, kubernetes_version).iter_errors(dict(obj)), key=str)
            detail = "; ".join(f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:5])
            results.append(
                SchemaResult(oid, not errors, detail or f"partial CRD schema {obj['apiVersion']} {obj['kind']}")
            )
        except kubernetes_validate.ValidationError as error:
            where = ".".join(map(str, error.path)) or "<root>"
            results.append(SchemaResult(oid, False, f"{where}: {error.message}"))
    return results


# --------------------------------------------------------------------------- checkov


@dataclass(frozen=True)
class CheckovFinding:
    check_id: str
    check_name: str
    object_id: str
    skip_reason: str | None


def load_skips(path: Path = CHECKOV_SKIPS) -> list[dict[str, str]]:
    """Skips: {check, objects (glob over kind/namespace/name, default *), reason}."""
    skips = yaml.safe_load(path.read_text()) or []
    for skip in skips:
        if not skip.get("reason"):
            raise ValueError(f"{path}: skip {skip.get('check')} has no reason")
    return skips


def _skip_reason(check_id: str, oid: str, skips: Iterable[Mapping[str, str]]) -> str | None:
    for skip in skips:
        if skip["check"] == check_id and fnmatch.fnmatch(oid, skip.get("objects", "*")):
            return skip["reason"]
    return None


def _checkov_object_id(resource: str) -> str:
    # checkov names kubernetes resources "Kind.namespace.name"
    kind, _, rest = resource.partition(".")
    namespace, _, name = rest.partition(".")
    return f"{kind}/{namespace or '-'}/{name}"


def run_checkov(directory: Path, skips: list[dict[str, str]] | None = None) -> list[CheckovFinding]:
    """Scan `directory` with checkov's Kubernetes checks (offline); every failed check, with the
    reason it is skipped if the skip file covers it."""
    if not CHECKOV.exists():
        raise FileNotFoundError(f"{CHECKOV} not found: run `make venv`")
    skips = load_skips() if skips is None else skips
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(directory),
            "--framework",
            "kubernetes",
            "--skip-download",
            "-o",
            "json",
            "--quiet",
            "--compact",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout or "{}")
    reports = report if isinstance(report, list) else [report]
    findings = []
    for item in reports:
        for failed in (item.get("results") or {}).get("failed_checks", []):
            oid = _checkov_object_id(failed["resource"])
            findings.append(
                CheckovFinding(
                    failed["check_id"], failed["check_name"], oid, _skip_reason(failed["check_id"], oid, skips)
                )
            )
    return sorted(findings, key=lambda f: (f.object_id, f.check_id))
