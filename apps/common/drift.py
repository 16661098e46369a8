"""Drift statistics, vectorised, against a reference profile prepared once, and the one registry of
drift methods (`METHODS`): name -> feature kind, score function, direction, default threshold. The
monitor's evaluation, its config validation, the metrics and the README all read the registry; a
method used on the wrong kind of feature is refused, never computed.

Every function takes the reference in its precomputed form (quantile bin edges and expected
proportions, a sorted sample, category frequencies) and the current values as a numpy array (or,
for categories, their counts), so a window costs a few comparisons, sorts or one hashing pass per
feature - no per-row Python.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

Kind = Literal["numeric", "categorical"]
Direction = Literal["distance", "p_value"]
EPSILON = 1e-4
"""Floor for empty-bin proportions in PSI (an empty bin would make it infinite)."""


@dataclass(frozen=True)
class NumericReference:
    bin_edges: np.ndarray
    """Interior quantile edges of the reference (len = bins - 1)."""
    expected: np.ndarray
    """Reference proportion in each bin."""
    sorted_values: np.ndarray
    """The reference sample, sorted (for KS and Wasserstein)."""
    std: float

    @classmethod
    def build(
        cls, values: np.ndarray, bins: int = 10, sample_size: int | None = 10_000, seed: int = 0
    ) -> NumericReference:
        values = np.asarray(values, dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise ValueError("a numeric reference needs at least one finite value")
        edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
        counts = bin_counts(edges, values)
        sample = values
        if sample_size is not None and values.size > sample_size:
            sample = np.random.default_rng(seed).choice(values, size=sample_size, replace=False)
        return cls(edges, counts / values.size, np.sort(sample), float(values.std()))


def bin_counts(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values per bin, bins split at `edges` (a value equal to an edge goes to the bin above).
    One vectorised comparison per edge: for the ~10 bins used here this is several times faster
    than a binary search per value (`searchsorted`)."""
    below = [np.count_nonzero(values < edge) for edge in edges]
    return np.diff(np.array([0, *below, values.size], dtype=np.int64))


@dataclass(frozen=True)
class ValueCounts:
    """The distinct values of a categorical column and how often each occurs - one hashing pass
    (pandas' factorize); everything categorical is computed from this small table."""

    values: tuple[str, ...]
    counts: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray | pd.Categorical | pd.Series) -> ValueCounts:
        """Counted from dictionary codes when the values are encoded (a pandas Categorical, an Arrow or
        Parquet dictionary column): one bincount, no hashing. Otherwise one hashing pass."""
        if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
            values = values.array
        if isinstance(values, pd.Categorical):
            return cls.of_codes(np.asarray(values.codes), tuple(str(c) for c in values.categories))
        codes, distinct = pd.factorize(np.asarray(values, dtype=object))  # nulls get code -1: not a category
        return cls.of_codes(codes, tuple(str(v) for v in distinct))

    @classmethod
    def of_codes(cls, codes: np.ndarray, vocabulary: Sequence[str]) -> ValueCounts:
        """From integer codes into `vocabulary` (-1: no value); equal names count as one category."""
        counts = np.bincount(np.asarray(codes) + 1, minlength=len(vocabulary) + 1)[
            1:
        ]  # -1 (no value) -> bin 0, dropped
        if len(set(vocabulary)) == len(vocabulary):
            present = np.flatnonzero(counts)
            return cls(tuple(vocabulary[i] for i in present), counts[present].astype(np.int64))
        merged: dict[str, int] = {}
        for value, count in zip(vocabulary, counts.tolist(), strict=True):
            if count:
                merged[value] = merged.get(value, 0) + int(count)  # 1 and "1" are one category
        return cls(tuple(merged), np.fromiter(merged.values(), dtype=np.int64, count=len(merged)))

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def against(self, categories: Sequence[str]) -> tuple[np.ndarray, int]:
        """Counts of each of `categories` (in their order), and how many values are none of them."""
        index = {category: i for i, category in enumerate(categories)}
        found = np.zeros(len(categories), dtype=np.int64)
        unseen = 0
        for value, count in zip(self.values, self.counts.tolist(), strict=True):
            if value in index:
                found[index[value]] += count
            else:
                unseen += count
        return found, unseen


