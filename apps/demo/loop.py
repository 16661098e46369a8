"""The closed loop on one machine:

    dataset v1 -> train, promote champion v1 -> predictor + drift monitor -> traffic
    -> the data shifts (dataset v2) -> the monitor sees drift, triggers retraining on v2
    -> the challenger wins, is promoted -> the predictor swaps to it, no request fails
    -> drift falls back under the threshold

Everything runs locally: MLflow on sqlite with a local artifact directory, Delta tables on
disk, the monitor's local-process retraining backend, and Prometheus if it is installed.
Every process started here is stopped at the end, also on Ctrl-C or failure.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml
from mlflow import MlflowClient
from tqdm import tqdm

from apps.common import local, registry
from apps.common.clients import Clients
from apps.common.processes import terminable
from apps.demo.report import write_report
from apps.demo.timeline import DemoReport, DemoSettings, DriftSample, Sample
from apps.features.offline import FEATURES
from apps.monitor.config import MonitorConfig
from apps.training.config import TrainingConfig
from apps.training.data import generate, write_version

MODEL = "churn-classifier"


class Traffic(Clients):
    """Clients replaying rows of the current dataset version against the predictor."""

    def __init__(self, url: str, report: DemoReport, senders: int, rows_per_request: int, rate: float) -> None:
        super().__init__(senders, "traffic")
        self.url = f"{url}/v1/models/churn:predict"
        self.report = report
        self.rows_per_request = rows_per_request
        self.interval = 1 / rate
        self._next_slot = time.monotonic()
        self.rows: list[dict[str, Any]] = []
        self.phase = "clean"
        self._lock = threading.Lock()
        self._cursor = 0
        self.sent = 0

    def use(self, rows: list[dict[str, Any]], phase: str) -> None:
        with self._lock:
            self.rows, self.phase, self._cursor = rows, phase, 0

    def _batch(self) -> tuple[list[dict[str, Any]], str, float]:
        """The next rows, their phase and when to send them (slots spaced 1/rate apart)."""
        with self._lock:
            slot = self._next_slot = max(self._next_slot + self.interval, time.monotonic() - 1)
            start = self._cursor
            self._cursor = (self._cursor + self.rows_per_request) % max(len(self.rows) - self.rows_per_request, 1)
            return self.rows[start : start + self.rows_per_request], self.phase, slot

    def send(self, client: httpx.Client) -> bool:
        batch, phase, slot = self._batch()
        if self.stopped.wait(max(slot - time.monotonic(), 0)):
            return False
        started = time.monotonic()
        try:
            answer = client.post(self.url, json={"instances": batch})
            status, version = answer.status_code, answer.headers.get("x-model-version", "")
        except httpx.HTTPError:
            status, version = 0, ""
        self.report.samples.append(
            Sample(started - self.report.started, time.monotonic() - started, status, version, phase)
        )
        self.sent += 1
        return True


def table_rows(seed: int, rows: int, drift: float) -> tuple[Any, list[dict[str, Any]]]:
    frame = generate(rows, seed=seed, drift=drift)
    numeric = set(FEATURES[:5])
    payload = [
        {n: (float(r[n]) if n in numeric else str(r[n])) for n in FEATURES}
        for r in frame[list(FEATURES)].to_dict("records")
    ]
    return frame, payload


def run(settings: DemoSettings) -> DemoReport:
    """Run the loop; return what happened (the report is also written to settings.workdir)."""
    report = DemoReport()
    work = settings.workdir
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    with terminable(), contextlib.ExitStack() as stack:
        _loop(settings, report, stack)
    write_report(report, settings)
    return report


def _loop(settings: DemoSettings, report: DemoReport, stack: contextlib.ExitStack) -> None:
    work = settings.workdir
    logs = work / "logs"
    table = str(work / "data" / "churn")
    mlflow_url = stack.enter_context(local.mlflow_server(work))
    env = local.child_env(MLFLOW_TRACKING_URI=mlflow_url)
    report.metrics["urls"] = {"mlflow": mlflow_url}
    report.log("MLflow tracking server up", mlflow_url)

    frame, _ = table_rows(settings.seed, settings.table_rows, 0.0)
    version = write_version(table, frame)
    report.log("dataset written", f"Delta table {table}, version {version}, {len(frame)} rows")
    training = {
        "model_name": MODEL,
        "experiment": MODEL,
        "dataset": {"uri": table},
        "search": {"trials": 3, "max_iter": [40, 120]},
    }
    TrainingConfig.model_validate(training)
    (work / "training.yaml").write_text(yaml.safe_dump(training))
    # The first model is trained by the same command the monitor's local backend runs to retrain.
    first = local.train(work / "training.yaml", logs / "training-v1.log", env=env, timeout=settings.timeout_seconds)
    if first["outcome"] != "promoted":
        raise RuntimeError(f"the first model was not promoted: {first['decision']}")
    report.metrics["v1_roc_auc"] = first["metrics"]["roc_auc"]
    report.log(
        f"champion v{first['version']} trained and promoted", f"holdout ROC AUC {first['metrics']['roc_auc']:.3f}"
    )

    monitor_config = {
        "model_name": MODEL,
        "window_size": settings.window_size,
        "consecutive_windows": settings.consecutive_windows,
        "cooldown_seconds": 3600,
        "profile_poll_seconds": 1,
        "retrain": {
            "backend": "local",
            "command": local.training_command(work / "training.yaml"),
            "workdir": str(work / "retraining"),
        },
    }
    report.metrics["psi_threshold"] = MonitorConfig.model_validate(monitor_config).methods.numeric.threshold
    (work / "monitor.yaml").write_text(yaml.safe_dump(monitor_config))
    monitor_url = stack.enter_context(local.monitor(work / "monitor.yaml", logs / "monitor.log", env=env))
    report.log(
        "drift monitor up",
        f"baseline v{first['version']}, windows of {settings.window_size}, retrain after {settings.consecutive_windows} drifted windows",
    )
    predictor_url = stack.enter_context(
        local.predictor(
            logs / "predictor.log",
            MODEL,
            tracking_uri=mlflow_url,
            env={"MONITOR_URL": monitor_url, "ALIAS_POLL_SECONDS": "1"},
        )
    )
    report.metrics["urls"].update(monitor=monitor_url, predictor=predictor_url)
    report.log("predictor up", f"serving models:/{MODEL}@champion")
    if settings.prometheus and shutil.which("prometheus"):
        prometheus = stack.enter_context(
            local.prometheus(work / "prometheus", [local.host_port(monitor_url), local.host_port(predictor_url)])
        )
        report.metrics["urls"]["prometheus"] = prometheus
        report.log("Prometheus up", f"{prometheus} (scraping the predictor and the monitor, alert rules loaded)")

    watcher = stack.enter_context(_watch_monitor(monitor_url, mlflow_url, report))
    _, clean = table_rows(settings.seed + 100, 3000, 0.0)
    traffic = stack.enter_context(
        Traffic(predictor_url, report, settings.senders, settings.rows_per_request, settings.requests_per_second)
    )
    traffic.use(clean, "clean")

    def clean_enough() -> bool:  # and the monitor has seen it: the timeline shows clean windows first
        return traffic.sent >= settings.clean_requests and watcher.windows >= settings.settle_windows

    _progress(
        settings, "clean traffic", clean_enough, settings.clean_requests, lambda: traffic.sent, settings.timeout_seconds
    )
    report.log("clean traffic replayed", f"{traffic.sent} requests, drift windows evaluated: {watcher.windows}")

    drifted_frame, _ = table_rows(settings.seed + 1, settings.table_rows, 1.0)
    version = write_version(table, drifted_frame)
    _, live = table_rows(settings.seed + 200, 3000, 1.0)
    traffic.use(live, "drifted")
    report.log("data shifted", f"dataset version {version} written; live traffic drifts")
    onset = time.monotonic()

    def swapped() -> bool:
        return any(s.version == "2" and s.status == 200 for s in report.samples[-50:])

    _progress(settings, "waiting for v2", swapped, None, lambda: traffic.sent, settings.timeout_seconds)
    report.metrics["drift_to_new_champion_seconds"] = time.monotonic() - onset
    report.log("predictor serves v2", f"{report.metrics['drift_to_new_champion_seconds']:.1f}s after the drift began")
    windows_at_swap = watcher.windows

    def settled() -> bool:
        recent = [d for d in report.drift if d.baseline == "2" and d.window > windows_at_swap]
        return len(recent) >= settings.settle_windows and all(
            d.drifted == 0 for d in recent[-settings.settle_windows :]
        )

    _progress(settings, "drift settling", settled, None, lambda: traffic.sent, settings.timeout_seconds)
    report.log("drift back under threshold", f"{settings.settle_windows} windows on baseline v2 without drift")
    stack.pop_all().close()  # stop traffic and servers before reading results
    _summarise(report, work)


class _MonitorWatch:
    windows = 0
    drifting: bool | None = None


def _max_psi(summary: dict[str, Any]) -> float:
    """The strongest numeric drift in a monitor window summary (PSI is the numeric verdict method)."""
    scores = [s["score"] for s in summary["feature_scores"].values() if s["method"] == "psi" and s["score"] is not None]
    return max(scores, default=0.0)


@contextlib.contextmanager
def _watch_monitor(url: str, mlflow_url: str, report: DemoReport) -> Iterator[_MonitorWatch]:
    """Poll the monitor's status (drift per window, the trigger) and the registry (promotions)."""

    mlflow = MlflowClient(tracking_uri=mlflow_url)

    state = _MonitorWatch()
    stop = threading.Event()
    seen_trigger: set[str] = set()
    champion = {"version": "1"}

    def check_champion() -> None:
        with contextlib.suppress(Exception):
            current = registry.version_by_alias(MODEL, registry.CHAMPION, mlflow)
            if current is not None and current.version != champion["version"]:
                champion["version"] = current.version
                data = current.tags.get("lineage.data_version")
                report.log(
                    f"champion v{current.version} promoted", f"trained on dataset version {data}" if data else ""
                )

    check_champion()  # the first registry call is slow (lazy imports): make it before traffic starts

    def poll() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.wait(0.25):
                check_champion()
                with contextlib.suppress(httpx.HTTPError, KeyError, TypeError, ValueError):
                    status = client.get(f"{url}/v1/status").json()
                    latest = status["latest"]
                    if latest and latest["window"] != state.windows:
                        state.windows = latest["window"]
                        sample = DriftSample(
                            time.monotonic() - report.started,
                            _max_psi(latest),
                            len(latest["drifted_features"]),
                            status["baseline_version"],
                            latest["window"],
                        )
                        report.drift.append(sample)
                        if bool(sample.drifted) != state.drifting:  # log changes, not every window
                            state.drifting = bool(sample.drifted)
                            what = f"{sample.drifted} features drifted" if sample.drifted else "no feature drifted"
                            report.log(
                                f"window {sample.window}: {what}",
                                f"max PSI {sample.score:.2f} against baseline v{sample.baseline}",
                            )
                    for job in status["trigger"]["fired"]:
                        if job not in seen_trigger:
                            seen_trigger.add(job)
                            report.log("retraining triggered", f"local process {job}")

    thread = threading.Thread(target=poll, daemon=True, name="monitor-watch")
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(5)


