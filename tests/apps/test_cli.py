"""Each app's entry point answers --help with its usage and exits: no server started, no model loaded
(KServe's own option parser has no --help, so the predictor adds one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        ("serving", ["--http_port", "MODEL_NAME", "MONITOR_URL", "rollback"]),
        ("monitor", ["serve"]),
        ("training", ["run", "generate"]),
    ],
)
def test_help_prints_usage_and_exits(app: str, expected: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"apps.{app}", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"usage: python -m apps.{app}"), done.stdout[:300]
    missing = [word for word in expected if word not in done.stdout]
    assert not missing, f"--help of apps.{app} does not mention {missing}"
