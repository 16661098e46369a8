"""Helm releases rendered by Helm's own library (helm-python-sdk), offline, from a cache of pinned
chart archives - so the plan sees every object a release would install, not a chart name.

The cache is a directory of `helm pull`-style archives named `<chart>-<version>.tgz`:
`.cache/charts` by default, `CHART_CACHE` to override. `make charts` fills it where the network
allows (the same library's pull) and records each archive's sha256 in `requirements/charts.lock`
(`<archive-name>  <sha256>`, the sha256sum format). A plan refuses an archive whose digest differs
from its line, renders (and reports as unpinned) one with no line yet, and reports a chart missing
from the cache as not rendered - never as passed.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import helm_python as helm
import yaml

from components.kit.versions import CHARTS, HelmChart
from components.testing import Graph, redact
from offline.manifests import normalise

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = ROOT / ".cache" / "charts"
LOCK = ROOT / "requirements" / "charts.lock"

CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "StorageClass",
        "IngressClass",
        "PersistentVolume",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "APIService",
        "ClusterIssuer",
        "NodePool",
        "EC2NodeClass",
        "ClusterServingRuntime",
        "KnativeServing",
    }
)
"""Kinds without a namespace (the rest get the release's namespace, as Helm applies them)."""

Status = Literal["rendered", "not rendered", "refused"]


def cache_dir() -> Path:
    return Path(os.environ.get("CHART_CACHE") or DEFAULT_CACHE)


def chart_name(chart: str) -> str:
    """The chart's name: the last segment of an OCI reference, or the name itself."""
    return chart.rstrip("/").rsplit("/", 1)[-1]


def archive_name(chart: str, version: str) -> str:
    return f"{chart_name(chart)}-{version}.tgz"


def read_lock(path: Path = LOCK) -> dict[str, str]:
    """archive name -> sha256, from `<archive>  <sha256>` lines (sha256sum's format)."""
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            found[name.strip().lstrip("*")] = digest
    return found


def write_lock_line(name: str, digest: str, path: Path = LOCK) -> None:
    entries = read_lock(path)
    entries[name] = digest
    header = "# sha256 of every chart archive the plan renders (make charts writes them; make plan checks them).\n"
    path.write_text(header + "".join(f"{d}  {n}\n" for n, d in sorted(entries.items())))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Release:
    """A Helm release the program declares, as the plan records it."""

    release: str
    namespace: str
    chart: str
    version: str
    repository: str | None
    values: Mapping[str, Any]

    @property
    def archive(self) -> str:
        return archive_name(self.chart, self.version)


@dataclass
class Rendered:
    release: Release
    status: Status
    detail: str = ""
    """Why it was not rendered or refused; for a rendered chart, whether it is pinned."""
    digest: str | None = None
    pinned: bool = False
    objects: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Errors in what the release asks of the chart (values it does not define...)."""


def releases(graph: Graph) -> list[Release]:
    found = []
    for resource in graph.of_type("kubernetes:helm.sh/v3:Release"):
        inputs: dict[str, Any] = redact(resource.inputs)  # a secret value renders as [secret]
        found.append(
            Release(
                release=str(inputs.get("name", resource.name)),
                namespace=str(inputs.get("namespace", "default")),
                chart=str(inputs.get("chart")),
                version=str(inputs.get("version")),
                repository=(inputs.get("repositoryOpts") or {}).get("repo"),
                values=normalise(inputs.get("values") or {}),  # charts print whole numbers as integers
            )
        )
    return found


def render(release: Release, cache: Path, lock: Mapping[str, str]) -> Rendered:
    archive = cache / release.archive
    if not archive.exists():
        return Rendered(release, "not rendered", f"{release.archive} is not in the chart cache {cache} (make charts)")
    digest = sha256(archive)
    pinned = lock.get(release.archive)
    if pinned is not None and pinned != digest:
        return Rendered(
            release,
            "refused",
            f"{release.archive} has sha256 {digest}, requirements/charts.lock says {pinned}: not the pinned chart",
            digest,
        )
    with helm.Chart.load(archive) as chart:
        problems = unknown_values(release.values, chart.merge_values({}), chart.name, chart.version)
        try:
            chart.validate_schema(dict(release.values))
        except helm.HelmValuesError as error:
            problems.append(f"values: {error}")
        rendered = chart.render(
            dict(release.values), name=release.release, namespace=release.namespace, is_install=True
        )
        crds = [c["data"] for c in chart.crds]
    objects = [
        with_namespace(obj, release.namespace)
        for text in [*crds, *(rendered[k] for k in sorted(rendered) if not k.endswith("NOTES.txt"))]
        for obj in documents(text)
    ]
    detail = "pinned" if pinned else "unpinned: no line in requirements/charts.lock"
    return Rendered(release, "rendered", detail, digest, pinned is not None, objects, problems)


def render_all(graph: Graph, cache: Path | None = None, lock: Mapping[str, str] | None = None) -> list[Rendered]:
    cache = cache or cache_dir()
    lock = read_lock() if lock is None else lock
    return [render(release, cache, lock) for release in releases(graph)]


DOCUMENT_SEPARATOR = re.compile(r"(?m)^---[ \t]*(?:#.*)?$")


def documents(text: str) -> list[dict[str, Any]]:
    """The objects in a rendered template, split as Helm splits them (a `---` line may carry a
    comment); empty documents dropped."""
    found = []
    for part in DOCUMENT_SEPARATOR.split(text):
        if not part.strip():
            continue
        document = yaml.safe_load(part)
        if isinstance(document, dict) and document:
            found.append(document)
    return found


def with_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    if obj.get("kind") not in CLUSTER_SCOPED:
        obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    return obj


def unknown_values(values: Mapping[str, Any], defaults: Mapping[str, Any], chart: str, version: str) -> list[str]:
    """Keys the release sets that the chart does not define (Helm silently ignores them). A map the
    chart leaves empty (`{}` or null - podAnnotations, nodeSelector) is free-form; `global` is shared."""
    problems: list[str] = []

    def walk(given: Mapping[str, Any], known: Mapping[str, Any], path: str) -> None:
        for key, value in given.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in known:
                if path == "" and key == "global":
                    continue
                hint = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.6)
                problems.append(
                    f"values.{where}: chart {chart} {version} has no such value"
                    + (f" (did you mean {'.'.join([*path.split('.'), hint[0]]).lstrip('.')}?)" if hint else "")
                )
            elif isinstance(value, Mapping) and isinstance(known[key], Mapping) and known[key]:
                walk(value, known[key], where)

    walk(values, defaults, "")
    return problems


# --------------------------------------------------------------------------- make charts


def pull_all(charts: Iterable[HelmChart], cache: Path, lock_path: Path = LOCK) -> int:
    """Pull every pinned chart missing from the cache and record its digest; 1 if any failed."""
    cache.mkdir(parents=True, exist_ok=True)
    lock = read_lock(lock_path)
    status = 0
    for chart in charts:
        name = archive_name(chart.chart, chart.version)
        target = cache / name
        if not target.exists():
            try:
                if chart.repo:
                    helm.pull(chart.chart, repo_url=chart.repo, version=chart.version, destination=cache)
                else:
                    helm.pull(chart.chart, version=chart.version, destination=cache)
            except helm.HelmError as error:
                print(f"{name}: could not pull: {error}", file=sys.stderr)
                status = 1
                continue
        digest = sha256(target)
        if name in lock and lock[name] != digest:
            print(f"{name}: sha256 {digest} differs from requirements/charts.lock ({lock[name]})", file=sys.stderr)
            status = 1
            continue
        if name not in lock:
            write_lock_line(name, digest, lock_path)
        print(f"{name}  {digest}")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make charts", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", type=Path, default=None, help="chart cache (default: CHART_CACHE or .cache/charts)")
    args = parser.parse_args(argv)
    return pull_all(CHARTS, args.cache or cache_dir())


if __name__ == "__main__":
    sys.exit(main())
