"""The data contract: what a training table must look like, and what serving and monitoring
expect of each feature. Declared once (apps/training/churn.yaml) and carried inside the reference
profile, so training, serving and the monitor agree on it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    role: Literal["feature", "label", "key", "timestamp"] = "feature"
    """feature (model input), label (the target), key (entity id) or timestamp (event time)."""
    kind: Literal["numeric", "categorical"] = "numeric"
    """Numeric features are floats/ints; categorical features are strings."""
    max_null_rate: float = Field(default=0.0, ge=0, le=1)
    """Largest share of nulls allowed. Default: none allowed."""
    minimum: float | None = None
    """Smallest value allowed (numeric). Default: unbounded."""
    maximum: float | None = None
    """Largest value allowed (numeric). Default: unbounded."""
    categories: tuple[str, ...] | None = None
    """Allowed values (categorical). Default: any."""


class DataContract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: tuple[Column, ...]
    min_rows: int = Field(default=100, ge=1)
    """Fewest rows a training table may have. Default: 100."""
    min_minority_share: float = Field(default=0.05, ge=0, le=0.5)
    """Smallest share the rarer label class may have. Default: 0.05."""

    @model_validator(mode="after")
    def _one_label(self) -> DataContract:
        labels = [c.name for c in self.columns if c.role == "label"]
        if len(labels) != 1:
            raise ValueError(f"a data contract needs exactly one label column, found {labels}")
        return self

    @property
    def label(self) -> str:
        return next(c.name for c in self.columns if c.role == "label")

    @property
    def features(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role == "feature")

    @property
    def numeric_features(self) -> list[str]:
        return [c.name for c in self.features if c.kind == "numeric"]

    @property
    def categorical_features(self) -> list[str]:
        return [c.name for c in self.features if c.kind == "categorical"]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)
