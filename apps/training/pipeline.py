"""The training pipeline, one function per stage:

    load -> validate -> split -> train (search) -> evaluate (+ champion on the same holdout)
         -> register as challenger -> promote to champion if it wins by the margin

Every run logs its parameters, metrics, the data contract report, the reference profile for the
drift monitor and lineage tags (git commit, data table + version + content hash, config hash,
image). Bad data stops the run at validate: nothing is trained or registered.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import skops.io
from mlflow.models import infer_signature
from mlops_platform.contracts import DataContract, TrainingEnv
from prometheus_client import CollectorRegistry, Counter, pushadd_to_gateway
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from apps.common import registry
from apps.common.metrics import BY_NAME
from apps.common.performance import Calibration
from apps.common.profile import ARTIFACT as PROFILE_ARTIFACT
from apps.common.profile import ReferenceProfile
from apps.training.config import TrainingConfig
from apps.training.data import DataLoadError, LoadedData, load
from apps.training.validate import Check, ContractReport, DataValidationError, validate

log = logging.getLogger("apps.training")

Outcome = Literal["promoted", "rejected", "held", "failed"]
"""held: registered, not promoted, tagged review=needed (a jump too large to trust)."""


# --------------------------------------------------------------------------- stages


def load_stage(cfg: TrainingConfig) -> LoadedData:
    """Read the pinned (or latest) table version, the contract's categorical features dictionary-encoded.
    A table that cannot be read is a failed check."""
    try:
        return load(
            cfg.dataset.uri, cfg.dataset.version, cfg.dataset.storage_options, cfg.contract.categorical_features
        )
    except DataLoadError as error:
        raise DataValidationError(ContractReport((Check(error.check, False, error.detail),))) from error


def validate_stage(frame: pd.DataFrame, contract: DataContract) -> ContractReport:
    report = validate(frame, contract)
    if not report.passed:
        raise DataValidationError(report)
    return report


def split_stage(
    frame: pd.DataFrame, contract: DataContract, holdout_fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and holdout rows, stratified by the label, with no entity on both sides: entities (the
    key column) are split, not rows - a customer seen in training never scores the holdout."""
    keys = contract.role("key")
    if not keys:
        train, holdout = train_test_split(
            frame, test_size=holdout_fraction, random_state=seed, stratify=frame[contract.label]
        )
        return train.reset_index(drop=True), holdout.reset_index(drop=True)
    entity = frame[keys[0]]
    per_entity = frame[contract.label].groupby(entity).max()
    _, holdout_keys = train_test_split(
        per_entity.index.to_numpy(), test_size=holdout_fraction, random_state=seed, stratify=per_entity.to_numpy()
    )
    in_holdout = entity.isin(set(holdout_keys.tolist()))
    train, holdout = frame[~in_holdout], frame[in_holdout]
    shared = set(train[keys[0]]) & set(holdout[keys[0]])
    if shared:  # cannot happen by construction; a guard against a future change
        raise RuntimeError(f"{len(shared)} entities are in both training and holdout")
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def feature_frame(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The model's inputs, in contract order and dtypes (numeric as float, categorical as str)."""
    columns = {name: frame[name].astype("float64") for name in contract.numeric_features}
    columns.update({name: frame[name].astype(object) for name in contract.categorical_features})
    return pd.DataFrame(columns)[[c.name for c in contract.features]]


def preprocessing(contract: DataContract) -> ColumnTransformer:
    """The one preprocessing object: fitted on training rows only, saved inside the model, so
    serving applies exactly the transformation training did."""
    return ColumnTransformer(
        [
            ("numeric", StandardScaler(), contract.numeric_features),
            (
                "categorical",
                OneHotEncoder(
                    categories=[list(contract.column(c).categories or []) for c in contract.categorical_features],
                    handle_unknown="ignore",
                    sparse_output=False,
                ),
                contract.categorical_features,
            ),
        ],
        verbose_feature_names_out=False,
    )


@dataclass(frozen=True)
class SearchResult:
    model: Pipeline
    params: dict[str, Any]
    validation_score: float
    trials: list[dict[str, Any]]


def train_stage(train: pd.DataFrame, cfg: TrainingConfig) -> SearchResult:
    """Random search over the boosting hyper-parameters within the trial and time budget, scored on
    a validation split of the training rows; the best is refit on all of them. Seeded throughout."""
    contract = cfg.contract
    rng = np.random.default_rng(cfg.seed)
    x = feature_frame(train, contract)
    y = train[contract.label].to_numpy()
    x_fit, x_val, y_fit, y_val = train_test_split(
        x, y, test_size=cfg.search.validation_fraction, random_state=cfg.seed, stratify=y
    )
    space = cfg.search
    started = time.monotonic()
    trials: list[dict[str, Any]] = []
    for trial in range(space.trials):
        if trial and time.monotonic() - started > space.time_budget_seconds:
            log.info("search stopped after %d trials: time budget spent", trial)
            break
        params = {
            "learning_rate": float(np.exp(rng.uniform(np.log(space.learning_rate[0]), np.log(space.learning_rate[1])))),
            "max_iter": int(rng.integers(space.max_iter[0], space.max_iter[1] + 1)),
            "max_leaf_nodes": int(rng.integers(space.max_leaf_nodes[0], space.max_leaf_nodes[1] + 1)),
            "l2_regularization": float(rng.uniform(0.0, 1.0)),
        }
        model = _pipeline(contract, params, cfg.seed).fit(x_fit, y_fit)
        score = float(roc_auc_score(y_val, model.predict_proba(x_val)[:, 1]))
        trials.append({**params, "validation_roc_auc": score})
    best = max(trials, key=lambda t: t["validation_roc_auc"])
    params = {k: v for k, v in best.items() if k != "validation_roc_auc"}
    return SearchResult(_pipeline(contract, params, cfg.seed).fit(x, y), params, best["validation_roc_auc"], trials)


def _pipeline(contract: DataContract, params: dict[str, Any], seed: int) -> Pipeline:
    classifier = HistGradientBoostingClassifier(early_stopping=False, random_state=seed, **params)
    return Pipeline([("features", preprocessing(contract)), ("classifier", classifier)])


def evaluate(model: Any, frame: pd.DataFrame, contract: DataContract) -> dict[str, float]:
    """Holdout metrics of any fitted classifier that takes the contract's features."""
    y = frame[contract.label].to_numpy()
    probability = model.predict_proba(feature_frame(frame, contract))[:, 1]
    predicted = (probability >= 0.5).astype(int)
    return {
        "roc_auc": float(roc_auc_score(y, probability)),
        "accuracy": float(accuracy_score(y, predicted)),
        "f1": float(f1_score(y, predicted, zero_division=0)),
        "log_loss": float(log_loss(y, np.clip(probability, 1e-7, 1 - 1e-7), labels=[0, 1])),
    }


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    review: bool = False
    """Registered but held: a jump too large to trust without a person looking at it."""


def decide(
    challenger: float,
    champion: float | None,
    margin: float,
    max_jump: float = 1.0,
    champion_at_training: float | None = None,
) -> Decision:
    """Promote a challenger that beats the champion on the same holdout by `margin` - unless it beats the
    best the champion ever showed (here, or on its own holdout when it was trained) by more than
    `max_jump`: a drifted champion losing ground is why retraining exists, but a model far better than
    anything before is more often leakage or duplicated rows than progress. That one is held for review."""
    if champion is None:
        return Decision(True, "no champion yet")
    best = max(champion, champion_at_training if champion_at_training is not None else champion)
    if challenger - best > max_jump:
        return Decision(
            False,
            f"challenger {challenger:.4f} beats the champion's best {best:.4f} by {challenger - best:.4f}, more than "
            f"the {max_jump} a retraining plausibly gains: held for review (check the data for leakage or "
            "duplicates), not promoted",
            review=True,
        )
    if challenger >= champion + margin:
        return Decision(True, f"challenger {challenger:.4f} beats champion {champion:.4f} by >= {margin}")
    return Decision(False, f"challenger {challenger:.4f} does not beat champion {champion:.4f} by {margin}")


# --------------------------------------------------------------------------- the run


@dataclass
class RunResult:
    outcome: Outcome
    run_id: str
    version: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    champion_metrics: dict[str, float] | None = None
    champion_version: str | None = None
    decision: str = ""
    report: ContractReport | None = None


def lineage(cfg: TrainingConfig) -> dict[str, str]:
    env = TrainingEnv.from_environ(os.environ)
    return {
        "lineage.git_commit": env.git_commit or _git_commit(),
        "lineage.config_hash": cfg.digest(),
        "lineage.image": env.image_ref,
    }


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run(cfg: TrainingConfig) -> RunResult:
    """Run the whole pipeline in one MLflow run. Raises DataValidationError (after logging the
    report and marking the run failed) when the data breaks its contract."""
    mlflow.set_experiment(cfg.experiment)
    with mlflow.start_run() as active:
        run_id = active.info.run_id
        tags = {**lineage(cfg), "model_name": cfg.model_name, "lineage.data_uri": cfg.dataset.uri}
        mlflow.set_tags(tags)
        mlflow.log_params(
            {
                "seed": cfg.seed,
                "holdout_fraction": cfg.holdout_fraction,
                "search.trials": cfg.search.trials,
                "promotion.margin": cfg.promotion.margin,
            }
        )
        try:
            data = load_stage(cfg)
            mlflow.set_tags({"lineage.data_version": str(data.version), "lineage.data_hash": data.content_hash})
            report = validate_stage(data.frame, cfg.contract)
        except DataValidationError as error:
            mlflow.log_dict(error.report.as_dict(), "data_contract_report.json")
            mlflow.set_tag("outcome", "failed")
            raise
        mlflow.log_dict(report.as_dict(), "data_contract_report.json")
        result = _train_and_decide(cfg, data, report, run_id, tags)
        mlflow.set_tag("outcome", result.outcome)
        return result


def _train_and_decide(
    cfg: TrainingConfig, data: LoadedData, report: ContractReport, run_id: str, tags: dict[str, str]
) -> RunResult:
    contract = cfg.contract
    train, holdout = split_stage(data.frame, contract, cfg.holdout_fraction, cfg.seed)
    search = train_stage(train, cfg)
    mlflow.log_params({f"model.{k}": v for k, v in search.params.items()})
    mlflow.log_metric("validation_roc_auc", search.validation_score)
    mlflow.log_dict({"trials": search.trials}, "search_trials.json")
    metrics = evaluate(search.model, holdout, contract)
    mlflow.log_metrics({f"holdout_{k}": v for k, v in metrics.items()})

    mlflow_client = registry.client()
    champion = registry.version_by_alias(cfg.model_name, registry.CHAMPION, mlflow_client)
    champion_metrics = None
    if champion is not None:
        champion_metrics = evaluate(registry.load_model(cfg.model_name, champion.version), holdout, contract)
        mlflow.log_metrics({f"champion_holdout_{k}": v for k, v in champion_metrics.items()})
        mlflow.set_tag("champion_version", champion.version)

    x_holdout = feature_frame(holdout, contract)
    probability = search.model.predict_proba(x_holdout)[:, 1]
    # The holdout's scores against its labels: how the monitor estimates performance before labels arrive.
    calibration = Calibration.fit(probability, holdout[contract.label].to_numpy())
    profile = ReferenceProfile.build(
        cfg.model_name,
        contract,
        train,
        probability,
        sample_size=cfg.profile_sample_size,
        seed=cfg.seed,
        calibration=calibration,
    )
    mlflow.log_text(profile.to_json(), PROFILE_ARTIFACT)

    version = _register(
        cfg,
        search.model,
        x_holdout,
        probability,
        run_id,
        {**tags, "lineage.data_version": str(data.version), "lineage.data_hash": data.content_hash},
    )
    decision = decide(
        metrics[cfg.promotion.metric],
        champion_metrics[cfg.promotion.metric] if champion_metrics else None,
        cfg.promotion.margin,
        cfg.promotion.max_jump,
        _score_at_training(mlflow_client, champion, cfg.promotion.metric) if champion else None,
    )
    outcome: Outcome = "promoted" if decision.promote else "held" if decision.review else "rejected"
    mlflow.set_tags({"decision": outcome, "decision_reason": decision.reason})
    if decision.review:
        mlflow_client.set_model_version_tag(cfg.model_name, version, "review", "needed")
        mlflow_client.set_model_version_tag(cfg.model_name, version, "review_reason", decision.reason)
    log.info("v%s: %s", version, decision.reason)
    if decision.promote:
        registry.promote(cfg.model_name, version, mlflow_client)
    return RunResult(
        outcome=outcome,
        run_id=run_id,
        version=version,
        metrics=metrics,
        champion_metrics=champion_metrics,
        champion_version=champion.version if champion else None,
        decision=decision.reason,
        report=report,
    )


def signature(contract: DataContract, x: pd.DataFrame, probability: np.ndarray) -> Any:
    """The model's input schema: a feature the contract lets be null (max_null_rate > 0) is optional, so
    the predictor accepts a null there (the model handles missing values); every other one is required."""
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    inferred = infer_signature(x, probability)
    inputs = [
        ColSpec(spec.type, spec.name, required=contract.column(str(spec.name)).max_null_rate == 0)
        for spec in inferred.inputs.inputs
    ]
    return ModelSignature(inputs=Schema(inputs), outputs=inferred.outputs)


def _score_at_training(client: Any, version: Any, metric: str) -> float | None:
    """The champion's holdout score when it was trained (its run's metric), if recorded."""
    try:
        value = client.get_run(version.run_id).data.metrics.get(f"holdout_{metric}")
    except Exception:  # an unreadable run makes the check rely on today's holdout alone
        return None
    return float(value) if value is not None else None


def _register(
    cfg: TrainingConfig, model: Pipeline, x: pd.DataFrame, probability: np.ndarray, run_id: str, tags: dict[str, str]
) -> str:
    """Log the pipeline (skops), register it, tag it with its lineage, point `challenger` at it."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.skops"
        skops.io.dump(model, path)
        trusted = skops.io.get_untrusted_types(file=path)
    foreign = [t for t in trusted if not t.startswith(("sklearn.", "numpy."))]
    if foreign:
        raise RuntimeError(f"refusing to trust non-scikit-learn types in the model: {foreign}")
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
        skops_trusted_types=trusted,
        signature=signature(cfg.contract, x, probability),
        input_example=x.head(3),
        pyfunc_predict_fn="predict_proba",
        # Pinned to what trained it; also spares MLflow from inferring them in a subprocess.
        pip_requirements=[
            f"{package}=={metadata.version(package)}"
            for package in ("scikit-learn", "skops", "numpy", "pandas", "scipy")
        ],
        registered_model_name=cfg.model_name,
        await_registration_for=120,
    )
    version = str(info.registered_model_version)
    client = registry.client()
    for key, value in {**tags, "run_id": run_id}.items():
        client.set_model_version_tag(cfg.model_name, version, key, value)
    client.set_registered_model_alias(cfg.model_name, registry.CHALLENGER, version)
    return version


def push_outcome(model_name: str, outcome: Outcome, run_id: str) -> None:
    """mlops_training_runs_total{model, outcome} to the Pushgateway (when PUSHGATEWAY_URL is set)."""
    url = TrainingEnv.from_environ(os.environ).pushgateway_url
    if not url:
        return
    spec = BY_NAME["mlops_training_runs_total"]
    metrics = CollectorRegistry()
    Counter(spec.name.removesuffix("_total"), spec.help, spec.labels, registry=metrics).labels(
        model=model_name, outcome=outcome
    ).inc()
    try:
        pushadd_to_gateway(url, job="training", grouping_key={"run_id": run_id}, registry=metrics, timeout=10)
    except OSError as error:  # the run's outcome stands; the metric is best effort
        log.warning("could not push the training outcome to %s: %s", url, error)
