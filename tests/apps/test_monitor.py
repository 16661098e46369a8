"""The drift monitor: windows, data quality, labels, bad input, the retraining trigger and its
backends, and the whole path through a real Prometheus with the repository's alert rules."""

from __future__ import annotations

import shutil
import sys
import threading
import time
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
    assert client.post("/v1/labels", json={"labels": labels}).json() == {"accepted": 500}
    client.post("/v1/logs", json={"records": records(frame)})
    auc = metric(registry, "mlops_model_performance", model="churn-classifier", version="1", metric="roc_auc")
    assert auc is not None and 0.5 < auc < 1.0
    assert client.post("/v1/labels", json={"labels": [{"request_id": "x", "label": 2}]}).status_code == 400


# --------------------------------------------------------------------------- bad input

MALFORMED = [
    ("not JSON", b"{", "application/json", "the body is not JSON"),
    ("wrong content type", b"records", "text/plain", "send application/json"),
    ("no records", b'{"rows": []}', "application/json", 'the body must be {"records": [...]}'),
    ("empty batch", b'{"records": []}', "application/json", '"records" is empty'),
    ("record not an object", b'{"records": [7]}', "application/json", "records[0] is not an object"),
    (
        "missing prediction",
        b'{"records": [{"request_id": "a", "version": "1", "features": {}}]}',
        "application/json",
        "records[0] lacks prediction",
    ),
    (
        "prediction not a number",
        b'{"records": [{"request_id": "a", "version": "1", "features": {}, "prediction": "high"}]}',
        "application/json",
        "records[0].prediction must be a finite number",
    ),
    (
        "features not an object",
        b'{"records": [{"request_id": "a", "version": "1", "features": [1], "prediction": 0.5}]}',
        "application/json",
        "records[0].features must be an object",
    ),
    (
        "another model",
        b'{"records": [{"request_id": "a", "model": "fraud", "version": "1", "features": {}, "prediction": 0.5}]}',
        "application/json",
        "is for model 'fraud'",
    ),
]


@pytest.mark.parametrize(("kind", "body", "content_type", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_batches_are_rejected_counted_and_leave_the_window_alone(
    profile_file: Path, kind: str, body: bytes, content_type: str, message: str
) -> None:
    watcher, client, registry = monitor(profile_file)
    client.post("/v1/logs", json={"records": records(generate(300, seed=6))})
    before = watcher.window.snapshot() if watcher.window else None  # type: ignore[union-attr]
    answer = client.post("/v1/logs", content=body, headers={"content-type": content_type})
    assert answer.status_code == 400 and message in answer.json()["error"]
    after = watcher.window.snapshot()  # type: ignore[union-attr]
    assert before is not None and np.array_equal(before.predictions, after.predictions)
    if kind not in ("not JSON", "wrong content type", "no records", "empty batch"):
        assert metric(registry, "mlops_monitor_records_total", model="churn-classifier", outcome="rejected") == 1
    client.post("/v1/logs", json={"records": records(generate(200, seed=7), start=300)})
    assert watcher.windows_evaluated == 1, "the next good batch completes the window as if nothing happened"


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
    assert client.post("/v1/logs", json={"records": []}).status_code == 503
    assert client.get("/readyz").status_code == 503 and client.get("/healthz").status_code == 200
    assert b"mlops_monitor_records_total" in generate_latest(registry)


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


def test_injected_drift_fires_the_alert_in_prometheus_and_a_clean_window_resolves_it(
    profile_file: Path, tmp_path: Path
) -> None:
    """The monitor runs as a server; Prometheus (Debian's) scrapes it every second with the
    repository's alert rules loaded - the same expressions and labels, `for` shortened to 1s so the
    test takes seconds, not minutes."""
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
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "1s"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    with (
        local.monitor(tmp_path / "monitor.yaml", tmp_path / "monitor.log") as monitor_url,
        local.prometheus(
            tmp_path / "prometheus", [local.host_port(monitor_url)], rule_files=[tmp_path / "rules.yaml"], interval="1s"
        ) as prom_url,
    ):

        def post(frame: Any, start: int) -> None:
            assert (
                httpx.post(
                    f"{monitor_url}/v1/logs", json={"records": records(frame, start=start)}, timeout=30
                ).status_code
                == 200
            )

        def alerts() -> list[dict[str, Any]]:
            return [
                a
                for a in httpx.get(f"{prom_url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
                if a["labels"]["alertname"] == "FeatureDriftDetected"
            ]

        def wait(condition: Any, what: str, timeout: float = 60) -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if condition():
                    return
                time.sleep(0.5)
            raise TimeoutError(what)

        post(generate(300, seed=30), 0)
        wait(
            lambda: httpx.get(f"{prom_url}/api/v1/query", params={"query": "mlops_feature_drift_detected"}).json()[
                "data"
            ]["result"],
            "a first scrape",
        )
        time.sleep(3)
        assert alerts() == []
        for i in range(3):
            post(generate(300, seed=40 + i, drift=1.0), 1000 + 300 * i)
        wait(lambda: any(a["state"] == "firing" for a in alerts()), "FeatureDriftDetected firing")
        firing = {a["labels"]["feature"] for a in alerts() if a["state"] == "firing"}
        assert {"monthly_charges", "contract"} <= firing
        triggers = httpx.get(
            f"{prom_url}/api/v1/query", params={"query": 'mlops_retrain_triggers_total{reason="drift"}'}
        ).json()["data"]["result"]
        wait(
            lambda: (
                httpx.get(
                    f"{prom_url}/api/v1/query", params={"query": 'mlops_retrain_triggers_total{reason="drift"}'}
                ).json()["data"]["result"][0]["value"][1]
                == "1"
            ),
            "one retraining trigger",
        )
        for i in range(2):
            post(generate(300, seed=60 + i), 5000 + 300 * i)
        wait(lambda: alerts() == [], "the alert to resolve")
        status = httpx.get(f"{monitor_url}/v1/status").json()
        assert len(status["trigger"]["fired"]) == 1, "three drifted windows, one retraining"
        assert triggers is not None
