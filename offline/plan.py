"""`make plan STACK=<stack>`: evaluate a stack offline and write what a reviewer needs.

    build/plan/<stack>/resources.json   every resource: type, name, parent, inputs, options
    build/plan/<stack>/manifests/       every Kubernetes object (YAML); manifests/<release>/ what
                                        each Helm release renders (real Helm, pinned chart archives)
    build/plan/<stack>/report.md        verdict, changes, violations, protected resources, details
    build/plan/<stack>/review.md        the report's first part (what the PR comment shows)

Every object - the platform's own and each chart's - is validated strictly (Kubernetes' schema,
the real CRD schemas), scanned by checkov and judged by the policy pack. With `--base DIR` (an
earlier plan) the report says what the change creates, updates, replaces and deletes.

Exits 1 when a check fails: an invalid object, a checkov finding the skip file does not name, a
mandatory policy, a chart archive that is not the pinned one, a value a chart does not define, a
protected resource deleted or replaced, or (with --require-charts) a chart not rendered or not
pinned. Exits 2 on an invalid stack config (then nothing is written). Secrets are redacted
everywhere. What could not be checked is listed, and the verdict says so: never a silent PASS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.config import ConfigError, PlatformConfig
from components.config.loader import check_stack
from components.kit import guardrails, llm
from components.kit.gpu import gpu_spec
from components.kit.versions import KUBERNETES_VERSION
from components.testing import Graph, ProgramFailed, Resource, Secret, StackFile, redact, run_program, unwrap
from offline import custom_resources, diff, manifests
from offline.charts import Release, Rendered, render_all
from offline.pack_config import pack_config
from offline.policy_run import PolicyOutcome, evaluate, load_pack_config
from policies.rules import ALL_POLICIES

ROOT = Path(__file__).resolve().parent.parent
SUMMARY_HEADING = "## Summary"
"""Where the reviewer's part of the report (review.md: verdict, changes, violations, protected) ends."""


@dataclass
class PlanResult:
    graph: Graph
    schema: list[manifests.SchemaResult]
    checkov: list[manifests.CheckovFinding]
    policies: PolicyOutcome
    charts: list[Rendered] = field(default_factory=list)
    changes: diff.Diff | None = None
    base: str = ""
    """The plan the changes are against."""
    require_charts: bool = False
    config_seconds: float = 0.0
    """How long reading and checking the stack's config took (YAML, model, AWS data)."""
    seconds: float = 0.0
    """The whole plan, config to report."""
    unchecked: tuple[str, ...] = ()
    """Config checks the plan could not make (and so did not pass)."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (config, program, charts, schema, checkov, policies...), in order."""
    llm_sizing: list[tuple[str, str, llm.Sizing]] = field(default_factory=list)
    """(endpoint, model, its sizing on its pool) of each LLM endpoint the config declares."""
    skips: list[manifests.Skip] = field(default_factory=list)
    """The checkov skip file the scan used (offline/checkov_skips.yaml)."""

    @property
    def releases(self) -> list[Release]:
        return [r.release for r in self.charts]

    @property
    def failures(self) -> list[str]:
        found = [f"schema: {r.object_id} ({r.source}): {r.detail}" for r in self.schema if r.ok is False]
        found += [
            f"schema: {r.object_id}: {r.detail} (pin the CRD's schema in offline/crd_schemas/)"
            for r in self.schema
            if r.ok is None and r.source == manifests.PLATFORM
        ]
        found += [
            f"checkov: {f.check_id} {f.object_id} ({f.source}): {f.check_name}"
            for f in self.checkov
            if f.skip_reason is None
        ]
        found += [f"policy {v.policy} ({v.resource}): {v.message}" for v in self.policies.mandatory()]
        for rendered in self.charts:
            name = rendered.release.release
            if rendered.status == "refused":
                found.append(f"chart {name}: {rendered.detail}")
            found += [f"chart {name}: {problem}" for problem in rendered.problems]
            if self.require_charts and rendered.status == "not rendered":
                found.append(f"chart {name}: not rendered ({rendered.detail}) and charts are required")
            if self.require_charts and rendered.status == "rendered" and not rendered.pinned:
                found.append(f"chart {name}: {rendered.release.archive} {rendered.detail} and charts are required")
        if self.changes is not None:
            found += [
                f"change: {c.action} of protected {c.type} {c.name}" + (f" ({c.reason})" if c.reason else "")
                for c in self.changes.protected_destroyed()
            ]
            found += [f"change: {c.type} {c.name}: {c.reason}" for c in self.changes.collisions()]
        return found

    @property
    def not_checked(self) -> list[str]:
        """What the plan could not look at: reported, never passed."""
        found = [f"chart {r.release.release}: {r.detail}" for r in self.charts if r.status == "not rendered"]
        found += [
            f"{r.object_id} ({r.source}): {r.detail}"
            for r in self.schema
            if r.ok is None and r.source != manifests.PLATFORM
        ]
        found += [f"config: {u}" for u in self.unchecked]
        found += [
            f"{r.object_id} ({r.source}): CEL rule not evaluated - {rule}" for r in self.schema for rule in r.unchecked
        ]
        found += [f"policy {n}" for n in self.policies.not_run]
        return found

    @property
    def verdict(self) -> str:
        if self.failures:
            return "FAIL"
        missing = sum(r.status == "not rendered" for r in self.charts)
        unvalidated = sum(r.ok is None for r in self.schema)
        notes = [f"{missing} charts not rendered"] if missing else []
        notes += [f"{unvalidated} objects not validated"] if unvalidated else []
        return "PASS" + (f" ({', '.join(notes)})" if notes else "")


