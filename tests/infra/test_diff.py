"""What a change deploys (`make plan BASE=<dir>`): creates, updates with their paths, replacements
(a URN that changes), deletes; secrets shown as changed, never revealed; a protected resource deleted
or replaced fails the plan."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from offline import diff
from offline.plan import PlanResult, main, plan
from tests.infra.conftest import ROOT

STACK = "urn:pulumi:prod::mlops-platform::"


def entry(
    name: str,
    type_: str = "aws:s3/bucket:Bucket",
    *,
    parent: str | None = None,
    inputs: dict[str, Any] | None = None,
    protect: bool = False,
    aliases: tuple[str, ...] = (),
    secrets: dict[str, str] | None = None,
    custom: bool = True,
) -> dict[str, Any]:
    parent_type = parent.split("::")[2].split("$")[-1] if parent else "pulumi:pulumi:Stack"
    return {
        "urn": f"{STACK}{parent_type}${type_}::{name}",
        "type": type_,
        "name": name,
        "parent": parent,
        "custom": custom,
        "inputs": inputs or {},
        "secrets": secrets or {},
        "options": {"protect": protect, "aliases": list(aliases)},
    }


def test_an_input_change_is_an_update_listing_each_path_old_to_new() -> None:
    before = entry("pool", "aws:eks/nodeGroup:NodeGroup", inputs={"scalingConfig": {"maxSize": 4, "minSize": 0}})
    after = copy.deepcopy(before)
    after["inputs"]["scalingConfig"]["maxSize"] = 6
    after["inputs"]["labels"] = {"team": "ml"}
    (change,) = diff.compare([before], [after]).changes
    assert change.action == "update"
    assert [p.describe() for p in change.paths] == ['labels.team: (absent) → "ml"', "scalingConfig.maxSize: 4 → 6"]


def test_nothing_changed_is_no_change() -> None:
    same = [entry("a", inputs={"x": [1, {"y": 2}]}), entry("b")]
    assert diff.compare(same, copy.deepcopy(same)).changes == []
    assert diff.compare(same, same).summary() == "no changes"


def test_a_renamed_resource_is_replaced_and_its_component_named() -> None:
    pool = entry("gpu-a", "mlops:index:GpuNodePool", custom=False)
    group = entry("gpu-a", "aws:eks/nodeGroup:NodeGroup", parent=pool["urn"], inputs={"nodeGroupName": "gpu-a"})
    renamed_pool = entry("gpu-b", "mlops:index:GpuNodePool", custom=False)
    renamed_group = entry(
        "gpu-b", "aws:eks/nodeGroup:NodeGroup", parent=renamed_pool["urn"], inputs={"nodeGroupName": "gpu-b"}
    )
    result = diff.compare([pool, group], [renamed_pool, renamed_group])
    (change,) = result.changes  # the component holds no state: only its node group is listed
    assert (change.action, change.old_urn, change.urn) == ("replace", group["urn"], renamed_group["urn"])
    assert change.reason == "renamed gpu-a → gpu-b"
    assert result.renamed == [diff.Renamed("mlops:index:GpuNodePool", "gpu-a", "gpu-b", 1)]
    assert result.counts() == {"create": 0, "update": 0, "replace": 1, "delete": 0}


def test_an_alias_to_the_old_urn_keeps_the_resource() -> None:
    old = entry("monitor", "kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    moved = entry("mlflow-monitor", "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", aliases=(old["urn"],))
    assert diff.compare([old], [moved]).changes == []


def test_different_types_are_a_delete_and_a_create_not_a_replacement() -> None:
    result = diff.compare([entry("data")], [entry("data", "aws:s3/bucketV2:BucketV2")])
    assert [c.action for c in result.changes] == ["delete", "create"]


def test_a_kubernetes_object_whose_name_changes_is_replaced() -> None:
    before = entry(
        "redis", "kubernetes:apps/v1:StatefulSet", inputs={"kind": "StatefulSet", "metadata": {"name": "redis"}}
    )
    after = copy.deepcopy(before)
    after["inputs"]["metadata"]["name"] = "feast-redis"
    (change,) = diff.compare([before], [after]).changes
    assert (change.action, change.reason) == ("replace", "metadata.name changed")


def test_a_kubernetes_object_moved_to_a_new_urn_without_an_alias_collides() -> None:
    """The engine creates the new resource before it deletes the old: the API server refuses the
    create, the object exists. The plan says so instead of `pulumi up` failing halfway."""
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dashboard-gpu", "namespace": "monitoring"}}
    old = entry("mlops-monitoring-dashboard-gpu", "kubernetes:core/v1:ConfigMap", inputs=body)
    component = entry("gpu", "mlops:index:GpuSupport", custom=False)
    new = entry("mlops-gpu-dashboard", "kubernetes:core/v1:ConfigMap", parent=component["urn"], inputs=body)
    result = diff.compare([old], [component, new])
    (change,) = result.collisions()
    assert change.action == "replace" and change.old_urn == old["urn"]
    assert "its create fails (already exists) unless the resource aliases the old URN" in change.reason


def test_a_secret_change_is_shown_never_revealed() -> None:
    before = entry(
        "creds",
        "kubernetes:core/v1:Secret",
        inputs={"stringData": {"password": "[secret]"}},
        secrets={"stringData.password": "aaaa"},
    )
    same = copy.deepcopy(before)
    changed = copy.deepcopy(before)
    changed["secrets"]["stringData.password"] = "bbbb"
    assert diff.compare([before], [same]).changes == []
    (change,) = diff.compare([before], [changed]).changes
    assert [p.describe() for p in change.paths] == ["stringData.password: (secret) changed"]
    older = copy.deepcopy(before)
    older["secrets"] = {}  # a plan from before digests were recorded
    (change,) = diff.compare([older], [same]).changes
    assert [p.describe() for p in change.paths] == ["stringData.password: (secret) not compared: no digest in one plan"]


def test_a_multi_line_value_shows_the_lines_that_changed() -> None:
    before = entry("cfg", "kubernetes:core/v1:ConfigMap", inputs={"data": {"monitor.yaml": "a: 1\nb: 2\nc: 3\n"}})
    after = copy.deepcopy(before)
    after["inputs"]["data"]["monitor.yaml"] = "a: 1\nb: 5\nc: 3\n"
    (change,) = diff.compare([before], [after]).changes
    assert change.paths[0].describe() == 'data.monitor.yaml: lines "- b: 2", "+ b: 5"'


@pytest.mark.parametrize(
    ("base", "head", "action"),
    [
        ([entry("data", protect=True)], [], "delete"),
        ([entry("data", protect=True)], [entry("data-v2")], "replace"),  # protect dropped in the same change
        ([entry("data")], [entry("data-v2", protect=True)], "replace"),
    ],
)
def test_deleting_or_replacing_a_protected_resource_is_flagged(
    base: list[dict[str, Any]], head: list[dict[str, Any]], action: str
) -> None:
    (change,) = diff.compare(base, head).protected_destroyed()
    assert change.action == action and change.protected


def test_unprotecting_a_resource_is_an_update_that_names_it() -> None:
    (change,) = diff.compare([entry("data", protect=True)], [entry("data")]).changes
    assert change.action == "update" and change.protected
    assert [p.describe() for p in change.paths] == ["(option) protect: true → false"]


# --------------------------------------------------------------------------- two real plans


def prod_with(tmp_path: Path) -> Path:
    """prod with the serving pool's maxSize raised and the training pool renamed."""
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    grown = text.replace(
        "minSize: 0\n        maxSize: 4\n        disruption:\n          consolidateAfter: 15m",
        "minSize: 0\n        maxSize: 6\n        disruption:\n          consolidateAfter: 15m",
    )
    assert grown != text
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(grown.replace("l4-training-spot", "l4-batch-spot"))
    return path


