"""Fixtures shared by the infrastructure and policy suites (imports stay lazy: the app suite runs in
another environment without Pulumi)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session", autouse=True)
def empty_chart_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Plans in tests render no chart, the same on every machine (whatever `make charts` left in
    .cache/charts); tests/infra/test_charts.py renders a chart of its own."""
    before = os.environ.get("CHART_CACHE")
    os.environ["CHART_CACHE"] = str(tmp_path_factory.mktemp("chart-cache"))
    yield
    if before is None:
        os.environ.pop("CHART_CACHE", None)
    else:
        os.environ["CHART_CACHE"] = before


@pytest.fixture(scope="session")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`make plan` for each shipped stack, once per session: {stack: (PlanResult, out_dir)}."""
    from offline.plan import plan

    out = tmp_path_factory.mktemp("plan")
    return {stack: (plan(stack, out=out / stack), out / stack) for stack in ("dev", "prod")}
