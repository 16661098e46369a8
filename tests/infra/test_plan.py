"""`make plan`: three outputs per stack, every manifest valid and scanned, secrets never in clear."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.testing import SECRET_PLACEHOLDER, unwrap
from offline import manifests
from offline.manifests import Skip, _skip_reason, load_skips
from offline.plan import ROOT, main


@pytest.fixture(params=["dev", "prod"])
def planned(request: pytest.FixtureRequest, plans: dict[str, Any]) -> tuple[Any, Path]:
    return plans[request.param]  # type: ignore[no-any-return]


def test_plan_writes_resources_manifests_and_report(planned: tuple[Any, Path]) -> None:
    result, out = planned
    resources = json.loads((out / "resources.json").read_text())
    assert len(resources) == len(result.graph) > 80
    assert {"urn", "type", "name", "parent", "inputs", "options"} <= set(resources[0])
    manifests = sorted((out / "manifests").glob("*.yaml"))
    assert len(manifests) == len(result.graph.kubernetes_objects()) + len(result.releases)
    for path in manifests:
        document = yaml.safe_load(path.read_text())
        assert ("kind" in document) or ("chart" in document and "version" in document), path.name
    report = (out / "report.md").read_text()
    headings = [line for line in report.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Violations",
        "## Protected resources",
        "## Summary",
        "## GPU pools",
        "## LLM endpoints",
        "## Helm releases",
        "## How each chart's findings end",
        "## checkov findings accepted",
        "## Resources by type",
        "## Stack outputs",
    ]
    # The verdict first, honest about what was not rendered (the test cache is empty).
    assert report.splitlines()[2] == f"**Verdict: PASS ({len(result.releases)} charts not rendered)**"
    assert (out / "review.md").read_text() == report.split("## Summary")[0]


def test_every_kubernetes_object_is_schema_valid_and_checkov_clean(planned: tuple[Any, Path]) -> None:
    result, _ = planned
    assert result.schema and all(r.ok is True for r in result.schema), [r for r in result.schema if r.ok is not True]
    assert [f for f in result.checkov if f.skip_reason is None] == []


def test_report_lists_each_gpu_pool_with_its_max_gpus(plans: dict[str, Any]) -> None:
    report = (plans["prod"][1] / "report.md").read_text()
    assert (
        "| mlops-gpu-a10g-serving-nodepool | Karpenter NodePool | g5.xlarge, g5.2xlarge | 1 x nvidia-a10g (22 GiB) "
        "| ON_DEMAND | on demand | 4 |" in report
    )
    assert (
        "| mlops-gpu-l4-training-spot-nodepool | Karpenter NodePool | g6.xlarge, g6.2xlarge | 1 x nvidia-l4 (22 GiB) "
        "| SPOT | on demand | 4 |" in report
    )
    assert "| GPU pools | 2, up to 8 GPUs |" in report


def test_report_lists_managed_node_group_pools_on_the_cluster_autoscaler_path(tmp_path: Path) -> None:
    from offline.plan import plan
    from tests.infra.conftest import as_before_karpenter

    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    as_before_karpenter(document["config"]["mlops-platform:platform"])
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    result = plan("prod", stack_file=tmp_path / "Pulumi.prod.yaml", out=tmp_path / "out")
    assert result.failures == [] and result.policies.mandatory() == []
    report = (tmp_path / "out" / "report.md").read_text()
    assert (
        "| mlops-gpu-a10g-serving | managed node group | g5.xlarge, g5.2xlarge | 1 x nvidia-a10g (22 GiB) | ON_DEMAND "
        "| 0-4 | 4 |" in report
    )
    assert "| GPU pools | 2, up to 8 GPUs |" in report


def _strings(value: Any, *, secret: bool) -> set[str]:
    """Strings found inside (secret=True) or outside (secret=False) Secret wrappers."""
    from components.testing import Secret

    if isinstance(value, Secret):
        return _strings(value.value, secret=True) if secret else set()
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v, secret=secret)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v, secret=secret)}
    if isinstance(value, str) and not secret:
        return {value}
    return set()


def _all_strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {s for v in value.values() for s in _all_strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _all_strings(v)}
    return {value} if isinstance(value, str) else set()


def secret_values(graph: Any) -> set[str]:
    """Every value the program marked secret - minus strings it also uses in the open (a user name
    stored beside a password is not itself a secret)."""
    inside = {s for r in graph for s in _all_strings(unwrap(_only_secrets(r.inputs)))}
    inside |= {s for v in graph.outputs.values() for s in _all_strings(unwrap(_only_secrets(v)))}
    public = {s for r in graph for s in _strings(r.inputs, secret=False)}
    return {s for s in inside if len(s) >= 12 and s not in public}


def _only_secrets(value: Any) -> Any:
    from components.testing import Secret

    if isinstance(value, Secret):
        return value.value
    if isinstance(value, dict):
        return [_only_secrets(v) for v in value.values()]
    if isinstance(value, list):
        return [_only_secrets(v) for v in value]
    return None


def test_no_secret_appears_in_plain_text_in_any_plan_file(planned: tuple[Any, Path]) -> None:
    result, out = planned
    secrets = secret_values(result.graph)
    assert len(secrets) >= 5, "the graph has secrets (kubeconfig, passwords): the check must have something to look for"
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text()
            leaked = [s[:20] for s in secrets if s in text]
            assert not leaked, f"{path.name} contains secret values {leaked}"
            assert SECRET_PLACEHOLDER not in text


def test_every_checkov_skip_names_objects_that_need_it(plans: dict[str, Any]) -> None:
    """The platform's entries, and a chart's entries wherever that chart rendered; a chart that did not
    render leaves its entries unchecked (the plan says the chart was not rendered)."""
    skips = load_skips()
    used = {(f.check_id, f.object_id) for result, _ in plans.values() for f in result.checkov if f.skip_reason}
    rendered = {r.release.archive for result, _ in plans.values() for r in result.charts if r.status == "rendered"}
    assert all(len(s.reason) > 20 for s in skips)
    listed = {(s.check, obj) for s in skips if s.chart is None or s.chart in rendered for obj in s.objects}
    assert listed == used, f"remove skips nothing needs: {sorted(listed - used)}"


def test_chart_entries_name_pinned_archives_and_the_objects_their_releases_render() -> None:
    """Each chart entry names the archive its objects come from; the namespace of each object is one of
    the releases of that chart in the shipped stacks (or none, for a cluster-scoped one)."""
    from components.kit.versions import CHARTS

    charts = [s for s in load_skips() if s.chart is not None]
    assert {s.chart for s in charts} <= {c.archive for c in CHARTS}
    assert len({s.chart for s in charts}) >= 7, "every chart with a workload has its decisions here"
    namespaces = {
        "cert-manager-v1.17.0.tgz": {"cert-manager"},
        "kube-prometheus-stack-79.12.0.tgz": {"monitoring"},
        "prometheus-pushgateway-3.7.0.tgz": {"monitoring"},
        "keda-2.20.2.tgz": {"keda"},
        "karpenter-1.14.1.tgz": {"kube-system"},
        "cluster-autoscaler-9.47.0.tgz": {"kube-system"},
        "kserve-resources-v0.20.0.tgz": {"kserve"},
        "kserve-localmodel-resources-v0.20.0.tgz": {"kserve"},
    }
    for skip in charts:
        for obj in skip.objects:
            assert obj.split("/")[1] in namespaces[str(skip.chart)] | {"-"}, (skip.chart, obj)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"chart": "cert-manager-v1.16.0.tgz"}, "chart 'cert-manager-v1.16.0.tgz' is not a pinned chart archive"),
        ({"chart": "cert-manager"}, "chart 'cert-manager' is not a pinned chart archive"),
        ({"chrat": "cert-manager-v1.17.0.tgz"}, "unknown key(s) chrat"),
    ],
)
def test_a_chart_entry_names_a_pinned_archive(tmp_path: Path, entry: dict[str, Any], problem: str) -> None:
    path = tmp_path / "skips.yaml"
    base = {"check": "CKV_K8S_43", "objects": ["Deployment/cert-manager/cert-manager"], "reason": "by tag"}
    path.write_text(yaml.safe_dump([{**base, **entry}]))
    with pytest.raises(ValueError, match=re.escape(problem)):
        load_skips(path)
    path.write_text(yaml.safe_dump([{**base, "chart": "cert-manager-v1.17.0.tgz"}]))
    assert load_skips(path)[0].chart == "cert-manager-v1.17.0.tgz"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"check": "CKV_K8S_43", "objects": "*", "reason": "images"}, "objects must be a list"),
        ({"check": "CKV_K8S_43", "objects": ["*"], "reason": "images"}, "'*' is not one object's"),
        ({"check": "CKV_K8S_43", "objects": ["Deployment/mlops/*"], "reason": "x"}, "no patterns"),
        ({"check": "CKV_K8S_43", "objects": ["Deployment/mlops/ml?low"], "reason": "x"}, "no patterns"),
        ({"check": "CKV_K8S_43", "objects": ["Deployment/mlops/mlflow"]}, "no reason"),
        ({"check": "CKV_K8S_43", "objects": ["Deployment/mlops/mlflow"], "reason": "  "}, "no reason"),
        ({"check": "CKV_K8S_43", "objects": [], "reason": "images"}, "objects must be a list"),
    ],
)
def test_a_skip_must_name_each_object_and_give_a_reason(tmp_path: Path, entry: dict[str, Any], problem: str) -> None:
    path = tmp_path / "skips.yaml"
    path.write_text(yaml.safe_dump([entry]))
    with pytest.raises(ValueError, match=re.escape(problem)):
        load_skips(path)


def test_a_skip_covers_only_the_objects_it_names() -> None:
    skip = Skip("CKV_K8S_43", ("Deployment/mlops/mlflow",), "pinned by tag")
    assert _skip_reason("CKV_K8S_43", "Deployment/mlops/mlflow", [skip]) == "pinned by tag"
    assert _skip_reason("CKV_K8S_43", "Deployment/mlops/mlflow-2", [skip]) is None
    assert _skip_reason("CKV_K8S_43", "Deployment/other/mlflow", [skip]) is None
    assert _skip_reason("CKV_K8S_8", "Deployment/mlops/mlflow", [skip]) is None


def test_an_invalid_config_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    platform = document["config"]["mlops-platform:platform"]
    platform["gpuPools"][0]["instanceTypes"] = ["m5.large"]
    platform["network"]["serviceCidr"] = "10.20.0.0/16"
    bad = tmp_path / "Pulumi.broken.yaml"
    bad.write_text(yaml.safe_dump(document))
    out = tmp_path / "out"
    assert main(["--stack", "broken", "--stack-file", str(bad), "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "invalid stack config (2 problems):" in err
    assert 'platform.gpuPools[0].instanceTypes = ["m5.large"]: m5.large has no GPU.' in err
    assert 'platform.network.serviceCidr = "10.20.0.0/16": overlaps vpcCidr (10.20.0.0/16)' in err


def test_the_recorded_graph_is_the_same_on_every_run() -> None:
    """Pulumi registers resources (and reports dependencies) in an order that varies between
    processes; the plan sorts both, so two runs of a stack diff clean."""
    script = (
        "import json; from pathlib import Path; from components.testing import run_stack; "
        "print(json.dumps([(r.urn, r.options['dependencies']) for r in run_stack('dev', root=Path('.'))]))"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=300,
        ).stdout
        for seed in ("1", "2")
    ]
    assert len(json.loads(runs[0])) > 80
    assert runs[0] == runs[1]


CHECKOV_KINDS_PROBE = """
import glob, json, os
import checkov.kubernetes.checks.resource.k8s  # registers the resource checks
from checkov.kubernetes.checks.resource.registry import registry
import checkov.kubernetes.checks.graph_checks as graph
kinds = set(registry.checks)
def walk(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("resource_types", "connected_resource_types"):
                kinds.update(value if isinstance(value, list) else [value])
            walk(value)
    elif isinstance(node, list):
        for item in node:
            walk(item)
for path in glob.glob(os.path.join(os.path.dirname(graph.__file__), "*.json")):
    walk(json.load(open(path)))
print(json.dumps(sorted(kinds)))
"""


def test_checkov_is_handed_every_kind_it_has_a_check_for() -> None:
    """The plan gives checkov only the kinds it checks (not a chart's megabytes of CRDs): the list is
    what the pinned checkov's resource and graph checks name, asked of checkov itself."""
    python = manifests.CHECKOV.parent / "python"
    done = subprocess.run([str(python), "-c", CHECKOV_KINDS_PROBE], capture_output=True, text=True, check=True)
    assert set(json.loads(done.stdout)) == manifests.CHECKOV_KINDS
