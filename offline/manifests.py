"""Kubernetes objects of a recorded graph: written as YAML, schema-validated, scanned by checkov."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import referencing
import yaml
from kubernetes_validate.utils import major_minor, schema_contents

from components.kit.versions import CHARTS
from components.testing import Graph, Resource, redact
from offline import custom_resources

ROOT = Path(__file__).resolve().parent.parent
CHECKOV_SKIPS = Path(__file__).with_name("checkov_skips.yaml")
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CHECKOV_KINDS = frozenset(
    {
        "AdmissionConfiguration",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "CronJob",
        "DaemonSet",
        "Deployment",
        "DeploymentConfig",
        "Ingress",
        "Job",
        "NetworkPolicy",
        "Pod",
        "PodSecurityPolicy",
        "PodTemplate",
        "ReplicaSet",
        "ReplicationController",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    }
)
"""The kinds checkov's Kubernetes checks look at (its resource checks' registry and its graph checks'
resource types, NetworkPolicy among them, at the pinned checkov; tests/infra/test_plan.py asks it).
Only these are handed to it: it would parse a chart's megabytes of CRDs to check nothing there."""
PLATFORM = "platform"
"""The source of the program's own objects (the others come from a Helm release)."""


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


class ManifestDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """How the plan writes objects: libyaml's emitter (the pure-Python one is ~10x slower on the charts'
    megabytes of CRDs), multi-line strings - config files in ConfigMaps - as literal blocks a reviewer
    can read."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value.rstrip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


ManifestDumper.add_representer(str, _text)


def dump_yaml(obj: Any) -> str:
    return yaml.dump(obj, Dumper=ManifestDumper, sort_keys=False, allow_unicode=True)


def write_manifests(graph: Graph, directory: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Write every object and Helm release to `directory`; return (objects, releases)."""
    directory.mkdir(parents=True, exist_ok=True)
    objects = [manifest(r) for r in graph.kubernetes_objects()]
    for obj in objects:
        (directory / file_name(obj)).write_text(dump_yaml(obj))
    releases = [helm_release(r) for r in graph.of_type("kubernetes:helm.sh/v3:Release")]
    for release in releases:
        name = f"HelmRelease--{release['namespace']}--{release['release']}.yaml"
        (directory / name).write_text(dump_yaml(release))
    return objects, releases


# --------------------------------------------------------------------------- schema validation


@dataclass(frozen=True)
class SchemaResult:
    object_id: str
    ok: bool | None
    """True valid, False invalid, None not validated (no schema to validate against)."""
    detail: str
    source: str = PLATFORM
    """PLATFORM for the program's own objects, else the Helm release that renders it."""
    unchecked: tuple[str, ...] = ()
    """Rules of its schema that apply and were not evaluated (a custom resource's CEL transition rules)."""


def validate_objects(
    objects: Iterable[Mapping[str, Any]],
    kubernetes_version: str,
    *,
    source: str = PLATFORM,
    crds: Mapping[tuple[str, str], custom_resources.SchemaSource] | None = None,
) -> list[SchemaResult]:
    """Validate each object strictly (unknown fields are errors): built-in kinds against the
    Kubernetes schema of `kubernetes_version`, custom resources against the real CRD schemas
    (`crds` rendered beside them, else the ones pinned in offline/crd_schemas/)."""
    results = []
    for obj in objects:
        oid = object_id(obj)
        validator = builtin_validator(kubernetes_version, str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        if validator is None:
            checked = custom_resources.validate(obj, kubernetes_version, crds)
            results.append(SchemaResult(oid, checked.ok, checked.detail, source, checked.unchecked))
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(dict(obj)))
        if error is None:
            results.append(SchemaResult(oid, True, f"Kubernetes {kubernetes_version} schema", source))
        else:
            where = ".".join(map(str, error.path)) or "<root>"
            results.append(SchemaResult(oid, False, f"{where}: {error.message}", source))
    return results


