"""Performance without labels: the monitor's CBPE estimates against NannyML's CBPE on the same windows.

A model is trained on the churn data, its holdout scores and labels are the reference (we calibrate
on them at training time; NannyML fits its own calibrator on the same frame), then windows of live
traffic are scored: clean ones, then drifted ones. For each window both estimate ROC AUC and accuracy
without labels; the realized values (the labels exist: the data is generated) say who is closer.
NannyML runs in its own environment (.venv-bench: its pins clash with the apps'), fed the same arrays.

Last line: BENCH cbpe windows=... agreement_roc_auc=... agreement_accuracy=... ours_error_roc_auc=...
nannyml_error_roc_auc=... ours_s=... nannyml_s=...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score

from apps.common.performance import Calibration, estimate
from apps.training.config import TrainingConfig
from apps.training.data import generate
from apps.training.pipeline import _pipeline, feature_frame

ROOT = Path(__file__).resolve().parents[1]
NANNYML = ROOT / ".venv-bench" / "bin" / "python"
CONTRACT = TrainingConfig.model_validate({"dataset": {"uri": "unused"}}).contract


def windows(
    window: int, clean: int, drifted: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray, str]]]:
    """Reference (holdout scores, labels) and the windows (scores, labels, phase)."""
    train, holdout = generate(8000, seed=seed), generate(4000, seed=seed + 1, first_id=100_000)
    model = _pipeline(CONTRACT, {"learning_rate": 0.1, "max_iter": 120, "max_leaf_nodes": 15}, seed)
    model.fit(feature_frame(train, CONTRACT), train["churned"])
    reference = model.predict_proba(feature_frame(holdout, CONTRACT))[:, 1]
    found = []
    for index in range(clean + drifted):
        drift = 0.0 if index < clean else min(1.0, (index - clean + 1) / max(drifted, 1))
        frame = generate(window, seed=seed + 10 + index, drift=drift, first_id=1_000_000 + index * window)
        scores = model.predict_proba(feature_frame(frame, CONTRACT))[:, 1]
        found.append((scores, frame["churned"].to_numpy(), "clean" if drift == 0 else f"drift {drift:.2f}"))
    return reference, holdout["churned"].to_numpy(), found


NANNYML_SCRIPT = """
import json, os, sys, time
os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
import numpy as np, pandas as pd, nannyml as nml
data = np.load(sys.argv[1])
reference = pd.DataFrame({"y_pred_proba": data["reference"], "y_true": data["labels"]})
reference["y_pred"] = (reference["y_pred_proba"] >= 0.5).astype(int)
analysis = pd.DataFrame({"y_pred_proba": data["scores"]})
analysis["y_pred"] = (analysis["y_pred_proba"] >= 0.5).astype(int)
started = time.perf_counter()
estimator = nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                     problem_type="classification_binary", metrics=["roc_auc", "accuracy"],
                     chunk_size=int(data["window"]))
estimator.fit(reference)
result = estimator.estimate(analysis).to_df()
result = result[result[("chunk", "period")] == "analysis"]  # the result also carries the reference's chunks
elapsed = time.perf_counter() - started
out = {"roc_auc": result[("roc_auc", "value")].tolist(), "accuracy": result[("accuracy", "value")].tolist(),
       "seconds": elapsed}
json.dump(out, open(sys.argv[2], "w"))
"""


def nannyml(reference: np.ndarray, labels: np.ndarray, scores: np.ndarray, window: int) -> dict[str, object]:
    if not NANNYML.exists():
        raise FileNotFoundError(f"{NANNYML} not found: `make bench` builds .venv-bench (requirements/bench.lock)")
    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch) / "in.npz", Path(scratch) / "out.json"
        np.savez(source, reference=reference, labels=labels, scores=scores, window=window)
        env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1"}
        subprocess.run(
            [str(NANNYML), "-c", NANNYML_SCRIPT, str(source), str(target)], check=True, env=env, timeout=1800
        )
        return dict(json.loads(target.read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.performance", description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=int, default=2000)
    parser.add_argument("--clean", type=int, default=10)
    parser.add_argument("--drifted", type=int, default=10)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "performance.json")
    args = parser.parse_args(argv)
    reference, labels, found = windows(args.window, args.clean, args.drifted, args.seed)
    started = time.perf_counter()
    calibration = Calibration.fit(reference, labels)
    ours = [estimate(scores, calibration) for scores, _, _ in found]
    ours_s = time.perf_counter() - started
    theirs = nannyml(reference, labels, np.concatenate([s for s, _, _ in found]), args.window)
    realized = [
        {"roc_auc": float(roc_auc_score(y, s)), "accuracy": float(accuracy_score(y, s >= 0.5))} for s, y, _ in found
    ]
    rows = []
    for i, (_, _, phase) in enumerate(found):
        rows.append(
            {
                "window": i,
                "phase": phase,
                "ours_roc_auc": ours[i]["estimated_roc_auc"],
                "nannyml_roc_auc": theirs["roc_auc"][i],  # type: ignore[index]
                "realized_roc_auc": realized[i]["roc_auc"],
                "ours_accuracy": ours[i]["estimated_accuracy"],
                "nannyml_accuracy": theirs["accuracy"][i],  # type: ignore[index]
                "realized_accuracy": realized[i]["accuracy"],
            }
        )

    def mean_abs(a: str, b: str, phase: str | None = None) -> float:
        chosen = [r for r in rows if phase is None or (r["phase"] == "clean") == (phase == "clean")]
        return float(np.mean([abs(r[a] - r[b]) for r in chosen]))

    result = {
        "windows": len(rows),
        "window_size": args.window,
        "agreement_roc_auc": mean_abs("ours_roc_auc", "nannyml_roc_auc"),
        "agreement_accuracy": mean_abs("ours_accuracy", "nannyml_accuracy"),
        "ours_error_roc_auc": mean_abs("ours_roc_auc", "realized_roc_auc"),
        "nannyml_error_roc_auc": mean_abs("nannyml_roc_auc", "realized_roc_auc"),
        "ours_error_roc_auc_clean": mean_abs("ours_roc_auc", "realized_roc_auc", "clean"),
        "nannyml_error_roc_auc_clean": mean_abs("nannyml_roc_auc", "realized_roc_auc", "clean"),
        "ours_s": ours_s,
        "nannyml_s": theirs["seconds"],
        "rows": rows,
    }
    for r in rows:
        print(
            f"window {r['window']:2d} {r['phase']:>10}: ROC AUC ours {r['ours_roc_auc']:.3f} NannyML {r['nannyml_roc_auc']:.3f} "
            f"realized {r['realized_roc_auc']:.3f} | accuracy ours {r['ours_accuracy']:.3f} NannyML {r['nannyml_accuracy']:.3f} "
            f"realized {r['realized_accuracy']:.3f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(
        f"BENCH cbpe windows={result['windows']} window_size={args.window} agreement_roc_auc={result['agreement_roc_auc']:.1e} "
        f"agreement_accuracy={result['agreement_accuracy']:.1e} ours_error_roc_auc={result['ours_error_roc_auc']:.4f} "
        f"nannyml_error_roc_auc={result['nannyml_error_roc_auc']:.4f} ours_s={ours_s:.3f} nannyml_s={theirs['seconds']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
