"""Prediction records: validated into columns, kept in a sliding window, evaluated per window."""

from __future__ import annotations

import math
from collections import Counter, OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from mlops_platform.contracts import MAX_REQUEST_ID, REQUIRED_RECORD_FIELDS
from sklearn.metrics import accuracy_score, roc_auc_score

from apps.common import drift
from apps.common.performance import THRESHOLD, Calibration, estimate
from apps.common.profile import ReferenceProfile
from apps.monitor.config import MonitorConfig

OK, NULL, INVALID = 0, 1, 2
"""Per value: present and well-typed; missing/null; present with the wrong type (a schema violation)."""


class MalformedBatch(ValueError):
    """A request refused whole (400; 415 for a body that is not declared JSON): nothing of it is kept.
    `reasons` counts what was refused by why - records where there are records to count (a bad record's
    own reason; the good records of a refused batch as `in_refused_batch`), else the request as one."""

    def __init__(self, problems: list[str], reasons: Mapping[str, int], status: int = 400) -> None:
        super().__init__("; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else ""))
        self.problems = problems
        self.reasons = dict(reasons)
        self.status = status

    @classmethod
    def request(cls, problem: str, reason: str, status: int = 400) -> MalformedBatch:
        return cls([problem], {reason: 1}, status)

    @property
    def records(self) -> int:
        return sum(self.reasons.values())


def _refused(problems: list[tuple[str, str]], total: int) -> MalformedBatch:
    reasons = Counter(reason for _, reason in problems)
    if total > len(problems):
        reasons["in_refused_batch"] = total - len(problems)
    return MalformedBatch([problem for problem, _ in problems], reasons)


def request_id_problem(request_id: str) -> str | None:
    """Why a record's or a label's request id cannot be kept, or None (the ids joined to labels are held
    in memory, so their length is bounded)."""
    size = len(request_id)
    if size == 0:
        return "is empty"
    return f"is {size} characters; at most {MAX_REQUEST_ID}" if size > MAX_REQUEST_ID else None


class Vocabulary:
    """A categorical feature's values as integer codes, encoded once when a record is read: the window
    keeps codes and counts them with one bincount. Starts with the profile's and the contract's
    categories; an unseen value gets the next code, up to `max_unseen` of them, after which all further
    unseen values share one code (`OVERFLOW`) - a flood of random strings cannot grow it without bound.
    An unseen value longer than `MAX_VALUE_CHARS` is no category name anyone wrote: it shares that code
    at once (still counted unseen), so neither their number nor their size is up to the sender."""

    OVERFLOW = "<other unseen>"
    MAX_VALUE_CHARS = 256

    def __init__(self, known: Sequence[str], max_unseen: int = 1000) -> None:
        self.values: list[str] = list(dict.fromkeys(str(v) for v in known))
        self._codes = {value: code for code, value in enumerate(self.values)}
        self._room = max_unseen

    def code(self, value: str) -> int:
        found = self._codes.get(value)
        if found is not None:
            return found
        if self._room == 0 or len(value) > self.MAX_VALUE_CHARS:
            value = self.OVERFLOW
            found = self._codes.get(value)
            if found is not None:
                return found
        else:
            self._room -= 1
        self._codes[value] = len(self.values)
        self.values.append(value)
        return self._codes[value]


def vocabularies(profile: ReferenceProfile) -> dict[str, Vocabulary]:
    return {
        name: Vocabulary([*reference.categories, *(profile.contract.column(name).categories or ())])
        for name, reference in profile.categorical.items()
    }


@dataclass(frozen=True)
class Records:
    """Prediction-log records as columns: numeric feature values (NaN where null or invalid), categorical
    ones as codes into their vocabulary (-1 where null or invalid), each value's status, predictions,
    model versions, request ids. A parsed batch and a window snapshot."""

    features: dict[str, np.ndarray]
    status: dict[str, np.ndarray]
    predictions: np.ndarray
    versions: np.ndarray
    request_ids: np.ndarray
    vocabularies: Mapping[str, Vocabulary] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.predictions)

    def counts(self, name: str) -> drift.ValueCounts:
        """A categorical feature's valid values, counted."""
        return drift.ValueCounts.of_codes(self.features[name], self.vocabularies[name].values)


