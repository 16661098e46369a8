"""Contracts between the stack and the apps it runs, and between the apps: one model each,
imported by both sides (`mlops_platform.contracts`, its own distribution: pydantic and PyYAML only,
so the apps' environment and images install nothing else of the platform).

| contract | written by | read by |
|---|---|---|
| PredictorSettings (env) | ModelEndpoint | apps/serving |
| MlflowClientSettings (env + credentials Secret keys) | every MLflow client's component | MLflow's client |
| TrainingJobConfig (config.yaml) + TrainingEnv (env) | TrainingPipeline | apps/training |
| BootstrapUsersSettings (env) + a users directory | MlflowTracking | apps/mlflow_server/bootstrap_users.py |
| FeatureRepoSettings (env) | FeatureStore | apps/features/feature_repo |
| MonitorJobConfig (monitor.yaml) | DriftMonitor | apps/monitor |
| DataContract | the training config / the reference profile | training, monitor |
| PredictionRecord | apps/serving (prediction log) | apps/monitor (POST /v1/logs) |

A component renders a contract (`PredictorSettings.env(model_name=...)`, `model.yaml()`); the app
parses it (`PredictorSettings.from_environ(os.environ)`, `load_yaml`). tests/infra/test_contracts.py
round-trips each one through what the stack renders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

# --------------------------------------------------------------------------- environment variables


class EnvSettings(BaseModel):
    """Settings read from environment variables: each field's alias is its variable's name, every
    field has a default (a deployment sets only what differs)."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, validate_by_alias=True, validate_by_name=True, use_attribute_docstrings=True
    )

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Field name -> environment variable."""
        return {name: field.alias or name for name, field in cls.model_fields.items()}

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        names = set(cls.variables().values())
        return cls.model_validate({key: value for key, value in environ.items() if key in names}, by_alias=True)

    @classmethod
    def env(cls, **values: Any) -> list[dict[str, Any]]:
        """Kubernetes `env` entries setting these fields. Plain values are validated here; Pulumi
        outputs (URLs known at deploy time) pass as they are."""
        variables = cls.variables()
        unknown = sorted(set(values) - set(variables))
        if unknown:
            raise TypeError(f"{cls.__name__} has no setting {', '.join(unknown)}; it has {', '.join(variables)}")
        plain = {variables[k]: v for k, v in values.items() if isinstance(v, str | int | float | bool)}
        cls.model_validate({k: str(v) for k, v in plain.items()}, by_alias=True)
        return [
            {"name": variables[name], "value": str(value) if isinstance(value, int | float | bool) else value}
            for name, value in values.items()
            if value is not None
        ]

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any]]:
        """(variable, description, default) for every setting: `--help` and the README print it."""
        return [(f.alias or n, f.description or "", f.default) for n, f in cls.model_fields.items()]


class PredictorSettings(EnvSettings):
    """Every setting of the predictor (apps/serving), from its environment."""

    model_name: str = Field(default="churn-classifier", alias="MODEL_NAME")
    """Registered model to serve."""
    model_alias: str = Field(default="champion", alias="MODEL_ALIAS")
    """Alias to serve and follow."""
    alias_poll_seconds: float = Field(default=10.0, gt=0, alias="ALIAS_POLL_SECONDS")
    """How often the alias is checked for a new version."""
    load_timeout_seconds: float = Field(default=600.0, gt=0, alias="MODEL_LOAD_TIMEOUT")
    """How long to wait at start for the alias to exist and the model to load."""
    max_batch_rows: int = Field(default=1000, ge=1, alias="MAX_BATCH_ROWS")
    """Most rows one request may carry."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024, alias="MAX_BODY_BYTES")
    """Largest request body accepted (413 beyond)."""
    monitor_url: str | None = Field(default=None, alias="MONITOR_URL")
    """Drift monitor base URL; prediction logs go to <url>/v1/logs. Unset: no logging."""
    log_queue_records: int = Field(default=10_000, ge=1, alias="PREDICTION_LOG_QUEUE")
    """Prediction records held while the monitor is away (retried); only what overflows is dropped."""
    feast_url: str | None = Field(default=None, alias="FEAST_URL")
    """Feast feature server, for entity-keyed requests. Unset: only feature payloads."""
    feast_feature_view: str = Field(default="customer_features", alias="FEAST_FEATURE_VIEW")
    """Feature view whose features entity-keyed requests fetch."""
    feast_entity_key: str = Field(default="customer_id", alias="FEAST_ENTITY_KEY")
    """Entity key field of entity-keyed requests."""


