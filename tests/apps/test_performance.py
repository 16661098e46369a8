"""Performance without labels (CBPE): the estimate against the realized value on labelled data the
model has never seen, on clean data and after the population shifts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from apps.common.performance import Calibration, estimate
from apps.training.config import TrainingConfig
from apps.training.data import generate
from apps.training.pipeline import _pipeline, feature_frame

CONTRACT = TrainingConfig.model_validate({"dataset": {"uri": "unused"}}).contract


@pytest.fixture(scope="module")
def model_and_calibration() -> tuple[object, Calibration]:
    train, holdout = generate(6000, seed=1), generate(3000, seed=2, first_id=10_000)
    model = _pipeline(CONTRACT, {"learning_rate": 0.1, "max_iter": 120, "max_leaf_nodes": 15}, 0)
    model.fit(feature_frame(train, CONTRACT), train["churned"])
    scores = model.predict_proba(feature_frame(holdout, CONTRACT))[:, 1]
    return model, Calibration.fit(scores, holdout["churned"].to_numpy())


def realized_and_estimated(model: object, calibration: Calibration, seed: int, drift: float) -> tuple[dict, dict]:
    window = generate(2000, seed=seed, drift=drift, first_id=100_000)
    scores = model.predict_proba(feature_frame(window, CONTRACT))[:, 1]  # type: ignore[attr-defined]
    truth = window["churned"].to_numpy()
    realized = {"roc_auc": roc_auc_score(truth, scores), "accuracy": accuracy_score(truth, scores >= 0.5)}
    return realized, estimate(scores, calibration)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_on_clean_traffic_the_estimate_is_within_003_of_the_realized_auc(model_and_calibration, seed: int) -> None:
    realized, estimated = realized_and_estimated(*model_and_calibration, seed=seed, drift=0.0)
    assert abs(estimated["estimated_roc_auc"] - realized["roc_auc"]) < 0.03, (estimated, realized)
    assert abs(estimated["estimated_accuracy"] - realized["accuracy"]) < 0.03, (estimated, realized)


def test_a_shifted_population_lowers_the_estimate(model_and_calibration) -> None:
    """The shift moves customers towards scores where the model is less sure: the expected accuracy
    falls clearly, the expected AUC a little. (What it cannot see is the part of the drift that changes
    how features relate to churn - a concept change shows only in the realized values, once labels come.)"""
    model, calibration = model_and_calibration
    clean_realized, clean = realized_and_estimated(model, calibration, seed=21, drift=0.0)
    shifted_realized, shifted = realized_and_estimated(model, calibration, seed=22, drift=1.0)
    assert shifted["estimated_accuracy"] < clean["estimated_accuracy"] - 0.05, (clean, shifted)
    assert shifted["estimated_roc_auc"] < clean["estimated_roc_auc"], (clean, shifted)
    assert shifted_realized["roc_auc"] < clean_realized["roc_auc"] - 0.05, "the shift hurts the model for real"


def test_the_calibration_is_monotone_bounded_and_survives_json() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(2000)
    labels = (rng.random(2000) < scores**2).astype(int)
    calibration = Calibration.fit(scores, labels)
    mapped = calibration(np.linspace(-1, 2, 50))
    assert np.all(np.diff(mapped) >= 0) and mapped.min() >= 0 and mapped.max() <= 1
    again = Calibration.from_dict(calibration.to_dict())
    assert np.array_equal(again(scores), calibration(scores))
    assert estimate(np.array([]), calibration) == {}
    assert "estimated_roc_auc" not in estimate(np.zeros(10), Calibration(np.array([0.0, 1.0]), np.array([0.0, 0.0])))
