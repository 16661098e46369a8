"""The predictor as a real HTTP server on loopback: protocols, bad payloads, fuzzing, hot swaps,
rollback, a monitor that is down, entity lookups through a real Feast server with Redis."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow.sklearn
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.common import local, registry
from apps.common.clients import Clients
from apps.common.processes import BIN, ROOT, free_port, http_ok, server
from apps.features.offline import FEATURES, write_offline_source
from tests.apps.conftest import Trained, train_model

NUMERIC = FEATURES[:5]


@contextlib.contextmanager
def predictor(log_dir: Path, model_name: str, **env: str) -> Iterator[str]:
    with local.predictor(
        log_dir / "predictor.log",
        model_name,
        tracking_uri=os.environ["MLFLOW_TRACKING_URI"],
        env={"ALIAS_POLL_SECONDS": "0.5", **env},
    ) as url:
        yield url


def rows(trained: Trained, count: int, start: int = 0) -> list[dict[str, Any]]:
    frame = trained.rows.iloc[start : start + count]
    return [
        {name: (float(r[name]) if name in NUMERIC else str(r[name])) for name in FEATURES} for _, r in frame.iterrows()
    ]


def expected(trained: Trained, payload_rows: list[dict[str, Any]], version: str = "1") -> np.ndarray:
    import pandas as pd

    model = mlflow.sklearn.load_model(f"models:/{trained.model_name}/{version}")
    return model.predict_proba(pd.DataFrame(payload_rows, columns=FEATURES))[:, 1]


@pytest.fixture(scope="module")
def served_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("predictor")


@pytest.fixture(scope="module")
def served(champion: Trained, served_logs: Path) -> Iterator[str]:
    with predictor(served_logs, champion.model_name) as url:
        yield url


def v1(url: str, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/models/churn:predict", json=body, timeout=10, **kwargs)


def v2_inputs(payload_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": n,
            "shape": [len(payload_rows)],
            "datatype": "FP64" if n in NUMERIC else "BYTES",
            "data": [r[n] for r in payload_rows],
        }
        for n in FEATURES
    ]


# --------------------------------------------------------------------------- protocols


def test_v1_and_v2_give_the_models_own_predictions(served: str, champion: Trained) -> None:
    payload = rows(champion, 25)
    want = expected(champion, payload)
    answer = v1(served, {"instances": payload})
    assert answer.status_code == 200 and answer.headers["x-model-version"] == "1"
    body = answer.json()
    assert body["model_version"] == "1"
    np.testing.assert_allclose(body["predictions"], want, rtol=0, atol=1e-12)
    as_lists = v1(served, {"instances": [[r[n] for n in FEATURES] for r in payload]})
    np.testing.assert_allclose(as_lists.json()["predictions"], want, rtol=0, atol=1e-12)
    answer = httpx.post(
        f"{served}/v2/models/churn/infer", json={"id": "req-1", "inputs": v2_inputs(payload)}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_version"] == "1" and body["id"] == "req-1"
    (output,) = body["outputs"]
    assert output["name"] == "probability" and output["shape"] == [25] and output["datatype"] == "FP64"
    np.testing.assert_allclose(output["data"], want, rtol=0, atol=1e-12)


def test_the_predictor_exports_the_metrics_contract(served: str, champion: Trained) -> None:
    v1(served, {"instances": rows(champion, 1)})
    v1(served, {"instances": []})
    text = httpx.get(f"{served}/metrics", timeout=10).text
    model = champion.model_name
    assert re.search(rf'mlops_predictions_total{{model="{model}",version="1"}} [1-9]', text)
    assert re.search(rf'mlops_prediction_latency_seconds_bucket{{le="0.005",model="{model}",version="1"}} ', text)
    assert re.search(
        rf'mlops_prediction_errors_total{{model="{model}",reason="invalid_input",version="unknown"}} [1-9]', text
    )
    assert f'mlops_model_version_info{{alias="champion",model="{model}",version="1"}} 1.0' in text


# --------------------------------------------------------------------------- bad payloads

GOOD = {
    "tenure_months": 12.0, "monthly_charges": 70.0, "total_charges": 840.0, "support_calls": 2.0, "data_usage_gb": 30.0,
    "contract": "month-to-month", "payment_method": "electronic-check", "internet_service": "fiber",
}  # fmt: skip


def with_(**changes: Any) -> dict[str, Any]:
    row = {**GOOD, **changes}
    return {k: v for k, v in row.items() if v is not ...}


V2_GOOD = v2_inputs([GOOD])
BAD = [
    ("not JSON", "v1", b"{not json", "application/json", 400, "Unrecognized request format"),
    ("wrong content type", "v1", b"tenure=12", "text/plain", 415, "content type 'text/plain' is not supported"),
    ("JSON array body", "v1", [GOOD], None, 400, "must be a JSON object, got list"),
    ("no instances", "v1", {"rows": [GOOD]}, None, 400, 'needs "instances" (features) or "entities"'),
    ("instances not a list", "v1", {"instances": GOOD}, None, 400, '"instances" must be a list of rows, got dict'),
    ("empty batch", "v1", {"instances": []}, None, 400, '"instances" is empty'),
    ("oversized batch", "v1", {"instances": [GOOD] * 1001}, None, 400, "has 1001 rows; at most 1000 per request"),
    (
        "oversized body",
        "v1",
        b'{"instances": [' + b" " * 1_100_000 + b"]}",
        "application/json",
        413,
        "exceeds the limit of 1048576 bytes",
    ),
    (
        "missing feature",
        "v1",
        {"instances": [with_(support_calls=...)]},
        None,
        400,
        "instances[0] is missing feature 'support_calls'",
    ),
    (
        "extra feature",
        "v1",
        {"instances": [with_(color="red")]},
        None,
        400,
        "instances[0] has unknown feature(s) ['color']",
    ),
    (
        "string for a number",
        "v1",
        {"instances": [with_(tenure_months="12")]},
        None,
        400,
        "instances[0].tenure_months must be a number, got str '12'",
    ),
    (
        "boolean for a number",
        "v1",
        {"instances": [with_(support_calls=True)]},
        None,
        400,
        "instances[0].support_calls must be a number, got bool",
    ),
    (
        "number for a category",
        "v1",
        {"instances": [with_(contract=1)]},
        None,
        400,
        "instances[0].contract must be a string, got int",
    ),
    (
        "null value",
        "v1",
        {"instances": [with_(monthly_charges=None)]},
        None,
        400,
        "instances[0].monthly_charges is null",
    ),
    (
        "infinity",
        "v1",
        b'{"instances": [[1e999, 1, 1, 1, 1, "a", "b", "c"]]}',
        "application/json",
        400,
        "number is infinity",
    ),
    (
        "NaN",
        "v1",
        b'{"instances": [[NaN, 1, 1, 1, 1, "a", "b", "c"]]}',
        "application/json",
        400,
        "Unrecognized request format",
    ),
    (
        "row of the wrong width",
        "v1",
        {"instances": [[1.0, 2.0, 3.0]]},
        None,
        400,
        "instances[0] has 3 values; expected 8",
    ),
    (
        "row of the wrong shape",
        "v1",
        {"instances": ["tenure=12"]},
        None,
        400,
        "instances[0] must be an object of features or a list of 8 values, got str",
    ),
    (
        "second row bad",
        "v1",
        {"instances": [GOOD, with_(data_usage_gb="lots")]},
        None,
        400,
        "instances[1].data_usage_gb must be a number",
    ),
    ("unknown model", "other", {"instances": [GOOD]}, None, 404, "Model with name nosuchmodel does not exist"),
    (
        "entities without a feature server",
        "v1",
        {"entities": {"customer_id": [1]}},
        None,
        400,
        "need the feature server",
    ),
    ("V2 empty inputs", "v2", {"inputs": []}, None, 400, '"inputs" is empty'),
    (
        "V2 unknown input",
        "v2",
        {"inputs": [*V2_GOOD[:-1], {**V2_GOOD[-1], "name": "color"}]},
        None,
        400,
        "input 'color' is not a feature of this model",
    ),
    (
        "V2 shape mismatch",
        "v2",
        {"inputs": [{**V2_GOOD[0], "shape": [3]}, *V2_GOOD[1:]]},
        None,
        400,
        "input 'tenure_months' has shape [3] but 1 values",
    ),
    (
        "V2 wrong datatype",
        "v2",
        {"inputs": [{**V2_GOOD[0], "datatype": "BYTES", "data": ["12"]}, *V2_GOOD[1:]]},
        None,
        400,
        "input 'tenure_months' has datatype BYTES; expected numeric",
    ),
    (
        "V2 ragged batch",
        "v2",
        {"inputs": [{**V2_GOOD[0], "shape": [2], "data": [1.0, 2.0]}, *V2_GOOD[1:]]},
        None,
        400,
        "has 1 rows but other inputs have 2",
    ),
    ("V2 missing input", "v2", {"inputs": V2_GOOD[:-1]}, None, 400, "missing input(s) ['internet_service']"),
    (
        "V2 matrix with string features",
        "v2",
        {"inputs": [{"name": "input-0", "shape": [1, 8], "datatype": "FP64", "data": [[1.0] * 8]}]},
        None,
        400,
        "this model has string features",
    ),
    ("V2 not an object", "v2", [1, 2], None, 400, 'a JSON object with "inputs"'),
    (
        "V2 id too long to log",
        "v2",
        {"id": "i" * 241, "inputs": V2_GOOD},
        None,
        400,
        '"id" is 241 characters; at most 240',
    ),
]


@pytest.mark.parametrize(
    ("kind", "protocol", "body", "content_type", "status", "message"), BAD, ids=[b[0] for b in BAD]
)
def test_every_bad_payload_gets_a_4xx_that_says_what_is_wrong(
    served: str, kind: str, protocol: str, body: Any, content_type: str | None, status: int, message: str
) -> None:
    path = {
        "v1": "/v1/models/churn:predict",
        "v2": "/v2/models/churn/infer",
        "other": "/v1/models/nosuchmodel:predict",
    }[protocol]
    if isinstance(body, bytes):
        answer = httpx.post(
            f"{served}{path}", content=body, headers={"content-type": content_type or "application/json"}, timeout=10
        )
    else:
        answer = httpx.post(f"{served}{path}", json=body, timeout=10)
    assert answer.status_code == status, answer.text
    if message:
        assert message in answer.json()["error"]


def errors_by_reason(url: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("mlops_prediction_errors_total{"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            found[reason] = found.get(reason, 0.0) + float(line.rsplit(" ", 1)[1])
    return found


def test_an_oversized_upload_gets_its_413_and_counts_as_a_client_error(served: str) -> None:
    """Read and discarded before the answer, so the client gets it (no reset) - declared or chunked."""
    before = errors_by_reason(served)
    headers = {"content-type": "application/json"}
    declared = httpx.post(f"{served}/v1/models/churn:predict", content=b" " * 10_000_000, headers=headers, timeout=30)
    assert declared.status_code == 413 and "request body of 10000000 bytes exceeds" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:
        for _ in range(12):
            yield b" " * 100_000

    chunked = httpx.post(f"{served}/v1/models/churn:predict", content=chunks(), headers=headers, timeout=30)
    assert chunked.status_code == 413
    after = errors_by_reason(served)
    assert after.get("too_large", 0) - before.get("too_large", 0) == 2
    assert after.get("internal", 0) == before.get("internal", 0), "a client's oversized body is never internal"


def test_a_request_id_the_monitor_could_not_keep_is_refused(served: str) -> None:
    """Every logged prediction carries the client's id to the monitor, which holds recent ids for late labels."""
    payload = {"instances": [GOOD]}
    longest = v1(served, payload, headers={"x-request-id": "r" * 240})
    assert longest.status_code == 200
    refused = v1(served, payload, headers={"x-request-id": "r" * 241})
    assert refused.status_code == 400 and refused.json()["error"] == "x-request-id is 241 characters; at most 240"


