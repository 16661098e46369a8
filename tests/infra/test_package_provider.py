"""The multi-language package: the committed schema is the one the SDK infers from the code, the
provider process serves it over the provider protocol, and a component built through the provider's
Construct path is the component a Python stack gets."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.package import COMPONENTS
from components.testing import ProgramFailed, run_program
from offline import package
from tests.infra.conftest import ROOT

COMPONENT_NAMES = {"GpuNodePool", "ArtifactStore", "ModelServing", "MlPlatform"}


def test_the_committed_settings_types_and_schema_are_what_the_code_infers() -> None:
    assert package.SETTINGS_MODULE.read_text() == package.settings_module(), "run `make schema`"
    assert package.SCHEMA.read_text() == package.schema_text(), "run `make schema`"


def test_the_schema_documents_every_input_and_output_for_other_languages() -> None:
    schema = json.loads(package.SCHEMA.read_text())
    assert schema["name"] == "mlops"
    assert {token.rsplit(":", 1)[1] for token in schema["resources"]} == COMPONENT_NAMES
    for token, resource in schema["resources"].items():
        assert resource["isComponent"] is True and resource["description"], token
        for kind in ("inputProperties", "properties"):
            undocumented = [key for key, prop in resource[kind].items() if not prop.get("description")]
            assert undocumented == [], f"{token} {kind}: {undocumented}"
    for token, typ in schema["types"].items():
        undocumented = [key for key, prop in typ["properties"].items() if not prop.get("description")]
        assert undocumented == [], f"{token}: {undocumented}"
    pool = schema["types"]["mlops:index:GpuPoolSettingsInput"]
    assert pool["required"] == ["instanceTypes", "name"]
    assert "One of: ON_DEMAND, SPOT, SPOT_OR_ON_DEMAND." in pool["properties"]["capacityType"]["description"]
    platform = schema["types"]["mlops:index:PlatformConfigInput"]
    assert set(platform["required"]) == {"cluster", "environment", "images", "network", "tags"}


@pytest.fixture(scope="module")
def provider() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    """provider/__main__.py as Pulumi runs it: its own process, serving the provider protocol on the
    port it prints (the engine address is not contacted for a schema)."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "provider" / "__main__.py"), "127.0.0.1:1"],
        cwd=ROOT / "provider",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), (port, process.stderr.read() if process.poll() is not None else "")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_provider_process_serves_the_schema_over_grpc(provider: provider_pb2_grpc.ResourceProviderStub) -> None:
    served = json.loads(provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema)
    assert served == json.loads(package.SCHEMA.read_text())
    required = {token.rsplit(":", 1)[1]: resource["requiredInputs"] for token, resource in served["resources"].items()}
    assert required == {
        "GpuNodePool": ["clusterName", "nodeRoleArn", "pool", "subnetIds"],
        "ArtifactStore": [],
        "ModelServing": [],
        "MlPlatform": ["config", "region", "stack"],
    }


def construct(type_name: str, inputs: dict[str, Any]) -> Any:
    """The provider's Construct, in a program under Pulumi's mocks: what a TypeScript or YAML stack's
    `new mlops.X(...)` reaches (without the engine's gRPC hop, which needs the Pulumi CLI)."""
    results: dict[str, Any] = {}

    def program() -> None:
        provider = ComponentProvider(list(COMPONENTS), "mlops", version="0.1.0")
        results["construct"] = provider.construct("pool", f"mlops:index:{type_name}", inputs, None)

    graph = run_program(program, config={}, project="consumer", stack="test")
    return graph, results["construct"]


def test_a_gpu_pool_constructed_through_the_provider_is_the_python_component() -> None:
    graph, result = construct(
        "GpuNodePool",
        {
            "pool": {"name": "vision", "instanceTypes": ["g6.xlarge"], "capacityType": "SPOT", "maxSize": 2},
            "clusterName": "shared-eks",
            "nodeRoleArn": "arn:aws:iam::123456789012:role/node",
            "subnetIds": ["subnet-0a", "subnet-0b"],
        },
    )
    (shell,) = [r for r in graph.of_type("mlops:index:GpuNodePool") if r.parent and "Stack::" in r.parent]
    (inner,) = [r for r in graph.of_type("mlops:index:GpuNodePool") if r.parent == shell.urn]  # the Python component
    assert shell.name == inner.name == "pool"
    assert graph.one("aws:eks/nodeGroup:NodeGroup", "pool").parent == inner.urn
    assert set(result.state) == {"nodeGroupName", "maxGpus"}
    group = graph.one("aws:eks/nodeGroup:NodeGroup", "pool")
    assert group.get("instanceTypes") == ["g6.xlarge"] and group.get("capacityType") == "SPOT"
    assert group.get("taints") == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert group.get("scalingConfig.maxSize") == 2


def test_settings_refused_through_the_provider_name_the_argument() -> None:
    with pytest.raises(ProgramFailed) as failed:
        construct(
            "GpuNodePool",
            {
                "pool": {"name": "vision", "instanceTypes": ["m7i.large"], "maxSize": 2},
                "clusterName": "c",
                "nodeRoleArn": "r",
                "subnetIds": ["s"],
            },
        )
    assert 'pool.instance_types = ["m7i.large"]: m7i.large has no GPU' in str(failed.value)
