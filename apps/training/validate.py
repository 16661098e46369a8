"""The validate stage: a table against its data contract, every check reported."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from mlops_platform.contracts import Column, DataContract
from pandas.api import types
from sklearn.metrics import roc_auc_score


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


def validate(frame: pd.DataFrame, contract: DataContract, *, now: pd.Timestamp | None = None) -> ContractReport:
    repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if repeated:  # a name that is two columns: no check of it would mean anything
        return ContractReport((Check("columns_unique", False, f"column names repeated: {', '.join(repeated)}"),))
    checks: list[Check] = []
    rows = len(frame)
    checks.append(Check("row_count", rows >= contract.min_rows, f"{rows} rows (at least {contract.min_rows} required)"))
    for column in contract.columns:
        if column.name not in frame.columns:
            checks.append(Check(f"column_present:{column.name}", False, f"column {column.name!r} is missing"))
            continue
        checks.extend(_column_checks(frame[column.name], column, rows))
    checks += _table_checks(frame, contract, now or pd.Timestamp.now(tz="UTC"))
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
    if (
        label in frame.columns
        and rows
        and not any(c.name.startswith(("label_values", "label_balance")) and not c.passed for c in checks)
    ):
        checks += leakage_checks(frame, contract)
    return ContractReport(tuple(checks))


def _table_checks(frame: pd.DataFrame, contract: DataContract, now: pd.Timestamp) -> list[Check]:
    """What no single column shows: repeated entities, repeated rows, timestamps that are not times."""
    checks: list[Check] = []
    for key in contract.role("key"):
        if contract.unique_keys and key in frame.columns:
            repeated = frame[key][frame[key].duplicated(keep=False)]
            examples = sorted(set(repeated.astype(str).tolist()))[:3]
            checks.append(
                Check(
                    f"unique_keys:{key}",
                    repeated.empty,
                    f"{len(repeated)} rows share their {key} with another row"
                    + (f" (e.g. {', '.join(examples)})" if examples else "")
                    + "; one row per entity (the split keeps an entity on one side)",
                )
            )
    checks.append(_duplicate_check(frame, contract))
    for name in contract.role("timestamp"):
        if name in frame.columns:
            checks.append(_timestamp_check(frame[name], name, now, contract.max_future_seconds))
    return checks


def _duplicate_check(frame: pd.DataFrame, contract: DataContract) -> Check:
    """Rows repeated exactly, and rows whose features and label repeat another entity's (the same
    example under a new key, or with only its timestamp changed): either lands in training and holdout
    alike. Repeats of one entity's own content (unchanged snapshots) stay on one side of the split."""
    if not len(frame.columns) or not len(frame):
        return Check("duplicate_rows", True, "0 rows repeat another row")
    repeats = frame.duplicated()
    exact = int(repeats.sum())
    content = [c.name for c in (*contract.features, contract.column(contract.label)) if c.name in frame.columns]
    keys = [k for k in contract.role("key") if k in frame.columns]
    if not content:
        repeated = 0
    elif keys:  # one entity's own repeats do not count
        repeated = int(frame.drop_duplicates(subset=[*content, *keys]).duplicated(subset=content).sum())
    else:  # without a key every row is its own example
        repeated = int((frame.duplicated(subset=content) & ~repeats).sum())
    share = repeated / len(frame)
    parts = [f"{exact} rows repeat another row exactly"]
    if repeated:
        parts.append(
            f"{repeated} rows ({share:.1%}, at most {contract.max_duplicate_share:.1%}) repeat the features and "
            f"label of another {keys[0] if keys else 'row'}"
        )
    return Check(
        "duplicate_rows",
        exact == 0 and share <= contract.max_duplicate_share,
        "; ".join(parts) + " (they would land in training and holdout alike)",
    )


def _timestamp_check(series: pd.Series, name: str, now: pd.Timestamp, max_future_seconds: float) -> Check:
    present = series.dropna()
    if not types.is_datetime64_any_dtype(series):
        parsed = pd.to_datetime(present, errors="coerce", utc=True, format="mixed") if len(present) else present
        bad = present[parsed.isna()] if len(present) else present
        detail = f"dtype {series.dtype}: timestamps must be stored as timestamps"
        if len(bad):
            detail += f"; {len(bad)} values are not dates (e.g. {bad.astype(str).iloc[0]!r})"
        return Check(f"timestamp:{name}", False, detail)
    values = present.dt.tz_localize("UTC") if present.dt.tz is None else present.dt.tz_convert("UTC")
    limit = now + pd.Timedelta(seconds=max_future_seconds)
    future = values[values > limit]
    return Check(
        f"timestamp:{name}",
        future.empty,
        f"{len(future)} timestamps in the future"
        + (f" (latest {future.max()})" if len(future) else "")
        + f"; at most {max_future_seconds:g} s past now allowed",
    )


MAX_LEAKAGE_CATEGORIES = 50
"""Categorical columns with more distinct values are not judged for leakage by their label rates."""


def column_auc(values: pd.Series, label: np.ndarray) -> float | None:
    """How well one column alone ranks the label: ROC AUC of its values (numeric) or of its
    categories' positive rates (categorical), folded so 0.5 is no signal; None if it cannot tell."""
    present = values.notna().to_numpy()
    if present.sum() < 10 or len(np.unique(label[present])) < 2:
        return None
    kept, truth = values[present], label[present]
    if types.is_numeric_dtype(kept) and not types.is_bool_dtype(kept):
        scores = kept.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(scores)):
            return None
    else:
        text = kept.astype(str)
        if text.nunique() > min(MAX_LEAKAGE_CATEGORIES, len(text) // 20):
            return None  # many distinct values: their in-sample label rates would fit any label
        rates = pd.Series(truth, index=text.index).groupby(text).mean()
        scores = text.map(rates).to_numpy(dtype=np.float64)
    auc = float(roc_auc_score(truth, scores))
    return max(auc, 1 - auc)


def leakage_checks(frame: pd.DataFrame, contract: DataContract) -> list[Check]:
    """A feature that alone predicts the label (almost) perfectly leaks it; a column outside the contract
    that does is a copy of the label in the table. Both stop the run."""
    frame = frame[frame[contract.label].notna()]  # unlabelled rows are refused by the label's null rate
    label = frame[contract.label].to_numpy()
    outside = [c for c in frame.columns if c not in {col.name for col in contract.columns}]
    checks = []
    for name in [*(c.name for c in contract.features if c.name in frame.columns), *outside]:
        auc = column_auc(frame[name], label)
        if auc is not None and auc > contract.leakage_auc_ceiling:
            where = "feature" if name not in outside else "column outside the contract"
            checks.append(
                Check(
                    f"leakage:{name}",
                    False,
                    f"{where} {name!r} alone predicts {contract.label!r} with ROC AUC {auc:.3f} "
                    f"(ceiling {contract.leakage_auc_ceiling}): it leaks the label",
                )
            )
    if outside:
        checks.append(Check("extra_columns", True, f"not in the contract, ignored: {', '.join(map(str, outside))}"))
    return checks


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
        values = series.cat.categories if isinstance(series.dtype, pd.CategoricalDtype) else series  # dictionary-read
        textual = types.is_string_dtype(values) or types.is_object_dtype(values)
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
