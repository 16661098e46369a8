"""Open Inference Protocol conformance with clients nobody here wrote: NVIDIA's tritonclient (the
reference OIP client) and KServe's own InferenceRESTClient, against a running predictor - metadata,
JSON and binary tensors, a batch, versioned paths, bad requests, and metadata that follows a hot swap."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import mlflow.sklearn
import numpy as np
import pytest
import tritonclient.http as triton
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
from tritonclient.utils import InferenceServerException

from apps.features.offline import FEATURES
from tests.apps.conftest import Trained
from tests.apps.test_serving import NUMERIC, expected, predictor, rows

MODEL = "churn"  # the name the predictor serves under (--model_name)
HEADER = "inference-header-content-length"
LIAR = b'{"inputs": [{"name": "tenure_months", "shape": [1], "datatype": "FP64", "parameters": {"binary_data_size": 800}}]}'
"""A binary request whose tensor claims more bytes than the body holds."""
NOT_UTF8 = (
    b'{"inputs": [{"name": "contract", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 6}}]}'
)
"""A BYTES tensor (4-byte length, then the bytes) whose value is not UTF-8."""
SHORT = (
    b'{"inputs": [{"name": "tenure_months", "shape": [1], "datatype": "FP64", "parameters": {"binary_data_size": 8}}]}'
)
"""An FP64 [1] tensor: 8 binary bytes after the JSON."""
BYTES_SIZE_TEXT = (
    b'{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "parameters": {"binary_data_size": "a"}}]}'
)


@pytest.fixture(scope="module")
def served(champion: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with predictor(tmp_path_factory.mktemp("oip"), champion.model_name) as url:
        yield url


def triton_client(url: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url=url.removeprefix("http://"), network_timeout=30)


def columns(payload: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    return {n: np.array([r[n] for r in payload], dtype=np.float64 if n in NUMERIC else object) for n in FEATURES}


def triton_inputs(payload: list[dict[str, Any]], *, binary: bool) -> list[triton.InferInput]:
    inputs = []
    for name, values in columns(payload).items():
        tensor = triton.InferInput(name, [len(values)], "FP64" if name in NUMERIC else "BYTES")
        tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    return inputs


# --------------------------------------------------------------------------- tritonclient


def test_tritonclient_discovers_every_feature_from_the_model_metadata(served: str) -> None:
    client = triton_client(served)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(MODEL)
    assert client.is_model_ready(MODEL, model_version="1")
    metadata = client.get_model_metadata(MODEL)
    assert metadata["name"] == MODEL and metadata["versions"] == ["1"]
    assert metadata["platform"] == "mlflow_sklearn"
    assert [i["name"] for i in metadata["inputs"]] == FEATURES
    for tensor in metadata["inputs"]:
        assert tensor["datatype"] == ("FP64" if tensor["name"] in NUMERIC else "BYTES"), tensor
        assert tensor["shape"] == [-1]
    assert metadata["outputs"] == [{"name": "probability", "datatype": "FP64", "shape": [-1]}]
    assert client.get_model_metadata(MODEL, model_version="1") == metadata
    assert client.get_server_metadata()["extensions"] is not None


@pytest.mark.parametrize("binary_inputs", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("binary_output", [False, True], ids=["json-out", "binary-out"])
def test_tritonclient_infers_a_batch_in_json_and_binary_tensors(
    served: str, champion: Trained, binary_inputs: bool, binary_output: bool
) -> None:
    """tritonclient sends a JSON request without any Content-Type, a binary one with
    inference-header-content-length; BYTES features travel length-prefixed in the binary form."""
    payload = rows(champion, 64)
    result = triton_client(served).infer(
        MODEL,
        triton_inputs(payload, binary=binary_inputs),
        outputs=[triton.InferRequestedOutput("probability", binary_data=binary_output)],
        request_id="conformance-1",
    )
    probability = result.as_numpy("probability")
    assert probability is not None and probability.shape == (64,)
    np.testing.assert_allclose(probability, expected(champion, payload), rtol=0, atol=1e-12)
    response = result.get_response()
    assert response["model_version"] == "1" and response["id"] == "conformance-1"


def test_tritonclient_infers_through_the_versioned_path(served: str, champion: Trained) -> None:
    payload = rows(champion, 3)
    client = triton_client(served)
    result = client.infer(MODEL, triton_inputs(payload, binary=True), model_version="1")
    np.testing.assert_allclose(result.as_numpy("probability"), expected(champion, payload), rtol=0, atol=1e-12)
    with pytest.raises(InferenceServerException) as refused:
        client.infer(MODEL, triton_inputs(payload, binary=True), model_version="7")
    assert refused.value.status() == "404" and "version '7' is not served here" in refused.value.message()
    with pytest.raises(InferenceServerException) as refused:
        client.get_model_metadata(MODEL, model_version="7")
    assert refused.value.status() == "404"
    with pytest.raises(InferenceServerException) as refused:
        client.get_model_metadata("no-such-model", model_version="1")
    assert refused.value.status() == "404"


@pytest.mark.parametrize(
    "mistake, found",
    [
        ("a feature left out", "missing input(s) ['contract']"),
        ("a string feature sent as FP64", "has datatype FP64; expected BYTES"),
        ("an output the model does not have", "only 'probability'"),
        ("a feature that is not UTF-8", "UTF-8"),
    ],
)
def test_tritonclient_bad_requests_get_a_4xx_that_names_the_problem(
    served: str, champion: Trained, mistake: str, found: str
) -> None:
    payload = rows(champion, 2)
    inputs = triton_inputs(payload, binary=True)
    outputs = None
    if mistake == "a feature left out":
        inputs = [i for i in inputs if i.name() != "contract"]
    elif mistake == "a string feature sent as FP64":
        wrong = triton.InferInput("contract", [2], "FP64")
        wrong.set_data_from_numpy(np.array([1.0, 2.0]))
        inputs = [i for i in inputs if i.name() != "contract"] + [wrong]
    elif mistake == "an output the model does not have":
        outputs = [triton.InferRequestedOutput("label")]
    else:
        wrong = triton.InferInput("contract", [2], "BYTES")
        wrong.set_data_from_numpy(np.array([b"\xff\xfe", b"ok"], dtype=object))
        inputs = [i for i in inputs if i.name() != "contract"] + [wrong]
    with pytest.raises(InferenceServerException) as refused:
        triton_client(served).infer(MODEL, inputs, outputs=outputs)
    assert refused.value.status() == "400", refused.value
    assert found in refused.value.message()


# --------------------------------------------------------------------------- raw headers


def test_a_json_body_is_read_as_json_whatever_the_content_type_says(served: str, champion: Trained) -> None:
    payload = rows(champion, 2)
    want = expected(champion, payload)
    v2 = {
        "inputs": [
            {"name": n, "shape": [2], "datatype": "FP64" if n in NUMERIC else "BYTES", "data": list(c)}
            for n, c in columns(payload).items()
        ]
    }
    import json

    for path, body, pick in (
        (f"/v2/models/{MODEL}/infer", v2, lambda b: b["outputs"][0]["data"]),
        (f"/v1/models/{MODEL}:predict", {"instances": payload}, lambda b: b["predictions"]),
    ):
        for headers in ({}, {"content-type": "application/json"}, {"content-type": "application/json; charset=utf-8"}):
            answer = httpx.post(served + path, content=json.dumps(v2 if "v2" in path else body), headers=headers)
            assert answer.status_code == 200, (path, headers, answer.text)
            np.testing.assert_allclose(pick(answer.json()), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "headers, body, status, found",
    [
        (
            {"content-type": "application/octet-stream"},
            b'{"inputs": []}\x00\x01',
            400,
            "'inference-header-content-length'",
        ),
        ({}, b"\x00\x01\x02 not json", 400, "'inference-header-content-length'"),
        ({}, b"", 400, "'inference-header-content-length'"),
        ({}, b'{"inputs": [', 400, "not valid JSON"),
        ({"content-type": "text/plain"}, b'{"inputs": []}', 415, "'text/plain' is not supported"),
        ({HEADER: "abc"}, b'{"inputs": []}', 400, "must be the length in bytes"),
        ({HEADER: "-3"}, b'{"inputs": []}', 400, "must be the length in bytes"),
        ({HEADER: "0"}, b'{"inputs": []}', 400, "must be the length in bytes"),
        ({HEADER: "999"}, b'{"inputs": []}', 400, "a whole number from 1 to 14"),
        ({HEADER: "5"}, b'{"inputs": []}', 400, ""),
        ({HEADER: "14"}, b'{"inputs": []}', 400, "is empty; send one input per feature"),
        (
            {HEADER: str(len(LIAR))},
            LIAR + b"\x00" * 8,
            400,
            "",
        ),
        (
            {HEADER: str(len(NOT_UTF8))},
            NOT_UTF8 + b"\x02\x00\x00\x00\xff\xfe",
            400,
            "UTF-8",
        ),
        ({HEADER: "2"}, b"{}", 400, 'a JSON object with \\"inputs\\"'),
        ({HEADER: "5"}, b"[1,2]", 400, 'a JSON object with \\"inputs\\"'),
        ({}, b'{"inputs": 5}', 400, 'a JSON object with \\"inputs\\"'),
        ({}, b'{"inputs": [{"name": "tenure_months"}]}', 400, "shape must be a list of non-negative integers"),
        ({}, b'{"inputs": [{"name": "tenure_months", "shape": [1], "datatype": "FP65", "data": [1]}]}', 400, "FP65"),
        ({}, b'{"inputs": [{"name": "tenure_months", "shape": [1], "datatype": "FP64"}]}', 400, "neither"),
        ({}, b'{"id": 5, "inputs": []}', 400, "must be a string"),
        ({}, b'{"inputs": [], "outputs": "probability"}', 400, "list of objects with a name"),
        ({HEADER: str(len(BYTES_SIZE_TEXT))}, BYTES_SIZE_TEXT, 400, "binary_data_size 'a'"),
        (
            {HEADER: str(len(SHORT.replace(b": 8", b": 3")))},
            SHORT.replace(b": 8", b": 3") + b"\x00" * 3,
            400,
            "do not hold a FP64 [1] tensor",
        ),
        ({HEADER: str(len(SHORT))}, SHORT + b"\x00" * 8 + b"extra", 400, "5 bytes follow the last binary tensor"),
    ],
    ids=[
        "octet-stream-without-header",
        "binary-without-any-header",
        "empty",
        "truncated-json",
        "text-plain",
        "header-not-a-number",
        "header-negative",
        "header-zero",
        "header-past-the-body",
        "header-cuts-the-json",
        "header-right-but-empty",
        "binary-size-past-the-body",
        "bytes-not-utf8",
        "binary-without-inputs",
        "binary-json-a-list",
        "inputs-not-a-list",
        "tensor-without-shape",
        "unknown-datatype",
        "tensor-without-data",
        "id-not-a-string",
        "outputs-not-a-list",
        "binary-size-not-a-number",
        "binary-too-short-for-shape",
        "bytes-after-the-tensors",
    ],
)
def test_bodies_no_client_should_send_get_a_clear_4xx(
    served: str, headers: dict[str, str], body: bytes, status: int, found: str
) -> None:
    answer = httpx.post(f"{served}/v2/models/{MODEL}/infer", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert found in answer.text


@pytest.mark.parametrize(
    "headers, body, status, found",
    [
        # KServe reads a V1 octet-stream body as JSON (its JSON_HEADERS list it): the content is still checked.
        ({"content-type": "application/octet-stream"}, b'{"instances": []}', 400, "is empty"),
        ({"content-type": "application/octet-stream"}, b"\x00\x01", 400, "Unrecognized request format"),
        ({"content-type": "text/plain"}, b'{"instances": []}', 415, "send application/json"),
        ({}, b"\x00\x01 not json", 400, "Unrecognized request format"),
        ({}, b"", 400, ""),
        ({"content-type": "application/json; charset=utf-8"}, b'{"instances": []}', 400, "is empty"),
    ],
    ids=[
        "octet-stream-json",
        "octet-stream-not-json",
        "text-plain",
        "not-json-without-type",
        "empty",
        "json-with-charset-still-checked",
    ],
)
def test_v1_bodies_that_are_not_json_get_a_clear_4xx(
    served: str, headers: dict[str, str], body: bytes, status: int, found: str
) -> None:
    answer = httpx.post(f"{served}/v1/models/{MODEL}:predict", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert found in answer.text


# --------------------------------------------------------------------------- KServe's client


def test_kserves_own_client_speaks_v1_and_v2_with_json_and_binary(served: str, champion: Trained) -> None:
    payload = rows(champion, 16)
    want = expected(champion, payload)

    async def talk() -> None:
        async with InferenceRESTClient(RESTConfig(protocol="v2", timeout=30)) as client:
            assert await client.is_server_live(served) and await client.is_server_ready(served)
            assert await client.is_model_ready(served, MODEL)
            for binary in (False, True):
                inputs = []
                for name, values in columns(payload).items():
                    tensor = InferInput(name, [len(values)], "FP64" if name in NUMERIC else "BYTES")
                    tensor.set_data_from_numpy(values, binary_data=binary)
                    inputs.append(tensor)
                headers: dict[str, str] = {}
                result = await client.infer(
                    served, InferRequest(MODEL, inputs, request_id="k-1"), model_name=MODEL, response_headers=headers
                )
                np.testing.assert_allclose(result.outputs[0].as_numpy(), want, rtol=0, atol=1e-12)
                assert headers["x-model-version"] == "1"
            with pytest.raises(httpx.HTTPStatusError) as refused:
                await client.infer(served, {"inputs": []}, model_name=MODEL)
            assert refused.value.response.status_code == 400
        async with InferenceRESTClient(RESTConfig(protocol="v1", timeout=30)) as client:
            assert await client.is_model_ready(served, MODEL)
            answer = await client.infer(served, {"instances": payload}, model_name=MODEL)
            np.testing.assert_allclose(answer["predictions"], want, rtol=0, atol=1e-12)

    asyncio.run(talk())


# --------------------------------------------------------------------------- metadata follows the model


def test_metadata_follows_a_hot_swap_to_a_version_with_another_signature(
    mlflow_server: str, champion: Trained, tmp_path: Path
) -> None:
    """A new champion that reads only two features: the metadata a client discovers changes with it."""
    name = f"churn-narrow-{uuid.uuid4().hex[:6]}"
    frame = champion.rows
    kept = ["tenure_months", "monthly_charges"]

    def register() -> str:
        model = LogisticRegression(max_iter=200).fit(frame[kept], frame["churned"])
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=infer_signature(frame[kept], model.predict_proba(frame[kept])[:, 1]),
                registered_model_name=name,
                pyfunc_predict_fn="predict_proba",
            )
        version = str(info.registered_model_version)
        mlflow.MlflowClient().set_registered_model_alias(name, "champion", version)
        return version

    client = mlflow.MlflowClient()
    client.create_registered_model(name)
    client.copy_model_version(f"models:/{champion.model_name}/1", name)  # v1: the champion, every feature
    client.set_registered_model_alias(name, "champion", "1")
    with predictor(tmp_path, name) as url:
        client = triton_client(url)
        assert [i["name"] for i in client.get_model_metadata(MODEL)["inputs"]] == FEATURES
        version = register()
        deadline = time.monotonic() + 60
        while client.get_model_metadata(MODEL)["versions"] != [version]:
            assert time.monotonic() < deadline, "the predictor never followed the alias"
            time.sleep(0.2)
        metadata = client.get_model_metadata(MODEL)
        assert [(i["name"], i["datatype"]) for i in metadata["inputs"]] == [(n, "FP64") for n in kept]
        narrow = [{n: r[n] for n in kept} for r in rows(champion, 4)]
        result = client.infer(MODEL, triton_inputs_for(narrow, kept))
        assert result.as_numpy("probability").shape == (4,)
        with pytest.raises(InferenceServerException) as refused:
            client.infer(MODEL, triton_inputs(rows(champion, 1), binary=False), model_version="1")
        assert refused.value.status() == "404"


def triton_inputs_for(payload: list[dict[str, Any]], names: list[str]) -> list[triton.InferInput]:
    inputs = []
    for name in names:
        tensor = triton.InferInput(name, [len(payload)], "FP64")
        tensor.set_data_from_numpy(np.array([r[name] for r in payload], dtype=np.float64), binary_data=False)
        inputs.append(tensor)
    return inputs
