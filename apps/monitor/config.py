"""Drift monitor configuration (monitor.yaml): what the stack writes is the MonitorJobConfig contract
(components/contracts.py); the evaluation's own knobs, with their defaults, are here."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from components.contracts import CategoricalMethod, MonitorJobConfig, NumericMethod, Strict, load_yaml


class MethodConfig(Strict):
    method: NumericMethod | CategoricalMethod
    threshold: float = Field(gt=0)
    """Distance methods (psi, wasserstein, jensenshannon): drift above it. p-value methods (ks, chisquare): drift below it."""


class Methods(Strict):
    numeric: MethodConfig = MethodConfig(method="psi", threshold=0.2)
    """Verdict method for numeric features. Default: PSI > 0.2."""
    categorical: MethodConfig = MethodConfig(method="jensenshannon", threshold=0.1)
    """Verdict method for categorical features. Default: Jensen-Shannon distance > 0.1."""
    prediction: MethodConfig = MethodConfig(method="psi", threshold=0.2)
    """Verdict method for the prediction distribution. Default: PSI > 0.2."""
    features: dict[str, MethodConfig] = Field(default_factory=dict)
    """Per-feature overrides. Default: none."""
    extra_numeric: tuple[NumericMethod, ...] = ("ks", "wasserstein")
    """Further scores exported for numeric features. Default: ks, wasserstein."""
    extra_categorical: tuple[CategoricalMethod, ...] = ("chisquare",)
    """Further scores exported for categorical features. Default: chisquare."""

    @model_validator(mode="after")
    def _kinds(self) -> Methods:
        if self.numeric.method not in ("psi", "ks", "wasserstein") or self.prediction.method not in (
            "psi",
            "ks",
            "wasserstein",
        ):
            raise ValueError("methods.numeric and methods.prediction must be psi, ks or wasserstein")
        if self.categorical.method not in ("chisquare", "jensenshannon"):
            raise ValueError("methods.categorical must be chisquare or jensenshannon")
        return self


class MonitorConfig(MonitorJobConfig):
    profile_path: Path | None = None
    """Read the reference profile from this file instead of MLflow (benchmarks, offline runs)."""
    profile_poll_seconds: float = Field(default=10.0, gt=0)
    """How often the alias is checked for a new champion (whose profile then replaces the old). Default: 10."""
    step: int | None = Field(default=None, ge=1)
    """Records between two evaluations; less than window_size makes the window slide. Default: window_size."""
    min_drifted_features: int = Field(default=1, ge=1)
    """A window counts as drifted when at least this many features drift. Default: 1."""
    min_labels: int = Field(default=50, ge=2)
    """Labelled records a window needs before performance is reported. Default: 50."""
    max_batch_records: int = Field(default=10_000, ge=1)
    """Largest batch accepted by /v1/logs. Default: 10000."""
    label_memory: int = Field(default=200_000, ge=1000)
    """Recent predictions kept to join late labels by request id. Default: 200000."""
    methods: Methods = Methods()

    @property
    def evaluation_step(self) -> int:
        return self.step or self.window_size


def load_config(path: Path | None) -> MonitorConfig:
    return load_yaml(MonitorConfig, path)
