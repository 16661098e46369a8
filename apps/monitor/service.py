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
from apps.monitor.trigger import Backend, RetrainTrigger
from apps.monitor.window import LabelMemory, MalformedBatch, SlidingWindow, WindowResult, evaluate, parse_batch

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
        self.window: SlidingWindow | None = None
        self.labels = LabelMemory(config.label_memory)
        self.windows_evaluated = 0
        self.latest: WindowResult | None = None
        self.history: list[dict[str, Any]] = []
        records = BY_NAME["mlops_monitor_records_total"]
        triggers = BY_NAME["mlops_retrain_triggers_total"]
        self.records = Counter(records.name.removesuffix("_total"), records.help, records.labels, registry=registry)
        self.triggers = Counter(triggers.name.removesuffix("_total"), triggers.help, triggers.labels, registry=registry)
        for outcome in ("accepted", "rejected"):
            self.records.labels(model=config.model_name, outcome=outcome)
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
        with self._lock:
            self.profile, self.profile_version = profile, version
            names = [*profile.numeric, *profile.categorical]
            self.window = SlidingWindow(self.config.window_size, names, frozenset(profile.numeric))
            self.trigger.new_baseline(version)
        log.info("baseline: %s v%s (%d reference rows)", self.config.model_name, version, profile.rows)
        return True

    # ------------------------------------------------------------------ ingestion

    def ingest(self, body: Any) -> dict[str, Any]:
        with self._lock:
            if self.profile is None or self.window is None:
                raise NotReady("no reference profile yet (is there a champion?)")
            try:
                batch = parse_batch(body, self.profile, self.config.model_name, self.config.max_batch_records)
            except MalformedBatch as error:
                self.records.labels(model=self.config.model_name, outcome="rejected").inc(max(error.rejected, 1))
                raise
            self.window.append(batch)
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
            raise MalformedBatch(['the body must be {"labels": [{"request_id": ..., "label": 0|1}]}'], 0)
        problems, parsed = [], []
        for index, item in enumerate(body["labels"]):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("request_id"), str | int)
                or item.get("label") not in (0, 1)
                or isinstance(item.get("label"), bool)
            ):
                problems.append(f"labels[{index}] must be {{request_id, label: 0|1}}")
            else:
                parsed.append((str(item["request_id"]), int(item["label"])))
        if problems:
            raise MalformedBatch(problems, len(body["labels"]))
        with self._lock:
            for request_id, label in parsed:
                self.labels.add(request_id, label)
        return {"accepted": len(parsed)}

    def _evaluate(self) -> None:
        assert self.window is not None and self.profile is not None
        self.windows_evaluated += 1
        self.window.since_evaluation = 0
        result = evaluate(self.windows_evaluated, self.window.snapshot(), self.profile, self.config, self.labels)
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
                "latest": self.history[-1] if self.history else None,
                "trigger": {"streak": self.trigger.streak, "fired": list(self.trigger.fired)},
            }


class NotReady(RuntimeError):
    """503: no baseline yet."""


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
            for version, metrics in result.performance.items():
                for metric, value in metrics.items():
                    families["mlops_model_performance"].add_metric([model, version, metric], value)
        yield from families.values()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


def create_app(monitor: Monitor, registry: CollectorRegistry, *, max_body_bytes: int = 16 * 1024 * 1024) -> Any:
    app = FastAPI(title="drift monitor", docs_url=None, redoc_url=None)

    async def read_json(request: Request) -> Any:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise MalformedBatch([f"content type {request.headers.get('content-type')!r}: send application/json"], 0)
        try:
            return orjson.loads(await request.body())
        except ValueError as error:  # orjson.JSONDecodeError is one
            raise MalformedBatch([f"the body is not JSON ({error})"], 0) from error

    @app.exception_handler(MalformedBatch)
    async def malformed(_: Request, error: MalformedBatch) -> JSONResponse:
        return JSONResponse(status_code=400, content={"error": str(error), "problems": error.problems[:100]})

    @app.exception_handler(NotReady)
    async def not_ready(_: Request, error: NotReady) -> JSONResponse:
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
        return JSONResponse(
            status_code=200 if ready else 503, content={"ready": ready, "baseline_version": monitor.profile_version}
        )

    return BodyLimit(app, max_body_bytes)


async def run_sync(function: Callable[..., Any], *args: Any) -> Any:
    """CPU-bound work (window evaluation) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)
