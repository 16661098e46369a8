"""The drift monitor service: ingest prediction logs and labels, evaluate windows, export metrics,
trigger retraining.

    POST /v1/logs     {"records": [{request_id, model, version, features: {...}, prediction, timestamp}]}
    POST /v1/labels   {"labels": [{request_id, label}]}
    GET  /metrics     Prometheus (metrics contract)
    GET  /v1/status   last window, trigger state
    GET  /healthz, /readyz
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.common.http import BodyLimit
from apps.common.metrics import BY_NAME
from apps.common.profile import ARTIFACT, ReferenceProfile
from apps.monitor.config import MonitorConfig
from apps.monitor.journal import Journal
from apps.monitor.trigger import Backend, RetrainTrigger
from apps.monitor.window import (
    LabelMemory,
    MalformedBatch,
    SlidingWindow,
    WindowResult,
    evaluate,
    parse_batch,
    quality_limits,
    request_id_problem,
    vocabularies,
)

log = logging.getLogger("apps.monitor")


class ProfileSource:
    """The baseline: the reference profile of the version behind the alias (or a fixed file)."""

    def __init__(self, config: MonitorConfig) -> None:
        self.config = config

    def current(self) -> tuple[str, ReferenceProfile] | None:
        """(serving version, its profile), or None if there is no champion yet."""
        if self.config.profile_path is not None:
            return "file", ReferenceProfile.from_json(self.config.profile_path.read_text())
        from apps.common import registry

        version = registry.version_by_alias(self.config.model_name, self.config.alias)
        if version is None:
            return None
        with tempfile.TemporaryDirectory() as scratch:
            path = registry.download_artifact(version, ARTIFACT, scratch)
            return version.version, ReferenceProfile.from_json(Path(path).read_text())

    def version(self) -> str | None:
        if self.config.profile_path is not None:
            return "file"
        from apps.common import registry

        found = registry.version_by_alias(self.config.model_name, self.config.alias)
        return found.version if found else None


class Monitor:
    def __init__(
        self,
        config: MonitorConfig,
        backend: Backend | None,
        registry: CollectorRegistry,
        source: ProfileSource | None = None,
    ) -> None:
        self.config = config
        self.source = source or ProfileSource(config)
        self._lock = threading.RLock()
        self.profile: ReferenceProfile | None = None
        self.profile_version: str | None = None
        self.problem: str | None = None
        """Why the latest baseline was refused (a config that does not suit it), if it was."""
        self.window: SlidingWindow | None = None
        self.labels = LabelMemory(config.label_memory, recent=config.window_size)
        self.journal = (
            Journal(config.state_dir, max(config.window_size, config.label_memory), fsync=config.journal_fsync)
            if config.state_dir is not None
            else None
        )
        self.replayed = 0
        """Records rebuilt from the journal at start."""
        self.windows_evaluated = 0
        self.latest: WindowResult | None = None
        self.history: list[dict[str, Any]] = []
        self.records = counter("mlops_monitor_records_total", registry)
        self.rejected = counter("mlops_monitor_rejected_total", registry)
        self.label_outcomes = counter("mlops_monitor_labels_total", registry)
        self.triggers = counter("mlops_retrain_triggers_total", registry)
        for outcome in ("accepted", "rejected"):
            self.records.labels(model=config.model_name, outcome=outcome)
        for outcome in ("matched", "unmatched", "discarded"):
            self.label_outcomes.labels(model=config.model_name, outcome=outcome)
        self.triggers.labels(model=config.model_name, reason="drift")
        self.trigger = RetrainTrigger(
            config.model_name,
            backend,
            consecutive_windows=config.consecutive_windows,
            cooldown_seconds=config.cooldown_seconds,
            on_trigger=lambda model, reason: self.triggers.labels(model=model, reason=reason).inc(),
        )
        registry.register(WindowCollector(self))

    # ------------------------------------------------------------------ baseline

    def refresh_profile(self) -> bool:
        """Load the serving version's profile if it changed; True when a (new) profile is in place."""
        version = self.source.version()
        if version is None:
            return self.profile is not None
        if version == self.profile_version:
            return True
        found = self.source.current()
        if found is None:
            return self.profile is not None
        version, profile = found
        # A per-feature method override must suit the feature's kind: refuse the baseline, never score wrongly.
        try:
            self.config.methods.check_features(profile.numeric, profile.categorical)
        except ValueError as error:
            problem = f"the monitor's config does not suit v{version}'s reference profile: {error}"
            if problem != self.problem:
                log.error("%s", problem)
            self.problem = problem
            return self.profile is not None
        self.problem = None
        with self._lock:
            first = self.profile is None
            self.profile, self.profile_version = profile, version
            names = [*profile.numeric, *profile.categorical]
            self.window = SlidingWindow(
                self.config.window_size, names, frozenset(profile.numeric), vocabularies(profile)
            )
            self.trigger.new_baseline(version)
            if first and self.journal is not None:
                self._replay(profile, self.window, self.journal)
        log.info("baseline: %s v%s (%d reference rows)", self.config.model_name, version, profile.rows)
        return True

    # ------------------------------------------------------------------ ingestion

    def _replay(self, profile: ReferenceProfile, window: SlidingWindow, journal: Journal) -> None:
        """Rebuild the window and the labels from the journal, as they were when the process stopped."""
        for entry in journal.replay():
            if entry.get("kind") == "logs":
                try:
                    batch = parse_batch(entry, profile, self.config.model_name, 10**9, window.vocabularies)
                except MalformedBatch:
                    continue  # records of another model version's features: they do not fit this baseline
                window.append(batch)
                self.labels.predicted(batch.request_ids, batch.predictions, batch.versions)
                self.replayed += len(batch)
            elif entry.get("kind") == "labels":
                for item in entry.get("labels", []):
                    self.labels.add(str(item["request_id"]), int(item["label"]))
            elif entry.get("kind") == "evaluated":
                window.since_evaluation = 0
                self.windows_evaluated = int(entry.get("window", self.windows_evaluated))
        if self.replayed:
            log.info("journal: %d records and %d labels rebuilt", self.replayed, len(self.labels))

    def refused(self, kind: str, error: MalformedBatch) -> None:
        """Count a refused request: by reason, and (prediction logs) its records as rejected."""
        model = self.config.model_name
        for reason, count in error.reasons.items():
            self.rejected.labels(model=model, kind=kind, reason=reason).inc(count)
        if kind == "logs":
            self.records.labels(model=model, outcome="rejected").inc(error.records)

    def ingest(self, body: Any) -> dict[str, Any]:
        with self._lock:
            if self.profile is None or self.window is None:
                count = len(body["records"]) if isinstance(body, dict) and isinstance(body.get("records"), list) else 1
                raise NotReady("no reference profile yet (is there a champion?)", max(count, 1))
            batch = parse_batch(
                body, self.profile, self.config.model_name, self.config.max_batch_records, self.window.vocabularies
            )
            if self.journal is not None:  # on disk before it is acknowledged
                self.journal.append({"kind": "logs", "records": body["records"]})
            self.window.append(batch)
            self.labels.predicted(batch.request_ids, batch.predictions, batch.versions)
            self.records.labels(model=self.config.model_name, outcome="accepted").inc(len(batch))
            evaluated = 0
            while (
                self.window.filled >= self.config.window_size
                and self.window.since_evaluation >= self.config.evaluation_step
            ):
                self._evaluate()
                evaluated += 1
            return {"accepted": len(batch), "windows_evaluated": evaluated}

    def add_labels(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("labels"), list):
            raise MalformedBatch.request(
                'the body must be {"labels": [{"request_id": ..., "label": 0|1}]}', "not_labels"
            )
        items = body["labels"]
        if not items:
            raise MalformedBatch.request('"labels" is empty', "empty")
        if len(items) > self.config.max_batch_records:
            raise MalformedBatch(
                [f'"labels" has {len(items)} labels; at most {self.config.max_batch_records} per batch'],
                {"too_many": len(items)},
            )
        problems, parsed = [], []
        for index, item in enumerate(items):
            label = item.get("label") if isinstance(item, dict) else None
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("request_id"), str | int)
                or isinstance(label, bool)
                or label not in (0, 1)
            ):
                problems.append(f"labels[{index}] must be {{request_id, label: 0|1}}")
            elif id_problem := request_id_problem(request_id := str(item["request_id"])):
                problems.append(f"labels[{index}].request_id {id_problem}")
            else:
                parsed.append((request_id, int(label)))
        if problems:
            reasons = {"invalid_label": len(problems)}
            if len(items) > len(problems):
                reasons["in_refused_batch"] = len(items) - len(problems)
            raise MalformedBatch(problems, reasons)
        outcomes: dict[str, int] = {}
        with self._lock:
            if self.journal is not None:
                self.journal.append({"kind": "labels", "labels": [{"request_id": r, "label": y} for r, y in parsed]})
            for request_id, label in parsed:
                outcome = self.labels.add(request_id, label)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        for outcome, count in outcomes.items():
            self.label_outcomes.labels(model=self.config.model_name, outcome=outcome).inc(count)
        return {"accepted": len(parsed), **outcomes}

    def _evaluate(self) -> None:
        assert self.window is not None and self.profile is not None
        self.windows_evaluated += 1
        self.window.since_evaluation = 0
        if self.journal is not None:
            self.journal.append({"kind": "evaluated", "window": self.windows_evaluated})
        result = evaluate(
            self.windows_evaluated, self.window.snapshot(), self.profile, self.config, self.labels, self.profile_version
        )
        self.latest = result
        drifted = len(result.drifted_features) >= self.config.min_drifted_features
        detail = ", ".join(result.drifted_features) or "no feature"
        decision = self.trigger.observe(drifted, detail)
        summary = {
            "window": result.index,
            "version": result.model_version,
            "drifted_features": result.drifted_features,
            "feature_scores": {
                f.feature: {"method": f.verdict_method, "score": f.scores.get(f.verdict_method)}
                for f in result.features
            },
            "prediction_drift": result.prediction_scores,
            "quality": result.quality,
            "feature_quality": result.feature_quality,
            "performance": result.performance,
            "trigger": {"fired": decision.fired, "reason": decision.reason, "job": decision.job_name},
        }
        self.history = [*self.history[-99:], summary]
        log.info("window %d: %s drifted; %s", result.index, detail if drifted else "nothing", decision.reason)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "model": self.config.model_name,
                "baseline_version": self.profile_version,
                "windows_evaluated": self.windows_evaluated,
                "buffered": self.window.filled if self.window else 0,
                "labels": len(self.labels),
                "labels_waiting": self.labels.waiting,
                "replayed": self.replayed,
                "latest": self.history[-1] if self.history else None,
                "trigger": {"streak": self.trigger.streak, "fired": list(self.trigger.fired)},
            }


