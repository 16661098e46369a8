"""The pack against the forms a careless or hostile change would use: each case in bypass/ is a small
Pulumi program and the violations the pack must report on it under the prod levels - exactly, for
the policies named - run through `python -m offline.policy_check`'s own code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.pack_config import levels
from offline.policy_check import check, main

BYPASS = Path(__file__).with_name("bypass")
CASES = sorted(p for p in BYPASS.iterdir() if (p / "__main__.py").is_file())


def expected(case: Path) -> list[dict[str, str]]:
    return list(yaml.safe_load((case / "expected.yaml").read_text()) or [])


@pytest.fixture(scope="module")
def prod_pack() -> dict[str, Any]:
    return levels("prod")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_bypass_is_caught_with_its_message(case: Path, prod_pack: dict[str, Any]) -> None:
    wanted = expected(case)
    assert wanted, f"{case.name}: expects nothing - a bypass case must be caught"
    outcome = check(case, prod_pack)
    named = {w["policy"] for w in wanted}
    found = [
        {"policy": v.policy, "resource": v.resource, "message": v.message}
        for v in outcome.violations
        if v.policy in named
    ]
    assert found == wanted
    assert all(v.level == "mandatory" for v in outcome.violations if v.policy in named)


THREATS = {
    "network exposure": {"network-no-open-ingress", "k8s-no-unrequested-exposure", "eks-public-endpoint-restricted"},
    "administrator power": {"iam-no-admin-power", "iam-trust-scoped"},
    "S3 companions": {"s3-bucket-complete"},
    "GPU cost": {"gpu-pool-budget", "gpu-stack-budget", "gpu-serving-not-spot-only", "gpu-serving-within-pools"},
    "LLM servers": {"llm-image-digest", "k8s-no-plaintext-secrets", "k8s-no-unrequested-exposure"},
    "nodes": {"nodes-imdsv2-required", "nodes-launch-template-imdsv2", "gpu-pool-gpu-types-only"},
    "workload privilege": {
        "k8s-not-privileged",
        "k8s-host-namespaces",
        "k8s-no-host-path",
        "k8s-no-added-capabilities",
        "k8s-run-as-non-root",
        "k8s-no-plaintext-secrets",
    },
    "RBAC and cluster admin": {
        "k8s-rbac-no-admin-binding",
        "k8s-rbac-no-admin-equivalent",
        "k8s-rbac-pod-starters-limited",
        "eks-cluster-admin-principals",
        "k8s-namespace-restricted",
    },
}


def test_the_corpus_covers_every_threat_rule_and_every_form_of_each() -> None:
    caught = {w["policy"] for case in CASES for w in expected(case)}
    for threat, policies in THREATS.items():
        assert policies <= caught, f"{threat}: no bypass case for {sorted(policies - caught)}"
    assert len(CASES) >= 40


def test_policy_check_cli_exits_1_on_a_mandatory_violation_and_0_on_a_clean_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = BYPASS.parent.parent.parent / "policies" / "config" / "prod.json"
    assert main([str(BYPASS / "sg-split-halves"), "--pack-config", str(pack)]) == 1
    out = capsys.readouterr().out
    assert "MANDATORY network-no-open-ingress (halves): Security group ingress 'halves' admits" in out
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "__main__.py").write_text(
        "import pulumi_kubernetes as k8s\n"
        "k8s.core.v1.ConfigMap('c', metadata={'name': 'c', 'namespace': 'mlops'}, data={'a': 'b'})\n"
    )
    assert main([str(clean), "--pack-config", str(pack)]) == 0
    assert "0 violations, 0 mandatory" in capsys.readouterr().out


def test_policy_check_cli_reads_the_programs_stack_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "configured"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: team-stack\nruntime: python\n")
    (program / "__main__.py").write_text(
        "import pulumi\nimport pulumi_aws as aws\n"
        "cidr = pulumi.Config().require('ingressCidr')\n"
        "aws.vpc.SecurityGroupIngressRule('in', security_group_id='sg-1', cidr_ipv4=cidr, ip_protocol='tcp', from_port=443, to_port=443)\n"
    )
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text("config:\n  team-stack:ingressCidr: 0.0.0.0/0\n")
    pack = tmp_path / "pack.json"
    pack.write_text('{"all": "mandatory"}')
    assert main([str(program), "--pack-config", str(pack), "--config", str(stack)]) == 1
    assert "admits 3,702,258,432 public IPv4 addresses (0.0.0.0/0) on port 443" in capsys.readouterr().out
    stack.write_text("config:\n  team-stack:ingressCidr: 10.0.0.0/8\n")
    assert main([str(program), "--pack-config", str(pack), "--config", str(stack)]) == 0


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["nowhere", "--pack-config", "x.json"], "no __main__.py"),
        ([str(BYPASS / "sg-rule-open"), "--pack-config", "missing.json"], "no such file"),
    ],
)
def test_policy_check_cli_says_what_is_wrong(args: list[str], error: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert error in capsys.readouterr().err


def test_an_exception_without_a_reason_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "pack.json"
    pack.write_text('{"k8s-host-namespaces": {"exceptions": [{"name": "mlops/sniffer"}]}}')
    assert main([str(BYPASS / "host-network-daemonset"), "--pack-config", str(pack)]) == 2
    assert (
        "pack config for k8s-host-namespaces: exceptions.0: 'reason' is a required property" in capsys.readouterr().err
    )
    pack.write_text(
        '{"k8s-host-namespaces": {"exceptions": [{"name": "mlops/sniffer", "reason": "captures the node traffic for IDS"}]}}'
    )
    assert main([str(BYPASS / "host-network-daemonset"), "--pack-config", str(pack)]) == 0


def test_what_cannot_be_verified_is_advisory_in_dev_and_mandatory_in_prod() -> None:
    from offline.policy_run import settings_for
    from policies.rules import ALL_POLICIES

    (policy,) = [p for p in ALL_POLICIES if p.name == "cannot-verify"]
    assert settings_for(policy, levels("dev"))[0].value == "advisory"
    assert settings_for(policy, levels("prod"))[0].value == "mandatory"