def config_error_of(error: BaseException) -> ConfigError | None:
    """The ConfigError behind the RunError `__main__.py` raises for an invalid config."""
    while error is not None and not isinstance(error, ConfigError):
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return error


def kubernetes_version(graph: Graph) -> str:
    clusters = graph.of_type("aws:eks/cluster:Cluster")
    if clusters:
        return str(clusters[0].inputs["version"])
    return KUBERNETES_VERSION


def plan(
    stack: str,
    *,
    stack_file: Path | None = None,
    policy_config: Path | None = None,
    out: Path | None = None,
    base: Path | None = None,
    chart_cache: Path | None = None,
    chart_lock: Mapping[str, str] | None = None,
    require_charts: bool = False,
    notice: str = "",
) -> PlanResult:
    """Evaluate `stack` and write its plan directory; raises ConfigError on a bad config. The policy
    pack runs with the config generated from the stack (offline/pack_config.py) unless one is given."""
    stack_file = stack_file or ROOT / f"Pulumi.{stack}.yaml"
    out = out or ROOT / "build" / "plan" / stack
    shutil.rmtree(out, ignore_errors=True)  # a failed plan must not leave an older one looking current

    started = time.perf_counter()
    loaded = StackFile.load(stack_file)
    platform = check_stack(loaded.config, loaded.secret_keys)
    config_seconds = time.perf_counter() - started
    try:
        graph = run_program(ROOT / "__main__.py", config=loaded.config, secret_keys=loaded.secret_keys, stack=stack)
    except ProgramFailed as failure:
        config_error = config_error_of(failure.error)
        if config_error is None:
            raise
        raise config_error from None
    program_seconds = time.perf_counter() - started - config_seconds

    if policy_config is not None:
        pack, pack_source = load_pack_config(policy_config), policy_config.name
    else:
        pack, pack_source = (
            pack_config(platform),
            "generated from the stack: levels of its environment + its GPU budget",
        )
    result = check(
        graph,
        out,
        pack=pack,
        base=base,
        chart_cache=chart_cache,
        chart_lock=chart_lock,
        require_charts=require_charts,
    )
    result.config_seconds = config_seconds
    result.phases = {"config": config_seconds, "program (mocks)": program_seconds, **result.phases}
    result.unchecked = tuple(platform.unchecked())
    result.llm_sizing = llm_sizing(platform)
    report_started = time.perf_counter()
    result.seconds = report_started - started
    report = render_report(stack, result, pack_source, notice=notice)
    (out / "report.md").write_text(report)
    (out / "review.md").write_text(report.split(SUMMARY_HEADING, 1)[0])
    result.phases["report"] = time.perf_counter() - report_started
    result.seconds = time.perf_counter() - started
    return result


