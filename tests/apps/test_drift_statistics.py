"""The drift statistics against scipy and hand-computed values, and their behaviour on same and
shifted distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon as scipy_js

from apps.common import drift
from apps.common.drift import CategoricalReference, NumericReference


def reference(values: np.ndarray, sample_size: int | None = None) -> NumericReference:
    return NumericReference.build(values, sample_size=sample_size)


def test_psi_matches_a_hand_computation() -> None:
    ref = NumericReference(
        np.array([1.0, 2.0, 3.0]), np.array([0.25, 0.25, 0.25, 0.25]), np.array([0.5, 1.5, 2.5, 3.5]), 1.0
    )
    current = np.array([0.5, 0.5, 0.5, 0.5, 1.5, 1.5, 2.5, 3.5])  # shares 0.5, 0.25, 0.125, 0.125
    want = sum((a - e) * np.log(a / e) for a, e in ((0.5, 0.25), (0.25, 0.25), (0.125, 0.25), (0.125, 0.25)))
    assert drift.psi(ref, current) == pytest.approx(want, rel=1e-12)
    assert drift.psi(ref, np.array([0.5, 1.5, 2.5, 3.5])) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("n", "m"), [(200, 150), (800, 1000), (20_000, 30_000)])
def test_ks_pvalue_matches_scipy(n: int, m: int) -> None:
    rng = np.random.default_rng(n)
    ref_values, current = rng.normal(0, 1, n), rng.normal(0.05, 1.1, m)
    assert drift.ks_pvalue(reference(ref_values), current) == pytest.approx(
        stats.ks_2samp(ref_values, current).pvalue, rel=1e-6, abs=1e-12
    )


def test_normalised_wasserstein_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    ref_values, current = rng.gamma(2, 3, 5000), rng.gamma(2.5, 3, 3000)
    want = stats.wasserstein_distance(ref_values, current) / ref_values.std()
    assert drift.wasserstein_normed(reference(ref_values), current) == pytest.approx(want, rel=1e-9)


def test_chisquare_and_jensenshannon_match_scipy() -> None:
    ref = CategoricalReference.build(np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 20, dtype=object))
    current = np.array(["a"] * 30 + ["b"] * 30 + ["c"] * 40, dtype=object)
    counts, unseen = drift.category_counts(ref, current)
    assert counts.tolist() == [30, 30, 40] and unseen == 0
    observed = np.array([30, 30, 40, 0], dtype=float)
    expected = np.array([0.5, 0.3, 0.2, drift.EPSILON]) / (1 + drift.EPSILON) * 100
    assert drift.chisquare_pvalue(ref, counts, unseen) == pytest.approx(
        stats.chisquare(observed, expected).pvalue, rel=1e-9
    )
    assert drift.jensenshannon(ref, counts, unseen) == pytest.approx(
        scipy_js([0.3, 0.3, 0.4], [0.5, 0.3, 0.2], base=2), rel=1e-9
    )


def test_unseen_categories_are_counted_and_make_drift() -> None:
    ref = CategoricalReference.build(np.array(["x", "y"] * 100, dtype=object))
    current = np.array(["x", "y", "z", "z"] * 50, dtype=object)
    score = drift.score("jensenshannon", ref, current)
    assert drift.category_counts(ref, current)[1] == 100
    assert drift.METHODS["jensenshannon"].drifted(score, 0.1)


METHODS = [("psi", 0.2), ("wasserstein", 0.1), ("ks", 0.05)]


@pytest.mark.parametrize(("method", "threshold"), METHODS)
def test_same_distribution_rarely_alarms(method: str, threshold: float) -> None:
    """200 windows of 1000 values from the reference distribution: distance methods stay quiet;
    the KS test alarms at about its significance level (that is what alpha means)."""
    rng = np.random.default_rng(7)
    ref = reference(rng.normal(50, 10, 20_000), sample_size=None)
    alarms = np.mean(
        [
            drift.METHODS[method].drifted(drift.score(method, ref, rng.normal(50, 10, 1000)), threshold)
            for _ in range(200)
        ]
    )
    if method == "ks":
        assert 0.01 <= alarms <= 0.10
    else:
        assert alarms <= 0.01


@pytest.mark.parametrize(("method", "threshold"), METHODS)
@pytest.mark.parametrize(
    ("shift", "values"), [("mean", lambda r: r.normal(55, 10, 1000)), ("variance", lambda r: r.normal(50, 20, 1000))]
)
def test_shifted_means_and_variances_are_detected(method: str, threshold: float, shift: str, values: object) -> None:
    rng = np.random.default_rng(11)
    ref = reference(rng.normal(50, 10, 20_000), sample_size=None)
    detected = np.mean(
        [drift.METHODS[method].drifted(drift.score(method, ref, values(rng)), threshold) for _ in range(20)]  # type: ignore[operator]
    )
    assert detected >= 0.95, f"{method} missed a shifted {shift}"


@pytest.mark.parametrize(("method", "threshold"), [("chisquare", 0.05), ("jensenshannon", 0.1)])
def test_a_changed_category_mix_is_detected_and_the_same_mix_is_not(method: str, threshold: float) -> None:
    rng = np.random.default_rng(3)
    cats = np.array(["month-to-month", "one-year", "two-year"], dtype=object)
    ref = CategoricalReference.build(rng.choice(cats, 20_000, p=[0.5, 0.3, 0.2]))
    judge = drift.METHODS[method]
    same = [
        judge.drifted(drift.score(method, ref, rng.choice(cats, 1000, p=[0.5, 0.3, 0.2])), threshold)
        for _ in range(100)
    ]
    shifted = [
        judge.drifted(drift.score(method, ref, rng.choice(cats, 1000, p=[0.8, 0.15, 0.05])), threshold)
        for _ in range(20)
    ]
    assert np.mean(same) <= 0.1 and all(shifted)


# --------------------------------------------------------------------------- the registry


def test_a_method_never_scores_the_wrong_kind_of_feature() -> None:
    """A chi-square test on a numeric feature would compute a distance and judge it as a p-value:
    unchanged data flagged, a real shift missed. The registry refuses it."""
    numeric = reference(np.random.default_rng(0).normal(0, 1, 1000))
    categorical = CategoricalReference.build(np.array(["a", "b"] * 50, dtype=object))
    with pytest.raises(
        ValueError, match="chisquare is a categorical method; a numeric feature takes psi, ks, wasserstein"
    ):
        drift.score("chisquare", numeric, np.zeros(10))
    with pytest.raises(
        ValueError, match="psi is a numeric method; a categorical feature takes chisquare, jensenshannon"
    ):
        drift.score("psi", categorical, np.array(["a"], dtype=object))
    with pytest.raises(
        ValueError, match="unknown drift method 'kl'; choose from psi, ks, wasserstein, chisquare, jensenshannon"
    ):
        drift.method("kl")


@pytest.mark.parametrize(
    ("name", "threshold", "problem"),
    [
        ("ks", 0.2, None),
        ("ks", 1.5, "ks scores a p-value: its threshold is an alpha in (0, 1), not 1.5"),
        ("chisquare", 0.0, "chisquare scores a p-value: its threshold is an alpha in (0, 1), not 0.0"),
        ("jensenshannon", 2.0, "jensenshannon is a distance in [0, 1]: its threshold must be in (0, 1], not 2.0"),
        ("psi", -0.1, "psi is a distance: its threshold must be a finite number > 0, not -0.1"),
        ("psi", float("nan"), "psi is a distance: its threshold must be a finite number > 0, not nan"),
        ("wasserstein", float("inf"), "wasserstein is a distance: its threshold must be a finite number > 0, not inf"),
        ("ks", float("nan"), "ks scores a p-value: its threshold is an alpha in (0, 1), not nan"),
        (
            "jensenshannon",
            float("nan"),
            "jensenshannon is a distance in [0, 1]: its threshold must be in (0, 1], not nan",
        ),
        ("wasserstein", 3.0, None),
    ],
)
def test_each_method_knows_what_its_threshold_can_mean(name: str, threshold: float, problem: str | None) -> None:
    assert drift.METHODS[name].threshold_problem(threshold) == problem


def test_every_method_is_documented_and_scores_its_own_kind() -> None:
    rng = np.random.default_rng(1)
    numeric = reference(rng.normal(0, 1, 2000))
    categorical = CategoricalReference.build(rng.choice(np.array(["a", "b", "c"], dtype=object), 2000))
    for method in drift.METHODS.values():
        assert len(method.description) > 20
        ref, values = (
            (numeric, rng.normal(0, 1, 500))
            if method.kind == "numeric"
            else (categorical, rng.choice(np.array(["a", "b", "c"], dtype=object), 500))
        )
        value = drift.score(method.name, ref, values)
        assert np.isfinite(value)
        assert not method.drifted(value, method.default_threshold), f"{method.name} flags the same distribution"
