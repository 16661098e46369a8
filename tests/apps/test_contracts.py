"""The apps' side of the contracts: what the stack renders (the dev stack's files, kept current by
tests/infra/test_contracts.py) is read by each app's own loader, and the prediction-log record the
predictor writes is what the monitor ingests."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from mlops_platform.contracts import PredictionRecord, PredictorSettings

from apps.common.profile import ReferenceProfile
from apps.monitor.config import load_config as load_monitor_config
from apps.monitor.trigger import KubernetesJobBackend
from apps.monitor.window import parse_batch
from apps.serving.prediction_log import _Entry, _records
from apps.training.config import load_config as load_training_config
from apps.training.data import generate
from apps.training.pipeline import feature_frame
from tests.apps.test_monitor import CONTRACT, predictions

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_the_monitor_loads_the_file_the_stack_renders() -> None:
    config = load_monitor_config(FIXTURES / "monitor.yaml")
    assert (config.window_size, config.consecutive_windows, config.cooldown_seconds) == (1000, 3, 21600)
    assert config.retrain.backend == "kubernetes"
    assert str(config.retrain.job_template) == "/etc/drift-monitor/template/job-template.yaml"
    # the template that path names in the pod is the one the stack publishes: the backend builds Jobs from it
    backend = KubernetesJobBackend(config.retrain.namespace, FIXTURES / "training-job-template.yaml", api=object())
    assert backend.template["spec"]["template"]["spec"]["serviceAccountName"] == "training"


def test_the_training_pipeline_loads_the_file_the_stack_renders() -> None:
    config = load_training_config(FIXTURES / "training-config.yaml")
    assert config.model_name == config.experiment == "churn-classifier"
    assert config.dataset.uri.endswith("/datasets/churn-classifier")
    assert config.promotion.margin == 0.005
    assert config.contract.label == "churned"  # the pipeline's own default fills what the stack leaves out


def test_the_predictor_reads_every_variable_of_its_contract() -> None:
    environ = {variable: "x" for variable in PredictorSettings.variables().values()}
    environ |= {
        "ALIAS_POLL_SECONDS": "2.5",
        "MODEL_LOAD_TIMEOUT": "30",
        "MAX_BATCH_ROWS": "7",
        "MAX_BODY_BYTES": "4096",
        "PREDICTION_LOG_QUEUE": "50",
    }
    settings = PredictorSettings.from_environ({**environ, "UNRELATED": "ignored"})
    assert (settings.alias_poll_seconds, settings.max_batch_rows, settings.max_body_bytes) == (2.5, 7, 4096)
    assert settings.log_queue_records == 50
    with pytest.raises(ValueError, match="MAX_BATCH_ROWS"):
        PredictorSettings.from_environ({"MAX_BATCH_ROWS": "0"})


def test_the_records_the_predictor_logs_are_what_the_monitor_ingests() -> None:
    frame = generate(50, seed=3)
    features = feature_frame(frame, CONTRACT)
    columns = {
        name: features[name].to_numpy(dtype=np.float64 if name in CONTRACT.numeric_features else object)
        for name in features.columns
    }
    scores = predictions(frame, 0)
    entry = _Entry("churn-classifier", "4", columns, scores, time.time(), "req-1")
    logged = _records(entry)
    assert [PredictionRecord.model_validate(r).request_id for r in logged] == [f"req-1-{i}" for i in range(50)]
    profile = ReferenceProfile.build("churn-classifier", CONTRACT, frame, scores)
    batch = parse_batch({"records": logged}, profile, "churn-classifier", max_records=100)
    assert len(batch) == 50 and set(batch.versions) == {"4"}
    np.testing.assert_allclose(batch.predictions, scores)
    assert yaml.safe_dump(logged[0])  # plain data: serialisable as JSON or YAML alike
