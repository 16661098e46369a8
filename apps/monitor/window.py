"""Prediction records: validated into columns, kept in a sliding window, evaluated per window."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score

from apps.common import drift
from apps.common.profile import ReferenceProfile
from apps.monitor.config import MethodConfig, MonitorConfig
from components.contracts import REQUIRED_RECORD_FIELDS

OK, NULL, INVALID = 0, 1, 2
"""Per value: present and well-typed; missing/null; present with the wrong type (a schema violation)."""


class MalformedBatch(ValueError):
    """A batch that cannot be read as records; nothing of it is kept."""

    def __init__(self, problems: list[str], rejected: int) -> None:
        super().__init__("; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else ""))
        self.problems = problems
        self.rejected = rejected


@dataclass(frozen=True)
class Records:
    """Prediction-log records as columns: feature values (NaN/None where null or invalid) and their
    status codes, predictions, model versions, request ids. A parsed batch and a window snapshot."""

    features: dict[str, np.ndarray]
    status: dict[str, np.ndarray]
    predictions: np.ndarray
    versions: np.ndarray
    request_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.predictions)


def parse_batch(body: Any, profile: ReferenceProfile, model_name: str, max_records: int) -> Records:
    """Validate a /v1/logs body. Structural problems reject the whole batch (MalformedBatch, with every
    problem named); feature values of the wrong type or missing are kept as schema violations."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise MalformedBatch(['the body must be {"records": [...]}'], 0)
    records = body["records"]
    if not records:
        raise MalformedBatch(['"records" is empty'], 0)
    if len(records) > max_records:
        raise MalformedBatch([f'"records" has {len(records)} records; at most {max_records} per batch'], len(records))
    numeric = list(profile.numeric)
    categorical = list(profile.categorical)
    names = numeric + categorical
    columns: dict[str, list[Any]] = {n: [] for n in names}
    status: dict[str, list[int]] = {n: [] for n in names}
    predictions, versions, ids = [], [], []
    problems: list[str] = []
    for index, record in enumerate(records):
        where = f"records[{index}]"
        if not isinstance(record, dict):
            problems.append(f"{where} is not an object")
            continue
        missing = [k for k in REQUIRED_RECORD_FIELDS if k not in record]
        if missing:
            problems.append(f"{where} lacks {', '.join(missing)}")
            continue
        if record.get("model", model_name) != model_name:
            problems.append(f"{where} is for model {record.get('model')!r}; this monitor watches {model_name!r}")
            continue
        prediction = record["prediction"]
        if isinstance(prediction, bool) or not isinstance(prediction, int | float) or not math.isfinite(prediction):
            problems.append(f"{where}.prediction must be a finite number, got {prediction!r}"[:160])
            continue
        if not isinstance(record["features"], dict):
            problems.append(f"{where}.features must be an object")
            continue
        if not isinstance(record["request_id"], str | int) or not isinstance(record["version"], str | int):
            problems.append(f"{where}.request_id and .version must be strings")
            continue
        features = record["features"]
        for name in numeric:
            value = features.get(name)
            if value is None:
                columns[name].append(np.nan)
                status[name].append(NULL)
            elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                columns[name].append(np.nan)
                status[name].append(INVALID)
            else:
                columns[name].append(float(value))
                status[name].append(OK)
        for name in categorical:
            value = features.get(name)
            if value is None:
                columns[name].append(None)
                status[name].append(NULL)
            elif not isinstance(value, str):
                columns[name].append(None)
                status[name].append(INVALID)
            else:
                columns[name].append(value)
                status[name].append(OK)
        predictions.append(float(prediction))
        versions.append(str(record["version"]))
        ids.append(str(record["request_id"]))
    if problems:
        raise MalformedBatch(problems, len(records))
    return Records(
        features={n: np.asarray(columns[n], dtype=np.float64 if n in profile.numeric else object) for n in names},
        status={n: np.asarray(status[n], dtype=np.int8) for n in names},
        predictions=np.asarray(predictions, dtype=np.float64),
        versions=np.asarray(versions, dtype=object),
        request_ids=np.asarray(ids, dtype=object),
    )


