"""Request payloads -> validated feature columns, against the model's input schema.

The schema is the MLflow signature of the served version: feature names, in order, numeric
(double) or categorical (string). Every problem is reported with where it is
(`instances[3].tenure_months`) and what was expected; the first one raises `InvalidInput` (400).

Accepted shapes:
- V1: {"instances": [{"feature": value, ...}, ...]} or rows as lists in schema order;
- V2 (Open Inference Protocol): one input per feature (shape [n] or [n, 1]), or one input of
  shape [n, features] with the values in schema order (FP64 numeric only);
- entity keys: {"entities": {"<key>": [ids...]}} (features fetched from Feast).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from kserve.errors import InferenceError, InvalidInput
from kserve.protocol.infer_type import InferInput, InferRequest, RequestedOutput
from mlops_platform.contracts import MAX_CLIENT_REQUEST_ID

NUMERIC_V2_TYPES = frozenset(
    {"FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"}
)
V2_TYPES = NUMERIC_V2_TYPES | {"BOOL", "BYTES"}
"""The Open Inference Protocol's tensor datatypes (BF16 has no numpy form here)."""


@dataclass(frozen=True)
class FeatureSchema:
    names: tuple[str, ...]
    numeric: frozenset[str]
    optional: frozenset[str] = frozenset()
    """Numeric features that may be null (the signature marks them not required): a null is a missing value."""

    @classmethod
    def from_signature(cls, inputs: Sequence[Mapping[str, Any]]) -> FeatureSchema:
        """From `signature.inputs.to_dict()`: [{"name", "type", "required"}]; double/float/long/integer are numeric."""
        numeric_types = {"double", "float", "long", "integer"}
        unsupported = [i for i in inputs if i.get("type") not in numeric_types | {"string"}]
        if unsupported or not inputs:
            raise ValueError(f"unsupported model input schema: {unsupported or 'empty'}")
        numeric = frozenset(i["name"] for i in inputs if i["type"] in numeric_types)
        optional = frozenset(i["name"] for i in inputs if i.get("required") is False and i["name"] in numeric)
        return cls(tuple(i["name"] for i in inputs), numeric, optional)

    def describe(self) -> str:
        return ", ".join(f"{n} ({'number' if n in self.numeric else 'string'})" for n in self.names)

    def tensors(self) -> list[dict[str, Any]]:
        """The Open Inference Protocol's metadata for the inputs: one tensor per feature, any number of rows."""
        return [{"name": n, "datatype": "FP64" if n in self.numeric else "BYTES", "shape": [-1]} for n in self.names]


@dataclass(frozen=True)
class Columns:
    """Validated inputs: one array per feature (float64 or object), all of length `rows`."""

    data: dict[str, np.ndarray]
    rows: int


def client_request_id(value: str | None, where: str) -> str | None:
    """A client's request id (x-request-id, a V2 request's "id"), which every logged prediction carries
    to the monitor: bounded, since the monitor keeps recent ids to join late labels."""
    if value is not None and len(value) > MAX_CLIENT_REQUEST_ID:
        raise InvalidInput(f"{where} is {len(value)} characters; at most {MAX_CLIENT_REQUEST_ID}")
    return value