class NotReady(RuntimeError):
    """503: no baseline yet (the request's records are refused, counted as no_baseline)."""

    def __init__(self, message: str, records: int = 1) -> None:
        super().__init__(message)
        self.records = records


def counter(name: str, registry: CollectorRegistry) -> Counter:
    """A counter of the metrics contract (prometheus_client adds the _total suffix back)."""
    spec = BY_NAME[name]
    return Counter(spec.name.removesuffix("_total"), spec.help, spec.labels, registry=registry)


class WindowCollector(Collector):
    """Drift, quality and performance gauges of the last evaluated window (computed once per window;
    a scrape only reads them)."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[GaugeMetricFamily]:
        result = self.monitor.latest
        model = self.monitor.config.model_name
        families = {
            name: GaugeMetricFamily(name, spec.help, labels=list(spec.labels))
            for name, spec in BY_NAME.items()
            if spec.kind == "gauge"
            and name.startswith(
                ("mlops_feature", "mlops_prediction_drift", "mlops_data_quality", "mlops_model_performance")
            )
        }
        if result is not None:
            for feature in result.features:
                for method, score in feature.scores.items():
                    families["mlops_feature_drift_score"].add_metric([model, feature.feature, method], score)
                families["mlops_feature_drift_detected"].add_metric(
                    [model, feature.feature], 1.0 if feature.drifted else 0.0
                )
            for method, score in result.prediction_scores.items():
                families["mlops_prediction_drift_score"].add_metric([model, method], score)
            for check, score in result.quality.items():
                families["mlops_data_quality_score"].add_metric([model, check], score)
            profile = self.monitor.profile
            limits = quality_limits(profile, self.monitor.config.quality_tolerance) if profile else {}
            for feature, checks in result.feature_quality.items():
                for check, rate in checks.items():
                    families["mlops_feature_quality"].add_metric([model, feature, check], rate)
                    if check in limits.get(feature, {}):
                        families["mlops_feature_quality_limit"].add_metric(
                            [model, feature, check], limits[feature][check]
                        )
            for version, metrics in result.performance.items():
                for metric, value in metrics.items():
                    families["mlops_model_performance"].add_metric([model, version, metric], value)
        yield from families.values()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


def create_app(monitor: Monitor, registry: CollectorRegistry, *, max_body_bytes: int = 16 * 1024 * 1024) -> Any:
    app = FastAPI(title="drift monitor", docs_url=None, redoc_url=None)

    async def read_json(request: Request) -> Any:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":  # media types ignore case
            raise MalformedBatch.request(f"content type {content_type!r}: send application/json", "content_type", 415)
        body = await request.body()
        if not body.strip():
            raise MalformedBatch.request("the body is empty", "empty")
        try:
            return orjson.loads(body)  # strict JSON: NaN and Infinity literals are not JSON
        except ValueError as error:  # orjson.JSONDecodeError is one
            raise MalformedBatch.request(f"the body is not JSON ({error})", "not_json") from error

    def kind(request: Request) -> str:
        return "labels" if request.url.path.endswith("/labels") else "logs"

    @app.exception_handler(MalformedBatch)
    async def malformed(request: Request, error: MalformedBatch) -> JSONResponse:
        monitor.refused(kind(request), error)
        log.warning("%d %s: %s", error.status, request.url.path, str(error)[:300])
        return JSONResponse(status_code=error.status, content={"error": str(error), "problems": error.problems[:100]})

    @app.exception_handler(NotReady)
    async def not_ready(request: Request, error: NotReady) -> JSONResponse:
        monitor.refused(kind(request), MalformedBatch([str(error)], {"no_baseline": error.records}))
        return JSONResponse(status_code=503, content={"error": str(error)})

    @app.post("/v1/logs")
    async def logs(request: Request) -> dict[str, Any]:
        return await run_sync(monitor.ingest, await read_json(request))

    @app.post("/v1/labels")
    async def labels(request: Request) -> dict[str, Any]:
        return monitor.add_labels(await read_json(request))

    @app.get("/v1/status")
    async def status() -> dict[str, Any]:
        return monitor.status()

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ready = monitor.profile is not None
        content = {"ready": ready, "baseline_version": monitor.profile_version}
        if monitor.problem:
            content["problem"] = monitor.problem
        return JSONResponse(status_code=200 if ready else 503, content=content)

    def too_large(path: str) -> None:
        monitor.rejected.labels(
            model=monitor.config.model_name, kind="labels" if path.endswith("/labels") else "logs", reason="too_large"
        ).inc()

    return BodyLimit(app, max_body_bytes, on_refused=too_large)


async def run_sync(function: Callable[..., Any], *args: Any) -> Any:
    """CPU-bound work (window evaluation) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)
