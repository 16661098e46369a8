"""`make bench` plans a stack with a chart the size of the real ones (bench/plan.py); here it runs at toy
size so the benchmark stays runnable and its BENCH line keeps its keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_plan_benchmark_runs_and_reports_every_phase(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    command = [sys.executable, "-m", "bench.plan", "--copies", "2", "--crds", "1", "--crd-properties", "3"]
    done = subprocess.run(
        [*command, "--rounds", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("BENCH plan objects=13 ")  # 2 x 6 templated objects + 1 CRD
    result = json.loads(out.read_text())
    for phase in ("charts_yaml_read", "schema_cel", "checkov", "policies"):
        assert phase in result["phases_s"] and f"{phase}_s=" in line
    assert result["yaml_ours_s"] > 0 and result["yaml_pure_s"] > 0 and "yaml_speedup=" in line