@dataclass
class SlidingWindow:
    """The last `size` records, as ring buffers (one per feature, plus predictions and versions)."""

    size: int
    names: Sequence[str]
    numeric: frozenset[str]
    _features: dict[str, np.ndarray] = field(init=False)
    _status: dict[str, np.ndarray] = field(init=False)
    _predictions: np.ndarray = field(init=False)
    _versions: np.ndarray = field(init=False)
    _ids: np.ndarray = field(init=False)
    _next: int = 0
    filled: int = 0
    since_evaluation: int = 0

    def __post_init__(self) -> None:
        self._features = {
            n: np.full(self.size, np.nan) if n in self.numeric else np.full(self.size, None, dtype=object)
            for n in self.names
        }
        self._status = {n: np.zeros(self.size, dtype=np.int8) for n in self.names}
        self._predictions = np.zeros(self.size)
        self._versions = np.full(self.size, "", dtype=object)
        self._ids = np.full(self.size, "", dtype=object)

    def append(self, batch: Records) -> None:
        count = len(batch)
        start = max(0, count - self.size)  # a batch larger than the window keeps its newest records
        positions = (self._next + np.arange(count - start)) % self.size
        for name in self.names:
            self._features[name][positions] = batch.features[name][start:]
            self._status[name][positions] = batch.status[name][start:]
        self._predictions[positions] = batch.predictions[start:]
        self._versions[positions] = batch.versions[start:]
        self._ids[positions] = batch.request_ids[start:]
        self._next = (self._next + count - start) % self.size
        self.filled = min(self.size, self.filled + count)
        self.since_evaluation += count

    def snapshot(self) -> Records:
        order = (
            (self._next + np.arange(self.filled)) % self.size if self.filled == self.size else np.arange(self.filled)
        )
        return Records(
            features={n: v[order] for n, v in self._features.items()},
            status={n: v[order] for n, v in self._status.items()},
            predictions=self._predictions[order],
            versions=self._versions[order],
            request_ids=self._ids[order],
        )


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    scores: dict[str, float]
    """Score by method (the verdict method and the extra ones)."""
    verdict_method: str
    drifted: bool
    unseen_categories: int = 0


@dataclass(frozen=True)
class WindowResult:
    index: int
    records: int
    model_version: str
    features: tuple[FeatureDrift, ...]
    prediction_scores: dict[str, float]
    prediction_drifted: bool
    quality: dict[str, float]
    """Share (0..1) of values passing: nulls, schema, out_of_range, unseen_categories."""
    performance: dict[str, dict[str, float]]
    """By model version: roc_auc, accuracy (only versions with enough labels)."""

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]


def evaluate(
    index: int, data: Records, profile: ReferenceProfile, config: MonitorConfig, labels: Mapping[str, int]
) -> WindowResult:
    methods = config.methods
    numeric = {name: _valid(data, name) for name in profile.numeric}
    categorical = {name: drift.ValueCounts.of(_valid(data, name)) for name in profile.categorical}
    results = []
    for name, reference in profile.numeric.items():
        values = numeric[name]
        verdict = methods.features.get(name, methods.numeric)
        scores = (
            {m: drift.numeric_score(m, reference, values) for m in {verdict.method, *methods.extra_numeric}}
            if values.size
            else {}
        )
        results.append(_verdict(name, scores, verdict))
    for name, cat_reference in profile.categorical.items():
        counted = categorical[name]
        verdict = methods.features.get(name, methods.categorical)
        scores, unseen = {}, 0
        for method in {verdict.method, *methods.extra_categorical}:
            scores[method], unseen = drift.categorical_score(method, cat_reference, counted)  # type: ignore[arg-type]
        results.append(_verdict(name, scores if counted.total else {}, verdict, unseen))
    prediction_scores = {
        methods.prediction.method: drift.numeric_score(methods.prediction.method, profile.prediction, data.predictions)
    }  # type: ignore[arg-type]
    versions = drift.ValueCounts.of(data.versions)
    return WindowResult(
        index=index,
        records=len(data.predictions),
        model_version=versions.values[int(np.argmax(versions.counts))] if versions.values else "",
        features=tuple(results),
        prediction_scores=prediction_scores,
        prediction_drifted=drift.drifted(
            methods.prediction.method, prediction_scores[methods.prediction.method], methods.prediction.threshold
        ),
        quality=quality(data, profile, numeric, categorical),
        performance=performance(data, labels, config.min_labels),
    )


