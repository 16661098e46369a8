"""The drift monitor: windows, data quality, labels, bad input, the retraining trigger and its
backends, and the whole path through a real Prometheus with the repository's alert rules."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from apps.common import local
from apps.common.profile import ReferenceProfile
from apps.monitor.config import MonitorConfig
from apps.monitor.service import Monitor, create_app
from apps.monitor.trigger import KubernetesJobBackend, LocalProcessBackend, RetrainTrigger, job_name
from apps.training.config import TrainingConfig
from apps.training.data import generate
from apps.training.pipeline import feature_frame

CONTRACT = TrainingConfig.model_validate({"dataset": {"uri": "unused"}}).contract
RULES = local.ROOT / "components" / "assets" / "rules" / "model-health.rules.yaml"
JOB_TEMPLATE = local.ROOT / "tests" / "fixtures" / "training-job-template.yaml"


def predictions(frame: Any, seed: int) -> np.ndarray:
    """A stand-in model: a fixed logistic score of a few features (shifts when the data does)."""
    score = -2 + 0.03 * frame["monthly_charges"] - 0.03 * frame["tenure_months"] + 0.3 * frame["support_calls"]
    return np.asarray(1 / (1 + np.exp(-score)))


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = generate(5000, seed=1)
    profile = ReferenceProfile.build("churn-classifier", CONTRACT, frame, predictions(frame, 1))
    path = tmp_path_factory.mktemp("profile") / "reference_profile.json"
    path.write_text(profile.to_json())
    return path


def records(frame: Any, *, version: str = "1", start: int = 0) -> list[dict[str, Any]]:
    features = feature_frame(frame, CONTRACT).to_dict("records")
    return [
        {
            "request_id": f"r{start + i}",
            "model": "churn-classifier",
            "version": version,
            "timestamp": 0.0,
            "features": f,
            "prediction": float(p),
        }
        for i, (f, p) in enumerate(zip(features, predictions(frame, 0), strict=True))
    ]


def monitor(profile_file: Path, **changes: Any) -> tuple[Monitor, TestClient, CollectorRegistry]:
    config = MonitorConfig(
        profile_path=profile_file, window_size=500, consecutive_windows=2, cooldown_seconds=0, **changes
    )
    registry = CollectorRegistry()
    watcher = Monitor(config, None, registry)
    watcher.refresh_profile()
    return watcher, TestClient(create_app(watcher, registry)), registry


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


# --------------------------------------------------------------------------- windows and metrics


def test_clean_windows_report_no_drift_and_full_quality(profile_file: Path) -> None:
    watcher, client, registry = monitor(profile_file)
    answer = client.post("/v1/logs", json={"records": records(generate(1000, seed=9))})
    assert answer.status_code == 200 and answer.json() == {"accepted": 1000, "windows_evaluated": 1}
    assert watcher.latest is not None and watcher.latest.drifted_features == []
    assert metric(registry, "mlops_feature_drift_detected", model="churn-classifier", feature="tenure_months") == 0.0
    assert metric(registry, "mlops_data_quality_score", model="churn-classifier", check="nulls") == 1.0
    assert metric(registry, "mlops_monitor_records_total", model="churn-classifier", outcome="accepted") == 1000
    for method in ("psi", "ks", "wasserstein"):
        assert (
            metric(
                registry,
                "mlops_feature_drift_score",
                model="churn-classifier",
                feature="monthly_charges",
                method=method,
            )
            is not None
        )
    assert (
        metric(registry, "mlops_feature_drift_score", model="churn-classifier", feature="contract", method="chisquare")
        is not None
    )
    assert metric(registry, "mlops_prediction_drift_score", model="churn-classifier", method="psi") is not None


def test_drifted_windows_are_flagged_per_feature(profile_file: Path) -> None:
    watcher, client, registry = monitor(profile_file)
    client.post("/v1/logs", json={"records": records(generate(500, seed=2, drift=1.0))})
    assert watcher.latest is not None
    assert {"monthly_charges", "contract", "support_calls", "data_usage_gb"} <= set(watcher.latest.drifted_features)
    assert metric(registry, "mlops_feature_drift_detected", model="churn-classifier", feature="monthly_charges") == 1.0
    assert watcher.latest.prediction_drifted


def test_sliding_windows_evaluate_every_step(profile_file: Path) -> None:
    watcher, client, _ = monitor(profile_file, step=100)
    client.post("/v1/logs", json={"records": records(generate(500, seed=3))})
    assert watcher.windows_evaluated == 1
    for i in range(3):
        client.post("/v1/logs", json={"records": records(generate(100, seed=20 + i), start=1000 + 100 * i)})
    assert watcher.windows_evaluated == 4 and watcher.latest is not None and watcher.latest.records == 500


def test_data_quality_counts_nulls_schema_violations_ranges_and_unseen_categories(profile_file: Path) -> None:
    watcher, client, _ = monitor(profile_file)
    batch = records(generate(500, seed=4))
    for record in batch[:50]:
        record["features"]["tenure_months"] = None
    for record in batch[50:75]:
        record["features"]["monthly_charges"] = "expensive"
    for record in batch[75:100]:
        record["features"]["support_calls"] = 99.0
    for record in batch[100:150]:
        record["features"]["contract"] = "lifetime"
    assert client.post("/v1/logs", json={"records": batch}).status_code == 200
    quality = watcher.latest.quality  # type: ignore[union-attr]
    assert quality["nulls"] == pytest.approx(1 - 50 / 4000)
    assert quality["schema"] == pytest.approx(1 - 25 / 4000)
    assert quality["out_of_range"] == pytest.approx(1 - 25 / (2500 - 75))
    assert quality["unseen_categories"] == pytest.approx(1 - 50 / 1500)


def test_labels_turn_into_performance_per_version(profile_file: Path) -> None:
    _, client, registry = monitor(profile_file)
    frame = generate(500, seed=5)
    labels = [{"request_id": f"r{i}", "label": int(y)} for i, y in enumerate(frame["churned"])]
    # Labels may arrive before their predictions: they wait, and join them when they come.
    assert client.post("/v1/labels", json={"labels": labels}).json() == {"accepted": 500, "unmatched": 500}
    client.post("/v1/logs", json={"records": records(frame)})
    auc = metric(registry, "mlops_model_performance", model="churn-classifier", version="1", metric="roc_auc")
    assert auc is not None and 0.5 < auc < 1.0
    assert client.post("/v1/labels", json={"labels": labels[:10]}).json() == {"accepted": 10, "matched": 10}
    assert metric(registry, "mlops_monitor_labels_total", model="churn-classifier", outcome="unmatched") == 500
    assert metric(registry, "mlops_monitor_labels_total", model="churn-classifier", outcome="matched") == 10


def test_unseen_categories_cannot_grow_the_vocabulary_by_number_or_size(profile_file: Path) -> None:
    """Still counted as unseen; but a flood of long random strings is remembered as one value."""
    watcher, client, registry = monitor(profile_file)
    batch = records(generate(500, seed=12))
    for i, record in enumerate(batch[:200]):
        record["features"]["contract"] = f"{i:04d}" + "z" * 1_000  # 200 distinct 1 KB values
    for i, record in enumerate(batch[200:260]):
        record["features"]["payment_method"] = f"new-{i}"  # short ones are kept by name
    assert client.post("/v1/logs", json={"records": batch}).status_code == 200
    vocabulary = watcher.window.vocabularies  # type: ignore[union-attr]
    contract_values = vocabulary["contract"].values
    assert max(map(len, contract_values)) <= 256 and contract_values[-1] == "<other unseen>"
    assert len(contract_values) == len(CONTRACT.column("contract").categories or ()) + 1
    assert {f"new-{i}" for i in range(60)} <= set(vocabulary["payment_method"].values)
    quality = {
        check: metric(registry, "mlops_feature_quality", model="churn-classifier", feature="contract", check=check)
        for check in ("unseen_categories",)
    }
    assert quality["unseen_categories"] == pytest.approx(200 / 500)


def test_labels_for_unknown_ids_are_bounded_counted_and_never_push_out_known_ones(profile_file: Path) -> None:
    watcher, client, registry = monitor(profile_file, label_memory=1000)
    frame = generate(500, seed=5)
    client.post("/v1/logs", json={"records": records(frame)})
    known = [{"request_id": f"r{i}", "label": int(y)} for i, y in enumerate(frame["churned"])]
    assert client.post("/v1/labels", json={"labels": known}).json() == {"accepted": 500, "matched": 500}
    flood = [{"request_id": f"nobody-{i}", "label": 1} for i in range(5000)]
    answer = client.post("/v1/labels", json={"labels": flood}).json()
    assert answer == {"accepted": 5000, "unmatched": 100, "discarded": 4900}, "100 = a tenth of label_memory waits"
    assert len(watcher.labels) == 500 and all(f"r{i}" in watcher.labels for i in range(500))
    assert metric(registry, "mlops_monitor_labels_total", model="churn-classifier", outcome="discarded") == 4900


LABELS_REFUSED = [
    ("empty", {"labels": []}, '"labels" is empty', {"empty": 1}),
    ("not labels", {"rows": []}, 'the body must be {"labels"', {"not_labels": 1}),
    (
        "a bad label among good ones",
        {
            "labels": [
                {"request_id": "a", "label": 1},
                {"request_id": "b", "label": 2},
                {"request_id": "c", "label": True},
            ]
        },
        "labels[1] must be {request_id, label: 0|1}; labels[2] must be",
        {"invalid_label": 2, "in_refused_batch": 1},
    ),
    (
        "an id too long to keep",
        {"labels": [{"request_id": "x" * 257, "label": 1}, {"request_id": "", "label": 0}]},
        "labels[0].request_id is 257 characters; at most 256; labels[1].request_id is empty",
        {"invalid_label": 2},
    ),
]


@pytest.mark.parametrize(("kind", "body", "message", "reasons"), LABELS_REFUSED, ids=[c[0] for c in LABELS_REFUSED])
def test_refused_labels_are_answered_400_and_counted_by_reason(
    profile_file: Path, kind: str, body: Any, message: str, reasons: dict[str, int]
) -> None:
    _, client, registry = monitor(profile_file)
    answer = client.post("/v1/labels", json=body)
    assert answer.status_code == 400 and message in answer.json()["error"]
    for reason, count in reasons.items():
        assert (
            metric(registry, "mlops_monitor_rejected_total", model="churn-classifier", kind="labels", reason=reason)
            == count
        )


# --------------------------------------------------------------------------- bad input

RECORD = '{"request_id": "a", "version": "1", "features": {}, "prediction": %s}'
MALFORMED = [
    ("not JSON", b"{", "application/json", "the body is not JSON", {"not_json": 1}),
    (
        "NaN literal",
        b'{"records": [' + (RECORD % "NaN").encode() + b"]}",
        "application/json",
        "the body is not JSON",
        {"not_json": 1},
    ),
    ("Infinity literal", (RECORD % "Infinity").encode(), "application/json", "the body is not JSON", {"not_json": 1}),
    ("empty body", b"", "application/json", "the body is empty", {"empty": 1}),
    ("wrong content type", b"records", "text/plain", "send application/json", {"content_type": 1}),
    (
        "JSON-looking but undeclared",
        b'{"records": []}',
        "",
        "content type '': send application/json",
        {"content_type": 1},
    ),
    ("form post", b"records=1", "application/x-www-form-urlencoded", "send application/json", {"content_type": 1}),
    ("no records", b'{"rows": []}', "application/json", 'the body must be {"records": [...]}', {"not_records": 1}),
    ("empty batch", b'{"records": []}', "application/json", '"records" is empty', {"empty": 1}),
    (
        "record not an object",
        b'{"records": [7]}',
        "application/json",
        "records[0] is not an object",
        {"record_not_object": 1},
    ),
    (
        "missing prediction",
        b'{"records": [{"request_id": "a", "version": "1", "features": {}}]}',
        "application/json",
        "records[0] lacks prediction",
        {"missing_fields": 1},
    ),
    (
        "prediction not a number",
        b'{"records": [' + (RECORD % '"high"').encode() + b"]}",
        "application/json",
        "records[0].prediction must be a finite number",
        {"prediction": 1},
    ),
    (
        "prediction above 1",
        b'{"records": [' + (RECORD % "7.5").encode() + b", " + (RECORD % "0.5").encode() + b"]}",
        "application/json",
        "records[0].prediction must be a probability in [0, 1], got 7.5",
        {"prediction_range": 1, "in_refused_batch": 1},
    ),
    (
        "prediction below 0",
        b'{"records": [' + (RECORD % "-0.1").encode() + b"]}",
        "application/json",
        "records[0].prediction must be a probability in [0, 1], got -0.1",
        {"prediction_range": 1},
    ),
    (
        "request id too long to keep",
        b'{"records": [{"request_id": "' + b"x" * 300 + b'", "version": "1", "features": {}, "prediction": 0.5}]}',
        "application/json",
        "records[0].request_id is 300 characters; at most 256",
        {"ids": 1},
    ),
    (
        "empty request id",
        b'{"records": [{"request_id": "", "version": "1", "features": {}, "prediction": 0.5}]}',
        "application/json",
        "records[0].request_id is empty",
        {"ids": 1},
    ),
    (
        "features not an object",
        b'{"records": [{"request_id": "a", "version": "1", "features": [1], "prediction": 0.5}]}',
        "application/json",
        "records[0].features must be an object",
        {"features_not_object": 1},
    ),
    (
        "another model",
        b'{"records": [{"request_id": "a", "model": "fraud", "version": "1", "features": {}, "prediction": 0.5}]}',
        "application/json",
        "is for model 'fraud'",
        {"other_model": 1},
    ),
]


@pytest.mark.parametrize(
    ("kind", "body", "content_type", "message", "reasons"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_batches_are_rejected_counted_and_leave_the_window_alone(
    profile_file: Path, kind: str, body: bytes, content_type: str, message: str, reasons: dict[str, int]
) -> None:
    watcher, client, registry = monitor(profile_file)
    client.post("/v1/logs", json={"records": records(generate(300, seed=6))})
    before = watcher.window.snapshot() if watcher.window else None  # type: ignore[union-attr]
    answer = client.post("/v1/logs", content=body, headers={"content-type": content_type})
    assert answer.status_code == (415 if "content_type" in reasons else 400) and message in answer.json()["error"]
    after = watcher.window.snapshot()  # type: ignore[union-attr]
    assert before is not None and np.array_equal(before.predictions, after.predictions)
    for reason, count in reasons.items():
        assert (
            metric(registry, "mlops_monitor_rejected_total", model="churn-classifier", kind="logs", reason=reason)
            == count
        )
    assert metric(registry, "mlops_monitor_records_total", model="churn-classifier", outcome="rejected") == sum(
        reasons.values()
    )
    client.post("/v1/logs", json={"records": records(generate(200, seed=7), start=300)})
    assert watcher.windows_evaluated == 1, "the next good batch completes the window as if nothing happened"


def test_a_media_type_is_read_without_regard_to_case(profile_file: Path) -> None:
    """RFC 9110: type, subtype and parameter names are case-insensitive."""
    watcher, client, _ = monitor(profile_file)
    for i, declared in enumerate(
        ("Application/JSON", "application/json; Charset=UTF-8", "APPLICATION/JSON ;charset=utf-8")
    ):
        body = json.dumps({"records": records(generate(10, seed=9), start=10 * i)}).encode()
        answer = client.post("/v1/logs", content=body, headers={"content-type": declared})
        assert answer.status_code == 200, (declared, answer.text)
    assert watcher.window is not None and watcher.window.filled == 30


def test_a_body_over_the_limit_gets_its_413_and_is_counted(profile_file: Path) -> None:
    """The answer comes after the body is read and discarded, so the client gets it (no reset)."""
    watcher, _, registry = monitor(profile_file)
    client = TestClient(create_app(watcher, registry, max_body_bytes=1000))
    declared = client.post("/v1/logs", content=b"x" * 5000, headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert declared.json() == {"error": "request body of 5000 bytes exceeds the limit of 1000 bytes"}

    def chunks() -> Any:
        for _ in range(10):
            yield b"y" * 400

    chunked = client.post("/v1/labels", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413 and "exceeds the limit of 1000 bytes" in chunked.json()["error"]
    assert (
        metric(registry, "mlops_monitor_rejected_total", model="churn-classifier", kind="logs", reason="too_large") == 1
    )
    assert (
        metric(registry, "mlops_monitor_rejected_total", model="churn-classifier", kind="labels", reason="too_large")
        == 1
    )


def test_a_poisoned_batch_is_rejected_whole(profile_file: Path) -> None:
    watcher, client, _ = monitor(profile_file)
    batch = records(generate(100, seed=8))
    batch[57]["prediction"] = "POISON"
    batch[80] = None
    answer = client.post("/v1/logs", json={"records": batch})
    assert answer.status_code == 400
    assert answer.json()["problems"] == [
        "records[57].prediction must be a finite number, got 'POISON'",
        "records[80] is not an object",
    ]
    assert watcher.window is not None and watcher.window.filled == 0


def test_no_baseline_means_503_not_a_crash(tmp_path: Path) -> None:
    config = MonitorConfig(profile_path=None, model_name="nothing")
    registry = CollectorRegistry()
    watcher = Monitor(config, None, registry, source=_NoChampion())
    client = TestClient(create_app(watcher, registry))
    assert client.post("/v1/logs", json={"records": [{}, {}]}).status_code == 503
    assert client.get("/readyz").status_code == 503 and client.get("/healthz").status_code == 200
    assert b"mlops_monitor_records_total" in generate_latest(registry)
    assert metric(registry, "mlops_monitor_rejected_total", model="nothing", kind="logs", reason="no_baseline") == 2


def test_a_method_override_that_does_not_suit_the_feature_is_refused(profile_file: Path, tmp_path: Path) -> None:
    """A chisquare override on a numeric feature would judge a Wasserstein distance as a p-value."""
    methods = {"features": {"tenure_months": {"method": "chisquare", "threshold": 0.05}}}
    config = MonitorConfig(profile_path=profile_file, window_size=500, methods=methods)  # loads: kinds are unknown here
    registry = CollectorRegistry()
    watcher = Monitor(config, None, registry)
    assert watcher.refresh_profile() is False
    problem = (
        "the monitor's config does not suit vfile's reference profile: methods.features.tenure_months: tenure_months "
        "is numeric: chisquare is a categorical method; a numeric feature takes psi, ks, wasserstein"
    )
    assert watcher.problem == problem
    ready = TestClient(create_app(watcher, registry)).get("/readyz")
    assert ready.status_code == 503 and ready.json()["problem"] == problem
    config_file = tmp_path / "monitor.yaml"
    config_file.write_text(yaml.safe_dump({"profile_path": str(profile_file), "methods": methods}))
    from apps.monitor.__main__ import main

    assert main(["serve", "--config", str(config_file)]) == 2


@pytest.mark.parametrize(
    ("methods", "message"),
    [
        ({"numeric": {"method": "chisquare", "threshold": 0.05}}, "methods.numeric: chisquare is a categorical method"),
        ({"categorical": {"method": "ks", "threshold": 0.05}}, "methods.categorical: ks is a numeric method"),
        ({"extra_numeric": ["jensenshannon"]}, "methods.extra_numeric[0]: jensenshannon is a categorical method"),
        (
            {"numeric": {"method": "ks", "threshold": 5}},
            "ks scores a p-value: its threshold is an alpha in (0, 1), not 5",
        ),
        ({"numeric": {"method": "kl", "threshold": 0.1}}, "unknown drift method 'kl'"),
    ],
)
def test_the_config_refuses_methods_of_the_wrong_kind_or_thresholds_they_cannot_mean(
    methods: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        MonitorConfig(profile_path=None, methods=methods)


class _NoChampion:
    def version(self) -> None:
        return None

    def current(self) -> None:
        return None


# --------------------------------------------------------------------------- trigger


class FakeBackend:
    """Records launches (the Kubernetes API is not available on this machine; see test below)."""

    def __init__(self) -> None:
        self.launched: list[str] = []
        self.busy = False
        self.lock = threading.Lock()

    def running(self) -> bool:
        return self.busy

    def launch(self, name: str, reason: str) -> bool:
        with self.lock:
            if name in self.launched:
                return False
            self.launched.append(name)
            return True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_trigger_debounces_cools_down_and_waits_for_the_running_job() -> None:
    backend, clock = FakeBackend(), Clock()
    trigger = RetrainTrigger("churn", backend, consecutive_windows=3, cooldown_seconds=600, clock=clock)
    trigger.new_baseline("4")
    assert [trigger.observe(True, "x").fired for _ in range(2)] == [False, False]
    assert not trigger.observe(False, "").fired, "a clean window resets the streak"
    decisions = [trigger.observe(True, "tenure_months") for _ in range(3)]
    assert [d.fired for d in decisions] == [False, False, True]
    assert decisions[-1].job_name == job_name("churn", "4", 1) and backend.launched == [decisions[-1].job_name]
    assert "drift in 3 consecutive windows: tenure_months" in decisions[-1].reason
    clock.now += 60
    assert [trigger.observe(True, "x").reason for _ in range(3)][-1].startswith("cooling down")
    clock.now += 600
    backend.busy = True
    assert trigger.observe(True, "x").reason == "a retraining is already running"
    backend.busy = False
    assert trigger.observe(True, "x").fired and len(backend.launched) == 2


def test_job_names_are_deterministic_and_a_restarted_monitor_does_not_relaunch() -> None:
    assert (
        job_name("churn", "4", 1) == job_name("churn", "4", 1) != job_name("churn", "4", 2) != job_name("churn", "5", 1)
    )
    assert len(job_name("a" * 200, "1", 1)) <= 63
    backend = FakeBackend()
    for _ in range(2):  # the same monitor state twice: a restart
        trigger = RetrainTrigger("churn", backend, consecutive_windows=1, cooldown_seconds=0)
        trigger.new_baseline("4")
        trigger.observe(True, "x")
    assert backend.launched == [job_name("churn", "4", 1)]


def test_concurrent_alerts_launch_one_job() -> None:
    backend = FakeBackend()
    trigger = RetrainTrigger("churn", backend, consecutive_windows=1, cooldown_seconds=3600)
    trigger.new_baseline("2")
    barrier = threading.Barrier(16)

    def alert() -> None:
        barrier.wait()
        trigger.observe(True, "x")

    threads = [threading.Thread(target=alert) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(backend.launched) == 1


def test_a_new_champion_resets_the_streak() -> None:
    backend = FakeBackend()
    trigger = RetrainTrigger("churn", backend, consecutive_windows=2, cooldown_seconds=0)
    trigger.new_baseline("1")
    trigger.observe(True, "x")
    trigger.new_baseline("2")
    assert not trigger.observe(True, "x").fired
    assert trigger.observe(True, "x").fired and backend.launched == [job_name("churn", "2", 1)]


class FakeBatchApi:
    """Stands in for kubernetes.client.BatchV1Api (no API server can run on this machine): records
    the Jobs created and answers 409 for a name that exists, as the API server does."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create_namespaced_job(self, namespace: str, body: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        if any(job["metadata"]["name"] == body["metadata"]["name"] for job in self.created):
            raise ApiException(status=409, reason="AlreadyExists")
        self.created.append(body)

    def list_namespaced_job(self, namespace: str, label_selector: str) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(items=[SimpleNamespace(status=SimpleNamespace(active=1)) for _ in self.created])