def parse_batch(
    body: Any,
    profile: ReferenceProfile,
    model_name: str,
    max_records: int,
    encoding: Mapping[str, Vocabulary] | None = None,
) -> Records:
    """Validate a /v1/logs body. Structural problems reject the whole batch (MalformedBatch, with every
    problem named); feature values of the wrong type or missing are kept as schema violations."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise MalformedBatch.request('the body must be {"records": [...]}', "not_records")
    records = body["records"]
    if not records:
        raise MalformedBatch.request('"records" is empty', "empty")
    if len(records) > max_records:
        raise MalformedBatch(
            [f'"records" has {len(records)} records; at most {max_records} per batch'], {"too_many": len(records)}
        )
    encoding = encoding if encoding is not None else vocabularies(profile)
    numeric = list(profile.numeric)
    categorical = list(profile.categorical)
    names = numeric + categorical
    columns: dict[str, list[Any]] = {n: [] for n in names}
    status: dict[str, list[int]] = {n: [] for n in names}
    predictions, versions, ids = [], [], []
    problems: list[tuple[str, str]] = []
    for index, record in enumerate(records):
        where = f"records[{index}]"
        if not isinstance(record, dict):
            problems.append((f"{where} is not an object", "record_not_object"))
            continue
        missing = [k for k in REQUIRED_RECORD_FIELDS if k not in record]
        if missing:
            problems.append((f"{where} lacks {', '.join(missing)}", "missing_fields"))
            continue
        if record.get("model", model_name) != model_name:
            problems.append(
                (f"{where} is for model {record.get('model')!r}; this monitor watches {model_name!r}", "other_model")
            )
            continue
        prediction = record["prediction"]
        if isinstance(prediction, bool) or not isinstance(prediction, int | float) or not math.isfinite(prediction):
            problems.append((f"{where}.prediction must be a finite number, got {prediction!r}"[:160], "prediction"))
            continue
        if not 0 <= prediction <= 1:
            problems.append(
                (f"{where}.prediction must be a probability in [0, 1], got {prediction!r}"[:160], "prediction_range")
            )
            continue
        if not isinstance(record["features"], dict):
            problems.append((f"{where}.features must be an object", "features_not_object"))
            continue
        if not isinstance(record["request_id"], str | int) or not isinstance(record["version"], str | int):
            problems.append((f"{where}.request_id and .version must be strings", "ids"))
            continue
        request_id = str(record["request_id"])
        id_problem = request_id_problem(request_id)
        if id_problem:
            problems.append((f"{where}.request_id {id_problem}", "ids"))
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
                columns[name].append(-1)
                status[name].append(NULL)
            elif not isinstance(value, str):
                columns[name].append(-1)
                status[name].append(INVALID)
            else:
                columns[name].append(encoding[name].code(value))
                status[name].append(OK)
        predictions.append(float(prediction))
        versions.append(str(record["version"]))
        ids.append(request_id)
    if problems:
        raise _refused(problems, len(records))
    return Records(
        features={n: np.asarray(columns[n], dtype=np.float64 if n in profile.numeric else np.int32) for n in names},
        status={n: np.asarray(status[n], dtype=np.int8) for n in names},
        predictions=np.asarray(predictions, dtype=np.float64),
        versions=np.asarray(versions, dtype=object),
        request_ids=np.asarray(ids, dtype=object),
        vocabularies=encoding,
    )


@dataclass
class SlidingWindow:
    """The last `size` records, as ring buffers (one per feature, plus predictions and versions)."""

    size: int
    names: Sequence[str]
    numeric: frozenset[str]
    vocabularies: Mapping[str, Vocabulary] = field(default_factory=dict)
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
            n: np.full(self.size, np.nan) if n in self.numeric else np.full(self.size, -1, dtype=np.int32)
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
            vocabularies=self.vocabularies,
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
    feature_quality: dict[str, dict[str, float]]
    """Per feature, the share (0..1) of its values failing each check that applies to it."""
    performance: dict[str, dict[str, float]]
    """By model version: roc_auc, accuracy (realized, only versions with enough labels) and
    estimated_roc_auc, estimated_accuracy (CBPE, the baseline version's records, no labels needed)."""

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]


