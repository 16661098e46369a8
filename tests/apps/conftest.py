"""Session servers for the app tests: an S3 endpoint (moto's server) and an MLflow tracking server
(sqlite backend, artifacts proxied to that S3), both on free loopback ports."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pandas as pd
import pytest

from apps.common import local
from apps.common.processes import BIN, free_port, http_ok, server

AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
    "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
}
ARTIFACT_BUCKET = "mlops-artifacts"
DATA_BUCKET = "mlops-data"


@dataclass(frozen=True)
class S3:
    endpoint: str

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("moto")
    with server(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        ready=http_ok(f"{endpoint}/moto-api/"),
        log=logs / "moto.log",
        name="moto S3",
    ):
        store = S3(endpoint)
        for bucket in (ARTIFACT_BUCKET, DATA_BUCKET):
            store.client().create_bucket(Bucket=bucket)
        yield store


@pytest.fixture(scope="session")
def aws_env(s3: S3) -> Iterator[dict[str, str]]:
    """The test process and its children talk to moto for S3 (boto3 and deltalake alike)."""
    env = {**AWS, "AWS_ENDPOINT_URL": s3.endpoint, "MLFLOW_S3_ENDPOINT_URL": s3.endpoint}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory, aws_env: dict[str, str]) -> Iterator[str]:
    home = tmp_path_factory.mktemp("mlflow")
    with local.mlflow_server(home, artifacts=f"s3://{ARTIFACT_BUCKET}/mlflow", workers=2, env=aws_env) as url:
        previous = os.environ.get("MLFLOW_TRACKING_URI")
        os.environ["MLFLOW_TRACKING_URI"] = url
        yield url
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous


@pytest.fixture
def model_name() -> str:
    """A registered model name of the test's own (the MLflow server is shared by the session)."""
    return f"churn-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def data_uri(aws_env: dict[str, str]) -> str:
    """A fresh Delta table location in the S3 data bucket."""
    return f"s3://{DATA_BUCKET}/datasets/{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Trained:
    model_name: str
    table: str
    rows: pd.DataFrame
    """Rows of the training table (the features payloads are built from)."""


def train_model(model_name: str, table: str, *, seed: int = 1, drift: float = 0.0, rows: int = 3000) -> Trained:
    """Write a table version and run the pipeline on it (a fast search): a registered champion."""
    from apps.training.config import TrainingConfig
    from apps.training.data import generate, write_version
    from apps.training.pipeline import run

    frame = generate(rows, seed=seed, drift=drift)
    write_version(table, frame)
    cfg = TrainingConfig.model_validate(
        {
            "model_name": model_name,
            "experiment": model_name,
            "dataset": {"uri": table},
            "search": {"trials": 3, "max_iter": [40, 100]},
        }
    )
    result = run(cfg)
    assert result.outcome == "promoted", result
    return Trained(model_name, table, frame)


@pytest.fixture(scope="session")
def champion(mlflow_server: str) -> Trained:
    """A model with a champion (v1), shared by the tests that only read it."""
    return train_model(
        f"churn-shared-{uuid.uuid4().hex[:6]}", f"s3://{DATA_BUCKET}/datasets/shared-{uuid.uuid4().hex[:6]}"
    )
