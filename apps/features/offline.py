"""Write the offline source Feast materialises from (the feature columns of a churn table)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FEATURES = [
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "data_usage_gb",
    "contract",
    "payment_method",
    "internet_service",
]


def write_offline_source(frame: pd.DataFrame, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "customer_features.parquet"
    frame[["customer_id", "event_timestamp", *FEATURES]].to_parquet(path, index=False)
    return path