def evaluate(
    index: int,
    data: Records,
    profile: ReferenceProfile,
    config: MonitorConfig,
    labels: LabelMemory | None,
    baseline_version: str | None = None,
) -> WindowResult:
    methods = config.methods
    numeric = {name: _valid(data, name) for name in profile.numeric}
    categorical = {name: data.counts(name) for name in profile.categorical}
    results = []
    for name, reference in profile.numeric.items():
        values = numeric[name]
        verdict, threshold = methods.for_feature(name, "numeric")
        wanted = {verdict.name, *methods.extra_numeric}
        scores = {m: drift.score(m, reference, values) for m in wanted} if values.size else {}
        results.append(_verdict(name, scores, verdict, threshold))
    for name, cat_reference in profile.categorical.items():
        counted = categorical[name]
        verdict, threshold = methods.for_feature(name, "categorical")
        wanted = {verdict.name, *methods.extra_categorical}
        scores = {m: drift.score(m, cat_reference, counted) for m in wanted} if counted.total else {}
        unseen = drift.category_counts(cat_reference, counted)[1]
        results.append(_verdict(name, scores, verdict, threshold, unseen))
    prediction = drift.method(methods.prediction.method, "numeric")
    prediction_scores = {prediction.name: drift.score(prediction.name, profile.prediction, data.predictions)}
    version_codes, version_names = pd.factorize(np.asarray(data.versions, dtype=object))
    version_counts = np.bincount(version_codes + 1, minlength=len(version_names) + 1)[1:]
    return WindowResult(
        index=index,
        records=len(data.predictions),
        model_version=str(version_names[int(np.argmax(version_counts))]) if len(version_names) else "",
        features=tuple(results),
        prediction_scores=prediction_scores,
        prediction_drifted=prediction.drifted(prediction_scores[prediction.name], methods.prediction.threshold),
        quality=quality(data, profile, numeric, categorical),
        feature_quality=feature_quality(data, profile, numeric, categorical),
        performance=performance(
            data, labels, config.min_labels, profile.calibration, baseline_version, (version_codes, version_names)
        ),
    )


def _valid(data: Records, name: str) -> np.ndarray:
    """The feature's values that passed parsing (no copy when all did)."""
    status = data.status[name]
    return data.features[name] if not np.any(status) else data.features[name][status == OK]


def _verdict(
    name: str, scores: dict[str, float], verdict: drift.DriftMethod, threshold: float, unseen: int = 0
) -> FeatureDrift:
    score = scores.get(verdict.name)
    drifted = score is not None and verdict.drifted(score, threshold)
    return FeatureDrift(name, scores, verdict.name, drifted, unseen)


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


def feature_quality(
    data: Records,
    profile: ReferenceProfile,
    numeric: Mapping[str, np.ndarray],
    categorical: Mapping[str, drift.ValueCounts],
) -> dict[str, dict[str, float]]:
    """Per feature: nulls and schema violations (of the window's values), out-of-range values (of its
    valid numeric values), unseen categories (of its valid categorical values)."""
    found: dict[str, dict[str, float]] = {}
    for name, status in data.status.items():
        total = max(status.size, 1)
        checks = {
            "nulls": np.count_nonzero(status == NULL) / total,
            "schema": np.count_nonzero(status == INVALID) / total,
        }
        column = profile.contract.column(name)
        if name in numeric:
            values = numeric[name]
            outside = np.count_nonzero(values < column.minimum) if column.minimum is not None else 0
            outside += np.count_nonzero(values > column.maximum) if column.maximum is not None else 0
            checks["out_of_range"] = outside / max(values.size, 1)
        else:
            counted = categorical[name]
            known = (*profile.categorical[name].categories, *(column.categories or ()))
            checks["unseen_categories"] = counted.against(known)[1] / max(counted.total, 1)
        found[name] = {check: float(rate) for check, rate in checks.items()}
    return found


def quality_limits(profile: ReferenceProfile, tolerance: float) -> dict[str, dict[str, float]]:
    """The share of failing values each feature may have per check: the training contract's own limit
    (max_null_rate for nulls; none for the rest), at least `tolerance` (serving traffic is noisier
    than a curated table)."""
    limits = {}
    for name in [*profile.numeric, *profile.categorical]:
        column = profile.contract.column(name)
        checks = ["nulls", "schema", "out_of_range" if name in profile.numeric else "unseen_categories"]
        limits[name] = {c: max(column.max_null_rate if c == "nulls" else 0.0, tolerance) for c in checks}
    return limits