def _check_value(schema: FeatureSchema, name: str, value: Any, where: str) -> Any:
    if value is None:
        if name in schema.optional:
            return math.nan  # a missing value, which the model was trained to handle
        raise InvalidInput(f"{where} is null; a value is required")
    if name in schema.numeric:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{where} must be a number, got {type(value).__name__} {_short(value)}")
        if not math.isfinite(value):
            raise InvalidInput(f"{where} must be finite, got {value}")
        return float(value)
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be a string, got {type(value).__name__} {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _batch_size(rows: int, max_rows: int, field: str) -> None:
    if rows == 0:
        raise InvalidInput(f"{field} is empty; send at least one row")
    if rows > max_rows:
        raise InvalidInput(f"{field} has {rows} rows; at most {max_rows} per request")


def parse_v1(payload: Mapping[str, Any], schema: FeatureSchema, max_rows: int) -> Columns:
    instances = payload.get("instances")
    if not isinstance(instances, list):
        raise InvalidInput(f'"instances" must be a list of rows, got {type(instances).__name__}')
    _batch_size(len(instances), max_rows, '"instances"')
    values: dict[str, list[Any]] = {name: [] for name in schema.names}
    for index, row in enumerate(instances):
        where = f"instances[{index}]"
        if isinstance(row, dict):
            unknown = sorted(set(row) - set(schema.names))
            if unknown:
                raise InvalidInput(f"{where} has unknown feature(s) {unknown}; expected: {schema.describe()}")
            for name in schema.names:
                if name not in row:
                    raise InvalidInput(f"{where} is missing feature {name!r}")
                values[name].append(_check_value(schema, name, row[name], f"{where}.{name}"))
        elif isinstance(row, list):
            if len(row) != len(schema.names):
                raise InvalidInput(
                    f"{where} has {len(row)} values; expected {len(schema.names)} in order: {schema.describe()}"
                )
            for name, value in zip(schema.names, row, strict=True):
                values[name].append(_check_value(schema, name, value, f"{where}.{name}"))
        else:
            raise InvalidInput(
                f"{where} must be an object of features or a list of {len(schema.names)} values, got {type(row).__name__}"
            )
    return _columns(values, schema, len(instances))


def decode_v2(body: bytes, json_length: int, model_name: str) -> InferRequest:
    """A V2 REST request - JSON, or a JSON header of `json_length` bytes followed by binary tensors - its
    structure checked before KServe's types read it (they index it blindly: a missing key is a 500)."""
    try:
        head = orjson.loads(body[:json_length])
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"the request is not valid JSON: {error}") from None
    if not isinstance(head, dict) or not isinstance(head.get("inputs"), list):
        raise InvalidInput('the request must be a JSON object with "inputs": a list of tensors')
    offset, tensors = json_length, []
    for index, tensor in enumerate(head["inputs"]):
        where = f"inputs[{index}]"
        if not isinstance(tensor, dict):
            raise InvalidInput(f"{where} must be an object with name, shape, datatype and data")
        name, shape, datatype, parameters = (tensor.get(k) for k in ("name", "shape", "datatype", "parameters"))
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"{where}.name must be a non-empty string")
        where = f"input {name!r}"
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise InvalidInput(f"{where}: shape must be a list of non-negative integers, got {_short(shape)}")
        if datatype not in V2_TYPES:
            raise InvalidInput(f"{where}: datatype {_short(datatype)} is not one of {sorted(V2_TYPES)}")
        if parameters is not None and not isinstance(parameters, dict):
            raise InvalidInput(f"{where}: parameters must be an object")
        infer_input = InferInput(name, shape, datatype, parameters=parameters)
        size = (parameters or {}).get("binary_data_size")
        if "data" in tensor:
            if datatype == "FP16":
                raise InvalidInput(f"{where}: FP16 travels only as binary data")
            infer_input.data = tensor["data"]
        elif size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 0 or offset + size > len(body):
                raise InvalidInput(
                    f"{where}: binary_data_size {_short(size)} does not fit the body ({len(body) - offset} bytes left)"
                )
            infer_input._raw_data = body[offset : offset + size]
            try:  # the bytes must fill the shape with the datatype (and BYTES values be UTF-8)
                infer_input.set_data_from_numpy(infer_input.as_numpy(), binary_data=False)
            except (InferenceError, ValueError, TypeError) as error:
                raise InvalidInput(
                    f"{where}: its {size} binary bytes do not hold a {datatype} {shape} tensor: {error}"
                ) from None
            offset += size
        else:
            raise InvalidInput(f'{where} has neither "data" nor a binary_data_size parameter')
        tensors.append(infer_input)
    if offset != len(body):
        raise InvalidInput(
            f"{len(body) - offset} bytes follow the last binary tensor; binary_data_size must account for all"
        )
    outputs = head.get("outputs")
    if outputs is not None and (
        not isinstance(outputs, list)
        or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs)
    ):
        raise InvalidInput('"outputs" must be a list of objects with a name')
    request_id, request_parameters = head.get("id"), head.get("parameters")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInput(f'"id" must be a string, got {_short(request_id)}')
    client_request_id(request_id, '"id"')
    if request_parameters is not None and not isinstance(request_parameters, dict):
        raise InvalidInput('"parameters" must be an object')
    return InferRequest(
        model_name,
        tensors,
        request_id=request_id,
        parameters=request_parameters,
        request_outputs=[RequestedOutput(o["name"], o.get("parameters")) for o in outputs] if outputs else None,
    )


