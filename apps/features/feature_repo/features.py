"""Feature definitions of the example churn model.

The feature names are the model's input names: what training reads from the table, the
predictor fetches for an entity from the online store - one definition, no skew.
"""

import os
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, String
from mlops_platform.contracts import FeatureRepoSettings

OFFLINE_ROOT = FeatureRepoSettings.from_environ(os.environ).offline_root
"""Where the offline source lives: a local directory, or s3://<data bucket>/feast in the cluster."""

customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64, description="A subscriber.")

customer_source = FileSource(
    name="customer_source",
    path=f"{OFFLINE_ROOT}/customer_features.parquet",
    timestamp_field="event_timestamp",
)

customer_features = FeatureView(
    name="customer_features",
    entities=[customer],
    ttl=timedelta(days=3650),
    schema=[
        Field(name="tenure_months", dtype=Float64),
        Field(name="monthly_charges", dtype=Float64),
        Field(name="total_charges", dtype=Float64),
        Field(name="support_calls", dtype=Float64),
        Field(name="data_usage_gb", dtype=Float64),
        Field(name="contract", dtype=String),
        Field(name="payment_method", dtype=String),
        Field(name="internet_service", dtype=String),
    ],
    source=customer_source,
    online=True,
)
