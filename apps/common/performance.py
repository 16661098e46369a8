"""Performance without labels: confidence-based performance estimation (CBPE).

At training time the model's holdout probabilities are calibrated (isotonic regression against the
holdout labels) and the map is stored in the reference profile. In a window without labels, each
prediction's calibrated probability is the chance its label is positive, so the window's expected
ROC AUC - the area under the ROC curve built from expected true and false positives - and its
expected accuracy at the decision threshold follow from the scores alone. Once labels arrive, the
realized values are exported beside the estimates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score

THRESHOLD = 0.5
"""The decision threshold accuracy is judged at (the predictor's positive class: probability >= 0.5)."""


@dataclass(frozen=True)
class Calibration:
    """A monotone map from the model's score to the probability the label is positive."""

    scores: np.ndarray
    probabilities: np.ndarray

    @classmethod
    def fit(cls, scores: np.ndarray, labels: np.ndarray) -> Calibration:
        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
        return cls(
            np.asarray(isotonic.X_thresholds_, dtype=np.float64), np.asarray(isotonic.y_thresholds_, dtype=np.float64)
        )

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(scores, dtype=np.float64), self.scores, self.probabilities)

    def to_dict(self) -> dict[str, Any]:
        return {"scores": self.scores.tolist(), "probabilities": self.probabilities.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(np.asarray(data["scores"], dtype=np.float64), np.asarray(data["probabilities"], dtype=np.float64))


def estimate(scores: np.ndarray, calibration: Calibration, threshold: float = THRESHOLD) -> dict[str, float]:
    """Expected ROC AUC and accuracy of a window of scores (no labels needed)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return {}
    positive = calibration(scores)
    found = {"estimated_accuracy": float(np.mean(np.where(scores >= threshold, positive, 1 - positive)))}
    if 0 < positive.sum() < scores.size:
        # Each prediction is a positive with weight p and a negative with weight 1 - p: the ROC curve of
        # these expected counts is CBPE's expected curve, and its area the expected AUC.
        truth = np.concatenate([np.ones(scores.size), np.zeros(scores.size)])
        found["estimated_roc_auc"] = float(
            roc_auc_score(
                truth, np.concatenate([scores, scores]), sample_weight=np.concatenate([positive, 1 - positive])
            )
        )
    return found
