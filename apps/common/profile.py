"""The reference profile: what the training data and the model's predictions looked like.

Written by each training run (an MLflow artifact, `reference_profile.json`) and read by the
drift monitor for the version being served: per-feature reference statistics in the form the
drift statistics need, the data contract's ranges and categories, and the distribution of
predictions on the holdout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from mlops_platform.contracts import DataContract

from apps.common.drift import CategoricalReference, NumericReference
from apps.common.performance import Calibration

ARTIFACT = "reference_profile.json"
FORMAT_VERSION = 2
"""2: the model's calibration (for performance estimation without labels). 1 is still read."""


@dataclass(frozen=True)
class ReferenceProfile:
    model_name: str
    contract: DataContract
    numeric: dict[str, NumericReference]
    categorical: dict[str, CategoricalReference]
    prediction: NumericReference
    rows: int
    calibration: Calibration | None = None
    """Score -> probability of a positive label, fitted on the holdout (None in format 1 profiles)."""

    @classmethod
    def build(
        cls,
        model_name: str,
        contract: DataContract,
        frame: pd.DataFrame,
        predictions: np.ndarray,
        *,
        sample_size: int | None = 10_000,
        seed: int = 0,
        calibration: Calibration | None = None,
    ) -> ReferenceProfile:
        numeric = {
            name: NumericReference.build(
                frame[name].to_numpy(dtype=np.float64, na_value=np.nan), sample_size=sample_size, seed=seed
            )
            for name in contract.numeric_features
        }
        categorical = {
            name: CategoricalReference.build(frame[name])  # nulls are no category; a Categorical counts its codes
            for name in contract.categorical_features
        }
        prediction = NumericReference.build(
            np.asarray(predictions, dtype=np.float64), sample_size=sample_size, seed=seed
        )
        return cls(model_name, contract, numeric, categorical, prediction, len(frame), calibration)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT_VERSION,
                "model_name": self.model_name,
                "rows": self.rows,
                "contract": self.contract.model_dump(mode="json"),
                "numeric": {name: _numeric_dict(ref) for name, ref in self.numeric.items()},
                "categorical": {
                    name: {"categories": list(ref.categories), "expected": ref.expected.tolist()}
                    for name, ref in self.categorical.items()
                },
                "prediction": _numeric_dict(self.prediction),
                "calibration": self.calibration.to_dict() if self.calibration else None,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        data = json.loads(text)
        if data.get("format") not in (1, FORMAT_VERSION):
            raise ValueError(f"reference profile format {data.get('format')!r} is not {FORMAT_VERSION} (or 1)")
        return cls(
            model_name=data["model_name"],
            contract=DataContract.model_validate(data["contract"]),
            numeric={name: _numeric_reference(v) for name, v in data["numeric"].items()},
            categorical={
                name: CategoricalReference(tuple(v["categories"]), np.asarray(v["expected"]))
                for name, v in data["categorical"].items()
            },
            prediction=_numeric_reference(data["prediction"]),
            rows=int(data["rows"]),
            calibration=Calibration.from_dict(data["calibration"]) if data.get("calibration") else None,
        )


def _numeric_dict(ref: NumericReference) -> dict[str, Any]:
    return {
        "bin_edges": ref.bin_edges.tolist(),
        "expected": ref.expected.tolist(),
        "sorted_values": ref.sorted_values.tolist(),
        "std": ref.std,
    }


def _numeric_reference(data: dict[str, Any]) -> NumericReference:
    return NumericReference(
        np.asarray(data["bin_edges"], dtype=np.float64),
        np.asarray(data["expected"], dtype=np.float64),
        np.asarray(data["sorted_values"], dtype=np.float64),
        float(data["std"]),
    )