class MlflowClientSettings(EnvSettings):
    """How any MLflow client finds the server. Its credentials come from a Secret whose keys are
    MLflow's own variables (CREDENTIAL_KEYS), mounted with envFrom."""

    tracking_uri: str | None = Field(default=None, alias="MLFLOW_TRACKING_URI")
    """MLflow tracking server URL."""


CREDENTIAL_KEYS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
"""Keys of an MLflow account's credentials Secret: MLflow's client reads them from the environment."""


class TrainingEnv(EnvSettings):
    """What the training Job tells the pipeline besides its config file."""

    image_ref: str = Field(default="local", alias="IMAGE_REF")
    """The image the run executes in (a lineage tag)."""
    pushgateway_url: str | None = Field(default=None, alias="PUSHGATEWAY_URL")
    """Prometheus Pushgateway for mlops_training_runs_total. Unset: not pushed."""
    git_commit: str | None = Field(default=None, alias="GIT_COMMIT")
    """Commit the image was built from (set at build time; else read from git)."""


class BootstrapUsersSettings(EnvSettings):
    """The MLflow account bootstrap Job (apps/mlflow_server/bootstrap_users.py): one account per
    file in `users_dir` (file name = user, content = password)."""

    mlflow_url: str = Field(default="", alias="MLFLOW_URL")
    """MLflow server (with the basic-auth app) to create the accounts on."""
    admin_user: str = Field(default="", alias="MLFLOW_ADMIN_USER")
    """MLflow admin account."""
    admin_password: str = Field(default="", alias="MLFLOW_ADMIN_PASSWORD")
    """Its password (from a Secret)."""
    users_dir: str = Field(default="", alias="USERS_DIR")
    """Directory with one file per account (a mounted Secret)."""
    ready_timeout_seconds: float = Field(default=300.0, gt=0, alias="READY_TIMEOUT_SECONDS")
    """How long to wait for the server to answer."""


class FeatureRepoSettings(EnvSettings):
    """The feature repository's definitions (apps/features/feature_repo)."""

    offline_root: str = Field(default="data", alias="FEAST_OFFLINE_ROOT")
    """Where the offline source lives: a local directory, or s3://<data bucket>/feast in the cluster."""


# --------------------------------------------------------------------------- config files


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    def yaml(self) -> str:
        """The file a component renders: only the keys that were set, in declaration order."""
        return yaml.safe_dump(self.model_dump(mode="json", exclude_unset=True), sort_keys=False)


M = TypeVar("M", bound=Strict)


def load_yaml(model: type[M], path: Path | None) -> M:
    """A config file (or, without one, every default)."""
    return model.model_validate((yaml.safe_load(path.read_text()) or {}) if path is not None else {})


class Dataset(Strict):
    uri: str
    """Delta table: a local path or s3://bucket/prefix."""
    version: int | None = None
    """Table version to read. Default: the latest."""
    storage_options: dict[str, str] = {}
    """Extra object-store options for deltalake (AWS_* settings are read from the environment too). Default: none."""


class Promotion(Strict):
    metric: str = "roc_auc"
    """Holdout metric that decides promotion (higher is better). Default: roc_auc."""
    margin: float = Field(default=0.005, ge=0, le=1)
    """A challenger is promoted only if it beats the champion by this much. Default: 0.005."""
    max_jump: float = Field(default=0.1, gt=0, le=1)
    """A challenger beating the champion's best score (on this holdout, or its own when it was trained) by
    more than this is registered but held for review, not promoted: a jump that large is more often a
    data problem than a better model. Default: 0.1."""


class TrainingJobConfig(Strict):
    """config.yaml of a training run: the part the stack writes (apps/training extends it with the
    pipeline's own knobs)."""

    model_name: str = "churn-classifier"
    """Registered model name. Default: churn-classifier."""
    experiment: str = "churn-classifier"
    """MLflow experiment of the runs. Default: churn-classifier."""
    dataset: Dataset
    """Where the training table is. Required."""
    promotion: Promotion = Promotion()
    """Champion/challenger decision."""


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


