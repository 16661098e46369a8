"""The predictor: a KServe model serving `models:/<name>@<alias>` and following the alias.

It loads the version behind the alias once at start (ready only when loaded), then watches the
alias; a newly promoted (or rolled-back) version is loaded and warmed beside the serving one and
swapped in with one reference assignment - requests in flight finish on the version they
started with, so a swap fails nothing. Each response names the version that answered it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import mlflow.models
import numpy as np
import pandas as pd
from kserve import Model
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse
from mlops_platform.contracts import PredictorSettings

from apps.common import registry
from apps.serving.batching import MicroBatcher
from apps.serving.compiled import TOLERANCE, CompiledPipeline, compile_pipeline, verify
from apps.serving.metrics import ServingMetrics
from apps.serving.prediction_log import PredictionLog
from apps.serving.schema import Columns, FeatureSchema, client_request_id, parse_entities, parse_v1, parse_v2

log = logging.getLogger("apps.serving")
VERSION_HEADER = "x-model-version"
OUTPUT = "probability"
"""What every response carries: the probability of the positive class, one per row."""


@dataclass(frozen=True)
class LoadedModel:
    version: str
    schema: FeatureSchema
    pipeline: Any
    compiled: CompiledPipeline | None = None
    """The verified fast path (compiled.py), when the pipeline has the supported shape."""
    platform: str = ""
    """The Open Inference Protocol's "platform": mlflow_<flavor> of the registered model (mlflow_sklearn)."""

    def score(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        if self.compiled is not None:
            return self.compiled.predict_proba1(columns)
        frame = pd.DataFrame(columns, columns=list(self.schema.names))
        return np.asarray(self.pipeline.predict_proba(frame)[:, 1], dtype=np.float64)


def load_version(name: str, version: str) -> LoadedModel:
    info = mlflow.models.get_model_info(f"models:/{name}/{version}")
    if info.signature is None:
        raise ValueError(f"{name} v{version} has no signature; the predictor needs its input schema")
    schema = FeatureSchema.from_signature(info.signature.inputs.to_dict())
    pipeline = registry.load_model(name, version)
    compiled = compile_pipeline(pipeline)
    if compiled is not None:
        difference = verify(compiled, pipeline, schema.names)
        if difference > TOLERANCE:
            log.warning(
                "%s v%s: compiled path differs from scikit-learn by %g; serving through scikit-learn",
                name,
                version,
                difference,
            )
            compiled = None
    flavor = next((f for f in info.flavors if f != "python_function"), "python_function")
    loaded = LoadedModel(version, schema, pipeline, compiled, platform=f"mlflow_{flavor}")
    log.info("%s v%s loaded (%s path)", name, version, "compiled" if compiled else "scikit-learn")
    # Warm up - and prove the model answers - before it serves anything.
    loaded.score({n: np.zeros(1) if n in schema.numeric else np.array([""], dtype=object) for n in schema.names})
    return loaded


@dataclass(frozen=True)
class Prepared:
    model: LoadedModel
    columns: Columns
    v2: InferRequest | None
    """The V2 request (its requested outputs and binary-output choice shape the answer); None for V1."""
    request_id: str | None


@dataclass(frozen=True)
class Scored:
    prepared: Prepared
    probabilities: np.ndarray


class Predictor(Model):
    def __init__(self, name: str, settings: PredictorSettings, metrics: ServingMetrics | None = None) -> None:
        super().__init__(name, return_response_headers=True)
        self.settings = settings
        self.metrics = metrics or ServingMetrics.default()
        self.batcher = MicroBatcher()
        self._serving: LoadedModel | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._feast: httpx.AsyncClient | None = None
        self.prediction_log = (
            PredictionLog(settings.monitor_url, on_drop=self.metrics.dropped, max_records=settings.log_queue_records)
            if settings.monitor_url
            else None
        )
        if self.prediction_log is not None:
            self.metrics.dropped(settings.model_name, 0)  # exported from the start: a flat zero, not no data

    # ------------------------------------------------------------------ lifecycle

    @property
    def serving(self) -> LoadedModel:
        if self._serving is None:
            raise RuntimeError("no model loaded")
        return self._serving

    def load(self) -> bool:
        deadline = time.monotonic() + self.settings.load_timeout_seconds
        while True:
            try:
                self._swap(self._load_alias())
                break
            except LookupError as error:
                if time.monotonic() > deadline:
                    raise
                log.warning("%s; retrying", error)
                time.sleep(min(5.0, self.settings.alias_poll_seconds))
        self.ready = True
        self._watcher = threading.Thread(target=self._watch, name="alias-watcher", daemon=True)
        self._watcher.start()
        return self.ready

    def stop(self) -> None:
        self._stop.set()
        if self.prediction_log is not None:
            self.prediction_log.close()
        self.batcher.close()

    def _load_alias(self) -> LoadedModel:
        version = registry.version_by_alias(self.settings.model_name, self.settings.model_alias)
        if version is None:
            raise LookupError(f"models:/{self.settings.model_name}@{self.settings.model_alias} does not exist yet")
        return load_version(self.settings.model_name, version.version)

    def _swap(self, loaded: LoadedModel) -> None:
        previous, self._serving = self._serving, loaded  # one reference assignment: atomic for readers
        self.metrics.serving_version(
            self.settings.model_name, loaded.version, self.settings.model_alias, previous.version if previous else None
        )
        log.info(
            "serving %s v%s (was %s)",
            self.settings.model_name,
            loaded.version,
            previous.version if previous else "nothing",
        )

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.alias_poll_seconds):
            try:
                current = registry.version_by_alias(self.settings.model_name, self.settings.model_alias)
                if current is not None and current.version != self.serving.version:
                    self._swap(load_version(self.settings.model_name, current.version))
            except Exception:
                log.exception("could not follow %s@%s", self.settings.model_name, self.settings.model_alias)

    # ------------------------------------------------------------------ Open Inference Protocol metadata

    def metadata(self) -> dict[str, Any]:
        """`GET /v2/models/<name>`: the serving version's inputs (from its signature) and outputs."""
        model = self.serving
        return {
            "name": self.name,
            "versions": [model.version],
            "platform": model.platform,
            "inputs": model.schema.tensors(),
            "outputs": self.get_output_types(),
        }

    def get_input_types(self) -> list[dict[str, Any]]:
        return self.serving.schema.tensors()

    def get_output_types(self) -> list[dict[str, Any]]:
        return [{"name": OUTPUT, "datatype": "FP64", "shape": [-1]}]

    # ------------------------------------------------------------------ request path

    def validate(self, payload: Any) -> Any:
        return payload  # preprocess validated it against the model's schema

    async def preprocess(self, payload: Any, headers: dict[str, str] | None = None) -> Prepared:
        model = self.serving  # the version this request is answered with
        request_id = client_request_id((headers or {}).get("x-request-id"), "x-request-id")
        max_rows = self.settings.max_batch_rows
        if isinstance(payload, InferRequest):
            unknown = sorted({o.name for o in payload.request_outputs or []} - {OUTPUT})
            if unknown:
                raise InvalidInput(f"output(s) {unknown} requested; this model answers only {OUTPUT!r}")
            return Prepared(model, parse_v2(payload, model.schema, max_rows), payload, request_id or payload.id)
        if isinstance(payload, bytes | str):
            content_type = (headers or {}).get("content-type", "unknown")
            raise UnsupportedMediaType(f"content type {content_type!r} is not supported; send application/json")
        if not isinstance(payload, dict):
            raise InvalidInput(f"the request body must be a JSON object, got {type(payload).__name__}")
        if "entities" in payload:
            return Prepared(model, await self._from_feast(payload, model.schema), None, request_id)
        if "instances" not in payload:
            keys = sorted(payload)[:5]
            raise InvalidInput(f'the request needs "instances" (features) or "entities" (keys); got keys {keys}')
        return Prepared(model, parse_v1(payload, model.schema, max_rows), None, request_id)

    async def predict(
        self, payload: Prepared, headers: dict[str, str] | None = None, response_headers: dict[str, str] | None = None
    ) -> Scored:
        probabilities = await self.batcher.score(payload.model.score, payload.columns)
        if response_headers is not None:
            response_headers[VERSION_HEADER] = payload.model.version
        if self.prediction_log is not None:
            self.prediction_log.submit(
                self.settings.model_name, payload.model.version, payload.columns.data, probabilities, payload.request_id
            )
        return Scored(payload, probabilities)

    async def postprocess(
        self, result: Scored, headers: dict[str, str] | None = None, response_headers: dict[str, str] | None = None
    ) -> Any:
        version = result.prepared.model.version
        request = result.prepared.v2
        if request is not None:
            output = InferOutput(OUTPUT, [len(result.probabilities)], "FP64", result.probabilities.tolist())
            return InferResponse(
                result.prepared.request_id or "",
                self.name,
                [output],
                model_version=version,
                requested_outputs=request.request_outputs or None,
                use_binary_outputs=request.use_binary_outputs,
            )
        return {"predictions": result.probabilities.tolist(), "model_name": self.name, "model_version": version}

    # ------------------------------------------------------------------ entity keys

    async def _from_feast(self, payload: dict[str, Any], schema: FeatureSchema) -> Columns:
        if not self.settings.feast_url:
            raise InvalidInput(
                '"entities" requests need the feature server, which this predictor is not configured with'
            )
        key = self.settings.feast_entity_key
        ids = parse_entities(payload, key, self.settings.max_batch_rows)
        if self._feast is None:
            self._feast = httpx.AsyncClient(base_url=self.settings.feast_url, timeout=5.0)
        view = self.settings.feast_feature_view
        request = {
            "features": [f"{view}:{name}" for name in schema.names],
            "entities": {key: ids},
            "full_feature_names": False,
        }
        try:
            response = await self._feast.post("/get-online-features", json=request)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise FeatureStoreUnavailable(f"feature server: {error}") from error
        body = response.json()
        names = body["metadata"]["feature_names"]
        results = dict(zip(names, body["results"], strict=True))
        values: dict[str, list[Any]] = {}
        for name in schema.names:
            column = results.get(name)
            if column is None:
                raise FeatureStoreUnavailable(f"feature server returned no {name!r}")
            # Feast answers PRESENT with a null value for an unknown entity: check both.
            missing = [
                ids[i]
                for i, (status, value) in enumerate(zip(column["statuses"], column["values"], strict=True))
                if status != "PRESENT" or value is None
            ]
            if missing:
                raise InvalidInput(f"{key} {missing[:10]} has no {name!r} in the online store")
            values[name] = column["values"]
        return Columns(
            {n: np.asarray(values[n], dtype=np.float64 if n in schema.numeric else object) for n in schema.names},
            len(ids),
        )


class UnsupportedMediaType(Exception):
    """415: the body is not JSON."""


class FeatureStoreUnavailable(Exception):
    """503: the feature server could not answer an entity-keyed request."""
