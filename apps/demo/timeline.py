"""What the demo is asked to do and what it saw: its settings and its timeline (events, request
samples, drift scores, metrics) - read by the loop that records them and the report that draws them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.common.processes import ROOT

NULL_COLUMN = "total_charges"
"""The feature the demo's broken upstream join leaves null (the contract allows 2%)."""


@dataclass(frozen=True)
class DemoSettings:
    workdir: Path = ROOT / "build" / "demo"
    """Everything the demo writes: MLflow's database and artifacts, the Delta table, logs, the report."""
    table_rows: int = 6000
    """Rows of each dataset version (a quarter is the holdout the champion's calibration is fitted on)."""
    clean_requests: int = 600
    """Requests sent before the data shifts."""
    rows_per_request: int = 5
    requests_per_second: float = 100
    """Offered load, paced: a steady stream the monitor turns into about one window a second."""
    senders: int = 4
    """Concurrent clients sharing that rate."""
    window_size: int = 500
    """Records per drift window."""
    consecutive_windows: int = 2
    """Drifted windows in a row before retraining."""
    settle_windows: int = 2
    """Clean windows, on the new baseline, that show drift is gone."""
    null_share: float = 0.15
    """Share of rows whose NULL_COLUMN is null once the data shifts (a broken upstream join)."""
    timeout_seconds: float = 300
    seed: int = 7
    prometheus: bool = True
    """Start Prometheus (with the repository's alert rules) if it is installed."""
    progress: bool = True
    """Show progress bars (the test turns them off)."""


@dataclass
class Event:
    at: float
    step: str
    detail: str = ""


@dataclass
class Sample:
    at: float
    latency: float
    status: int
    version: str
    phase: str


@dataclass
class DriftSample:
    at: float
    score: float
    drifted: int
    baseline: str | None
    window: int
    estimated_auc: float | None = None
    """CBPE: the ROC AUC the serving version's calibration expects of the window (no labels)."""
    realized_auc: float | None = None
    """The window's ROC AUC once its labels arrived."""
    estimated_accuracy: float | None = None
    realized_accuracy: float | None = None
    null_rate: float | None = None
    """Share of the window's values of the demo's null column (NULL_COLUMN) that are null."""


@dataclass
class DemoReport:
    events: list[Event] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    drift: list[DriftSample] = field(default_factory=list)
    scored: list[tuple[str, str, float, int]] = field(default_factory=list)
    """Every answered row: (phase, version, probability, its label) - the realized performance over all of it."""
    metrics: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def log(self, step: str, detail: str = "") -> None:
        event = Event(time.monotonic() - self.started, step, detail)
        self.events.append(event)
        print(f"[{event.at:7.1f}s] {step}" + (f" - {detail}" if detail else ""), flush=True)

    def at(self, step: str) -> float | None:
        return next((e.at for e in self.events if e.step == step), None)

    @property
    def failed_requests(self) -> int:
        return sum(1 for s in self.samples if s.status != 200)