def test_the_kubernetes_backend_creates_the_training_job_from_the_template() -> None:
    api = FakeBatchApi()
    backend = KubernetesJobBackend("mlops", JOB_TEMPLATE, api=api)
    assert not backend.running()
    assert backend.launch("training-retrain-abc", "drift in 3 consecutive windows: contract")
    assert not backend.launch("training-retrain-abc", "again"), "a name that exists is not created twice"
    (job,) = api.created
    template = yaml.safe_load(JOB_TEMPLATE.read_text())
    assert job["metadata"]["name"] == "training-retrain-abc" and job["metadata"]["namespace"] == "mlops"
    assert job["metadata"]["labels"]["mlops.platform/retrain"] == "true"
    assert job["metadata"]["annotations"]["mlops.platform/reason"].startswith("drift in 3")
    assert job["spec"] == template["spec"], "the Job runs exactly what the CronJob runs"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][:4] == ["python", "-m", "apps.training", "run"]
    assert backend.running()


def test_the_local_backend_runs_one_process_per_name(tmp_path: Path) -> None:
    backend = LocalProcessBackend([sys.executable, "-c", "import time; time.sleep(2)"], tmp_path)
    assert backend.launch("training-retrain-1", "drift")
    assert backend.running()
    assert not backend.launch("training-retrain-1", "drift"), "marker files keep a name from running twice"
    assert backend.wait(30) == 0 and not backend.running()
    assert (tmp_path / "training-retrain-1.started").read_text() == "drift"