def _progress(
    settings: DemoSettings,
    label: str,
    done: Callable[[], bool],
    total: int | None,
    count: Callable[[], int],
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    start = count()
    # disable=None: a bar on a terminal, nothing in a log file or CI
    with tqdm(total=total, desc=label, unit="req", disable=None if settings.progress else True, leave=False) as bar:
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"demo step '{label}' did not finish within {timeout:.0f}s")
            time.sleep(0.2)
            bar.update(min(count() - start, total or sys.maxsize) - bar.n)


def _summarise(report: DemoReport, work: Path) -> None:
    latencies = np.array([s.latency for s in report.samples if s.status == 200])
    report.metrics.update(
        {
            "requests": len(report.samples),
            "failed_requests": report.failed_requests,
            "latency_p50_ms": float(np.percentile(latencies, 50) * 1000) if latencies.size else None,
            "latency_p99_ms": float(np.percentile(latencies, 99) * 1000) if latencies.size else None,
            "retraining_triggers": sum(1 for e in report.events if e.step == "retraining triggered"),
            "max_drift_score": max((d.score for d in report.drift), default=0.0),
            "final_drift_score": report.drift[-1].score if report.drift else None,
        }
    )
    with (
        contextlib.suppress(Exception),
        warnings.catch_warnings(),
    ):  # the servers are stopped: read the database directly
        warnings.simplefilter("ignore")
        database = MlflowClient(tracking_uri=f"sqlite:///{work / 'mlflow.db'}")
        version = database.get_model_version(MODEL, "2")
        run = database.get_run(version.run_id)
        report.metrics["v2_roc_auc"] = run.data.metrics.get("holdout_roc_auc")
        report.metrics["v1_roc_auc_on_v2_holdout"] = run.data.metrics.get("champion_holdout_roc_auc")
        report.metrics["v2_decision"] = run.data.tags.get("decision_reason")