class MonitorJobConfig(Strict):
    """monitor.yaml of the drift monitor: the part the stack writes (apps/monitor extends it with
    the evaluation's own knobs)."""

    model_name: str = "churn-classifier"
    """Registered model whose predictions are monitored."""
    alias: str = "champion"
    """Alias of the serving version (its run's reference profile is the baseline)."""
    window_size: int = Field(default=2000, ge=20)
    """Records per window. Default: 2000."""
    consecutive_windows: int = Field(default=3, ge=1)
    """Drifted windows in a row before retraining is triggered. Default: 3."""
    cooldown_seconds: float = Field(default=21600, ge=0)
    """Least time between two triggers. Default: 6 h."""
    retrain: Retrain = Retrain()
    """Where retraining runs."""
    state_dir: Path | None = None
    """Where accepted records and labels are journaled before they are acknowledged; a restarted monitor
    rebuilds its window and labels from it. Default: none - kept in memory only."""


# --------------------------------------------------------------------------- data


class Column(Strict):
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


class DataContract(Strict):
    """What a training table must look like, and what serving and monitoring expect of each feature.
    Declared once (apps/training/churn_contract.yaml) and carried inside the reference profile, so
    training, serving and the monitor agree on it."""

    columns: tuple[Column, ...]
    min_rows: int = Field(default=100, ge=1)
    """Fewest rows a training table may have. Default: 100."""
    min_minority_share: float = Field(default=0.05, ge=0, le=0.5)
    """Smallest share the rarer label class may have. Default: 0.05."""
    unique_keys: bool = True
    """One row per entity: a key repeated is an error. Default: true."""
    max_future_seconds: float = Field(default=86_400, ge=0)
    """How far in the future a timestamp may be (clock skew). Default: one day."""
    leakage_auc_ceiling: float = Field(default=0.97, gt=0.5, le=1)
    """A single column predicting the label with a ROC AUC above this leaks it. Default: 0.97."""
    max_duplicate_share: float = Field(default=0.0, ge=0, le=1)
    """Largest share of rows whose features and label repeat another entity's row - the same example
    under two keys lands in training and holdout alike. Raise it for tables of few discrete features,
    where distinct entities can look the same. Default: 0 (none)."""

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

    def role(self, role: str) -> list[str]:
        """Names of the columns with this role (key, timestamp...)."""
        return [c.name for c in self.columns if c.role == role]


FeatureValue = float | str | None

MAX_REQUEST_ID = 256
"""Longest request_id a prediction record (or a label) may carry. The monitor keeps recent ids to join
late labels, so this bounds its memory: ids come from clients (x-request-id, a V2 request's "id")."""
MAX_CLIENT_REQUEST_ID = MAX_REQUEST_ID - 16
"""Longest id a client may send the predictor: room for the `-<row>` a multi-row request's rows get."""


class PredictionRecord(Strict):
    """One prediction, as the predictor logs it and the monitor ingests it (POST /v1/logs
    {"records": [...]})."""

    request_id: str = Field(min_length=1, max_length=MAX_REQUEST_ID)
    """Id of the request (a multi-row request's rows get `<id>-<row>`), to join late labels."""
    model: str
    """Registered model name."""
    version: str
    """Model version that answered."""
    timestamp: float | None = None
    """When it was answered (Unix seconds)."""
    features: dict[str, FeatureValue]
    """The model's inputs by feature name."""
    prediction: float = Field(ge=0, le=1)
    """The predicted probability of the positive class."""

    @model_validator(mode="after")
    def _finite(self) -> PredictionRecord:
        if self.timestamp is not None and not math.isfinite(self.timestamp):
            raise ValueError("timestamp must be finite")
        return self


RECORD_FIELDS = tuple(PredictionRecord.model_fields)
REQUIRED_RECORD_FIELDS = tuple(n for n, f in PredictionRecord.model_fields.items() if f.is_required() and n != "model")
"""What every record must carry (`model` may be left out: the monitor watches one model)."""


def prediction_record(
    request_id: str, model: str, version: str, timestamp: float, features: dict[str, FeatureValue], prediction: float
) -> dict[str, Any]:
    """A record as the wire carries it (a plain dict: the predictor builds thousands a second)."""
    return {
        "request_id": request_id,
        "model": model,
        "version": version,
        "timestamp": timestamp,
        "features": features,
        "prediction": prediction,
    }
