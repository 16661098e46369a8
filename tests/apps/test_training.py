"""The training pipeline against a real MLflow server (sqlite) with artifacts and datasets in S3
(moto's server)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from deltalake import write_deltalake
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


def test_a_challenger_too_good_to_be_true_is_registered_held_and_tagged_for_review(
    mlflow_server: str, table: str, model_name: str
) -> None:
    """A feature that half leaks the label (below the single-column ceiling) makes a model far better than
    anything before: registered, not promoted, tagged review=needed, and the run says why."""
    run(config(model_name, table))
    frame = generate(3000, seed=3)
    rng = np.random.default_rng(0)
    # Reversed: churners now call *less* - the champion, which learned the opposite, cannot use it; a model
    # trained on it is far better than any before.
    frame["support_calls"] = ((1 - frame["churned"]) * 2 + rng.poisson(1.5, len(frame))).astype(float)
    write_version(table, frame)
    result = run(config(model_name, table))
    assert result.outcome == "held" and result.version == "2"
    assert "held for review" in result.decision and "more than the 0.1 a retraining plausibly gains" in result.decision
    client = MlflowClient()
    assert client.get_model_version_by_alias(model_name, "champion").version == "1", "the champion stays"
    version = client.get_model_version(model_name, "2")
    assert version.tags["review"] == "needed" and version.tags["review_reason"] == result.decision
    assert client.get_run(result.run_id).data.tags["decision"] == "held"


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
    if kind == "one entity key":
        frame["customer_id"] = 7
        return frame
    if kind == "timestamps in 2099":
        frame.loc[:4, "event_timestamp"] = pd.Timestamp("2099-01-01", tz="UTC")
        return frame
    if kind == "timestamps that are not dates":
        frame["event_timestamp"] = frame["event_timestamp"].astype(str)
        frame.loc[:2, "event_timestamp"] = "yesterday"
        return frame
    if kind == "whole table duplicated":
        return pd.concat([frame, frame], ignore_index=True)
    if kind == "feature leaking the label":
        frame["data_usage_gb"] = frame["churned"] * 100.0 + frame["data_usage_gb"] / 1000
        return frame
    if kind == "extra column copying the label":
        frame["churn_flag"] = frame["churned"].map({0: "no", 1: "yes"})
        return frame
    if kind == "table duplicated under new keys":
        return pd.concat([frame, frame.assign(customer_id=frame["customer_id"] + 10**6)], ignore_index=True)
    if kind == "unlabelled rows":
        frame["churned"] = frame["churned"].astype("float64").where(frame.index >= 30)
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
    ("one entity key", ["unique_keys:customer_id"]),
    ("timestamps in 2099", ["timestamp:event_timestamp"]),
    ("timestamps that are not dates", ["timestamp:event_timestamp"]),
    ("whole table duplicated", ["unique_keys:customer_id", "duplicate_rows"]),
    ("feature leaking the label", ["leakage:data_usage_gb"]),
    ("extra column copying the label", ["leakage:churn_flag"]),
    ("table duplicated under new keys", ["duplicate_rows"]),
    ("unlabelled rows", ["null_rate:churned"]),
]
MESSAGES = {
    "one entity key": "unique_keys:customer_id: 1000 rows share their customer_id with another row (e.g. 7); one row per entity",
    "timestamps in 2099": "timestamp:event_timestamp: 5 timestamps in the future (latest 2099-01-01 00:00:00+00:00)",
    "timestamps that are not dates": "timestamp:event_timestamp: dtype object: timestamps must be stored as timestamps; "
    "3 values are not dates (e.g. 'yesterday')",
    "whole table duplicated": "duplicate_rows: 1000 rows repeat another row exactly",
    "feature leaking the label": "leakage:data_usage_gb: feature 'data_usage_gb' alone predicts 'churned' with ROC AUC "
    "1.000 (ceiling 0.97): it leaks the label",
    "table duplicated under new keys": "duplicate_rows: 0 rows repeat another row exactly; 1000 rows (50.0%, at "
    "most 0.0%) repeat the features and label of another customer_id (they would land in training and holdout alike)",
    "unlabelled rows": "null_rate:churned: 3.0% nulls (at most 0.0%)",
    "extra column copying the label": "leakage:churn_flag: column outside the contract 'churn_flag' alone predicts "
    "'churned' with ROC AUC 1.000 (ceiling 0.97): it leaks the label",
}


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
    if kind in MESSAGES:
        assert MESSAGES[kind] in str(caught.value)
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


def test_categorical_features_load_dictionary_encoded_and_profile_the_same(data_uri: str) -> None:
    from apps.training.validate import validate

    cfg = config("m", data_uri)
    frame = generate(2000, seed=5)
    frame.loc[:9, "payment_method"] = None  # a null is no category
    first = frame.iloc[:1000]
    second = frame.iloc[1000:].sort_values("internet_service", ascending=False).reset_index(drop=True)
    write_version(data_uri, first.assign(internet_service="dsl"))  # this file knows one category
    write_deltalake(data_uri, second, mode="append")  # another file, its dictionaries in another order
    frame = pd.concat([first.assign(internet_service="dsl"), second], ignore_index=True)
    loaded = load(data_uri, 1, categorical=[*cfg.contract.categorical_features, "customer_id", "no_such_column"]).frame
    plain = load(data_uri, 1).frame
    assert len(loaded) == 2000 and sorted(loaded["internet_service"].cat.categories) == ["dsl", "fiber", "none"]
    assert [n for n in loaded if isinstance(loaded[n].dtype, pd.CategoricalDtype)] == list(
        cfg.contract.categorical_features
    ), "only text columns are read as dictionaries: customer_id is an integer key"
    categorical = list(cfg.contract.categorical_features)
    pd.testing.assert_frame_equal(loaded.drop(columns=categorical), plain.drop(columns=categorical))
    for name in categorical:
        assert loaded[name].astype(object).where(loaded[name].notna(), None).tolist() == plain[name].tolist()
    assert loaded["payment_method"].isna().sum() == 10
    assert content_hash(loaded) == content_hash(plain), "the data's hash does not depend on how it was read"
    verdicts = [[(c.name, c.passed) for c in validate(f, cfg.contract).checks] for f in (loaded, plain)]
    assert verdicts[0] == verdicts[1]
    scores = np.linspace(0, 1, len(frame))
    from_codes = ReferenceProfile.build("m", cfg.contract, loaded, scores)
    from_text = ReferenceProfile.build("m", cfg.contract, plain, scores)
    assert from_codes.to_json() == from_text.to_json()


def test_a_clean_table_passes_every_check_and_no_entity_is_on_both_sides() -> None:
    from apps.training.pipeline import split_stage
    from apps.training.validate import validate

    cfg = config("m", "unused")
    frame = generate(3000, seed=9)
    report = validate(frame, cfg.contract)
    assert report.passed, report.failures
    train, holdout = split_stage(frame, cfg.contract, 0.25, 42)
    assert not set(train["customer_id"]) & set(holdout["customer_id"])
    assert len(train) + len(holdout) == 3000 and abs(len(holdout) / 3000 - 0.25) < 0.01
    repeated = pd.concat([frame, frame.assign(event_timestamp=frame["event_timestamp"] + pd.Timedelta(days=30))])
    relaxed = cfg.contract.model_copy(update={"unique_keys": False})
    train, holdout = split_stage(repeated.reset_index(drop=True), relaxed, 0.25, 42)
    assert not set(train["customer_id"]) & set(holdout["customer_id"]), "an entity's rows stay on one side"


def test_duplicates_across_entities_are_judged_by_share_and_a_repeated_column_name_is_refused() -> None:
    from apps.training.validate import validate

    cfg = config("m", "unused")
    frame = generate(1000, seed=3)
    copies = frame.iloc[:20].assign(customer_id=frame["customer_id"].iloc[:20] + 10**6)  # 20 of 1020 rows: 2.0%
    mixed = pd.concat([frame, copies], ignore_index=True)
    failing = {c.name: c.detail for c in validate(mixed, cfg.contract).failures}
    assert failing == {
        "duplicate_rows": "0 rows repeat another row exactly; 20 rows (2.0%, at most 0.0%) repeat the features and "
        "label of another customer_id (they would land in training and holdout alike)"
    }
    tolerant = cfg.contract.model_copy(update={"max_duplicate_share": 0.02})
    assert validate(mixed, tolerant).passed, "a table of few discrete features may allow look-alike entities"
    assert not validate(mixed, cfg.contract.model_copy(update={"max_duplicate_share": 0.019})).passed
    # One entity's unchanged snapshots stay on one side of the split: not duplicates across entities.
    snapshots = pd.concat([frame, frame.assign(event_timestamp=frame["event_timestamp"] - pd.Timedelta(days=30))])
    relaxed = cfg.contract.model_copy(update={"unique_keys": False})
    assert validate(snapshots.reset_index(drop=True), relaxed).passed
    # ... but the same rows without a key column are the same examples twice.
    keyless = relaxed.model_copy(update={"columns": tuple(c for c in relaxed.columns if c.role != "key")})
    detail = {c.name: c.detail for c in validate(snapshots.drop(columns="customer_id"), keyless).failures}
    assert detail["duplicate_rows"].startswith(
        "0 rows repeat another row exactly; 1000 rows (50.0%, at most 0.0%) repeat the features and label of another row"
    )
    twice = pd.concat([frame, frame[["tenure_months"]]], axis=1)
    report = validate(twice, cfg.contract)
    assert [(c.name, c.detail) for c in report.failures] == [("columns_unique", "column names repeated: tenure_months")]


def test_a_jump_too_large_to_trust_is_held_for_review_not_promoted() -> None:
    from apps.training.pipeline import decide

    held = decide(0.92, 0.716, margin=0.005, max_jump=0.05, champion_at_training=0.716)
    assert (held.promote, held.review) == (False, True)
    assert held.reason == (
        "challenger 0.9200 beats the champion's best 0.7160 by 0.2040, more than the 0.05 a retraining plausibly "
        "gains: held for review (check the data for leakage or duplicates), not promoted"
    )
    # A champion that drifted (0.656 today, 0.760 when trained) is replaced by a retrained 0.764: that is progress.
    assert decide(0.764, 0.656, margin=0.005, max_jump=0.05, champion_at_training=0.760).promote
    assert decide(0.75, 0.72, margin=0.005, max_jump=0.05).promote
    assert not decide(0.722, 0.72, margin=0.005, max_jump=0.05).promote


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