@dataclass(frozen=True)
class CategoricalReference:
    categories: tuple[str, ...]
    expected: np.ndarray
    """Reference frequency of each category (same order)."""

    @classmethod
    def build(cls, values: np.ndarray | pd.Categorical | pd.Series) -> CategoricalReference:
        counts = ValueCounts.of(values)
        order = sorted(range(len(counts.values)), key=counts.values.__getitem__)
        frequencies = counts.counts[order].astype(np.float64)
        return cls(tuple(counts.values[i] for i in order), frequencies / max(frequencies.sum(), 1))


def psi(reference: NumericReference, values: np.ndarray) -> float:
    counts = bin_counts(reference.bin_edges, values)
    actual = np.maximum(counts / max(values.size, 1), EPSILON)
    expected = np.maximum(reference.expected, EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_pvalue(reference: NumericReference, values: np.ndarray) -> float:
    """Two-sided two-sample KS p-value. Small samples: scipy's ks_2samp (exact where it is exact).
    Large ones: the statistic from both ECDFs over the merged sample, with the asymptotic
    distribution scipy itself uses there."""
    current = np.sort(values)
    ref = reference.sorted_values
    if max(ref.size, current.size) <= 10_000:
        return float(stats.ks_2samp(ref, current).pvalue)
    merged = np.concatenate([ref, current])
    cdf_ref = np.searchsorted(ref, merged, side="right") / ref.size
    cdf_cur = np.searchsorted(current, merged, side="right") / current.size
    return _ks_asymptotic(float(np.max(np.abs(cdf_ref - cdf_cur))), ref.size, current.size)


def _ks_asymptotic(statistic: float, n: int, m: int) -> float:
    effective = n * m / (n + m)
    return float(stats.kstwo.sf(statistic, np.round(effective)))


def wasserstein_normed(reference: NumericReference, values: np.ndarray) -> float:
    """W1(reference, current) / std(reference): the integral of |F_ref - F_cur| over the merged support."""
    current = np.sort(values)
    ref = reference.sorted_values
    merged = np.sort(np.concatenate([ref, current]))
    deltas = np.diff(merged)
    cdf_ref = np.searchsorted(ref, merged[:-1], side="right") / ref.size
    cdf_cur = np.searchsorted(current, merged[:-1], side="right") / current.size
    distance = float(np.sum(np.abs(cdf_ref - cdf_cur) * deltas))
    return distance / reference.std if reference.std > 0 else distance


def category_counts(reference: CategoricalReference, values: np.ndarray | ValueCounts) -> tuple[np.ndarray, int]:
    """Counts of each reference category in `values`, and how many values are unseen categories."""
    counted = values if isinstance(values, ValueCounts) else ValueCounts.of(values)
    return counted.against(reference.categories)


def chisquare_pvalue(reference: CategoricalReference, counts: np.ndarray, unseen: int) -> float:
    """Chi-square goodness of fit of the current counts (unseen categories as one extra cell with a
    tiny expected share) against the reference frequencies."""
    observed = np.append(counts, unseen).astype(np.float64)
    expected_share = np.append(np.maximum(reference.expected, EPSILON), EPSILON)
    expected = expected_share / expected_share.sum() * observed.sum()
    if observed.sum() == 0:
        return 1.0
    return float(stats.chisquare(observed, expected).pvalue)


def jensenshannon(reference: CategoricalReference, counts: np.ndarray, unseen: int) -> float:
    current = np.append(counts, unseen).astype(np.float64)
    expected = np.append(reference.expected, 0.0)
    if current.sum() == 0:
        return 0.0
    current /= current.sum()
    middle = (current + expected) / 2

    def kl(p: np.ndarray) -> float:
        mask = p > 0
        return float(np.sum(p[mask] * np.log2(p[mask] / middle[mask])))

    return float(np.sqrt(max(0.5 * kl(current) + 0.5 * kl(expected), 0.0)))


def _chisquare(reference: CategoricalReference, values: ValueCounts) -> float:
    return chisquare_pvalue(reference, *category_counts(reference, values))


def _jensenshannon(reference: CategoricalReference, values: ValueCounts) -> float:
    return jensenshannon(reference, *category_counts(reference, values))


@dataclass(frozen=True)
class DriftMethod:
    """One drift method: what it applies to, how it scores, which way is drift."""

    name: str
    kind: Kind
    direction: Direction
    """distance: drift when the score is above the threshold; p_value: when below it (alpha)."""
    default_threshold: float
    score: Callable[[Any, Any], float]
    """(reference, current values) -> score: a NumericReference and an array for numeric methods, a
    CategoricalReference and ValueCounts for categorical ones."""
    description: str

    def drifted(self, score: float, threshold: float) -> bool:
        return score < threshold if self.direction == "p_value" else score > threshold

    def threshold_problem(self, threshold: float) -> str | None:
        """Why a threshold cannot mean anything for this method, or None."""
        if self.direction == "p_value" and not 0 < threshold < 1:
            return f"{self.name} scores a p-value: its threshold is an alpha in (0, 1), not {threshold}"
        if self.name == "jensenshannon" and not 0 < threshold <= 1:
            return f"jensenshannon is a distance in [0, 1]: its threshold must be in (0, 1], not {threshold}"
        if not (0 < threshold < math.inf):  # NaN compares false both ways; infinity would never flag drift
            return f"{self.name} is a distance: its threshold must be a finite number > 0, not {threshold}"
        return None


METHODS: dict[str, DriftMethod] = {
    m.name: m
    for m in (
        DriftMethod(
            "psi", "numeric", "distance", 0.2, psi, "population stability index over the reference's quantile bins"
        ),
        DriftMethod("ks", "numeric", "p_value", 0.05, ks_pvalue, "two-sample Kolmogorov-Smirnov test"),
        DriftMethod(
            "wasserstein",
            "numeric",
            "distance",
            0.1,
            wasserstein_normed,
            "1-Wasserstein distance divided by the reference's standard deviation",
        ),
        DriftMethod(
            "chisquare",
            "categorical",
            "p_value",
            0.05,
            _chisquare,
            "chi-square test of category counts against the reference frequencies",
        ),
        DriftMethod(
            "jensenshannon",
            "categorical",
            "distance",
            0.1,
            _jensenshannon,
            "Jensen-Shannon distance (base 2) of the category frequencies",
        ),
    )
}


def method(name: str, kind: Kind | None = None) -> DriftMethod:
    """The registered method `name` (of `kind`, when given); ValueError naming the choices otherwise."""
    found = METHODS.get(name)
    if found is None:
        raise ValueError(f"unknown drift method {name!r}; choose from {', '.join(METHODS)}")
    if kind is not None and found.kind != kind:
        choices = ", ".join(m.name for m in METHODS.values() if m.kind == kind)
        raise ValueError(f"{name} is a {found.kind} method; a {kind} feature takes {choices}")
    return found


def score(name: str, reference: NumericReference | CategoricalReference, values: Any) -> float:
    """Score `values` against `reference` with the named method - refused when the method's kind is not
    the reference's (a p-value test must never judge a distance, nor the reverse)."""
    kind: Kind = "numeric" if isinstance(reference, NumericReference) else "categorical"
    chosen = method(name, kind)
    if kind == "categorical" and not isinstance(values, ValueCounts):
        values = ValueCounts.of(values)
    return chosen.score(reference, values)
