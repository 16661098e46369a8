"""`make plan STACK=<stack>`: evaluate a stack offline and write what a reviewer needs.

    build/plan/<stack>/resources.json   every resource: type, name, parent, inputs, options
    build/plan/<stack>/manifests/       every Kubernetes object (YAML) and Helm release
    build/plan/<stack>/report.md        resources by type, GPU pools, validation results

Exits 1 when a Kubernetes object fails its schema, checkov finds an issue the skip file
does not explain, or a mandatory policy is violated; exits 2 on an invalid stack config
(then nothing is written). Secrets are redacted everywhere.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from components.config import ConfigError
from components.config.loader import check_stack
from components.gpu import gpu_spec, gpus_per_node
from components.testing import Graph, ProgramFailed, Resource, StackFile, redact, run_program
from components.versions import KUBERNETES_VERSION
from offline import manifests
from offline.pack_config import pack_config
from offline.policy_run import PolicyOutcome, evaluate, load_pack_config
from policies.rules import ALL_POLICIES

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PlanResult:
    graph: Graph
    schema: list[manifests.SchemaResult]
    checkov: list[manifests.CheckovFinding]
    policies: PolicyOutcome
    releases: list[dict[str, object]]
    config_seconds: float = 0.0
    """How long reading and checking the stack's config took (YAML, model, AWS data)."""
    unchecked: tuple[str, ...] = ()
    """Config checks the plan could not make (and so did not pass)."""

    @property
    def failures(self) -> list[str]:
        found = [f"schema: {r.object_id}: {r.detail}" for r in self.schema if not r.ok]
        found += [f"checkov: {f.check_id} {f.object_id}: {f.check_name}" for f in self.checkov if f.skip_reason is None]
        found += [f"policy {v.policy} ({v.resource}): {v.message}" for v in self.policies.mandatory()]
        return found


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
    stack: str, *, stack_file: Path | None = None, policy_config: Path | None = None, out: Path | None = None
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

    if policy_config is not None:
        pack, pack_source = load_pack_config(policy_config), policy_config.name
    else:
        pack, pack_source = (
            pack_config(platform),
            "generated from the stack: levels of its environment + its GPU budget",
        )
    out.mkdir(parents=True)
    (out / "pack-config.json").write_text(json.dumps(pack, indent=2) + "\n")
    (out / "resources.json").write_text(json.dumps([_resource_entry(r) for r in graph], indent=2, default=str) + "\n")
    objects, releases = manifests.write_manifests(graph, out / "manifests")
    result = PlanResult(
        graph=graph,
        schema=manifests.validate_objects(objects, kubernetes_version(graph)),
        checkov=manifests.run_checkov(out / "manifests") if objects else [],
        policies=evaluate(graph, ALL_POLICIES, pack),
        releases=releases,
        config_seconds=config_seconds,
        unchecked=tuple(platform.unchecked()),
    )
    (out / "report.md").write_text(render_report(stack, result, pack_source))
    return result


def _resource_entry(resource: Resource) -> dict[str, object]:
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "parent": resource.parent,
        "inputs": manifests.normalise(redact(resource.inputs)),
        "options": resource.options,
    }


def gpu_pools(graph: Graph) -> list[dict[str, object]]:
    """Each GPU node group, its GPUs from AWS's instance type data."""
    pools = []
    for group in graph.of_type("aws:eks/nodeGroup:NodeGroup"):
        types = [str(t) for t in group.get("instanceTypes", [])]
        per_node = gpus_per_node(types)
        if per_node == 0:
            continue
        specs = sorted({spec.describe() for t in types if (spec := gpu_spec(t))})
        max_size = int(group.get("scalingConfig.maxSize", 0))
        pools.append(
            {
                "name": group.name,
                "instance_types": types,
                "capacity": group.get("capacityType", "ON_DEMAND"),
                "min": int(group.get("scalingConfig.minSize", 0)),
                "max": max_size,
                "gpus_per_node": per_node,
                "gpus": ", ".join(specs),
                "max_gpus": per_node * max_size,
            }
        )
    return pools