def performance(
    data: Records,
    labels: LabelMemory | None,
    min_labels: int,
    calibration: Calibration | None = None,
    baseline_version: str | None = None,
    factorized: tuple[np.ndarray, Any] | None = None,
) -> dict[str, dict[str, float]]:
    """Per model version: the performance the baseline's calibration expects of this window's records
    (no labels needed), and ROC AUC and accuracy over the latest labelled predictions."""
    codes, names = factorized if factorized is not None else pd.factorize(np.asarray(data.versions, dtype=object))
    result: dict[str, dict[str, float]] = {}
    if calibration is not None:
        for code, version in enumerate(str(n) for n in names):
            if baseline_version in (None, "file", version):
                estimated = estimate(data.predictions[codes == code], calibration)
                if estimated:
                    result[version] = estimated
    if labels is None:
        return result
    truth, scores, versions = labels.recent()
    for version in pd.unique(versions):
        mask = versions == version
        if mask.sum() < min_labels or len(np.unique(truth[mask])) < 2:
            continue
        result.setdefault(str(version), {}).update(
            {
                "roc_auc": float(roc_auc_score(truth[mask], scores[mask])),
                "accuracy": float(accuracy_score(truth[mask], scores[mask] >= THRESHOLD)),
            }
        )
    return result


class LabelMemory:
    """Labels of recent predictions, by request id, bounded by how many predictions are remembered.

    A label for a prediction the monitor has seen is kept as long as that prediction is remembered
    (the oldest predictions are forgotten first). A label for an id it has not seen (yet: labels may
    arrive first) waits in a separate, smaller store and moves over when its prediction arrives; when
    that store is full, new unknown ids are discarded - they can never push out labels of known
    predictions. The latest `recent` labelled predictions (label, score, version) are kept in the order
    their labels came: realized performance is measured on them, whichever window their prediction was
    in - labels come late, often after their window was evaluated."""

    def __init__(self, capacity: int, pending_capacity: int | None = None, recent: int = 2000) -> None:
        self.capacity = capacity
        self.pending_capacity = pending_capacity if pending_capacity is not None else max(capacity // 10, 1)
        self._known: OrderedDict[str, tuple[int | None, float, str]] = OrderedDict()
        """Remembered prediction ids -> (their label or None while none arrived, the score, the version)."""
        self._pending: OrderedDict[str, int] = OrderedDict()
        self._labelled = 0
        self._recent: deque[tuple[int, float, str]] = deque(maxlen=recent)

    def predicted(self, request_ids: Sequence[str] | np.ndarray, scores: np.ndarray, versions: np.ndarray) -> None:
        """Remember predictions (taking over labels that arrived before them)."""
        for request_id, score, version in zip(request_ids, scores.tolist(), versions.tolist(), strict=True):
            key = str(request_id)
            label = self._pending.pop(key, None)
            previous = self._known.pop(key, None)
            if label is None and previous is not None:
                label = previous[0]
            self._known[key] = (label, score, str(version))
            self._labelled += (label is not None) - (previous is not None and previous[0] is not None)
            if label is not None and (previous is None or previous[0] is None):
                self._recent.append((label, score, str(version)))
        while len(self._known) > self.capacity:
            _, dropped = self._known.popitem(last=False)
            self._labelled -= dropped[0] is not None

    def add(self, request_id: str, label: int) -> str:
        """Keep one label; the outcome: matched (a known prediction), unmatched (kept until its
        prediction arrives) or discarded (the store for unknown ids is full)."""
        known = self._known.get(request_id)
        if known is not None:
            self._labelled += known[0] is None
            self._known[request_id] = (label, known[1], known[2])
            self._recent.append((label, known[1], known[2]))
            return "matched"
        if request_id in self._pending or len(self._pending) < self.pending_capacity:
            self._pending[request_id] = label
            return "unmatched"
        return "discarded"

    def recent(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The latest labelled predictions: labels, scores, versions."""
        if not self._recent:
            return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=object)
        labels, scores, versions = zip(*self._recent, strict=True)
        return np.asarray(labels, dtype=np.int64), np.asarray(scores), np.asarray(versions, dtype=object)

    def __contains__(self, request_id: object) -> bool:
        found = self._known.get(request_id)  # type: ignore[call-overload]
        return found is not None and found[0] is not None

    def __getitem__(self, request_id: str) -> int:
        label = self._known[request_id][0]
        if label is None:
            raise KeyError(request_id)
        return label

    def __len__(self) -> int:
        """Labels of known predictions."""
        return self._labelled

    @property
    def waiting(self) -> int:
        """Labels whose prediction has not arrived."""
        return len(self._pending)