def check(
    graph: Graph,
    out: Path,
    *,
    pack: Mapping[str, Any],
    base: Path | None = None,
    chart_cache: Path | None = None,
    chart_lock: Mapping[str, str] | None = None,
    require_charts: bool = False,
) -> PlanResult:
    """Every check over a recorded graph, its files written to `out` (all but the report)."""
    phases: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + now - clock
        clock = now

    out.mkdir(parents=True, exist_ok=True)
    entries = [resource_entry(r) for r in graph]
    (out / "pack-config.json").write_text(json.dumps(pack, indent=2) + "\n")
    (out / "resources.json").write_text(json.dumps(entries, indent=2, default=str) + "\n")
    version = kubernetes_version(graph)
    objects, _ = manifests.write_manifests(graph, out / "manifests")
    lap("resources.json + platform manifests")
    rendered = render_all(graph, chart_cache, chart_lock)
    phases["charts: Helm render"] = sum(r.seconds.get("helm", 0.0) for r in rendered)
    phases["charts: YAML read"] = sum(r.seconds.get("read", 0.0) for r in rendered)
    clock = time.perf_counter()
    for release in rendered:
        write_objects(release.objects, out / "manifests" / release.release.release)
    lap("charts: manifests written")
    crds = {}  # what the cluster will have, where a chart installs it
    for release in rendered:
        crds.update(
            custom_resources.from_crds(release.objects, f"chart {release.release.archive.removesuffix('.tgz')}")
        )
    schema = manifests.validate_objects(objects, version, crds=crds)
    for release in rendered:
        schema += manifests.validate_objects(release.objects, version, source=release.release.release, crds=crds)
    lap("schema + CEL")
    skips = manifests.load_skips()
    scanned = manifests.run_checkov(out / "manifests", skips) if objects or any(r.objects for r in rendered) else []
    lap("checkov")
    everything = Graph([*graph, *chart_resources(rendered)], graph.outputs)
    policies = evaluate(everything, ALL_POLICIES, pack)
    lap("policies")
    changes = diff.compare(diff.load(base), entries) if base is not None else None
    lap("changes")
    return PlanResult(
        graph=graph,
        schema=schema,
        checkov=scanned,
        policies=policies,
        charts=rendered,
        changes=changes,
        base=str(base or ""),
        require_charts=require_charts,
        phases=phases,
        skips=skips,
    )


def write_objects(objects: Iterable[Mapping[str, Any]], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        (directory / manifests.file_name(obj)).write_text(manifests.dump_yaml(dict(obj)))


def chart_resources(rendered: Iterable[Rendered]) -> list[Resource]:
    """Rendered objects as the resources the pack's Kubernetes rules judge (named `<release>:<object>`,
    typed as pulumi-kubernetes types them: `kubernetes:core/v1:Pod`, `kubernetes:apps/v1:Deployment`)."""
    found = []
    for release in rendered:
        name = release.release.release
        for obj in release.objects:
            api = str(obj.get("apiVersion", ""))
            type_ = f"kubernetes:{api if '/' in api else 'core/' + api}:{obj.get('kind')}"
            oid = manifests.object_id(obj)
            urn = f"urn:pulumi:chart::{name}::{type_}::{oid}"
            found.append(Resource(urn, type_, f"{name}:{oid}", None, True, dict(obj), {"protect": False}))
    return found


def resource_entry(resource: Resource) -> dict[str, object]:
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "parent": resource.parent,
        "custom": resource.custom,
        "inputs": manifests.normalise(redact(resource.inputs)),
        "secrets": secret_digests(resource.inputs),
        "options": resource.options,
    }


