"""The benchmarks stay runnable: `make bench` is not part of `make test`, so code it shares with the apps
can change under it unseen (it did once: the demo's table_rows grew a value). The drift bench runs here
at toy size, every variant against Evidently; the serving bench's request and answer shapes are checked
against the predictor's own parser. Numbers at this size mean nothing - only that the code runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kserve.protocol.infer_type import InferRequest

from apps.common.processes import ROOT
from apps.demo.loop import table_rows
from apps.serving.schema import FeatureSchema, decode_v2, parse_v2
from bench.serving import _v2_rows, v2_body, wrk_script


def test_the_drift_bench_runs_every_variant_at_toy_size(tmp_path: Path) -> None:
    out = tmp_path / "drift.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.drift", "--rows", "4000", "--features", "4", "--rounds", "1",
         "--evidently-rounds", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    bench_lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    assert [line.split()[1] for line in bench_lines] == ["drift-categorical", "drift-heavy-tailed", "drift"]
    results = json.loads(out.read_text())
    assert set(results) == {"drift-categorical", "drift-heavy-tailed", "drift"}
    assert all(r["ours_s"] > 0 and r["evidently_s"] > 0 for r in results.values())


def test_the_serving_benchs_requests_are_what_the_predictor_reads(tmp_path: Path) -> None:
    frame, rows, _ = table_rows(seed=7, rows=20, drift=0.0)
    numeric = {c for c in frame.columns if frame[c].dtype.kind in "fiu"}
    body = v2_body(rows[:3], numeric)
    schema = FeatureSchema.from_signature(
        [{"name": n, "type": "double" if n in numeric else "string"} for n in rows[0]]
    )
    raw = json.dumps(body).encode()
    request = decode_v2(raw, len(raw), "churn")
    assert isinstance(request, InferRequest)
    columns = parse_v2(request, schema, max_rows=10)
    assert columns.rows == 3 and set(columns.data) == set(rows[0])
    script = wrk_script({"instances": rows[:1]}, tmp_path / "ours.lua").read_text()
    assert 'wrk.method = "POST"' in script and json.dumps(json.dumps({"instances": rows[:1]})) in script
    assert _v2_rows({"outputs": [{"data": [0.1, 0.9, 0.7, 0.3], "shape": [2, 2]}]}) == [[0.1, 0.9], [0.7, 0.3]]
