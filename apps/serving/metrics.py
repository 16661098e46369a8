"""The predictor's side of the metrics contract, and the ASGI middleware that records it.

The middleware sees every request as the client does (body parsing and encoding included): its
latency, its status and the version that answered (the x-model-version header), so 4xx answers
to bad payloads are counted by reason without touching the model code.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from apps.common.http import ASGIApp, Message, Receive, Scope, Send
from apps.common.metrics import BY_NAME

PREDICT_PATH = re.compile(
    r"^/v1/models/(?P<model>[^/:]+):predict$|^/v2/models/(?P<model2>[^/]+)(?:/versions/[^/]+)?/infer$"
)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
REASONS = {
    400: "invalid_input",
    404: "not_found",
    405: "bad_method",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    503: "unavailable",
}


def _metric(kind: type, name: str, registry: CollectorRegistry, **kwargs: Any) -> Any:
    spec = BY_NAME[name]
    return kind(
        spec.name.removesuffix("_total") if kind is Counter else spec.name,
        spec.help,
        spec.labels,
        registry=registry,
        **kwargs,
    )


@dataclass
class ServingMetrics:
    latency: Histogram
    predictions: Counter
    errors: Counter
    log_dropped: Counter
    version_info: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ServingMetrics:
        return cls(
            latency=_metric(Histogram, "mlops_prediction_latency_seconds", registry, buckets=LATENCY_BUCKETS),
            predictions=_metric(Counter, "mlops_predictions_total", registry),
            errors=_metric(Counter, "mlops_prediction_errors_total", registry),
            log_dropped=_metric(Counter, "mlops_prediction_log_dropped_total", registry),
            version_info=_metric(Gauge, "mlops_model_version_info", registry),
        )

    @classmethod
    def default(cls) -> ServingMetrics:
        """Metrics in the default registry (what KServe's /metrics exposes), created once per process."""
        return _default_metrics()

    def dropped(self, model: str, records: int) -> None:
        self.log_dropped.labels(model=model).inc(records)

    def serving_version(self, model: str, version: str, alias: str, previous: str | None) -> None:
        if previous is not None and previous != version:
            self.version_info.remove(model, previous, alias)
        self.version_info.labels(model=model, version=version, alias=alias).set(1)


@functools.cache
def _default_metrics() -> ServingMetrics:
    return ServingMetrics.create(REGISTRY)


class RequestMetrics:
    """Pure ASGI middleware: latency, answered and failed predictions per model and version."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics, model: str, served_name: str) -> None:
        self.app = app
        self.metrics = metrics
        self.model = model
        self.served_name = served_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = PREDICT_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen: dict[str, Any] = {"status": 500, "version": "unknown"}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for key, value in message.get("headers", []):
                    if key == b"x-model-version":
                        seen["version"] = value.decode()
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            status, version = seen["status"], seen["version"]
            # Bounded label values: only the served model's name, never whatever a client sent.
            model = self.model if (match.group("model") or match.group("model2")) == self.served_name else "unknown"
            self.metrics.latency.labels(model=model, version=version).observe(time.perf_counter() - started)
            if status < 400:
                self.metrics.predictions.labels(model=model, version=version).inc()
            else:
                reason = REASONS.get(status, "internal" if status >= 500 else "client_error")
                self.metrics.errors.labels(model=model, version=version, reason=reason).inc()