def _valid(data: Records, name: str) -> np.ndarray:
    """The feature's values that passed parsing (no copy when all did)."""
    status = data.status[name]
    return data.features[name] if not np.any(status) else data.features[name][status == OK]


def _verdict(name: str, scores: dict[str, float], verdict: MethodConfig, unseen: int = 0) -> FeatureDrift:
    score = scores.get(verdict.method)
    drifted = score is not None and drift.drifted(verdict.method, score, verdict.threshold)
    return FeatureDrift(name, scores, verdict.method, drifted, unseen)


def quality(
    data: Records,
    profile: ReferenceProfile,
    numeric: Mapping[str, np.ndarray],
    categorical: Mapping[str, drift.ValueCounts],
) -> dict[str, float]:
    """Share of values passing each check, from the valid values `evaluate` already extracted."""
    total = sum(s.size for s in data.status.values()) or 1
    nulls = sum(int(np.count_nonzero(s == NULL)) for s in data.status.values())
    invalid = sum(int(np.count_nonzero(s == INVALID)) for s in data.status.values())
    out_of_range = checked = 0
    for name, values in numeric.items():
        column = profile.contract.column(name)
        checked += values.size
        if column.minimum is not None:
            out_of_range += int(np.count_nonzero(values < column.minimum))
        if column.maximum is not None:
            out_of_range += int(np.count_nonzero(values > column.maximum))
    unseen = seen = 0
    for name, counted in categorical.items():
        known = (*profile.categorical[name].categories, *(profile.contract.column(name).categories or ()))
        seen += counted.total
        unseen += counted.against(known)[1]
    return {
        "nulls": 1 - nulls / total,
        "schema": 1 - invalid / total,
        "out_of_range": 1 - out_of_range / max(checked, 1),
        "unseen_categories": 1 - unseen / max(seen, 1),
    }


def performance(data: Records, labels: Mapping[str, int], min_labels: int) -> dict[str, dict[str, float]]:
    """ROC AUC and accuracy per model version, over the window's records whose labels arrived."""
    if len(labels) < min_labels:
        return {}
    known = pd.Series(dict(labels.items()), dtype=np.int64)
    positions = known.index.get_indexer(pd.Index(np.asarray(data.request_ids, dtype=object)))  # hash join, no row loop
    rows = np.flatnonzero(positions >= 0)
    if rows.size < min_labels:
        return {}
    truth = known.to_numpy()[positions[rows]]
    versions = np.asarray(data.versions, dtype=object)[rows]
    scores_all = data.predictions[rows]
    result: dict[str, dict[str, float]] = {}
    for version in drift.ValueCounts.of(versions).values:
        mask = versions.astype(str) == version
        if mask.sum() < min_labels or len(np.unique(truth[mask])) < 2:
            continue
        scores = scores_all[mask]
        result[version] = {
            "roc_auc": float(roc_auc_score(truth[mask], scores)),
            "accuracy": float(accuracy_score(truth[mask], scores >= 0.5)),
        }
    return result


class LabelMemory:
    """Recent predictions' request ids -> labels, bounded (oldest forgotten first)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._labels: OrderedDict[str, int] = OrderedDict()

    def add(self, request_id: str, label: int) -> None:
        self._labels[request_id] = label
        self._labels.move_to_end(request_id)
        while len(self._labels) > self.capacity:
            self._labels.popitem(last=False)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._labels

    def __getitem__(self, request_id: str) -> int:
        return self._labels[request_id]

    def __len__(self) -> int:
        return len(self._labels)

    def keys(self) -> Any:
        return self._labels.keys()

    def items(self) -> Any:
        return self._labels.items()
