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
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferRequest

NUMERIC_V2_TYPES = frozenset(
    {"FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"}
)


@dataclass(frozen=True)
class FeatureSchema:
    names: tuple[str, ...]
    numeric: frozenset[str]

    @classmethod
    def from_signature(cls, inputs: Sequence[Mapping[str, Any]]) -> FeatureSchema:
        """From `signature.inputs.to_dict()`: [{"name", "type"}]; double/float/long/integer are numeric."""
        numeric_types = {"double", "float", "long", "integer"}
        unsupported = [i for i in inputs if i.get("type") not in numeric_types | {"string"}]
        if unsupported or not inputs:
            raise ValueError(f"unsupported model input schema: {unsupported or 'empty'}")
        return cls(tuple(i["name"] for i in inputs), frozenset(i["name"] for i in inputs if i["type"] in numeric_types))

    def describe(self) -> str:
        return ", ".join(f"{n} ({'number' if n in self.numeric else 'string'})" for n in self.names)


@dataclass(frozen=True)
class Columns:
    """Validated inputs: one array per feature (float64 or object), all of length `rows`."""

    data: dict[str, np.ndarray]
    rows: int


def _check_value(schema: FeatureSchema, name: str, value: Any, where: str) -> Any:
    if value is None:
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