def render_report(stack: str, result: PlanResult, pack_source: str) -> str:
    graph = result.graph
    pools = gpu_pools(graph)
    skipped = [f for f in result.checkov if f.skip_reason]
    failed = [f for f in result.checkov if f.skip_reason is None]
    advisory = [v for v in result.policies.violations if v.level != "mandatory"]
    lines = [
        f"# Plan: `{stack}`",
        "",
        "Evaluated offline with Pulumi mocks: every resource the program declares, with its inputs; "
        "no cloud call was made. Secrets are shown as `[secret]`.",
        "",
        "## Summary",
        "",
        "| check | result |",
        "|---|---|",
        f"| resources declared | {len(graph)} |",
        f"| Kubernetes objects valid (schema {kubernetes_version(graph)}, strict) | {sum(r.ok for r in result.schema)}/{len(result.schema)} |",
        f"| checkov (kubernetes) | {len(failed)} failed, {len(skipped)} skipped with a reason |",
        f"| policy violations ({pack_source}) | "
        f"{len(result.policies.mandatory())} mandatory, {len(advisory)} advisory |",
        f"| GPU pools | {len(pools)}, up to {sum(int(p['max_gpus']) for p in pools)} GPUs |",  # type: ignore[call-overload]
        f"| stack config checked (YAML 1.2, model, AWS data) | in {result.config_seconds:.2f} s; "
        f"{len(result.unchecked)} check(s) not made |",
        f"| verdict | {'FAIL' if result.failures else 'PASS'} |",
        "",
        "## GPU pools",
        "",
        "GPU counts, models and memory from AWS's instance type data.",
        "",
        "| pool | instance types | GPUs per node (model, memory) | capacity | nodes (min-max) | max GPUs |",
        "|---|---|---|---|---|---|",
        *[
            f"| {p['name']} | {', '.join(p['instance_types'])} | {p['gpus']} | {p['capacity']} | {p['min']}-{p['max']} | {p['max_gpus']} |"  # type: ignore[arg-type]
            for p in pools
        ],
        *(
            ["", "Config checks not made (not passed):", *[f"- {u}" for u in result.unchecked]]
            if result.unchecked
            else []
        ),
        "",
        "## Policy violations",
        "",
    ]
    if result.policies.violations:
        lines += ["| policy | level | resource | message |", "|---|---|---|---|"]
        lines += [f"| {v.policy} | {v.level} | {v.resource} | {v.message} |" for v in result.policies.violations]
    else:
        lines.append("None.")
    if result.policies.not_run:
        lines += ["", "Not evaluated (values unknown until deployment):", *[f"- {n}" for n in result.policies.not_run]]
    lines += ["", "## Kubernetes schema validation", "", "| object | result |", "|---|---|"]
    lines += [f"| {r.object_id} | {'ok: ' if r.ok else 'INVALID: '}{r.detail} |" for r in result.schema]
    lines += ["", "## checkov", ""]
    if result.checkov:
        lines += ["| check | object | status |", "|---|---|---|"]
        lines += [
            f"| {f.check_id} {f.check_name} | {f.object_id} | {'skipped: ' + f.skip_reason if f.skip_reason else 'FAILED'} |"
            for f in result.checkov
        ]
    else:
        lines.append("No findings.")
    lines += [
        "",
        "## Helm releases",
        "",
        "Charts are recorded with their pinned version and values (see manifests/HelmRelease--*.yaml); "
        "they are rendered by Helm at deploy time, not here.",
        "",
        "| release | namespace | chart | version | repository |",
        "|---|---|---|---|---|",
        *[
            f"| {r['release']} | {r['namespace']} | {r['chart']} | {r['version']} | {r['repository']} |"
            for r in result.releases
        ],
        "",
        "## Resources by type",
        "",
        "| type | count |",
        "|---|---|",
        *[f"| `{t}` | {n} |" for t, n in sorted(Counter(r.type for r in graph).items())],
        "",
        "## Stack outputs",
        "",
        "```json",
        json.dumps(manifests.normalise(redact(graph.outputs)), indent=2, default=str),
        "```",
        "",
    ]
    if result.failures:
        lines += ["## Failures", "", *[f"- {f}" for f in result.failures], ""]
    return "\n".join(lines)


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
    args = parser.parse_args(argv)
    stack_file = args.stack_file or ROOT / f"Pulumi.{args.stack}.yaml"
    if not stack_file.exists():
        print(f"no stack file {stack_file}", file=sys.stderr)
        return 2
    try:
        result = plan(args.stack, stack_file=stack_file, policy_config=args.policy_config, out=args.out)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    out = args.out or ROOT / "build" / "plan" / args.stack
    print(f"plan {args.stack}: {len(result.graph)} resources -> {out}")
    for failure in result.failures:
        print(f"  FAIL {failure}", file=sys.stderr)
    print(f"verdict: {'FAIL' if result.failures else 'PASS'}")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
