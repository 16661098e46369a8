"""Prediction logs to the drift monitor: asynchronous, bounded, batched, never in the way - and
nothing lost while there is room.

The request path only appends a reference to a list (`submit` never blocks, and wakes nobody: a
thread woken per request would take the GIL from the event loop a thousand times a second - that
handoff, not the records, was most of what logging cost); a background thread wakes when a batch is
full or every `flush_seconds`, turns the references into records and posts them in batches. When the monitor is slow, restarting or down, the batch
is retried (backoff up to a few seconds) and new records wait in the queue, up to `max_records`:
only what would overflow it is dropped, each record counted in mlops_prediction_log_dropped_total
(and so is whatever is still undelivered when the predictor stops). Never a failed request.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import orjson
from mlops_platform.contracts import prediction_record

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
        max_records: int = 10_000,
        batch_size: int = 500,
        flush_seconds: float = 0.5,
        timeout_seconds: float = 2.0,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self.url = url.rstrip("/") + "/v1/logs"
        self._on_drop = on_drop
        self._entries: collections.deque[_Entry] = collections.deque()
        self._max_records = max_records
        self._queued = 0
        """Records submitted and not yet delivered (or dropped): the bound is on these."""
        self._waiting = 0
        """Records submitted and not yet taken by the sender: it is woken when a batch's worth wait."""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._max_backoff = max_backoff_seconds
        self._client = httpx.Client(timeout=timeout_seconds)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self.sent = 0
        # Ids for requests that brought none: unique per process without a uuid per request.
        self._id_prefix, self._ids = uuid.uuid4().hex[:12], itertools.count()
        self._thread.start()

    def submit(
        self, model: str, version: str, columns: dict[str, np.ndarray], predictions: np.ndarray, request_id: str | None
    ) -> None:
        count = len(predictions)
        with self._lock:
            full = self._queued + count > self._max_records
            if not full:
                self._queued += count
                self._waiting += count
            wake = self._waiting >= self._batch_size
        if full:
            self._on_drop(model, count)
            return
        self._entries.append(
            _Entry(
                model, version, columns, predictions, time.time(), request_id or f"{self._id_prefix}-{next(self._ids)}"
            )
        )
        if wake:
            self._wake.set()

    @property
    def queued(self) -> int:
        return self._queued

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what can be delivered within `timeout`; count the rest as dropped."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            stopping = self._stopping.is_set()
            # retry=False once stopping: deliver what the monitor takes now, count the rest as dropped.
            for batch in self._batches():
                if not self._deliver(batch, retry=not stopping):
                    self._drop(batch)
                    stopping = True  # stopped while the monitor was away: the rest is dropped, counted
            if stopping:
                self._drop([*self._entries])
                return

    def _batches(self) -> list[list[_Entry]]:
        """What waits, taken from the list, in batches of about batch_size records."""
        taken: list[list[_Entry]] = [[]]
        rows = total = 0
        while self._entries:
            entry = self._entries.popleft()
            if rows >= self._batch_size:
                taken.append([])
                rows = 0
            taken[-1].append(entry)
            rows += len(entry.predictions)
            total += len(entry.predictions)
        with self._lock:
            self._waiting -= total
        return [batch for batch in taken if batch]

    def _deliver(self, entries: list[_Entry], *, retry: bool) -> bool:
        """Post the entries, retrying with backoff until the monitor takes them (or the log stops)."""
        records = [record for entry in entries for record in _records(entry)]
        body = orjson.dumps({"records": records})  # several times faster than json: this thread shares the GIL
        backoff, failures = 0.2, 0
        while True:
            try:
                response = self._client.post(self.url, content=body, headers={"content-type": "application/json"})
                if response.status_code >= 500 or response.status_code == 429:
                    response.raise_for_status()
                if response.status_code >= 400:  # the monitor refuses these records: retrying cannot help
                    log.warning("monitor refused %d prediction records: %s", len(records), response.text[:300])
                    self._drop(entries)
                    return True
                self.sent += len(records)
                self._settle(entries)
                if failures:
                    log.info("monitor at %s reachable again after %d attempts", self.url, failures + 1)
                return True
            except httpx.HTTPError as error:
                failures += 1
                if failures == 1:
                    log.warning("monitor at %s: %s; holding %d records and retrying", self.url, error, len(records))
                if not retry or self._stopping.wait(backoff):
                    return False
                backoff = min(backoff * 2, self._max_backoff)

    def _settle(self, entries: list[_Entry]) -> None:
        with self._lock:
            self._queued -= sum(len(e.predictions) for e in entries)

    def _drop(self, entries: list[_Entry]) -> None:
        self._settle(entries)
        for entry in entries:
            self._on_drop(entry.model, len(entry.predictions))


def _records(entry: _Entry) -> list[dict[str, Any]]:
    """One PredictionRecord (`mlops_platform.contracts`, contracts/) per row of the request."""
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