def test_a_client_error_is_one_log_line_without_a_traceback(served: str, served_logs: Path) -> None:
    marker = "no-such-feature-marker"
    answer = v1(served, {"instances": [with_(**{marker: 1})]})
    assert answer.status_code == 400
    deadline = time.monotonic() + 5
    while marker not in (served_logs / "predictor.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = (served_logs / "predictor.log").read_text()
    lines = [line for line in log.splitlines() if marker in line]
    assert len(lines) == 1 and "400 POST /v1/models/churn:predict" in lines[0], lines
    assert "Traceback" not in log


def test_the_wrong_method_is_refused(served: str) -> None:
    # KServe routes only POST there: a GET finds no route (404), never the model.
    assert httpx.get(f"{served}/v1/models/churn:predict", timeout=10).status_code == 404


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=5),
    max_leaves=20,
)
FEATURE_VALUE = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**6), 10**6),
    st.text(max_size=12),
    st.none(),
    st.booleans(),
)
NEAR_VALID = st.fixed_dictionaries(
    {
        "instances": st.lists(
            st.dictionaries(st.sampled_from([*FEATURES, "extra"]), FEATURE_VALUE, min_size=6, max_size=9),
            min_size=0,
            max_size=4,
        )
    }
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    payload=st.one_of(JSON, NEAR_VALID),
    protocol=st.sampled_from(["/v1/models/churn:predict", "/v2/models/churn/infer"]),
)
def test_fuzzed_payloads_never_get_a_5xx(served: str, payload: Any, protocol: str) -> None:
    answer = httpx.post(
        f"{served}{protocol}",
        content=json.dumps(payload).encode(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert answer.status_code < 500, f"{answer.status_code} {answer.text[:300]} for {payload!r}"[:800]


# --------------------------------------------------------------------------- hot swap and rollback


class Load(Clients):
    """Requests in a loop from several threads, recording every status and version."""

    def __init__(self, url: str, payload: dict[str, Any], threads: int = 4) -> None:
        super().__init__(threads, "load")
        self.url, self.payload = url, payload
        self.results: list[tuple[int, str]] = []

    def send(self, client: httpx.Client) -> bool:
        try:
            answer = client.post(f"{self.url}/v1/models/churn:predict", json=self.payload)
            self.results.append((answer.status_code, answer.headers.get("x-model-version", "")))
        except httpx.HTTPError as error:
            self.results.append((0, type(error).__name__))
        return True

    def wait_for_version(self, version: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.results[-20:] and all(v == version for _, v in self.results[-20:]):
                return
            time.sleep(0.2)
        raise TimeoutError(f"predictor never served v{version}; last: {self.results[-5:]}")


def test_promotion_and_rollback_swap_versions_under_load_with_zero_failures(
    mlflow_server: str, data_uri: str, model_name: str, tmp_path: Path
) -> None:
    trained = train_model(model_name, data_uri)
    with predictor(tmp_path, model_name) as url, Load(url, {"instances": rows(trained, 3)}) as load:
        time.sleep(1)
        train_model(model_name, data_uri, seed=2, drift=1.0)  # wins on drifted data: v2 becomes champion
        load.wait_for_version("2")
        done = registry.rollback(model_name, why="test: roll back", who="pytest")
        assert (done.from_version, done.to_version) == ("2", "1")
        load.wait_for_version("1")
        time.sleep(0.5)
    statuses = {status for status, _ in load.results}
    assert statuses == {200}, [r for r in load.results if r[0] != 200][:5]
    served_versions = [v for _, v in load.results]
    first_two, first_back = served_versions.index("2"), len(served_versions) - served_versions[::-1].index("2")
    assert set(served_versions[:first_two]) == {"1"} and set(served_versions[first_back:]) == {"1"}
    assert len(load.results) > 100
    note = mlflow.MlflowClient().get_registered_model(model_name).tags["last_rollback"]
    assert "pytest: v2 -> v1: test: roll back" in note


def test_rollback_needs_a_reason_and_something_to_go_back_to(mlflow_server: str, champion: Trained) -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        registry.rollback(champion.model_name, why=" ")
    with pytest.raises(LookupError, match="records no previous champion"):
        registry.rollback(champion.model_name, why="nothing to go back to")
    result = subprocess_rollback(champion.model_name)
    assert result.returncode == 2 and "rollback refused" in result.stderr


def subprocess_rollback(model: str) -> Any:
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "apps.serving", "rollback", "--model", model, "--why", "cli"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


# --------------------------------------------------------------------------- prediction logging


def dropped_records(url: str, model: str) -> float:
    match = re.search(rf'mlops_prediction_log_dropped_total{{model="{model}"}} (\S+)', httpx.get(f"{url}/metrics").text)
    return float(match.group(1)) if match else 0.0


def test_records_wait_for_a_monitor_that_is_away_and_only_an_overflow_is_dropped(
    champion: Trained, tmp_path: Path
) -> None:
    """The monitor is down (restarting): requests all succeed, their records wait - up to the queue's
    50 - and reach the monitor when it is back; the 30 that did not fit are counted, nothing else."""
    from tests.apps.sink import Sink

    port = free_port()
    env = {"MONITOR_URL": f"http://127.0.0.1:{port}", "PREDICTION_LOG_QUEUE": "50"}
    with predictor(tmp_path, champion.model_name, **env) as url:
        answers = [
            v1(url, {"instances": rows(champion, 2, start=i)}, headers={"x-request-id": f"q{i}"}) for i in range(40)
        ]
        assert {a.status_code for a in answers} == {200}
        assert dropped_records(url, champion.model_name) == 30
        time.sleep(1)  # a few failed deliveries
        with Sink(port) as sink:
            delivered = sink.wait_for(50, timeout=30)
        assert len(delivered) == 50
        assert sorted({r["request_id"].rsplit("-", 1)[0] for r in delivered}) == sorted(f"q{i}" for i in range(25))
        assert dropped_records(url, champion.model_name) == 30, "the queued records were delivered, not dropped"


def test_prediction_logs_reach_the_monitor_in_batches(champion: Trained, tmp_path: Path) -> None:
    from tests.apps.sink import Sink

    with Sink() as sink, predictor(tmp_path, champion.model_name, MONITOR_URL=sink.url) as url:
        payload = rows(champion, 4)
        for _ in range(10):
            assert v1(url, {"instances": payload}, headers={"x-request-id": "abc"}).status_code == 200
        records = sink.wait_for(40)
    assert len(records) == 40 and sink.batches < 40
    record = records[0]
    assert record["model"] == champion.model_name and record["version"] == "1"
    assert record["features"] == payload[0] and 0 <= record["prediction"] <= 1
    assert record["request_id"] == "abc-0"


# --------------------------------------------------------------------------- entity keys through Feast


@pytest.fixture(scope="module")
def feature_server(champion: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Redis + a Feast repository (the repo's definitions) materialised from the training rows + `feast serve`."""
    home = tmp_path_factory.mktemp("feast")
    redis_port, feast_port = free_port(), free_port()
    redis = [
        "redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", "feast-test",
    ]  # fmt: skip
    repo = home / "repo"
    repo.mkdir()
    (repo / "features.py").write_text((ROOT / "apps/features/feature_repo/features.py").read_text())
    (repo / "feature_store.yaml").write_text(
        "project: mlops\nprovider: local\n"
        f"registry:\n  registry_type: sql\n  path: sqlite:///{home / 'registry.db'}\n"
        "online_store:\n  type: redis\n  connection_string: ${FEAST_REDIS_CONNECTION}\n"
        "offline_store:\n  type: file\nentity_key_serialization_version: 3\n"
    )
    write_offline_source(champion.rows, home / "offline")
    env = {
        "FEAST_OFFLINE_ROOT": str(home / "offline"),
        "FEAST_REDIS_CONNECTION": f"127.0.0.1:{redis_port},password=feast-test",
        "PYTHONPATH": str(ROOT),
    }
    import subprocess

    with server(
        redis,
        ready=lambda: (
            subprocess.run(
                ["redis-cli", "-p", str(redis_port), "-a", "feast-test", "--no-auth-warning", "ping"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            == "PONG"
        ),
        log=home / "redis.log",
        name="redis",
    ):
        for step in (["apply"], ["materialize", "2020-01-01T00:00:00", "2030-01-01T00:00:00"]):
            done = subprocess.run(
                [str(BIN / "feast"), *step],
                cwd=repo,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert done.returncode == 0, done.stderr[-2000:]
        command = [str(BIN / "feast"), "serve", "-h", "127.0.0.1", "-p", str(feast_port)]
        url = f"http://127.0.0.1:{feast_port}"
        with server(
            command,
            ready=http_ok(f"{url}/health"),
            log=home / "feast.log",
            env=env,
            cwd=repo,
            timeout=120,
            name="feast serve",
        ):
            yield url


def test_entity_keyed_requests_match_sending_the_features(
    champion: Trained, feature_server: str, tmp_path: Path
) -> None:
    with predictor(tmp_path, champion.model_name, FEAST_URL=feature_server) as url:
        ids = [int(i) for i in champion.rows["customer_id"].iloc[:6]]
        by_key = v1(url, {"entities": {"customer_id": ids}})
        assert by_key.status_code == 200, by_key.text
        direct = v1(url, {"instances": rows(champion, 6)})
        np.testing.assert_allclose(by_key.json()["predictions"], direct.json()["predictions"], rtol=0, atol=1e-12)
        unknown = v1(url, {"entities": {"customer_id": [ids[0], 987654321]}})
        assert unknown.status_code == 400 and "customer_id [987654321] has no" in unknown.text
        wrong = v1(url, {"entities": {"account": [1]}})
        assert wrong.status_code == 400 and "exactly one key, 'customer_id'" in wrong.text


def test_the_offline_source_holds_the_training_features(champion: Trained, tmp_path: Path) -> None:
    path = write_offline_source(champion.rows, tmp_path)
    import pandas as pd

    frame = pd.read_parquet(path)
    assert list(frame.columns) == ["customer_id", "event_timestamp", *FEATURES] and len(frame) == len(champion.rows)
