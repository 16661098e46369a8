"""The pack over whole stacks: the shipped ones are clean, the bad fixture breaks exactly what it should,
and `make plan` reports it and fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offline.pack_config import levels
from offline.plan import ROOT, main, plan

BAD_STACK = ROOT / "tests" / "fixtures" / "Pulumi.bad.yaml"


def levels_file(tmp_path: Path, environment: str) -> Path:
    """An environment's levels and the shared exceptions, without the stack's own limits."""
    path = tmp_path / f"{environment}.json"
    path.write_text(json.dumps(levels(environment)))
    return path


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_have_no_mandatory_violation(stack: str, plans: dict[str, Any]) -> None:
    result, out = plans[stack]
    assert result.policies.mandatory() == []
    assert result.policies.not_run == []
    assert result.failures == []
    report = (out / "report.md").read_text()
    assert "Policy pack (generated from the stack: levels of its environment + its GPU budget):\n\nNone." in report
    assert "| policy violations | 0 mandatory, 0 advisory |" in report


def test_the_bad_stack_breaks_exactly_the_expected_policies(tmp_path: Path) -> None:
    result = plan("bad", stack_file=BAD_STACK, policy_config=levels_file(tmp_path, "prod"), out=tmp_path / "out")
    found = sorted((v.policy, v.resource, v.message) for v in result.policies.violations)
    assert found == [
        (
            "eks-public-endpoint-restricted",
            "mlops-eks-cluster",
            "EKS cluster 'mlops-eks-cluster': public API endpoint open to 3,702,258,432 public addresses through 0.0.0.0/0 (more than a /8); list only the CIDRs that must reach it (VPN or office egress), or turn the public endpoint off",
        ),
        (
            "gpu-pool-budget",
            "mlops-gpu-a100-nodepool",
            "GPU pool 'mlops-gpu-a100-nodepool' can reach 16 GPUs (its nvidia.com/gpu limit); the budget allows 8 per pool",
        ),
        ("gpu-stack-budget", "(stack)", "GPU pools can reach 20 GPUs in total; the budget allows 16"),
        (
            "s3-noncurrent-expiration",
            "mlops-artifacts-artifacts",
            "S3 lifecycle 'mlops-artifacts-artifacts' keeps noncurrent versions 400 days; at most 365 allowed",
        ),
        (
            "s3-noncurrent-expiration",
            "mlops-artifacts-data",
            "S3 lifecycle 'mlops-artifacts-data' keeps noncurrent versions 400 days; at most 365 allowed",
        ),
        (
            "s3-noncurrent-expiration",
            "mlops-artifacts-logs",
            "S3 lifecycle 'mlops-artifacts-logs' keeps noncurrent versions 400 days; at most 365 allowed",
        ),
    ]
    assert all(v.level == "mandatory" for v in result.policies.violations)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Policy pack (prod.json):" in report
    assert "| policy violations | 6 mandatory, 0 advisory |" in report
    assert "**Verdict: FAIL**" in report
    assert "- policy gpu-stack-budget ((stack)): GPU pools can reach 20 GPUs in total; the budget allows 16" in report


def test_make_plan_fails_on_the_bad_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--stack",
            "bad",
            "--stack-file",
            str(BAD_STACK),
            "--policy-config",
            str(levels_file(tmp_path, "prod")),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 1
    assert "FAIL policy gpu-pool-budget (mlops-gpu-a100-nodepool)" in capsys.readouterr().err


def test_dev_levels_make_the_open_endpoint_advisory(tmp_path: Path) -> None:
    result = plan("bad", stack_file=BAD_STACK, policy_config=levels_file(tmp_path, "dev"), out=tmp_path / "out")
    levels = {(v.policy, v.level) for v in result.policies.violations}
    assert ("eks-public-endpoint-restricted", "advisory") in levels
    assert ("gpu-pool-budget", "mandatory") in levels
