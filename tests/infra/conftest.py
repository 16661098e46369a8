"""Shared fixtures: each shipped stack evaluated once per session under recording mocks."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from components.config.stack_file import read_yaml
from components.testing import Graph, run_program, run_stack

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "prod")


def stack_config(stack: str) -> dict[str, Any]:
    """The `platform` object of a shipped stack file (a fresh copy to mutate)."""
    document = read_yaml((ROOT / f"Pulumi.{stack}.yaml").read_text(), f"Pulumi.{stack}.yaml")
    return copy.deepcopy(document["config"]["mlops-platform:platform"])


def run_platform(
    platform: dict[str, Any],
    *,
    extra: dict[str, Any] | None = None,
    secret_keys: tuple[str, ...] = (),
    stack: str = "test",
) -> Graph:
    """Run __main__.py with this `platform` object (and extra config keys)."""
    config = {"aws:region": "us-east-1", "mlops-platform:platform": platform, **(extra or {})}
    return run_program(ROOT / "__main__.py", config=config, secret_keys=list(secret_keys), stack=stack)


@pytest.fixture(scope="session")
def graphs() -> dict[str, Graph]:
    return {stack: run_stack(stack, root=ROOT) for stack in STACKS}


@pytest.fixture(params=STACKS, scope="session")
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def graph(graphs: dict[str, Graph], stack: str) -> Graph:
    return graphs[stack]


def as_before_karpenter(platform: dict[str, Any]) -> dict[str, Any]:
    """A stack's platform object with the GPU provisioner and workload identity it had before Karpenter
    and Pod Identity: managed node groups scaled by the cluster autoscaler, IRSA roles."""
    platform["gpuProvisioner"] = "clusterAutoscaler"
    platform["cluster"]["workloadIdentity"] = "irsa"
    for pool in platform.get("gpuPools", []):
        pool.pop("disruption", None)  # Karpenter's
    return platform


@pytest.fixture(scope="session")
def legacy_graphs() -> dict[str, Graph]:
    """Each shipped stack on the still-supported path: clusterAutoscaler + IRSA."""
    return {stack: run_platform(as_before_karpenter(stack_config(stack)), stack=stack) for stack in STACKS}


@pytest.fixture(scope="session")
def legacy_graph(legacy_graphs: dict[str, Graph], stack: str) -> Graph:
    return legacy_graphs[stack]
