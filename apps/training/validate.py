"""The validate stage: a table against its data contract, every check reported."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from pandas.api import types

from components.contracts import Column, DataContract


@dataclass(frozen=True)
class Check:
    name: str
    """e.g. `null_rate:total_charges`."""
    passed: bool
    detail: str


@dataclass(frozen=True)
class ContractReport:
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def as_dict(self) -> dict[str, object]:
        return {"passed": self.passed, "checks": [asdict(c) for c in self.checks]}


class DataValidationError(Exception):
    """The data breaks its contract: nothing is trained or registered."""

    def __init__(self, report: ContractReport) -> None:
        self.report = report
        lines = "\n".join(f"  - {c.name}: {c.detail}" for c in report.failures)
        super().__init__(f"data contract violated ({len(report.failures)} failing checks):\n{lines}")


def validate(frame: pd.DataFrame, contract: DataContract) -> ContractReport:
    checks: list[Check] = []
    rows = len(frame)
    checks.append(Check("row_count", rows >= contract.min_rows, f"{rows} rows (at least {contract.min_rows} required)"))
    for column in contract.columns:
        if column.name not in frame.columns:
            checks.append(Check(f"column_present:{column.name}", False, f"column {column.name!r} is missing"))
            continue
        checks.extend(_column_checks(frame[column.name], column, rows))
    label = contract.label
    if label in frame.columns and rows:
        values = frame[label].dropna()
        unexpected = sorted(set(values.unique().tolist()) - {0, 1})
        checks.append(
            Check(
                "label_values",
                not unexpected,
                f"label {label!r} must be 0/1" + (f"; found {unexpected[:5]}" if unexpected else ""),
            )
        )
        minority = float(min((values == 1).mean(), (values == 0).mean())) if len(values) else 0.0
        checks.append(
            Check(
                "label_balance",
                minority >= contract.min_minority_share,
                f"minority class share {minority:.3f} (at least {contract.min_minority_share} required)",
            )
        )
    return ContractReport(tuple(checks))


def _column_checks(series: pd.Series, column: Column, rows: int) -> list[Check]:
    name = column.name
    checks: list[Check] = []
    null_rate = float(series.isna().mean()) if rows else 0.0
    checks.append(
        Check(
            f"null_rate:{name}",
            null_rate <= column.max_null_rate,
            f"{null_rate:.1%} nulls (at most {column.max_null_rate:.1%})",
        )
    )
    present = series.dropna()
    if column.role in ("key", "timestamp"):
        return checks
    if column.kind == "numeric" or column.role == "label":
        numeric = types.is_numeric_dtype(series) and not types.is_bool_dtype(series)
        checks.append(
            Check(
                f"dtype:{name}",
                numeric,
                f"dtype {series.dtype} ({'numeric' if numeric else 'expected a numeric column'})",
            )
        )
        if numeric and len(present):
            values = present.to_numpy(dtype=np.float64)
            bad = np.count_nonzero(~np.isfinite(values))
            if column.minimum is not None:
                bad += np.count_nonzero(values < column.minimum)
            if column.maximum is not None:
                bad += np.count_nonzero(values > column.maximum)
            checks.append(
                Check(
                    f"range:{name}",
                    bad == 0,
                    f"{bad} values outside [{column.minimum}, {column.maximum}] or not finite",
                )
            )
    else:
        textual = types.is_string_dtype(series) or types.is_object_dtype(series)
        checks.append(
            Check(
                f"dtype:{name}",
                bool(textual),
                f"dtype {series.dtype} ({'text' if textual else 'expected a text column'})",
            )
        )
        if column.categories is not None and len(present):
            unknown = sorted(set(present.astype(str).unique()) - set(column.categories))
            checks.append(
                Check(
                    f"categories:{name}",
                    not unknown,
                    f"{len(unknown)} unknown categories" + (f": {unknown[:5]}" if unknown else ""),
                )
            )
    return checks