@functools.cache
def builtin_validator(kubernetes_version: str, api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    """kubernetes-validate's strict schema of a built-in kind, built once per kind (its own validate()
    re-reads the 3 MB definitions file for every object); None for a kind it does not have."""
    desired = f"{kubernetes_version}.0"
    version = [v for v in kubernetes_validate.utils.all_versions() if major_minor(v) <= major_minor(desired)][-1]
    directory = f"kubernetes-json-schema/v{version}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(f"{directory}/{kind.lower()}-{group}.json", desired)
    except FileNotFoundError:
        return None
    definitions = schema_contents(f"{directory}/_definitions.json", desired)
    registry = referencing.Resource.from_contents(definitions) @ (
        referencing.Resource.from_contents(schema) @ referencing.Registry()
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


# --------------------------------------------------------------------------- checkov


@dataclass(frozen=True)
class CheckovFinding:
    check_id: str
    check_name: str
    object_id: str
    skip_reason: str | None
    source: str = PLATFORM


@dataclass(frozen=True)
class Skip:
    """A checkov finding accepted on purpose: one check, the objects it is accepted for, and why - and, for
    objects an upstream chart renders, that chart's pinned archive (a version bump asks for a new reading)."""

    check: str
    objects: tuple[str, ...]
    reason: str
    chart: str | None = None
    """`<chart>-<version>.tgz` of a pinned chart, when the objects are what that chart renders."""


OBJECT_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*/[a-z0-9.-]+/[a-z0-9.:-]+")


def load_skips(path: Path = CHECKOV_SKIPS) -> list[Skip]:
    """The skip file: each entry names its check, the objects (Kind/namespace/name, `-` for a
    cluster-scoped one) and a reason. A pattern is refused: a skip covers the objects a reviewer
    read, not the ones a later change adds. An entry for a chart's objects names the chart's pinned
    archive (`chart: cert-manager-v1.17.0.tgz`); one naming an archive the platform does not pin is
    refused, so a chart's version bump sends the reviewer back to its findings."""
    entries = yaml.safe_load(path.read_text()) or []
    pinned = {chart.archive for chart in CHARTS}
    skips, problems = [], []
    for number, entry in enumerate(entries, 1):
        where = f"{path.name} entry {number} ({entry.get('check', '?')})"
        if unknown := sorted(set(entry) - {"check", "objects", "reason", "chart"}):
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (check, objects, reason, chart)")
        chart = entry.get("chart")
        if chart is not None and chart not in pinned:
            problems.append(f"{where}: chart {chart!r} is not a pinned chart archive ({', '.join(sorted(pinned))})")
        objects = entry.get("objects")
        if not str(entry.get("reason") or "").strip():
            problems.append(f"{where}: no reason")
        if not isinstance(objects, list) or not objects:
            problems.append(f"{where}: objects must be a list of Kind/namespace/name")
            continue
        for obj in objects:
            if not isinstance(obj, str) or not OBJECT_ID.fullmatch(obj):
                problems.append(f"{where}: {obj!r} is not one object's Kind/namespace/name (no patterns)")
        reason = str(entry.get("reason", "")).strip()
        skips.append(Skip(str(entry.get("check")), tuple(map(str, objects)), reason, chart))
    if problems:
        raise ValueError("invalid checkov skips:\n" + "\n".join(f"  {p}" for p in problems))
    return skips


def _skip_reason(check_id: str, oid: str, skips: Iterable[Skip]) -> str | None:
    return next((s.reason for s in skips if s.check == check_id and oid in s.objects), None)


def _checkov_object_id(resource: str) -> str:
    # checkov names kubernetes resources "Kind.namespace.name"
    kind, _, rest = resource.partition(".")
    namespace, _, name = rest.partition(".")
    return f"{kind}/{namespace or '-'}/{name}"


def run_checkov(directory: Path, skips: list[Skip] | None = None) -> list[CheckovFinding]:
    """Scan `directory` (and its release subdirectories) with checkov's Kubernetes checks, offline;
    every failed check, with the reason it is skipped if the skip file names that object."""
    if not CHECKOV.exists():
        raise FileNotFoundError(f"{CHECKOV} not found: run `make venv`")
    skips = load_skips() if skips is None else skips
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    with tempfile.TemporaryDirectory(prefix="checkov-") as scan:
        for path in directory.rglob("*.yaml"):  # the files of the kinds it checks, linked in the same layout
            if path.name.split("--", 1)[0] in CHECKOV_KINDS:
                target = Path(scan) / path.relative_to(directory)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, target)
        command = [str(CHECKOV), "-d", scan, "--framework", "kubernetes", "--skip-download", "-o", "json"]
        proc = subprocess.run(
            [*command, "--quiet", "--compact"], capture_output=True, text=True, env=env, check=False, timeout=600
        )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout or "{}")
    reports = report if isinstance(report, list) else [report]
    findings = []
    for item in reports:
        for failed in (item.get("results") or {}).get("failed_checks", []):
            oid = _checkov_object_id(failed["resource"])
            parts = Path(str(failed.get("file_path", "")).lstrip("/")).parts
            source = parts[0] if len(parts) > 1 else PLATFORM
            reason = _skip_reason(failed["check_id"], oid, skips)
            findings.append(CheckovFinding(failed["check_id"], failed["check_name"], oid, reason, source))
    return sorted(set(findings), key=lambda f: (f.source, f.object_id, f.check_id))