@pytest.fixture(scope="module")
def changed_prod(plans: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[PlanResult, Path]:
    """Two real plans: the shipped prod stack (the base) and the changed one. The base has its RDS
    instance under another name, as if this change renamed it."""
    tmp = tmp_path_factory.mktemp("changed")
    _, shipped = plans["prod"]
    base = tmp / "base"
    base.mkdir()
    resources = json.loads((shipped / "resources.json").read_text())
    (database,) = [r for r in resources if r["type"] == "aws:rds/instance:Instance"]
    database["urn"] = database["urn"].replace("::mlops-db-postgres", "::mlops-db-pg")
    database["name"] = "mlops-db-pg"
    (base / "resources.json").write_text(json.dumps(resources))
    out = tmp / "out"
    return plan("prod", stack_file=prod_with(tmp), base=base, out=out), out


def test_a_pool_resized_and_another_renamed_is_one_update_and_one_replacement(
    changed_prod: tuple[PlanResult, Path],
) -> None:
    result, _ = changed_prod
    assert result.changes is not None
    pools = [c for c in result.changes.changes if c.type == "kubernetes:karpenter.sh/v1:NodePool"]
    assert [(c.action, c.name) for c in pools] == [
        ("replace", "mlops-gpu-l4-batch-spot-nodepool"),
        ("update", "mlops-gpu-a10g-serving-nodepool"),
    ]
    assert [p.describe() for p in pools[1].paths] == ['spec.limits.nvidia.com/gpu: "4" → "6"']
    assert pools[0].old_urn is not None and pools[0].old_urn.endswith("::mlops-gpu-l4-training-spot-nodepool")
    assert (
        diff.Renamed("mlops:index:GpuNodePool", "mlops-gpu-l4-training-spot", "mlops-gpu-l4-batch-spot", 2)
        in result.changes.renamed
    )
    # Everything else replaced is the renamed pool's own; nothing is deleted or created on its own.
    assert result.changes.counts()["delete"] == result.changes.counts()["create"] == 0


def test_replacing_a_protected_prod_resource_fails_the_plan(changed_prod: tuple[PlanResult, Path]) -> None:
    result, out = changed_prod
    assert result.verdict == "FAIL"
    assert (
        "change: replace of protected aws:rds/instance:Instance mlops-db-postgres (renamed mlops-db-pg → mlops-db-postgres)"
        in result.failures
    )
    review = (out / "review.md").read_text()
    assert "**Protected resources would be deleted or replaced - this fails the plan:**" in review
    assert "| replace (protected) | `aws:rds/instance:Instance` | mlops-db-postgres |" in review
    assert review.index("## Changes") < review.index("## Violations") < review.index("## Protected resources")


def test_make_plan_base_against_itself_is_no_change_and_a_bad_base_is_refused(
    changed_prod: tuple[PlanResult, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = changed_prod
    code = main(
        [
            "--stack",
            "prod",
            "--stack-file",
            str(prod_with(tmp_path)),
            "--base",
            str(out),
            "--out",
            str(tmp_path / "again"),
        ]
    )
    assert code == 0  # against the changed plan itself: nothing changes
    assert "changes: no changes" in capsys.readouterr().out
    assert main(["--stack", "prod", "--base", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "not a plan directory" in capsys.readouterr().err


def test_the_readme_diff_excerpt_is_what_the_plan_writes(changed_prod: tuple[PlanResult, Path]) -> None:
    _, out = changed_prod
    review = (out / "review.md").read_text()
    readme = (ROOT / "README.md").read_text()
    excerpt = readme.split("## Review a change", 1)[1].split("```\n## Changes", 1)[1].split("```", 1)[0]
    lines = [line for line in excerpt.splitlines() if line.startswith(("| update", "| replace", "- `"))]
    assert len(lines) == 6
    for line in lines:
        shown = line.split("<br>…")[0]  # a row shortened in the README: its start is what the plan writes
        assert shown in review, shown
