"""The metrics contract: the names apps export, dashboards chart and alert rules use.

One table, read by the apps (to create their metrics), by the tests that check every dashboard
panel and alert rule only queries metrics listed here, and by the README. Prometheus
conventions: base units, `_total` counters, `_seconds` histograms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Literal["counter", "gauge", "histogram"]
    labels: tuple[str, ...]
    help: str

    @property
    def series(self) -> tuple[str, ...]:
        """The series names Prometheus stores for this metric."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


CONTRACT: tuple[Metric, ...] = (
    Metric(
        "mlops_prediction_latency_seconds", "histogram", ("model", "version"), "Time to answer one prediction request."
    ),
    Metric(
        "mlops_predictions_total",
        "counter",
        ("model", "version"),
        "Prediction requests answered (rows are counted per request).",
    ),
    Metric(
        "mlops_prediction_errors_total",
        "counter",
        ("model", "version", "reason"),
        "Prediction requests that failed, by reason.",
    ),
    Metric(
        "mlops_feature_drift_score", "gauge", ("model", "feature", "method"), "Drift of one feature in the last window."
    ),
    Metric(
        "mlops_feature_drift_detected",
        "gauge",
        ("model", "feature"),
        "1 when the feature drifted beyond its threshold in the last window.",
    ),
    Metric(
        "mlops_prediction_drift_score", "gauge", ("model", "method"), "Drift of the predictions in the last window."
    ),
    Metric(
        "mlops_data_quality_score",
        "gauge",
        ("model", "check"),
        "Share (0..1) of values in the last window passing a data quality check.",
    ),
    Metric(
        "mlops_feature_quality",
        "gauge",
        ("model", "feature", "check"),
        "Share (0..1) of one feature's values in the last window failing a check: nulls, schema, "
        "out_of_range (numeric), unseen_categories (categorical).",
    ),
    Metric(
        "mlops_feature_quality_limit",
        "gauge",
        ("model", "feature", "check"),
        "The share of failing values the training contract allows the feature (max_null_rate for nulls), "
        "at least the monitor's quality_tolerance.",
    ),
    Metric(
        "mlops_model_performance",
        "gauge",
        ("model", "version", "metric"),
        "Model quality on labelled predictions of the last window.",
    ),
    Metric(
        "mlops_retrain_triggers_total", "counter", ("model", "reason"), "Retraining runs the monitor has triggered."
    ),
    Metric(
        "mlops_training_runs_total",
        "counter",
        ("model", "outcome"),
        "Training runs by outcome: promoted, rejected, held (for review: a jump too large to trust), failed.",
    ),
    # Extensions (operational health of the loop itself).
    Metric(
        "mlops_prediction_log_dropped_total",
        "counter",
        ("model",),
        "Prediction log records dropped because the queue to the monitor was full or it was down.",
    ),
    Metric(
        "mlops_monitor_records_total",
        "counter",
        ("model", "outcome"),
        "Prediction records the monitor received: accepted or rejected.",
    ),
    Metric(
        "mlops_monitor_rejected_total",
        "counter",
        ("model", "kind", "reason"),
        "What the monitor refused, by why: prediction records (kind=logs) or labels, or the request as one "
        "when it has none to count (not_json, empty, too_large, content_type...).",
    ),
    Metric(
        "mlops_monitor_labels_total",
        "counter",
        ("model", "outcome"),
        "Labels the monitor accepted: matched (a known prediction), unmatched (waiting for it), discarded "
        "(the store for unknown ids was full).",
    ),
    Metric(
        "mlops_model_version_info",
        "gauge",
        ("model", "version", "alias"),
        "1 for the model version each predictor serves.",
    ),
)

BY_NAME = {metric.name: metric for metric in CONTRACT}

DCGM_METRICS = (
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_POWER_USAGE",
)
"""GPU metrics from NVIDIA's DCGM exporter that dashboards and rules may use."""

PLATFORM_METRICS = ("up", "kube_job_status_failed")
"""Metrics Prometheus and kube-state-metrics provide that rules may use."""


def known_series() -> set[str]:
    return {series for metric in CONTRACT for series in metric.series} | set(DCGM_METRICS) | set(PLATFORM_METRICS)
