"""The demo's report: build/demo/report.md and a plot of drift, latency and serving version."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from apps.demo.timeline import NULL_COLUMN, DemoReport, DemoSettings

MARKERS = ("data shifted", "retraining triggered", "champion v2 promoted", "predictor serves v2")


def plot(report: DemoReport, path: Path) -> None:
    import matplotlib  # here: the backend must be chosen before pyplot is imported, and only when plotting

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (drift_ax, performance_ax, quality_ax, latency_ax, version_ax) = plt.subplots(
        5, 1, figsize=(10, 12), sharex=True
    )
    if report.drift:
        drift_ax.plot(
            [d.at for d in report.drift],
            [d.score for d in report.drift],
            marker="o",
            label="strongest numeric drift (PSI)",
        )
    drift_ax.axhline(report.metrics["psi_threshold"], color="red", linestyle="--", linewidth=1, label="threshold")
    drift_ax.set_ylabel("drift score")
    drift_ax.legend(loc="upper left")
    for label, values, style in (
        ("estimated ROC AUC (no labels)", [d.estimated_auc for d in report.drift], "-"),
        ("realized ROC AUC (labels)", [d.realized_auc for d in report.drift], "--"),
        ("estimated accuracy", [d.estimated_accuracy for d in report.drift], ":"),
    ):
        points = [(d.at, v) for d, v in zip(report.drift, values, strict=True) if v is not None]
        if points:
            performance_ax.plot(*zip(*points, strict=True), style, marker=".", label=label)
    performance_ax.set_ylabel("performance")
    performance_ax.legend(loc="lower left", fontsize=7)
    nulls = [(d.at, d.null_rate) for d in report.drift if d.null_rate is not None]
    if nulls:
        quality_ax.plot(*zip(*nulls, strict=True), marker=".", label=f"{NULL_COLUMN}: share null")
    quality_ax.axhline(0.02, color="red", linestyle="--", linewidth=1, label="contract max_null_rate")
    quality_ax.set_ylabel("nulls")
    quality_ax.legend(loc="upper left", fontsize=7)
    ok = [s for s in report.samples if s.status == 200]
    if ok:
        times = np.array([s.at for s in ok])
        latency = np.array([s.latency * 1000 for s in ok])
        order = np.argsort(times)
        times, latency = times[order], latency[order]
        bins = np.arange(times.min(), times.max() + 1, 1.0)
        which = np.digitize(times, bins)
        centers = [times[which == b].mean() for b in np.unique(which)]
        p50 = [np.percentile(latency[which == b], 50) for b in np.unique(which)]
        p99 = [np.percentile(latency[which == b], 99) for b in np.unique(which)]
        latency_ax.plot(centers, p50, label="p50")
        latency_ax.plot(centers, p99, label="p99")
        version_ax.step(times, [int(s.version or 0) for s in np.array(ok)[order]], where="post")
    latency_ax.set_ylabel("latency (ms)")
    latency_ax.legend(loc="upper left")
    version_ax.set_ylabel("serving version")
    version_ax.set_yticks([1, 2])
    version_ax.set_xlabel("seconds since start")
    for step in MARKERS:
        at = report.at(step)
        if at is not None:
            for ax in (drift_ax, performance_ax, quality_ax, latency_ax, version_ax):
                ax.axvline(at, color="grey", linestyle=":", linewidth=1)
            drift_ax.annotate(step, (at, drift_ax.get_ylim()[1]), rotation=90, va="top", ha="right", fontsize=7)
    fig.suptitle("Drift -> retrain -> promote -> hot swap")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def write_report(report: DemoReport, settings: DemoSettings) -> Path:
    work = settings.workdir
    work.mkdir(parents=True, exist_ok=True)
    image = work / "demo.png"
    plot(report, image)
    metrics = report.metrics
    lines = [
        "# MLOps platform demo: the closed loop",
        "",
        f"![drift, latency and serving version over time]({image.name})",
        "",
        "## Numbers",
        "",
        "| | |",
        "|---|---|",
        f"| drift onset -> new champion serving | {metrics.get('drift_to_new_champion_seconds', float('nan')):.1f} s |",
        f"| requests | {metrics.get('requests')} |",
        f"| failed requests | {metrics.get('failed_requests')} |",
        f"| latency p50 / p99 (client side) | {metrics.get('latency_p50_ms') or float('nan'):.1f} / {metrics.get('latency_p99_ms') or float('nan'):.1f} ms |",
        f"| retraining triggers | {metrics.get('retraining_triggers')} |",
        f"| strongest numeric drift (PSI): peak / last window | {metrics.get('max_drift_score', 0):.2f} / {metrics.get('final_drift_score') or 0:.2f} |",
        f"| v1 ROC AUC (its holdout) | {metrics.get('v1_roc_auc', float('nan')):.3f} |",
        f"| v1 / v2 ROC AUC on the drifted holdout | {metrics.get('v1_roc_auc_on_v2_holdout') or float('nan'):.3f} / {metrics.get('v2_roc_auc') or float('nan'):.3f} |",
        f"| v1 on clean traffic: ROC AUC estimated (no labels) / realized, all {metrics.get('clean_rows_with_labels', 0)} rows / realized, windows' mean | {_f(metrics.get('clean_estimated_roc_auc'))} / {_f(metrics.get('clean_realized_roc_auc_all_rows'))} / {_f(metrics.get('clean_realized_roc_auc'))} |",
        f"| v1 after the shift: ROC AUC estimated / realized | {_f(metrics.get('shifted_estimated_roc_auc'))} / {_f(metrics.get('shifted_realized_roc_auc'))} |",
        f"| v1 accuracy estimated: clean / after the shift | {_f(metrics.get('clean_estimated_accuracy'))} / {_f(metrics.get('shifted_estimated_accuracy'))} |",
        f"| {NULL_COLUMN} null share: clean / after the shift (contract allows 2%) | {_f(metrics.get('clean_null_rate'))} / {_f(metrics.get('shifted_null_rate'))} |",
        "",
        "## Dashboards",
        "",
        "Every panel's query run against the demo's Prometheus over the demo: series returned (the GPU "
        "dashboard needs DCGM and a GPU, not here).",
        "",
        "| panel | series |",
        "|---|---|",
        *[f"| {panel} | {series} |" for panel, series in (metrics.get("dashboard_panels") or {}).items()],
        "",
        "## Timeline",
        "",
        "| t (s) | step | detail |",
        "|---|---|---|",
        *[f"| {e.at:.1f} | {e.step} | {e.detail} |" for e in report.events],
        "",
        "## Raw metrics",
        "",
        "```json",
        json.dumps(metrics, indent=2, default=str),
        "```",
        "",
    ]
    path = work / "report.md"
    path.write_text("\n".join(lines))
    return path
