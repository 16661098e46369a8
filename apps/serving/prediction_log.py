"""Prediction logs to the drift monitor: asynchronous, bounded, batched, never in the way.

The request path only puts a reference on a bounded queue (`submit` never blocks); a background
thread turns them into records and posts them in batches. A full queue, a slow monitor or an
absent one costs records - each one counted in mlops_prediction_log_dropped_total - never a
request.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import orjson

from components.contracts import prediction_record

log = logging.getLogger("apps.serving.prediction_log")


@dataclass(frozen=True)
class _Entry:
    model: str
    version: str
    columns: dict[str, np.ndarray]
    predictions: np.ndarray
    timestamp: float
    request_id: str


class PredictionLog:
    def __init__(
        self,
        url: str,
        *,
        on_drop: Callable[[str, int], None],
        max_queue: int = 10_000,
        batch_size: int = 500,
        flush_seconds: float = 0.5,
        timeout_seconds: float = 2.0,
    ) -> None:
        self.url = url.rstrip("/") + "/v1/logs"
        self._on_drop = on_drop
        self._queue: queue.Queue[_Entry | None] = queue.Queue(maxsize=max_queue)
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._client = httpx.Client(timeout=timeout_seconds)
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self.sent = 0
        # Ids for requests that brought none: unique per process without a uuid per request.
        self._id_prefix, self._ids = uuid.uuid4().hex[:12], itertools.count()
        self._thread.start()

    def submit(
        self, model: str, version: str, columns: dict[str, np.ndarray], predictions: np.ndarray, request_id: str | None
    ) -> None:
        try:
            self._queue.put_nowait(
                _Entry(
                    model,
                    version,
                    columns,
                    predictions,
                    time.time(),
                    request_id or f"{self._id_prefix}-{next(self._ids)}",
                )
            )
        except queue.Full:
            self._on_drop(model, len(predictions))

    def close(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        pending: list[_Entry] = []
        deadline = time.monotonic() + self._flush_seconds
        while True:
            try:
                entry = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                entry = _Entry("", "", {}, np.empty(0), 0.0, "")  # a tick
            if entry is None:
                self._send(pending)
                return
            if entry.model:
                pending.append(entry)
            rows = sum(len(e.predictions) for e in pending)
            if rows >= self._batch_size or time.monotonic() >= deadline:
                self._send(pending)
                pending = []
                deadline = time.monotonic() + self._flush_seconds

    def _send(self, entries: list[_Entry]) -> None:
        if not entries:
            return
        records = [record for entry in entries for record in _records(entry)]
        try:
            body = orjson.dumps({"records": records})  # several times faster than json: this thread shares the GIL
            response = self._client.post(self.url, content=body, headers={"content-type": "application/json"})
            response.raise_for_status()
            self.sent += len(records)
        except httpx.HTTPError as error:
            log.warning("dropped %d prediction records: monitor at %s: %s", len(records), self.url, error)
            for entry in entries:
                self._on_drop(entry.model, len(entry.predictions))


def _records(entry: _Entry) -> list[dict[str, Any]]:
    """One PredictionRecord (components/contracts.py) per row of the request."""
    names = list(entry.columns)
    columns = [entry.columns[n].tolist() for n in names]
    return [
        prediction_record(
            request_id=f"{entry.request_id}-{row}" if len(entry.predictions) > 1 else entry.request_id,
            model=entry.model,
            version=entry.version,
            timestamp=entry.timestamp,
            features={name: column[row] for name, column in zip(names, columns, strict=True)},
            prediction=float(entry.predictions[row]),
        )
        for row in range(len(entry.predictions))
    ]
