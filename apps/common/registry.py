"""The MLflow model registry as the apps use it: aliases, versions, loading, rollback.

Connection settings come from MLflow's own environment variables (MLFLOW_TRACKING_URI,
MLFLOW_TRACKING_USERNAME/PASSWORD), which the platform sets from Kubernetes Secrets.
"""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException, RestException

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_TAG = "previous_champion"
"""Tag on a promoted version: the version that was champion before it (what rollback restores)."""


def client() -> MlflowClient:
    return MlflowClient()


def version_by_alias(name: str, alias: str, mlflow: MlflowClient | None = None) -> ModelVersion | None:
    """The version behind `name@alias`, or None if the model or the alias does not exist."""
    mlflow = mlflow or client()
    try:
        return mlflow.get_model_version_by_alias(name, alias)
    except (RestException, MlflowException) as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def load_model(name: str, version: str | int) -> Any:
    """The scikit-learn pipeline of one registered version (the preprocessing is inside it)."""
    import mlflow.sklearn  # here, not at the top: it loads scikit-learn, which the drift monitor never needs

    return mlflow.sklearn.load_model(f"models:/{name}/{version}")


def download_artifact(version: ModelVersion, path: str, destination: str) -> str:
    """A file logged by the run that produced `version`."""
    import mlflow.artifacts  # a submodule `import mlflow` does not load

    return str(mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path=path, dst_path=destination))


def promote(name: str, version: str, mlflow: MlflowClient | None = None) -> str | None:
    """Point `champion` at `version`; remember the previous champion on it. Returns the previous one."""
    mlflow = mlflow or client()
    previous = version_by_alias(name, CHAMPION, mlflow)
    if previous is not None and previous.version != version:
        mlflow.set_model_version_tag(name, version, PREVIOUS_TAG, previous.version)
    mlflow.set_registered_model_alias(name, CHAMPION, version)
    return previous.version if previous is not None else None


@dataclass(frozen=True)
class Rollback:
    model: str
    from_version: str
    to_version: str
    who: str
    why: str


def rollback(
    name: str, *, why: str, to_version: str | None = None, who: str | None = None, mlflow: MlflowClient | None = None
) -> Rollback:
    """Move `champion` back (to `to_version`, or to the version it replaced) and record who and why
    on both versions and on the model. Predictors follow the alias, so they swap back by themselves."""
    if not why.strip():
        raise ValueError("a rollback needs a reason (--why)")
    mlflow = mlflow or client()
    current = version_by_alias(name, CHAMPION, mlflow)
    if current is None:
        raise LookupError(f"model {name!r} has no {CHAMPION} to roll back")
    target = to_version or current.tags.get(PREVIOUS_TAG)
    if not target:
        raise LookupError(f"{name} v{current.version} records no previous champion; pass the version to restore")
    mlflow.get_model_version(name, target)  # raises if it does not exist
    who = who or getpass.getuser()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    mlflow.set_registered_model_alias(name, CHAMPION, target)
    note = f"{stamp} {who}: v{current.version} -> v{target}: {why}"
    mlflow.set_model_version_tag(name, current.version, "rolled_back", note)
    mlflow.set_model_version_tag(name, target, "restored", note)
    mlflow.set_registered_model_tag(name, "last_rollback", note)
    return Rollback(name, current.version, target, who, why)