# --------------------------------------------------------------------------- through Prometheus


@contextlib.contextmanager
def watched_by_prometheus(profile_file: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The monitor as a server and Prometheus (Debian's) scraping it every second with the repository's
    alert rules - the same expressions and labels, `for` shortened to 1s so tests take seconds."""
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus not found: `make test` installs it (Debian package prometheus)")
    config = {
        "model_name": "churn-classifier",
        "profile_path": str(profile_file),
        "window_size": 300,
        "consecutive_windows": 2,
        "cooldown_seconds": 3600,
        "retrain": {
            "backend": "local",
            "command": [sys.executable, "-c", "import time; time.sleep(60)"],
            "workdir": str(tmp_path / "retraining"),
        },
    }
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(config))
    rules = local.rules_firing_at_once(RULES, tmp_path / "rules.yaml")
    with (
        local.monitor(tmp_path / "monitor.yaml", tmp_path / "monitor.log") as monitor_url,
        local.prometheus(
            tmp_path / "prometheus", [local.host_port(monitor_url)], rule_files=[rules], interval="1s"
        ) as prom_url,
    ):
        yield monitor_url, prom_url


def post_records(monitor_url: str, body: list[dict[str, Any]]) -> None:
    assert httpx.post(f"{monitor_url}/v1/logs", json={"records": body}, timeout=30).status_code == 200


def alerts(prom_url: str, name: str) -> list[dict[str, Any]]:
    found = httpx.get(f"{prom_url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return [a for a in found if a["labels"]["alertname"] == name]


def query(prom_url: str, expression: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{prom_url}/api/v1/query", params={"query": expression}, timeout=5).json()["data"]["result"])


def wait(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise TimeoutError(what)


def test_injected_drift_fires_the_alert_in_prometheus_and_a_clean_window_resolves_it(
    profile_file: Path, tmp_path: Path
) -> None:
    with watched_by_prometheus(profile_file, tmp_path) as (monitor_url, prom_url):
        post_records(monitor_url, records(generate(300, seed=30)))
        wait(lambda: query(prom_url, "mlops_feature_drift_detected"), "a first scrape")
        time.sleep(3)
        assert alerts(prom_url, "FeatureDriftDetected") == []
        for i in range(3):
            post_records(monitor_url, records(generate(300, seed=40 + i, drift=1.0), start=1000 + 300 * i))
        wait(lambda: any(a["state"] == "firing" for a in alerts(prom_url, "FeatureDriftDetected")), "drift firing")
        firing = {a["labels"]["feature"] for a in alerts(prom_url, "FeatureDriftDetected") if a["state"] == "firing"}
        assert {"monthly_charges", "contract"} <= firing
        wait(
            lambda: query(prom_url, 'mlops_retrain_triggers_total{reason="drift"}')[0]["value"][1] == "1",
            "one retraining trigger",
        )
        for i in range(2):
            post_records(monitor_url, records(generate(300, seed=60 + i), start=5000 + 300 * i))
        wait(lambda: alerts(prom_url, "FeatureDriftDetected") == [], "the alert to resolve")
        status = httpx.get(f"{monitor_url}/v1/status").json()
        assert len(status["trigger"]["fired"]) == 1, "three drifted windows, one retraining"


def test_15_percent_nulls_in_one_feature_fire_the_feature_quality_alert(profile_file: Path, tmp_path: Path) -> None:
    """Pooled over the eight features, 15% nulls in one is a 0.98 score that DataQualityLow (< 0.95) never sees;
    the per-feature check against the training contract's max_null_rate does."""
    with watched_by_prometheus(profile_file, tmp_path) as (monitor_url, prom_url):
        body = records(generate(300, seed=70))
        for record in body[:45]:
            record["features"]["total_charges"] = None
        post_records(monitor_url, body)
        wait(lambda: any(a["state"] == "firing" for a in alerts(prom_url, "FeatureQualityBreached")), "quality firing")
        firing = [a["labels"] for a in alerts(prom_url, "FeatureQualityBreached")]
        assert [(a["feature"], a["check"]) for a in firing] == [("total_charges", "nulls")]
        pooled = query(prom_url, 'mlops_data_quality_score{check="nulls"}')
        features = len(CONTRACT.features)
        assert float(pooled[0]["value"][1]) == pytest.approx(1 - 45 / (300 * features)), "pooled, it looks fine"
        assert alerts(prom_url, "DataQualityLow") == []


# --------------------------------------------------------------------------- nothing lost


def test_a_monitor_killed_mid_window_loses_no_accepted_record(profile_file: Path, tmp_path: Path) -> None:
    """kill -9 after 350 of a 500-record window: the restarted monitor rebuilds the 350 and their labels
    from its journal, and the next 150 complete the window as if nothing happened."""
    from apps.common.processes import free_port, http_ok, server

    config = tmp_path / "monitor.yaml"
    config.write_text(
        yaml.safe_dump({"profile_path": str(profile_file), "window_size": 500, "state_dir": str(tmp_path / "state")})
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    frame = generate(500, seed=90)
    body = records(frame)
    labels = [{"request_id": f"r{i}", "label": int(y)} for i, y in enumerate(frame["churned"])]
    command = local.monitor_command(config, port)
    with server(command, ready=http_ok(f"{url}/readyz"), log=tmp_path / "first.log", name="monitor") as process:
        for start in (0, 100, 200, 300):
            batch = body[start : start + 100] if start < 300 else body[300:350]
            assert httpx.post(f"{url}/v1/logs", json={"records": batch}, timeout=10).status_code == 200
        assert httpx.post(f"{url}/v1/labels", json={"labels": labels[:350]}, timeout=10).status_code == 200
        process.kill()  # SIGKILL: no shutdown hook runs
        process.wait(timeout=10)
    with server(command, ready=http_ok(f"{url}/readyz"), log=tmp_path / "second.log", name="monitor"):
        status = httpx.get(f"{url}/v1/status", timeout=10).json()
        assert (status["buffered"], status["replayed"], status["labels"], status["windows_evaluated"]) == (
            350,
            350,
            350,
            0,
        )
        assert httpx.post(f"{url}/v1/logs", json={"records": body[350:]}, timeout=10).status_code == 200
        status = httpx.get(f"{url}/v1/status", timeout=10).json()
        assert status["windows_evaluated"] == 1
        assert status["latest"]["performance"]["1"]["roc_auc"] > 0.5, "the rebuilt labels joined the window"


def test_the_journal_stays_bounded_and_skips_a_line_cut_short(tmp_path: Path) -> None:
    from apps.monitor.journal import Journal

    journal = Journal(tmp_path, keep_records=250, segment_records=100)
    for i in range(20):
        journal.append({"kind": "logs", "records": [{"request_id": f"{i}-{j}"} for j in range(50)]})
    journal.close()
    kept = sum(len(e["records"]) for e in journal.replay())
    assert 250 <= kept <= 400, kept
    assert len(list(tmp_path.glob("journal-*.jsonl"))) <= 4
    newest = sorted(tmp_path.glob("journal-*.jsonl"))[-1]
    with newest.open("ab") as handle:
        handle.write(b'{"kind": "logs", "records": [{"request_id": "torn"')  # a crash mid-write
    again = Journal(tmp_path, keep_records=250, segment_records=100)
    ids = [r["request_id"] for e in again.replay() for r in e["records"]]
    assert ids[-1] == "19-49" and "torn" not in ids
    again.append({"kind": "logs", "records": [{"request_id": "after"}]})
    ids = [r["request_id"] for e in again.replay() for r in e["records"]]
    assert ids[-2:] == ["19-49", "after"], "the entry after a torn line is kept"
