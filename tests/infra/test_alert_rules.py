"""Every alert rule is unit-tested by `promtool test rules` with a firing and a non-firing case."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.services.monitoring import RULES_DIR, alert_rule_files

TESTS = RULES_DIR / "tests"


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool not found: `make test` installs it (Debian package prometheus)")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_rules_are_valid() -> None:
    result = promtool("check", "rules", *map(str, alert_rule_files()), cwd=RULES_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_rule_test_passes() -> None:
    result = promtool("test", "rules", *[p.name for p in sorted(TESTS.glob("*.test.yaml"))], cwd=TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_non_firing_case() -> None:
    alerts = {
        rule["alert"]
        for path in alert_rule_files()
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in TESTS.glob("*.test.yaml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case["exp_alerts"] else quiet).add(case["alertname"])
    assert alerts == firing == quiet, {"untested firing": alerts - firing, "untested non-firing": alerts - quiet}
    assert len(alerts) >= 9


def test_every_rules_file_belongs_to_a_component_that_deploys_it() -> None:
    """Components declare their own rules: each file is named by one of them, none is orphaned."""
    import re

    sources = "\n".join(p.read_text() for p in (RULES_DIR.parent.parent).rglob("*.py"))
    for path in alert_rule_files():
        stem = path.name.removesuffix(".rules.yaml")
        assert re.search(rf'"{re.escape(stem)}\.rules\.yaml"', sources), f"no component deploys {path.name}"


def test_the_rule_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    """Loosen one threshold in a copy of the rules: the unit tests must fail."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    path = rules / "serving.rules.yaml"
    text = path.read_text()
    assert "> 0.25" in text
    path.write_text(text.replace("> 0.25", "> 5"))
    result = promtool("test", "rules", "serving.rules.test.yaml", cwd=rules / "tests")
    assert result.returncode != 0
    assert "PredictionLatencyP99High" in result.stdout + result.stderr
