"""Fixtures shared by the infrastructure and policy suites (imports stay lazy: the app suite runs in
another environment without Pulumi)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`make plan` for each shipped stack, once per session: {stack: (PlanResult, out_dir)}."""
    from offline.plan import plan

    out = tmp_path_factory.mktemp("plan")
    return {stack: (plan(stack, out=out / stack), out / stack) for stack in ("dev", "prod")}