def secret_digests(value: Any, path: str = "") -> dict[str, str]:
    """A digest of each secret leaf (by its path in diff.flatten's form), so two plans can tell a changed
    secret from an unchanged one. Offline, secrets are stand-ins (stack secrets are their ciphertext's
    digest, generated passwords are the mocks'): the digests reveal nothing of a real value."""
    if isinstance(value, Secret):
        return {
            leaf: hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()[:16]
            for leaf, item in diff.flatten(manifests.normalise(unwrap(value.value)), path).items()
        }
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            found.update(secret_digests(item, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(secret_digests(item, f"{path}[{index}]"))
    return found


def gpu_pools(graph: Graph) -> list[dict[str, Any]]:
    """Each GPU pool the plan declares - managed node groups and Karpenter NodePools, read the way the
    policy pack reads them (guardrails.declared_gpu_pool) - its GPUs from AWS's instance type data."""
    pools = []
    for resource in graph.resources:
        pool = guardrails.declared_gpu_pool(resource.type, resource.name, resource.inputs)
        if pool is None:
            continue
        specs = sorted({spec.describe() for t in pool.instance_types if (spec := gpu_spec(t))})
        karpenter = pool.gpu_limit is not None or resource.type == guardrails.NODE_POOL_TYPE
        pools.append(
            {
                "name": pool.name,
                "provisioner": "Karpenter NodePool" if karpenter else "managed node group",
                "instance_types": list(pool.instance_types),
                "capacity": pool.capacity_type,
                "nodes": "on demand"
                if karpenter
                else f"{int(resource.get('scalingConfig.minSize', 0))}-{pool.max_size}",
                "gpus": ", ".join(specs) or "any GPU type",
                "max_gpus": pool.max_gpus if not karpenter or pool.gpu_limit is not None else "unbounded",
            }
        )
    return pools


def llm_sizing(platform: PlatformConfig) -> list[tuple[str, str, llm.Sizing]]:
    """Each LLM endpoint measured against its pool's smallest instance type (components/kit/llm.py)."""
    pools = {p.name: p for p in platform.gpu_pools}
    found = []
    for endpoint in platform.llm_endpoints:
        sizing = llm.size(endpoint.serving, pools[endpoint.gpu_pool].instance_types)
        source = endpoint.model.hugging_face
        model = (
            f"{source.repository}@{source.revision[:12]}" if source else f"data bucket: {endpoint.model.bucket_path}"
        )
        if sizing is not None:
            found.append((endpoint.name, model, sizing))
    return found


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    rows = list(rows)
    if not rows:
        return ["None."]
    cells = [[str(c).replace("|", "\\|").replace("\n", " ") for c in row] for row in rows]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *["| " + " | ".join(c) + " |" for c in cells]]


def render_report(stack: str, result: PlanResult, pack_source: str, *, notice: str = "") -> str:
    """Verdict, changes, violations and protected resources first; per-object ok rows as counts."""
    graph = result.graph
    pools = gpu_pools(graph)
    failed_checkov = [f for f in result.checkov if f.skip_reason is None]
    skipped = [f for f in result.checkov if f.skip_reason]
    protected = [r for r in graph if r.protect]
    lines = [f"# Plan: `{stack}`", ""]
    if notice.strip():
        lines += [notice.strip(), ""]
    lines += [f"**Verdict: {result.verdict}**", ""]
    if result.failures:
        lines += ["Fails because:", "", *[f"- {f}" for f in result.failures], ""]
    if result.not_checked:
        lines += ["Not checked (so not passed):", "", *[f"- {n}" for n in result.not_checked], ""]
    lines += [
        "Evaluated offline with Pulumi mocks: every resource the program declares, with its inputs, and every "
        "object its Helm releases render; no cloud call was made. Secrets are shown as `[secret]`.",
        "",
    ]
    if result.changes is not None:
        lines += diff.render(result.changes, result.base)
    lines += [
        "## Violations",
        "",
        f"Policy pack ({pack_source}):",
        "",
        *_table(
            ("policy", "level", "resource", "message"),
            ((v.policy, v.level, v.resource, v.message) for v in result.policies.violations),
        ),
        "",
        "Schema (strict):",
        "",
        *_table(
            ("object", "source", "problem"), ((r.object_id, r.source, r.detail) for r in result.schema if r.ok is False)
        ),
        "",
        "checkov (not in offline/checkov_skips.yaml):",
        "",
        *_table(
            ("check", "object", "source"),
            ((f"{f.check_id} {f.check_name}", f.object_id, f.source) for f in failed_checkov),
        ),
        "",
        "Charts:",
        "",
        *_table(
            ("release", "problem"),
            [(r.release.release, p) for r in result.charts for p in r.problems]
            + [(r.release.release, r.detail) for r in result.charts if r.status == "refused"],
        ),
        "",
        "## Protected resources",
        "",
        f"{len(protected)} resources are protected (Pulumi `protect`: deleting or replacing one fails the plan).",
        "",
        *_table(("type", "resource"), ((f"`{r.type}`", r.name) for r in protected)),
        "",
        SUMMARY_HEADING,
        "",
        "| check | result |",
        "|---|---|",
        f"| resources declared | {len(graph)} |",
        f"| Helm releases rendered | {sum(r.status == 'rendered' for r in result.charts)}/{len(result.charts)} |",
        *[
            f"| objects of {source} valid (Kubernetes {kubernetes_version(graph)} schema / real CRD schemas, strict) | "
            f"{counts[True]}/{sum(counts.values())}"
            + (f", {counts[None]} not validated" if counts[None] else "")
            + " |"
            for source, counts in _schema_counts(result.schema).items()
        ],
        f"| checkov (kubernetes) | {len(failed_checkov)} failed, {len(skipped)} skipped with a reason |",
        f"| policy violations | {len(result.policies.mandatory())} mandatory, "
        f"{len(result.policies.violations) - len(result.policies.mandatory())} advisory |",
        f"| GPU pools | {len(pools)}, up to {sum(p['max_gpus'] for p in pools if isinstance(p['max_gpus'], int))} GPUs |",
        f"| stack config checked (YAML 1.2, model, AWS data) | in {result.config_seconds:.2f} s; "
        f"{len(result.unchecked)} check(s) not made |",
        f"| plan took | {result.seconds:.1f} s ({', '.join(f'{k} {v:.1f}' for k, v in result.phases.items() if v >= 0.05)}) |",
        f"| verdict | {result.verdict} |",
        "",
        "## GPU pools",
        "",
        "GPU counts, models and memory from AWS's instance type data.",
        "",
        *_table(
            ("pool", "provisioner", "instance types", "GPUs per node (model, memory)", "capacity", "nodes", "max GPUs"),
            (
                (
                    p["name"],
                    p["provisioner"],
                    ", ".join(map(str, p["instance_types"])),
                    p["gpus"],
                    p["capacity"],
                    p["nodes"],
                    p["max_gpus"],
                )
                for p in pools
            ),
        ),
        "",
        "## LLM endpoints",
        "",
        "Each replica against the smallest instance type of its pool (components/kit/llm.py: weights + KV cache "
        "for the context and concurrency asked, over the tensor-parallel GPUs, + a runtime reserve, within the GPU "
        "memory vLLM may use); GPU memory and instance store from AWS's instance type data.",
        "",
        *_table(
            ("endpoint", "model", "on", "GPUs per replica", "needed", "offered", "weights cached", "fits"),
            (
                (
                    name,
                    model,
                    f"{s.instance_type} ({s.gpus_per_node} GPU{'s' if s.gpus_per_node > 1 else ''})",
                    s.serving.tensor_parallel,
                    s.breakdown(),
                    s.offer(),
                    f"{s.disk_gib:.1f} of {s.disk_offered_gib:.0f} GiB of NVMe",
                    "yes" if s.fits_memory and s.fits_gpus else "NO",
                )
                for name, model, s in result.llm_sizing
            ),
        ),
        "",
        "## Helm releases",
        "",
        "Rendered by Helm's own library from the chart cache (`make charts`); each archive's sha256 is checked "
        "against requirements/charts.lock. Objects in manifests/<release>/; how their findings end, in the "
        "next section.",
        "",
        *_table(
            (
                "release",
                "namespace",
                "chart",
                "version",
                "status",
                "objects",
                "checkov failing",
                "checkov accepted",
                "pack violations",
            ),
            (
                (
                    r.release.release,
                    r.release.namespace,
                    r.release.chart,
                    r.release.version,
                    f"{r.status}: {r.detail}" if r.detail else r.status,
                    len(r.objects),
                    sum(f.source == r.release.release and f.skip_reason is None for f in result.checkov),
                    sum(f.source == r.release.release and f.skip_reason is not None for f in result.checkov),
                    sum(v.resource.startswith(f"{r.release.release}:") for v in result.policies.violations),
                )
                for r in result.charts
            ),
        ),
        "",
        "## How each chart's findings end",
        "",
        "Fixed through the chart's values (set in the component that installs it) or judged by a pack rule "
        "(a controller that starts pods is judged by who creates what it reconciles; a variable naming a Secret "
        "is not a secret): then there is no finding. Otherwise accepted by object, with its reason "
        "(offline/checkov_skips.yaml entries naming the chart; the pack's in policies/config/exceptions.json), "
        "or failing above.",
        "",
        *_table(("release", "check", "object", "accepted because", "in this plan"), _chart_decisions(result)),
        "",
        "## checkov findings accepted",
        "",
        *_table(
            ("check", "objects", "reason"),
            (
                (check, ", ".join(sorted(f"{f.object_id}" for f in found)), found[0].skip_reason)
                for check, found in _by_check(skipped).items()
            ),
        ),
        "",
        "## Resources by type",
        "",
        *_table(("type", "count"), ((f"`{t}`", n) for t, n in sorted(Counter(r.type for r in graph).items()))),
        "",
        "## Stack outputs",
        "",
        "```json",
        json.dumps(manifests.normalise(redact(graph.outputs)), indent=2, default=str),
        "```",
        "",
    ]
    return "\n".join(lines)


def _chart_decisions(result: PlanResult) -> list[tuple[str, str, str, str, str]]:
    """Each named checkov acceptance of each release's chart, and what this plan made of it."""
    found = {(f.check_id, f.object_id) for f in result.checkov}
    rows = []
    for rendered in result.charts:
        for skip in (s for s in result.skips if s.chart == rendered.release.archive):
            for obj in skip.objects:
                if rendered.status != "rendered":
                    status = f"unchecked ({rendered.status})"
                else:
                    status = "found, accepted" if (skip.check, obj) in found else "no such finding"
                rows.append((rendered.release.release, skip.check, obj, skip.reason, status))
    return rows


def _schema_counts(results: Iterable[manifests.SchemaResult]) -> dict[str, Counter[bool | None]]:
    counts: dict[str, Counter[bool | None]] = {}
    for r in results:
        counts.setdefault(r.source, Counter())[r.ok] += 1
    return counts


def _by_check(findings: Iterable[manifests.CheckovFinding]) -> dict[str, list[manifests.CheckovFinding]]:
    grouped: dict[str, list[manifests.CheckovFinding]] = {}
    for f in findings:
        grouped.setdefault(f"{f.check_id} {f.check_name}", []).append(f)
    return dict(sorted(grouped.items()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make plan", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--stack-file", type=Path, help="another stack file to evaluate under that name")
    parser.add_argument(
        "--policy-config",
        type=Path,
        help="policy pack config (default: generated from the stack, offline/pack_config.py)",
    )
    parser.add_argument("--out", type=Path, help="output directory (default: build/plan/<stack>)")
    parser.add_argument("--base", type=Path, help="an earlier plan directory: report what changes against it")
    parser.add_argument(
        "--chart-cache", type=Path, help="chart archives (default: CHART_CACHE, else .cache/charts; make charts)"
    )
    parser.add_argument(
        "--require-charts",
        action="store_true",
        default=os.environ.get("REQUIRE_CHARTS", "") not in ("", "0"),
        help="fail unless every chart is rendered from a pinned archive (default: REQUIRE_CHARTS=1)",
    )
    parser.add_argument("--notice", type=Path, help="markdown put at the top of the report (CI: changes to the gate)")
    args = parser.parse_args(argv)
    stack_file = args.stack_file or ROOT / f"Pulumi.{args.stack}.yaml"
    if not stack_file.exists():
        print(f"no stack file {stack_file}", file=sys.stderr)
        return 2
    if args.base is not None and not (args.base / "resources.json").exists():
        print(
            f"--base {args.base}: not a plan directory (no resources.json); make plan OUT=<dir> writes one",
            file=sys.stderr,
        )
        return 2
    try:
        result = plan(
            args.stack,
            stack_file=stack_file,
            policy_config=args.policy_config,
            out=args.out,
            base=args.base,
            chart_cache=args.chart_cache,
            require_charts=args.require_charts,
            notice=args.notice.read_text() if args.notice else "",
        )
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    out = args.out or ROOT / "build" / "plan" / args.stack
    print(f"plan {args.stack}: {len(result.graph)} resources -> {out} ({result.seconds:.1f} s)")
    if result.changes is not None:
        print(f"changes: {result.changes.summary()}")
    for item in result.not_checked:
        print(f"  NOT CHECKED {item}", file=sys.stderr)
    for failure in result.failures:
        print(f"  FAIL {failure}", file=sys.stderr)
    print(f"verdict: {result.verdict}")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
