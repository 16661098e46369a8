"""Training configuration: a YAML file plus `--set key=value` overrides, validated once.

What the stack writes is the TrainingJobConfig contract (`mlops_platform.contracts`, contracts/); the pipeline's
own knobs, with their defaults, are here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from mlops_platform.contracts import DataContract, Strict, TrainingJobConfig
from pydantic import Field, model_validator

EXAMPLE_CONTRACT = Path(__file__).with_name("churn_contract.yaml")


def _example_contract() -> DataContract:
    return DataContract.model_validate(yaml.safe_load(EXAMPLE_CONTRACT.read_text()))


class Search(Strict):
    trials: int = Field(default=12, ge=1, le=500)
    """Hyper-parameter configurations tried. Default: 12."""
    time_budget_seconds: float = Field(default=300, gt=0)
    """Stop sampling new trials after this long. Default: 300."""
    learning_rate: tuple[float, float] = (0.03, 0.3)
    """Range (log-uniform) of the boosting learning rate. Default: 0.03-0.3."""
    max_iter: tuple[int, int] = (60, 300)
    """Range of boosting iterations. Default: 60-300."""
    max_leaf_nodes: tuple[int, int] = (8, 63)
    """Range of leaves per tree. Default: 8-63."""
    validation_fraction: float = Field(default=0.2, gt=0, lt=0.5)
    """Share of the training rows that scores the trials. Default: 0.2."""

    @model_validator(mode="after")
    def _ranges(self) -> Search:
        for name in ("learning_rate", "max_iter", "max_leaf_nodes"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"search.{name} ({low}, {high}) must be an increasing positive range")
        return self


class TrainingConfig(TrainingJobConfig):
    contract: DataContract = Field(default_factory=_example_contract)
    """The data contract. Default: the example churn contract (churn_contract.yaml)."""
    holdout_fraction: float = Field(default=0.25, gt=0, lt=0.9)
    """Share of rows held out for evaluation and the champion comparison. Default: 0.25."""
    seed: int = 42
    """Seed of the split, the search and the models: same data + config + seed = same metrics. Default: 42."""
    search: Search = Search()
    """Hyper-parameter search."""
    profile_sample_size: int = Field(default=10_000, ge=100)
    """Reference values kept per feature in the profile (for KS/Wasserstein). Default: 10000."""

    def digest(self) -> str:
        """A stable hash of the whole configuration (a lineage tag)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_config(path: Path | None, overrides: list[str] | None = None) -> TrainingConfig:
    """The config file (if any) with `dotted.key=value` overrides (values parsed as YAML)."""
    data: dict[str, Any] = (yaml.safe_load(path.read_text()) or {}) if path is not None else {}
    for override in overrides or []:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise ValueError(f"override {override!r} must look like key=value")
        node = data
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {override!r}: {part} is not a mapping")
        node[last] = yaml.safe_load(raw)
    return TrainingConfig.model_validate(data)
