"""The training pipeline against a real MLflow server (sqlite) with artifacts and datasets in S3
(moto's server)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from apps.common import registry
from apps.common.processes import ROOT
from apps.common.profile import ARTIFACT, ReferenceProfile
from apps.training.config import TrainingConfig, load_config
from apps.training.data import content_hash, generate, load, write_version
from apps.training.pipeline import run
from apps.training.validate import DataValidationError
from tests.apps.conftest import ARTIFACT_BUCKET, S3

FAST = {"search": {"trials": 4, "max_iter": [40, 120]}}


def config(model_name: str, uri: str, **changes: Any) -> TrainingConfig:
    return TrainingConfig.model_validate(
        {"model_name": model_name, "experiment": model_name, "dataset": {"uri": uri}, **FAST, **changes}
    )


def versions(name: str) -> list[str]:
    return sorted(v.version for v in MlflowClient().search_model_versions(f"name='{name}'"))


@pytest.fixture
def table(data_uri: str) -> str:
    write_version(data_uri, generate(3000, seed=1))
    return data_uri


def test_first_run_registers_a_champion_with_lineage_and_a_profile(
    mlflow_server: str, s3: S3, table: str, model_name: str
) -> None:
    result = run(config(model_name, table))
    assert (result.outcome, result.version, result.champion_version) == ("promoted", "1", None)
    assert result.metrics["roc_auc"] > 0.7
    client = MlflowClient()
    assert client.get_model_version_by_alias(model_name, "champion").version == "1"
    assert client.get_model_version_by_alias(model_name, "challenger").version == "1"
    tags = client.get_run(result.run_id).data.tags
    assert tags["lineage.data_uri"] == table and tags["lineage.data_version"] == "0"
    assert tags["lineage.data_hash"] == content_hash(load(table, 0).frame)
    assert tags["lineage.config_hash"] == config(model_name, table).digest()
    assert len(tags["lineage.git_commit"]) in (40, 7) or tags["lineage.git_commit"] == "unknown"
    assert tags["lineage.image"] == os.environ.get("IMAGE_REF", "local")
    version_tags = client.get_model_version(model_name, "1").tags
    assert version_tags["lineage.data_version"] == "0" and version_tags["run_id"] == result.run_id
    profile = ReferenceProfile.from_json(mlflow.artifacts.load_text(f"runs:/{result.run_id}/{ARTIFACT}"))
    assert set(profile.numeric) == {
        "tenure_months",
        "monthly_charges",
        "total_charges",
        "support_calls",
        "data_usage_gb",
    }
    assert profile.rows == 2250 and profile.model_name == model_name
    report = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/data_contract_report.json")
    assert report["passed"] is True and len(report["checks"]) > 20
    assert any(k.startswith("mlflow/") and "model" in k for k in s3.keys(ARTIFACT_BUCKET, "mlflow/")), (
        "artifacts live in S3"
    )


def test_a_worse_challenger_is_registered_but_not_promoted(mlflow_server: str, table: str, model_name: str) -> None:
    first = run(config(model_name, table))
    weak = run(
        config(
            model_name,
            table,
            search={"trials": 1, "max_iter": [2, 3], "learning_rate": [0.03, 0.03], "max_leaf_nodes": [2, 2]},
        )
    )
    assert weak.outcome == "rejected" and weak.version == "2" and weak.champion_version == "1"
    assert weak.champion_metrics is not None and weak.metrics["roc_auc"] < weak.champion_metrics["roc_auc"]
    assert weak.champion_metrics == first.metrics, "the champion is scored on the same holdout"
    client = MlflowClient()
    assert client.get_model_version_by_alias(model_name, "champion").version == "1"
    assert client.get_model_version_by_alias(model_name, "challenger").version == "2"
    tags = client.get_run(weak.run_id).data.tags
    assert tags["decision"] == "rejected" and "does not beat champion" in tags["decision_reason"]


def test_a_challenger_trained_on_drifted_data_wins_and_is_promoted(
    mlflow_server: str, table: str, model_name: str
) -> None:
    run(config(model_name, table))
    drifted_version = write_version(table, generate(3000, seed=2, drift=1.0))
    result = run(config(model_name, table))
    assert result.outcome == "promoted" and result.version == "2"
    assert result.champion_metrics is not None
    assert result.metrics["roc_auc"] >= result.champion_metrics["roc_auc"] + 0.005
    client = MlflowClient()
    champion = client.get_model_version_by_alias(model_name, "champion")
    assert champion.version == "2" and champion.tags[registry.PREVIOUS_TAG] == "1"
    assert champion.tags["lineage.data_version"] == str(drifted_version)


def test_same_data_config_and_seed_give_the_same_metrics(mlflow_server: str, table: str, model_name: str) -> None:
    first = run(config(model_name, table, dataset={"uri": table, "version": 0}))
    second = run(config(model_name, table, dataset={"uri": table, "version": 0}))
    assert first.metrics == second.metrics
    client = MlflowClient()
    assert client.get_run(first.run_id).data.params == client.get_run(second.run_id).data.params


def _bad(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    frame = frame.copy()
    if kind == "missing column":
        return frame.drop(columns=["support_calls"])
    if kind == "wrong type":
        frame["monthly_charges"] = frame["monthly_charges"].map(lambda v: f"${v}")
        return frame
    if kind == "all-null feature":
        frame["tenure_months"] = float("nan")
        return frame
    if kind == "out-of-range values":
        frame.loc[:10, "monthly_charges"] = -5.0
        return frame
    if kind == "empty table":
        return frame.iloc[:0]
    if kind == "single-class label":
        frame["churned"] = 0
        return frame
    if kind == "unknown category":
        frame.loc[:3, "contract"] = "lifetime"
        return frame
    raise AssertionError(kind)


BAD_DATA = [
    ("missing column", ["column_present:support_calls"]),
    ("wrong type", ["dtype:monthly_charges"]),
    ("all-null feature", ["null_rate:tenure_months"]),
    ("out-of-range values", ["range:monthly_charges"]),
    ("empty table", ["row_count"]),
    ("single-class label", ["label_balance"]),
    ("unknown category", ["categories:contract"]),
]


@pytest.mark.parametrize(("kind", "failing"), BAD_DATA, ids=[k for k, _ in BAD_DATA])
def test_bad_data_stops_at_validate_and_registers_nothing(
    mlflow_server: str, data_uri: str, model_name: str, kind: str, failing: list[str]
) -> None:
    write_version(data_uri, _bad(generate(1000, seed=3), kind))
    with pytest.raises(DataValidationError) as caught:
        run(config(model_name, data_uri))
    assert [c.name for c in caught.value.report.failures] == failing
    for name in failing:
        assert name in str(caught.value)
    assert versions(model_name) == []
    last = mlflow.last_active_run()
    assert last is not None and last.info.status == "FAILED" and last.data.tags["outcome"] == "failed"


def test_an_unknown_table_version_and_an_unreadable_path_stop_the_run(
    mlflow_server: str, table: str, model_name: str
) -> None:
    with pytest.raises(DataValidationError, match=r"table_version: .* has no version 7 \(versions 0-0\)"):
        run(config(model_name, table, dataset={"uri": table, "version": 7}))
    with pytest.raises(DataValidationError, match=r"table_readable: no Delta table at s3://mlops-data/nowhere"):
        run(config(model_name, "s3://mlops-data/nowhere"))
    with pytest.raises(DataValidationError, match="table_readable"):
        run(config(model_name, "/nonexistent/path/to/table"))
    assert versions(model_name) == []


def test_the_cli_exits_2_on_bad_data_and_reports_every_failing_check(
    mlflow_server: str, data_uri: str, model_name: str, aws_env: dict[str, str]
) -> None:
    frame = _bad(_bad(generate(1000, seed=4), "missing column"), "single-class label")
    write_version(data_uri, frame)
    result = subprocess.run(
        [sys.executable, "-m", "apps.training", "run", "--set", f"model_name={model_name}", "--set", f"dataset.uri={data_uri}"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **aws_env}, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert "data contract violated (2 failing checks)" in result.stderr
    assert "column_present:support_calls" in result.stderr and "label_balance" in result.stderr
    assert versions(model_name) == []


def test_config_overrides_and_errors() -> None:
    cfg = load_config(None, ["dataset.uri=s3://b/t", "dataset.version=3", "search.trials=2"])
    assert (cfg.dataset.uri, cfg.dataset.version, cfg.search.trials) == ("s3://b/t", 3, 2)
    with pytest.raises(ValueError, match="must look like key=value"):
        load_config(None, ["dataset.uri"])
    with pytest.raises(ValueError, match="increasing positive range"):
        load_config(None, ["dataset.uri=x", "search.max_iter=[5, 1]"])


def test_generated_data_drifts_as_asked() -> None:
    base, shifted = generate(5000, seed=1), generate(5000, seed=1, drift=1.0)
    assert shifted["monthly_charges"].mean() > base["monthly_charges"].mean() + 10
    assert (shifted["contract"] == "month-to-month").mean() > (base["contract"] == "month-to-month").mean() + 0.2
    assert generate(100, seed=7).equals(generate(100, seed=7))
