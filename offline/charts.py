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
import io
import os
import re
import sys
import tarfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import helm_python as helm
import yaml

from components.kit.versions import CHARTS, HelmChart, archive_name
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
    seconds: dict[str, float] = field(default_factory=dict)
    """Time in Helm (values check and render) and in reading what it rendered."""


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
    started = time.perf_counter()
    try:
        source = ChartSource.read(archive)
    except UnreadableDocument as error:  # a values.yaml or Chart.yaml Helm could not load either
        return Rendered(release, "refused", str(error), digest, pinned is not None)
    with helm.Chart.load(archive) as chart:
        problems = source.unknown_values(release.values, f"{chart.name} {chart.version}")
        try:
            chart.validate_schema(dict(release.values))
        except helm.HelmValuesError as error:  # Helm refuses to install it: so does the plan
            reason = " ".join(str(error).split())
            return Rendered(release, "refused", f"values refused by the chart's values.schema.json: {reason}", digest)
        rendered = chart.render(
            dict(release.values), name=release.release, namespace=release.namespace, is_install=True
        )
        crds = [(f"crds/{c['filename'] or c['name']}", c["data"]) for c in chart.crds]
    rendered_at = time.perf_counter()
    try:
        objects = [
            with_namespace(obj, release.namespace)
            for name, text in [*crds, *((k, rendered[k]) for k in sorted(rendered) if not k.endswith("NOTES.txt"))]
            for obj in documents(text, name)
        ]
    except UnreadableDocument as error:
        return Rendered(release, "refused", str(error), digest, pinned is not None)
    detail = "pinned" if pinned else "unpinned: no line in requirements/charts.lock"
    seconds = {"helm": rendered_at - started, "read": time.perf_counter() - rendered_at}
    return Rendered(release, "rendered", detail, digest, pinned is not None, objects, problems, seconds)


def render_all(graph: Graph, cache: Path | None = None, lock: Mapping[str, str] | None = None) -> list[Rendered]:
    cache = cache or cache_dir()
    lock = read_lock() if lock is None else lock
    return [render(release, cache, lock) for release in releases(graph)]


DOCUMENT_SEPARATOR = re.compile(r"(?m)^---[ \t]*(?:#.*)?$")


class KubeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML read as Helm and the API server read it (go-yaml): PyYAML's YAML 1.1 scalars, except that a
    bare `=` is the string "=" (PyYAML's 1.1 'value' tag; CRDs list it in operator enums). libyaml's
    parser when PyYAML has it: the pure-Python one is ~10x slower on charts' megabytes of CRDs."""


KubeLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


class UnreadableDocument(ValueError):
    """A rendered document that is not YAML: the release fails, naming the file and the line."""


def load_yaml(text: str, source: str = "", first_line: int = 1) -> Any:
    """One YAML document read as Kubernetes reads it; an error names `source` and the line."""
    try:
        return yaml.load(text, Loader=KubeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = f"line {first_line + mark.line}" if mark is not None else f"from line {first_line}"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise UnreadableDocument(f"{source or 'document'}: {line}: cannot be read as YAML ({problem})") from None


def documents(text: str, source: str = "") -> list[dict[str, Any]]:
    """The objects in a rendered template, split as Helm splits them (a `---` line may carry a
    comment), each read as the API server reads it; empty documents dropped."""
    found = []
    start, line = 0, 1
    for match in [*DOCUMENT_SEPARATOR.finditer(text), None]:
        end = match.start() if match is not None else len(text)
        part = text[start:end]
        if part.strip():
            document = load_yaml(part, source, line)
            if isinstance(document, dict) and document:
                found.append(document)
        if match is not None:
            line += text.count("\n", start, match.end()) + 1
            start = match.end() + 1
    return found


def with_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    if obj.get("kind") not in CLUSTER_SCOPED:
        obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    return obj


VALUES_PATH = r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)"
PASSED_WHOLE = [
    re.compile(r"\b(?:toYaml|toJson|toPrettyJson)\s+\(?\s*" + VALUES_PATH),
    re.compile(VALUES_PATH + r"\s*\)?\s*\|\s*(?:toYaml|toJson|toPrettyJson)\b"),
    re.compile(r"\brange\s+(?:\$\w+\s*,\s*)?\$\w+\s*:=\s*" + VALUES_PATH),
    re.compile(r"\brange\s+" + VALUES_PATH),
    re.compile(r'"value"\s+' + VALUES_PATH),  # the common tplvalues.render helper: the map rendered whole
]
"""Where a template hands a map on whole (so any key under it reaches the object): `toYaml .Values.x`,
`.Values.x | toYaml`, `range $k, $v := .Values.x`."""
WITH_BLOCK = re.compile(r"\{\{-?\s*with\s+" + VALUES_PATH + r"\s*-?\}\}(.*?)\{\{-?\s*end\b", re.S)
WHOLE_DOT = re.compile(r"\b(?:toYaml|toJson)\s+\.\s*[|})]|\brange\s+\$\w+\s*,\s*\$\w+\s*:=\s*\.\s*-?\}\}")


@dataclass
class ChartSource:
    """What the values check reads of a chart archive: each chart's (and subchart's) own values.yaml as
    written - a key whose default is null exists -, the maps its templates hand on whole, and whether
    it ships values.schema.json (then the schema judges, as it does for Helm)."""

    defaults: dict[str, Any] = field(default_factory=dict)
    free: set[tuple[str, ...]] = field(default_factory=set)
    """Value paths any key may go under."""
    schema_judged: set[tuple[str, ...]] = field(default_factory=set)
    """Where a chart with values.schema.json keeps its values (() for the chart itself)."""

    @classmethod
    def read(cls, archive: Path) -> ChartSource:
        source = cls()
        with tarfile.open(archive) as tar:
            files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
        roots = sorted({name.split("/", 1)[0] for name in files})
        for root in roots:
            source._add(files, root, ())
        return source

    def _add(self, files: Mapping[str, bytes], root: str, prefix: tuple[str, ...]) -> None:
        def text(name: str) -> str:
            return files[f"{root}/{name}"].decode("utf-8", "replace")

        if f"{root}/values.yaml" in files:
            _merge_at(self.defaults, prefix, load_yaml(text("values.yaml"), f"{root}/values.yaml") or {})
        if f"{root}/values.schema.json" in files:
            self.schema_judged.add(prefix)
        for name in files:
            if name.startswith(f"{root}/templates/"):
                self.free |= {(*prefix, *path) for path in passed_whole(files[name].decode("utf-8", "replace"))}
        meta = load_yaml(text("Chart.yaml"), f"{root}/Chart.yaml") if f"{root}/Chart.yaml" in files else {}
        aliases = {d.get("name"): d.get("alias") or d.get("name") for d in (meta or {}).get("dependencies") or []}
        subcharts = {
            name.split("/")[2] for name in files if name.startswith(f"{root}/charts/") and name.count("/") >= 3
        }
        for sub in sorted(subcharts):
            sub_meta = files.get(f"{root}/charts/{sub}/Chart.yaml")
            sub_name = (load_yaml(sub_meta.decode(), sub) or {}).get("name", sub) if sub_meta else sub
            self._add(files, f"{root}/charts/{sub}", (*prefix, str(aliases.get(sub_name, sub_name))))
        for name in sorted(files):
            if name.startswith(f"{root}/charts/") and name.count("/") == 2 and name.endswith(".tgz"):
                with tarfile.open(fileobj=io.BytesIO(files[name])) as nested:
                    inner = {m.name: nested.extractfile(m).read() for m in nested.getmembers() if m.isfile()}  # type: ignore[union-attr]
                for inner_root in sorted({n.split("/", 1)[0] for n in inner}):
                    inner_meta = load_yaml(inner[f"{inner_root}/Chart.yaml"].decode(), name) or {}
                    sub_name = str(inner_meta.get("name", inner_root))
                    self._add(inner, inner_root, (*prefix, str(aliases.get(sub_name, sub_name))))

    def unknown_values(self, values: Mapping[str, Any], chart: str) -> list[str]:
        """Keys the release sets that the chart cannot read (Helm silently ignores them). A key is
        known where its chart's values.yaml has it (null included); under a map the templates hand on
        whole, a map left empty or null, `global`, or a chart with values.schema.json, any key goes."""
        problems: list[str] = []

        def walk(given: Mapping[str, Any], known: Any, path: tuple[str, ...]) -> None:
            for key, value in given.items():
                where = (*path, str(key))
                if key == "global" or self._anything_goes(where):
                    continue
                if not isinstance(known, Mapping) or not known:
                    continue  # an empty or null default: a free-form map
                if key not in known:
                    hint = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.6)
                    problems.append(
                        f"values.{'.'.join(where)}: chart {chart} has no such value"
                        + (f" (did you mean {'.'.join([*path, hint[0]])}?)" if hint else "")
                    )
                elif isinstance(value, Mapping):
                    walk(value, known[key], where)

        walk(values, self.defaults, ())
        return problems

    def _anything_goes(self, path: tuple[str, ...]) -> bool:
        return any(path[: len(p)] == p for p in self.free) or any(path[: len(p)] == p for p in self.schema_judged)


def passed_whole(template: str) -> set[tuple[str, ...]]:
    """The value paths a template hands on whole."""
    found = {tuple(m.group(1).lstrip(".").split(".")) for pattern in PASSED_WHOLE for m in pattern.finditer(template)}
    for block in WITH_BLOCK.finditer(template):
        if WHOLE_DOT.search(block.group(2)):
            found.add(tuple(block.group(1).lstrip(".").split(".")))
    return found


def _merge_at(tree: dict[str, Any], prefix: tuple[str, ...], values: Any) -> None:
    node = tree
    for part in prefix:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    if isinstance(values, Mapping):
        for key, value in values.items():
            if isinstance(value, Mapping) and isinstance(node.get(key), dict):
                _merge_at(node, (str(key),), value)
            else:
                node.setdefault(key, value)


# --------------------------------------------------------------------------- make charts


def pull_all(charts: Iterable[HelmChart], cache: Path, lock_path: Path = LOCK) -> int:
    """Pull every pinned chart missing from the cache and record its digest; 1 if any failed."""
    cache.mkdir(parents=True, exist_ok=True)
    lock = read_lock(lock_path)
    status = 0
    for chart in charts:
        name = chart.archive
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
