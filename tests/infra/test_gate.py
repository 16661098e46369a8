"""The review gate a pull request is judged by comes from its base branch (offline/gate.py, run by
the preview workflow from the base checkout with the system Python, before any install)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.conftest import ROOT

GATE = ("policies", "offline", "components")


@pytest.fixture
def checkouts(tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the parts of the repository the gate reads: base and head."""
    for side in ("base", "head"):
        for part in GATE:
            shutil.copytree(
                ROOT / part, tmp_path / side / part, ignore=shutil.ignore_patterns("__pycache__", "crd_schemas")
            )
    return tmp_path / "base", tmp_path / "head"


def gate(base: Path, head: Path, *extra: str) -> str:
    return subprocess.run(
        ["python3", "-I", str(base / "offline" / "gate.py"), "--base", str(base), "--head", str(head), *extra],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_no_change_to_the_gate_is_no_notice(checkouts: tuple[Path, Path]) -> None:
    assert gate(*checkouts) == ""


def test_each_change_to_the_gate_is_called_out_with_what_happens_to_it(checkouts: tuple[Path, Path]) -> None:
    base, head = checkouts
    rules = head / "policies" / "rules" / "kubernetes.py"
    rules.write_text(rules.read_text().replace("def k8s_non_root(", "def k8s_non_root_relaxed(", 1))
    (head / "policies" / "config" / "prod.json").write_text('{"all": "advisory"}\n')
    (head / "offline" / "checkov_skips.yaml").write_text("[]\n")
    gpu = head / "components" / "kit" / "gpu.py"  # imported by the pack
    gpu.write_text(gpu.read_text() + "\n# relaxed\n")
    (head / "policies" / "rules" / "extra.py").write_text("POLICIES = []\n")
    (head / "offline" / "plan.py").unlink()
    quantity = head / "components" / "kit" / "quantity.py"  # not imported by the pack: not part of the gate
    quantity.write_text(quantity.read_text() + "\n# unrelated\n")
    notice = gate(base, head)
    assert notice.startswith("> **This pull request changes the review gate.**")
    assert notice.splitlines()[2:] == [
        "> - `components/kit/gpu.py` changed (runs as this pull request has it: review it)",
        "> - `offline/checkov_skips.yaml` changed (taken from the base branch)",
        "> - `offline/plan.py` removed (runs as this pull request has it: review it)",
        "> - `policies/config/prod.json` changed (taken from the base branch)",
        "> - `policies/rules/extra.py` added (taken from the base branch)",
        "> - `policies/rules/kubernetes.py` changed (taken from the base branch)",
    ]


def test_install_puts_the_base_gate_into_the_head(checkouts: tuple[Path, Path], tmp_path: Path) -> None:
    base, head = checkouts
    (head / "policies" / "config" / "prod.json").write_text('{"all": "disabled"}\n')
    (head / "offline" / "checkov_skips.yaml").write_text("[]\n")
    (head / "policies" / "rules" / "extra.py").write_text("POLICIES = []\n")
    out = tmp_path / "gate.md"
    assert gate(base, head, "--install", "-o", str(out)) == ""
    assert "`policies/config/prod.json` changed" in out.read_text()
    for path in ("policies/config/prod.json", "offline/checkov_skips.yaml", "policies/rules/kubernetes.py"):
        assert (head / path).read_bytes() == (base / path).read_bytes(), path
    assert not (head / "policies" / "rules" / "extra.py").exists()
    assert gate(base, head) == ""


def test_the_gate_reads_the_pack_imports_from_the_code() -> None:
    from offline.gate import pack_imports

    assert {"components/kit/gpu.py", "components/kit/guardrails.py"} <= pack_imports(ROOT)
    assert "components/kit/quantity.py" not in pack_imports(ROOT)
