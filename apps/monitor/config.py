"""Drift monitor configuration (a YAML file; every default is here)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from apps.common.drift import CategoricalMethod, NumericMethod


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    features: dict[str, MethodConfig] = {}
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


class Retrain(Strict):
    backend: Literal["kubernetes", "local", "none"] = "none"
    """Where retraining runs: a Kubernetes Job, a local process, or nowhere (alert only). Default: none."""
    namespace: str = "mlops"
    """Namespace of the Jobs (kubernetes backend). Default: mlops."""
    job_template: Path | None = None
    """Job manifest to copy (kubernetes backend; the TrainingPipeline component publishes it)."""
    command: tuple[str, ...] = ()
    """Command to run (local backend), e.g. [python, -m, apps.training, run, --config, ...]."""
    workdir: Path | None = None
    """Working directory of the local process (its logs and marker files go there)."""

    @model_validator(mode="after")
    def _complete(self) -> Retrain:
        if self.backend == "kubernetes" and self.job_template is None:
            raise ValueError("retrain.job_template is required with the kubernetes backend")
        if self.backend == "local" and not self.command:
            raise ValueError("retrain.command is required with the local backend")
        return self


class MonitorConfig(Strict):
    model_name: str = "churn-classifier"
    """Registered model whose predictions are monitored."""
    alias: str = "champion"
    """Alias of the serving version (its run's reference profile is the baseline)."""
    profile_path: Path | None = None
    """Read the reference profile from this file instead of MLflow (benchmarks, offline runs)."""
    profile_poll_seconds: float = Field(default=10.0, gt=0)
    """How often the alias is checked for a new champion (whose profile then replaces the old). Default: 10."""
    window_size: int = Field(default=2000, ge=20)
    """Records per window. Default: 2000."""
    step: int | None = Field(default=None, ge=1)
    """Records between two evaluations; less than window_size makes the window slide. Default: window_size."""
    consecutive_windows: int = Field(default=3, ge=1)
    """Drifted windows in a row before retraining is triggered. Default: 3."""
    min_drifted_features: int = Field(default=1, ge=1)
    """A window counts as drifted when at least this many features drift. Default: 1."""
    cooldown_seconds: float = Field(default=21600, ge=0)
    """Least time between two triggers. Default: 6 h."""
    min_labels: int = Field(default=50, ge=2)
    """Labelled records a window needs before performance is reported. Default: 50."""
    max_batch_records: int = Field(default=10_000, ge=1)
    """Largest batch accepted by /v1/logs. Default: 10000."""
    label_memory: int = Field(default=200_000, ge=1000)
    """Recent predictions kept to join late labels by request id. Default: 200000."""
    methods: Methods = Methods()
    retrain: Retrain = Retrain()

    @property
    def evaluation_step(self) -> int:
        return self.step or self.window_size


def load_config(path: Path | None) -> MonitorConfig:
    return MonitorConfig.model_validate((yaml.safe_load(path.read_text()) or {}) if path else {})