def parse_v2(request: InferRequest, schema: FeatureSchema, max_rows: int) -> Columns:
    inputs = request.inputs
    if not inputs:
        raise InvalidInput('"inputs" is empty; send one input per feature or one [rows, features] input')
    if len(inputs) == 1 and inputs[0].name not in schema.names:
        return _v2_matrix(inputs[0], schema, max_rows)
    values: dict[str, list[Any]] = {}
    rows: int | None = None
    for infer_input in inputs:
        name = infer_input.name
        if name not in schema.names:
            raise InvalidInput(f"input {name!r} is not a feature of this model; expected: {schema.describe()}")
        if name in values:
            raise InvalidInput(f"input {name!r} is given twice")
        data = _flat(infer_input.data, name)
        shape = list(infer_input.shape or [])
        if shape not in ([len(data)], [len(data), 1]):
            raise InvalidInput(
                f"input {name!r} has shape {shape} but {len(data)} values; use [{len(data)}] or [{len(data)}, 1]"
            )
        expected = "numeric" if name in schema.numeric else "BYTES"
        if (name in schema.numeric) != (infer_input.datatype in NUMERIC_V2_TYPES):
            raise InvalidInput(f"input {name!r} has datatype {infer_input.datatype}; expected {expected}")
        if rows is not None and len(data) != rows:
            raise InvalidInput(f"input {name!r} has {len(data)} rows but other inputs have {rows}")
        rows = len(data)
        values[name] = [_check_value(schema, name, v, f"{name}[{i}]") for i, v in enumerate(data)]
    missing = [n for n in schema.names if n not in values]
    if missing:
        raise InvalidInput(f"missing input(s) {missing}; expected: {schema.describe()}")
    assert rows is not None
    _batch_size(rows, max_rows, '"inputs"')
    return _columns(values, schema, rows)


def _v2_matrix(infer_input: Any, schema: FeatureSchema, max_rows: int) -> Columns:
    if schema.numeric != frozenset(schema.names):
        raise InvalidInput(
            f"input {infer_input.name!r} is not a feature; this model has string features, so send one input per feature: {schema.describe()}"
        )
    data = _flat(infer_input.data, infer_input.name)
    shape = list(infer_input.shape or [])
    width = len(schema.names)
    if len(shape) != 2 or shape[1] != width or shape[0] * width != len(data):
        raise InvalidInput(
            f"input {infer_input.name!r} has shape {shape} and {len(data)} values; expected [rows, {width}]"
        )
    _batch_size(shape[0], max_rows, '"inputs"')
    values: dict[str, list[Any]] = {name: [] for name in schema.names}
    for row in range(shape[0]):
        for column, name in enumerate(schema.names):
            values[name].append(
                _check_value(schema, name, data[row * width + column], f"{infer_input.name}[{row}][{column}]")
            )
    return _columns(values, schema, shape[0])


def _flat(data: Any, name: str) -> list[Any]:
    if isinstance(data, np.ndarray):
        return data.reshape(-1).tolist()
    if not isinstance(data, list):
        raise InvalidInput(f"input {name!r} data must be a list")
    flat: list[Any] = []
    for item in data:
        if isinstance(item, list):
            if any(isinstance(inner, list) for inner in item):
                raise InvalidInput(f"input {name!r} data is nested deeper than [rows, columns]")
            flat.extend(item)
        else:
            flat.append(item)
    return flat


def _columns(values: Mapping[str, list[Any]], schema: FeatureSchema, rows: int) -> Columns:
    return Columns(
        {
            name: np.asarray(values[name], dtype=np.float64 if name in schema.numeric else object)
            for name in schema.names
        },
        rows,
    )


def parse_entities(payload: Mapping[str, Any], key: str, max_rows: int) -> list[Any]:
    entities = payload.get("entities")
    if not isinstance(entities, dict) or set(entities) != {key}:
        raise InvalidInput(f'"entities" must be an object with exactly one key, {key!r}: {{"{key}": [ids...]}}')
    ids = entities[key]
    if not isinstance(ids, list):
        raise InvalidInput(f'"entities.{key}" must be a list of ids')
    _batch_size(len(ids), max_rows, f'"entities.{key}"')
    for index, value in enumerate(ids):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidInput(f"entities.{key}[{index}] must be an integer or string id, got {type(value).__name__}")
    return ids
