"""Versioned training data: Delta Lake tables, and a generator of realistic churn data with
controllable drift (so the pipeline, the tests and the demo have real tables to work on)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

CONTRACTS = np.array(["month-to-month", "one-year", "two-year"])
PAYMENTS = np.array(["electronic-check", "mailed-check", "bank-transfer", "credit-card"])
INTERNET = np.array(["dsl", "fiber", "none"])


def generate(
    rows: int, *, seed: int = 0, drift: float = 0.0, first_id: int = 1, start: str = "2026-01-01"
) -> pd.DataFrame:
    """Customers with a churn label drawn from a logistic model of their features.

    `drift` in [0, 1] moves the population (newer customers on pricier month-to-month plans,
    more support calls, heavier data use) and the concept: heavy data users on fiber start to
    churn, which a model trained before the drift has never seen.
    """
    if rows < 0 or not 0 <= drift <= 1:
        raise ValueError(f"rows ({rows}) must be >= 0 and drift ({drift}) within [0, 1]")
    rng = np.random.default_rng(seed)
    contract = rng.choice(CONTRACTS, size=rows, p=[0.5 + 0.3 * drift, 0.3 - 0.15 * drift, 0.2 - 0.15 * drift])
    payment = rng.choice(PAYMENTS, size=rows, p=[0.35, 0.2, 0.25, 0.2])
    internet = rng.choice(INTERNET, size=rows, p=[0.35 - 0.2 * drift, 0.45 + 0.2 * drift, 0.2])
    tenure = np.clip(rng.gamma(2.0, 14.0 * (1 - 0.5 * drift), size=rows), 0, 72).round(0)
    monthly = np.clip(rng.normal(65 + 20 * drift, 22, size=rows) + np.where(internet == "fiber", 15, 0), 18, 200).round(
        2
    )
    total = np.clip(tenure * monthly + rng.normal(0, 30, size=rows), 0, None).round(2)
    support = rng.poisson(1.0 + 2.0 * drift, size=rows).astype(float)
    usage = np.clip(rng.gamma(2.0, 12.0 + 25.0 * drift, size=rows), 0, 1500).round(1)
    logit = (
        -1.6
        + 1.3 * (contract == "month-to-month")
        - 0.6 * (contract == "two-year")
        - 0.035 * tenure
        + 0.012 * (monthly - 65)
        + 0.35 * support
        + 0.45 * (internet == "fiber")
        + 0.4 * (payment == "electronic-check")
        + drift * (2.5 * ((usage > 60) & (internet == "fiber")) - 0.9 * (contract == "month-to-month"))
    )
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame(
        {
            "customer_id": np.arange(first_id, first_id + rows, dtype=np.int64),
            "event_timestamp": pd.Timestamp(start, tz="UTC")
            + pd.to_timedelta(rng.integers(0, 30 * 86400, size=rows), unit="s"),
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": total,
            "support_calls": support,
            "data_usage_gb": usage,
            "contract": contract,
            "payment_method": payment,
            "internet_service": internet,
            "churned": churned,
        }
    )


def write_version(uri: str, frame: pd.DataFrame, storage_options: Mapping[str, str] | None = None) -> int:
    """Write `frame` as the table's new version (overwrite); returns that version."""
    write_deltalake(uri, frame, mode="overwrite", storage_options=dict(storage_options or {}))
    return DeltaTable(uri, storage_options=dict(storage_options or {})).version()


class DataLoadError(Exception):
    """The table could not be read (missing, unreadable, or no such version)."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check
        self.detail = detail


@dataclass(frozen=True)
class LoadedData:
    frame: pd.DataFrame
    uri: str
    version: int
    content_hash: str
    """sha256 of the rows as read (order-sensitive): the exact data a run saw."""


def load(
    uri: str,
    version: int | None = None,
    storage_options: Mapping[str, str] | None = None,
    categorical: Iterable[str] = (),
) -> LoadedData:
    """The table (at `version`, else the latest) as a frame. Text columns named in `categorical` come
    as pandas categoricals straight from Parquet's dictionary pages: each distinct value is decoded
    once, not once per row, so nothing downstream hashes the strings again (the reference profile
    counts codes)."""
    options = dict(storage_options or {})
    try:
        table = DeltaTable(uri, storage_options=options)
    except TableNotFoundError as error:
        raise DataLoadError("table_readable", f"no Delta table at {uri} ({error})") from error
    except (OSError, ValueError) as error:
        raise DataLoadError("table_readable", f"cannot read {uri}: {error}") from error
    latest = table.version()
    if version is not None:
        if not 0 <= version <= latest:
            raise DataLoadError("table_version", f"{uri} has no version {version} (versions 0-{latest})")
        table.load_as_version(version)
    wanted = set(categorical)
    text = {f.name for f in pa.schema(table.schema().to_arrow()) if f.name in wanted and _is_text(f.type)}
    dataset = table.to_pyarrow_dataset(parquet_read_options=ds.ParquetReadOptions(dictionary_columns=text))
    frame = dataset.to_table().to_pandas()
    return LoadedData(frame, uri, table.version(), content_hash(frame))


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))


def _stored_dtype(dtype: object) -> str:
    """A column's type as stored: a dictionary-read column is its values' type (pandas hashes a
    categorical's values, not its codes), so how a run reads the table does not change its hash."""
    return str(dtype.categories.dtype if isinstance(dtype, pd.CategoricalDtype) else dtype)


def content_hash(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    digest.update(",".join(f"{c}:{_stored_dtype(t)}" for c, t in frame.dtypes.items()).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
