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
import itertools
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
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from apps.common import local, registry
from apps.common.clients import Clients
from apps.common.processes import terminable
from apps.demo.report import write_report
from apps.demo.timeline import NULL_COLUMN, DemoReport, DemoSettings, DriftSample, Sample
from apps.features.offline import FEATURES
from apps.monitor.config import MonitorConfig
from apps.training.config import TrainingConfig
from apps.training.data import generate, write_version

MODEL = "churn-classifier"


class Traffic(Clients):
    """Clients replaying rows of the current dataset version against the predictor. Each request has an
    id; the labels of its rows (the table's churn column, as a CRM would report it later) go to the
    monitor in batches, so it reports realized performance beside its estimate."""

    def __init__(
        self, url: str, monitor_url: str, report: DemoReport, senders: int, rows_per_request: int, rate: float
    ) -> None:
        super().__init__(senders, "traffic")
        self.url = f"{url}/v1/models/churn:predict"
        self.labels_url = f"{monitor_url}/v1/labels"
        self.report = report
        self.rows_per_request = rows_per_request
        self.interval = 1 / rate
        self._next_slot = time.monotonic()
        self.rows: list[dict[str, Any]] = []
        self.truth: list[int] = []
        self.phase = "clean"
        self._lock = threading.Lock()
        self._cursor = 0
        self._ids = itertools.count()
        self._labels: list[dict[str, Any]] = []
        self.sent = 0
        self.labelled = 0
        self._poster = threading.Thread(target=self._post_labels, daemon=True, name="labels")

    def __enter__(self) -> Traffic:
        super().__enter__()
        self._poster.start()
        return self

    def use(self, rows: list[dict[str, Any]], truth: list[int], phase: str) -> None:
        with self._lock:
            self.rows, self.truth, self.phase, self._cursor = rows, truth, phase, 0

    def _batch(self) -> tuple[list[dict[str, Any]], list[int], str, float]:
        """The next rows, their labels, their phase and when to send them (slots spaced 1/rate apart)."""
        with self._lock:
            slot = self._next_slot = max(self._next_slot + self.interval, time.monotonic() - 1)
            start = self._cursor
            self._cursor = (self._cursor + self.rows_per_request) % max(len(self.rows) - self.rows_per_request, 1)
            end = start + self.rows_per_request
            return self.rows[start:end], self.truth[start:end], self.phase, slot

    def send(self, client: httpx.Client) -> bool:
        batch, truth, phase, slot = self._batch()
        if self.stopped.wait(max(slot - time.monotonic(), 0)):
            return False
        request_id = f"demo-{next(self._ids)}"
        started = time.monotonic()
        try:
            answer = client.post(self.url, json={"instances": batch}, headers={"x-request-id": request_id})
            status, version = answer.status_code, answer.headers.get("x-model-version", "")
        except httpx.HTTPError:
            status, version = 0, ""
        self.report.samples.append(
            Sample(started - self.report.started, time.monotonic() - started, status, version, phase)
        )
        if status == 200:  # the predictor logs a multi-row request's rows as <id>-<row>
            predictions = answer.json()["predictions"]
            self.report.scored.extend((phase, version, p, y) for p, y in zip(predictions, truth, strict=True))
            with self._lock:
                self._labels += [{"request_id": f"{request_id}-{row}", "label": y} for row, y in enumerate(truth)]
        self.sent += 1
        return True

    def _post_labels(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stopped.wait(0.5):
                with self._lock:
                    batch, self._labels = self._labels, []
                if batch:
                    with contextlib.suppress(httpx.HTTPError):
                        client.post(self.labels_url, json={"labels": batch})
                        self.labelled += len(batch)


def table_rows(
    seed: int, rows: int, drift: float, null_share: float = 0.0
) -> tuple[Any, list[dict[str, Any]], list[int]]:
    """A generated table, the predictor payload of its rows (with `null_share` of NULL_COLUMN null: the
    broken upstream join the drifted phase brings) and their labels."""
    frame = generate(rows, seed=seed, drift=drift)
    numeric = set(FEATURES[:5])
    nulls = np.random.default_rng(seed).random(rows) < null_share
    payload = [
        {n: (None if n == NULL_COLUMN and missing else float(r[n]) if n in numeric else str(r[n])) for n in FEATURES}
        for r, missing in zip(frame[list(FEATURES)].to_dict("records"), nulls, strict=True)
    ]
    return frame, payload, frame["churned"].astype(int).tolist()


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

    frame, _, _ = table_rows(settings.seed, settings.table_rows, 0.0)
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
    _, clean, clean_truth = table_rows(settings.seed + 100, 3000, 0.0)
    traffic = stack.enter_context(
        Traffic(
            predictor_url,
            monitor_url,
            report,
            settings.senders,
            settings.rows_per_request,
            settings.requests_per_second,
        )
    )
    traffic.use(clean, clean_truth, "clean")

    def clean_enough() -> bool:  # and the monitor has seen it: the timeline shows clean windows first
        return traffic.sent >= settings.clean_requests and watcher.windows >= settings.settle_windows

    _progress(
        settings, "clean traffic", clean_enough, settings.clean_requests, lambda: traffic.sent, settings.timeout_seconds
    )
    report.log("clean traffic replayed", f"{traffic.sent} requests, drift windows evaluated: {watcher.windows}")
    refused = _bad_requests(predictor_url)
    report.log("a client's bad requests refused", f"{refused} answered 400 (counted by reason, none internal)")

    drifted_frame, _, _ = table_rows(settings.seed + 1, settings.table_rows, 1.0)
    version = write_version(table, drifted_frame)
    _, live, live_truth = table_rows(settings.seed + 200, 3000, 1.0, settings.null_share)
    traffic.use(live, live_truth, "drifted")
    report.log(
        "data shifted",
        f"dataset version {version} written; live traffic drifts, {settings.null_share:.0%} of {NULL_COLUMN} null",
    )
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
    if "prometheus" in report.metrics["urls"]:
        time.sleep(3)  # a last scrape
        report.metrics["dashboard_panels"] = check_dashboards(report.metrics["urls"]["prometheus"], report)
        empty = [panel for panel, series in report.metrics["dashboard_panels"].items() if series == 0]
        report.log("dashboards queried", f"{len(report.metrics['dashboard_panels']) - len(empty)} panels with data")
    stack.pop_all().close()  # stop traffic and servers before reading results
    _summarise(report, work)


NOT_IN_THE_DEMO = frozenset({"gpu", "llm"})
"""Dashboards of what the demo does not run: the GPU one needs NVIDIA's DCGM exporter and a GPU, the LLM
one a vLLM server (tests/llm runs its panels against a real one)."""


def check_dashboards(prometheus_url: str, report: DemoReport) -> dict[str, int]:
    """Run every panel's queries (the dashboards Grafana loads) over the demo's time range against its
    Prometheus: series returned per panel. The GPU and LLM dashboards are left out (NOT_IN_THE_DEMO)."""
    from apps.common.local import dashboards

    end = time.time()
    start = end - (time.monotonic() - report.started)
    found = {}
    with httpx.Client(timeout=30) as client:
        for stem, board in dashboards().items():
            if stem in NOT_IN_THE_DEMO:
                continue
            for panel in board["panels"]:
                series = 0
                for target in panel.get("targets", []):
                    expr = target["expr"].replace('=~"$model"', '=~".+"')
                    answer = client.get(
                        f"{prometheus_url}/api/v1/query_range",
                        params={"query": expr, "start": start, "end": end, "step": 2},
                    ).json()
                    series += len(answer.get("data", {}).get("result", []))
                found[f"{stem}: {panel['title']}"] = series
    return found


def _bad_requests(predictor_url: str) -> int:
    """What a buggy client sends: answered 4xx, counted by reason, never an internal error."""
    bodies = [{"instances": [{"tenure_months": "twelve"}]}, {"rows": []}, {"instances": []}]
    with httpx.Client(timeout=10) as client:
        answers = [client.post(f"{predictor_url}/v1/models/churn:predict", json=body) for body in bodies]
    if any(a.status_code != 400 for a in answers):
        raise RuntimeError(f"bad requests answered {[a.status_code for a in answers]}, expected 400s")
    return len(answers)


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
                        serving = latest["performance"].get(latest["version"], {})
                        sample = DriftSample(
                            time.monotonic() - report.started,
                            _max_psi(latest),
                            len(latest["drifted_features"]),
                            status["baseline_version"],
                            latest["window"],
                            estimated_auc=serving.get("estimated_roc_auc"),
                            realized_auc=serving.get("roc_auc"),
                            estimated_accuracy=serving.get("estimated_accuracy"),
                            realized_accuracy=serving.get("accuracy"),
                            null_rate=latest["feature_quality"].get(NULL_COLUMN, {}).get("nulls"),
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


def performance_summary(report: DemoReport) -> dict[str, Any]:
    """Estimated against realized performance, before the shift and after it (v1 still serving), and the
    null column's quality."""
    shift = report.at("data shifted")
    clean = [d for d in report.drift if shift is not None and d.at < shift and d.baseline == "1"]
    shifted = [d for d in report.drift if shift is not None and d.at >= shift and d.baseline == "1"]

    def mean(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return float(np.mean(present)) if present else None

    # The realized AUC of one window of a few hundred rows varies by a few hundredths on its own (and
    # sliding windows overlap): the estimate is judged against the realized AUC of all the clean traffic
    # v1 answered - thousands of rows - which is what CBPE estimates.
    estimated = mean([d.estimated_auc for d in clean])
    answered = [(p, y) for phase, version, p, y in report.scored if phase == "clean" and version == "1"]
    realized = (
        float(roc_auc_score([y for _, y in answered], [p for p, _ in answered]))
        if len({y for _, y in answered}) == 2
        else None
    )
    return {
        "clean_estimated_roc_auc": estimated,
        "clean_realized_roc_auc": mean([d.realized_auc for d in clean]),
        "clean_realized_roc_auc_all_rows": realized,
        "clean_rows_with_labels": len(answered),
        "clean_estimate_error_roc_auc": abs(estimated - realized)
        if estimated is not None and realized is not None
        else None,
        "clean_windows_with_labels": len([d for d in clean if d.estimated_auc and d.realized_auc]),
        "clean_estimated_accuracy": mean([d.estimated_accuracy for d in clean]),
        "shifted_estimated_roc_auc": mean([d.estimated_auc for d in shifted]),
        "shifted_realized_roc_auc": mean([d.realized_auc for d in shifted]),
        "shifted_estimated_accuracy": mean([d.estimated_accuracy for d in shifted]),
        "clean_null_rate": mean([d.null_rate for d in clean]),
        "shifted_null_rate": mean([d.null_rate for d in shifted]),
    }


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
            **performance_summary(report),
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
