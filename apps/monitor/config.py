"""Drift monitor configuration (monitor.yaml): what the stack writes is the MonitorJobConfig contract
(`mlops_platform.contracts`, contracts/); the evaluation's own knobs, with their defaults, are here."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mlops_platform.contracts import MonitorJobConfig, Strict, load_yaml
from pydantic import Field, model_validator

from apps.common import drift


class MethodConfig(Strict):
    method: str
    """A drift method of apps/common/drift.py's registry (psi, ks, wasserstein, chisquare, jensenshannon)."""
    threshold: float
    """Distance methods (psi, wasserstein, jensenshannon): drift above it. p-value methods (ks, chisquare): drift below it."""

    @model_validator(mode="after")
    def _known(self) -> MethodConfig:
        problem = drift.method(self.method).threshold_problem(self.threshold)
        if problem:
            raise ValueError(problem)
        return self


def _default(name: str) -> MethodConfig:
    return MethodConfig(method=name, threshold=drift.METHODS[name].default_threshold)


class Methods(Strict):
    numeric: MethodConfig = _default("psi")
    """Verdict method for numeric features. Default: PSI > 0.2."""
    categorical: MethodConfig = _default("jensenshannon")
    """Verdict method for categorical features. Default: Jensen-Shannon distance > 0.1."""
    prediction: MethodConfig = _default("psi")
    """Verdict method for the prediction distribution. Default: PSI > 0.2."""
    features: dict[str, MethodConfig] = Field(default_factory=dict)
    """Per-feature overrides, checked against each feature's kind when the reference profile is known."""
    extra_numeric: tuple[str, ...] = ("ks", "wasserstein")
    """Further scores exported for numeric features. Default: ks, wasserstein."""
    extra_categorical: tuple[str, ...] = ("chisquare",)
    """Further scores exported for categorical features. Default: chisquare."""

    @model_validator(mode="after")
    def _kinds(self) -> Methods:
        for where, chosen, kind in (
            ("methods.numeric", self.numeric.method, "numeric"),
            ("methods.prediction", self.prediction.method, "numeric"),
            ("methods.categorical", self.categorical.method, "categorical"),
            *[(f"methods.extra_numeric[{i}]", m, "numeric") for i, m in enumerate(self.extra_numeric)],
            *[(f"methods.extra_categorical[{i}]", m, "categorical") for i, m in enumerate(self.extra_categorical)],
        ):
            try:
                drift.method(chosen, kind)  # type: ignore[arg-type]
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
        return self

    def check_features(self, numeric: Iterable[str], categorical: Iterable[str]) -> None:
        """Each per-feature override names a feature of the profile and a method of its kind."""
        kinds = {**dict.fromkeys(numeric, "numeric"), **dict.fromkeys(categorical, "categorical")}
        problems = []
        for feature, chosen in self.features.items():
            if feature not in kinds:
                problems.append(f"methods.features.{feature}: no such feature (the model has {', '.join(kinds)})")
                continue
            try:
                drift.method(chosen.method, kinds[feature])  # type: ignore[arg-type]
            except ValueError as error:
                problems.append(f"methods.features.{feature}: {feature} is {kinds[feature]}: {error}")
        if problems:
            raise ValueError("; ".join(problems))

    def for_feature(self, feature: str, kind: drift.Kind) -> tuple[drift.DriftMethod, float]:
        chosen = self.features.get(feature) or (self.numeric if kind == "numeric" else self.categorical)
        return drift.method(chosen.method, kind), chosen.threshold


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
    quality_tolerance: float = Field(default=0.01, ge=0, le=1)
    """Least share of failing values a feature may have per quality check before it is flagged (the
    training contract's max_null_rate when larger). Default: 0.01."""
    journal_fsync: bool = False
    """fsync each journaled batch (survives a machine crash, not only a process crash). Default: false."""
    methods: Methods = Methods()

    @property
    def evaluation_step(self) -> int:
        return self.step or self.window_size


def load_config(path: Path | None) -> MonitorConfig:
    return load_yaml(MonitorConfig, path)
