"""The multi-language package: the committed schema is the one the SDK infers from the code, the
provider process serves it over the provider protocol, and a component built through the provider's
Construct path is the component a Python stack gets."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from mlops_platform.provider.package import COMPONENTS
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.testing import ProgramFailed, run_program
from offline import package
from tests.infra.conftest import ROOT

COMPONENT_NAMES = {
    "GpuNodePool",
    "ArtifactStore",
    "MlflowTracking",
    "FeatureStore",
    "ModelServing",
    "ModelEndpoint",
    "DriftMonitor",
    "TrainingPipeline",
    "MlPlatform",
}


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
        undocumented = [key for key, prop in (typ.get("properties") or {}).items() if not prop.get("description")]
        undocumented += [value["name"] for value in typ.get("enum") or [] if not value.get("description")]
        assert undocumented == [], f"{token}: {undocumented}"
    pool = schema["types"]["mlops:index:GpuPoolSettings"]
    assert pool["required"] == ["instanceTypes", "name"]
    assert pool["properties"]["capacityType"]["$ref"] == "#/types/mlops:index:CapacityType"
    platform = schema["types"]["mlops:index:PlatformConfig"]
    assert set(platform["required"]) == {"cluster", "environment", "images", "network", "tags"}


def test_closed_sets_are_enums_and_type_names_read_as_another_language_would() -> None:
    """A settings field with a closed set of values (a Literal or an Enum in its model) is an enum in the
    schema, so every SDK gets a typed value; no type name carries Python's `Input` (an SDK adds its own
    suffix: GpuPoolSettingsArgs in TypeScript and Go)."""
    from offline.package import _choices, exposed_settings

    schema = json.loads(package.SCHEMA.read_text())
    assert not [t for t in schema["types"] if t.endswith("Input")]
    enums = {t: [v["value"] for v in spec["enum"]] for t, spec in schema["types"].items() if "enum" in spec}
    assert len(enums) >= 10
    import typing

    from pydantic import BaseModel

    models: list[type[BaseModel]] = []

    def collect(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in models:
            models.append(annotation)
            for field in annotation.model_fields.values():
                collect(field.annotation)
        for arg in typing.get_args(annotation):
            collect(arg)

    for exposed in exposed_settings():
        collect(exposed)
    found = 0
    for model in models:
        spec = schema["types"].get(f"mlops:index:{model.__name__}")
        assert spec is not None, model.__name__
        for name, field in model.model_fields.items():
            choices = _choices(field.annotation)
            if not choices:
                continue
            prop = next(p for key, p in spec["properties"].items() if key.lower() == name.replace("_", "").lower())
            ref = prop.get("$ref") or prop.get("items", {}).get("$ref", "")
            assert enums[ref.removeprefix("#/types/")] == choices, f"{model.__name__}.{name}"
            found += 1
    assert found == 14  # the closed sets the settings hold today


@contextlib.contextmanager
def provider_process(python: Path, cwd: Path) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    """provider/__main__.py as Pulumi runs it: its own process, serving the provider protocol on the
    port it prints (the engine address is not contacted for a schema); stopped however the test ends."""
    process = subprocess.Popen(
        [str(python), str(ROOT / "provider" / "__main__.py"), "127.0.0.1:1"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), (port, process.stderr.read()[-3000:] if process.poll() is not None else "")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def provider() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    with provider_process(Path(sys.executable), ROOT / "provider") as stub:
        yield stub


def test_the_provider_process_serves_the_schema_over_grpc(provider: provider_pb2_grpc.ResourceProviderStub) -> None:
    served = json.loads(provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema)
    assert served == json.loads(package.SCHEMA.read_text())
    required = {token.rsplit(":", 1)[1]: resource["requiredInputs"] for token, resource in served["resources"].items()}
    assert required == {
        "GpuNodePool": ["clusterName", "nodeRoleArn", "pool", "subnetIds"],
        "ArtifactStore": [],
        "MlflowTracking": ["artifactStore", "authUrl", "backendUrl", "identity", "image", "namespace"],
        "FeatureStore": ["artifactStore", "identity", "image", "namespace", "registryUrl"],
        "ModelServing": [],
        "ModelEndpoint": ["endpoint", "image", "mlflow", "namespace"],
        "DriftMonitor": ["image", "mlflow", "model", "namespace", "retraining"],
        "TrainingPipeline": ["artifactStore", "identity", "image", "mlflow", "namespace"],
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


STORE = {
    "artifactBucket": "team-artifacts",
    "dataBucket": "team-data",
    "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k",
}
POD_IDENTITY = {
    "mode": "podIdentity",
    "clusterName": "shared-eks",
    "clusterArn": "arn:aws:eks:us-east-1:123456789012:cluster/shared-eks",
}


def test_a_training_pipeline_constructed_through_the_provider_gets_a_scoped_pod_identity_role() -> None:
    graph, result = construct(
        "TrainingPipeline",
        {
            "namespace": "team",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops/mlops-training:0.1.0",
            "mlflow": {"url": "http://mlflow.team.svc.cluster.local:5000", "credentialsSecret": "mlflow-training"},
            "artifactStore": STORE,
            "identity": POD_IDENTITY,
            "settings": {"model": "fraud", "schedule": "0 4 * * *"},
        },
    )
    association = graph.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (association.get("clusterName"), association.get("namespace")) == ("shared-eks", "team")
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy").get("policy"))
    objects = [s["Resource"] for s in policy["Statement"] if "s3:GetObject" in s["Action"]]
    assert objects == ["arn:aws:s3:::team-data/datasets/fraud/*"]
    assert set(result.state) == {"jobTemplateConfigmap", "serviceAccount", "configMaps", "secrets"}


def test_an_endpoint_constructed_through_the_provider_serves_the_registered_model() -> None:
    graph, _ = construct(
        "ModelEndpoint",
        {
            "endpoint": {"name": "fraud", "model": "fraud-classifier", "minReplicas": 2},
            "namespace": "team",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops/mlops-serving:0.1.0",
            "mlflow": {"url": "http://mlflow.team.svc.cluster.local:5000", "credentialsSecret": "mlflow-serving"},
        },
    )
    isvc = graph.one("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    assert isvc.get("metadata.annotations")["serving.kserve.io/deploymentMode"] == "Standard"
    assert isvc.get("spec.predictor.minReplicas") == 2


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"identity": {"mode": "podIdentity", "clusterName": "c"}},
            "mode podIdentity needs clusterName and clusterArn, mode irsa needs oidcProviderArn and oidcIssuerUrl",
        ),
        (
            {"endpoint": {"name": "fraud", "model": "fraud-classifier", "autoscaler": "keda"}},
            "endpoint.autoscaler = 'keda': the ModelServing given installs no KEDA",
        ),
    ],
)
def test_wiring_the_provider_cannot_use_is_refused_naming_it(inputs: dict[str, Any], message: str) -> None:
    kind = "TrainingPipeline" if "identity" in inputs else "ModelEndpoint"
    base: dict[str, Any] = {
        "namespace": "team",
        "image": "r/i:1",
        "mlflow": {"url": "http://m:5000", "credentialsSecret": "s"},
    }
    if kind == "TrainingPipeline":
        base |= {"artifactStore": STORE, "settings": {"model": "fraud"}}
    with pytest.raises(ProgramFailed) as failed:
        construct(kind, {**base, **inputs})
    assert message in str(failed.value)


def test_the_readme_yaml_example_config_passes_the_stack_rules() -> None:
    import yaml

    from components.config import parse_platform_config

    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Use the components from TypeScript, Go or YAML", 1)[1].split("```yaml\n", 1)[1]
    program = yaml.safe_load(block.split("```", 1)[0])
    platform = program["resources"]["platform"]
    assert platform["type"] == "mlops:MlPlatform"
    parsed = parse_platform_config(platform["properties"]["config"], region=platform["properties"]["region"])
    assert parsed.provisioner == "karpenter" and parsed.environment == "dev"


def test_the_plugin_installs_from_its_own_requirements_and_serves_its_schema(tmp_path: Any) -> None:
    """As Pulumi installs it, with the toolchain PulumiPlugin.yaml declares (pip, a virtualenv named
    venv): `python -m venv`, then pip from provider/requirements.txt (the repository's packages with
    their declared dependencies, pinned by the lock) - a dependency the package forgot to declare fails
    here, not in a consumer's `pulumi package add`."""
    plugin = yaml.safe_load((ROOT / "provider" / "PulumiPlugin.yaml").read_text())
    assert plugin["runtime"]["options"] == {"toolchain": "pip", "virtualenv": "venv"}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-cache-dir", "-r", "requirements.txt"],
        cwd=ROOT / "provider",
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    # cwd is not the repository: only what the virtualenv holds is importable
    with provider_process(venv / "bin" / "python", tmp_path) as stub:
        served = json.loads(stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60).schema)
    assert served == json.loads(package.SCHEMA.read_text())


METASCHEMA = ROOT / "tests" / "fixtures" / "pulumi" / "package-metaschema.json"


def test_the_committed_schema_is_valid_against_pulumis_package_metaschema() -> None:
    """What Pulumi's generators check a package schema against, before they generate an SDK."""
    import re

    import jsonschema

    text = re.sub(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", METASCHEMA.read_text())  # JS -> Python groups
    metaschema = json.loads(text)
    schema = json.loads(package.SCHEMA.read_text())
    errors = sorted(jsonschema.Draft202012Validator(metaschema).iter_errors(schema), key=str)
    assert [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors] == []
    broken = {**schema, "version": "one"}
    assert list(jsonschema.Draft202012Validator(metaschema).iter_errors(broken)), "the check can fail"


def test_descriptions_carry_no_source_indentation() -> None:
    schema = json.loads(package.SCHEMA.read_text())
    indented = [
        f"{section}:{name}"
        for section in ("resources", "types")
        for name, spec in schema[section].items()
        if "\n " in (spec.get("description") or "")
        or any("\n " in (p.get("description") or "") for p in (spec.get("properties") or {}).values())
        or any("\n " in (p.get("description") or "") for p in (spec.get("inputProperties") or {}).values())
    ]
    assert indented == []


# --------------------------------------------------------------------------- outputs flow in

MLFLOW_CLIENT = {"url": "http://mlflow.team.svc.cluster.local:5000", "credentialsSecret": "mlflow-team"}
LITERAL_INPUTS: dict[str, dict[str, Any]] = {
    "GpuNodePool": {
        "pool": {"name": "vision", "instanceTypes": ["g6.xlarge"], "maxSize": 2},
        "clusterName": "shared-eks",
        "nodeRoleArn": "arn:aws:iam::123456789012:role/node",
        "subnetIds": ["subnet-0a", "subnet-0b"],
    },
    "ArtifactStore": {"tags": {"owner": "team"}},
    "MlflowTracking": {
        "namespace": "team",
        "image": "r/mlflow:1",
        "backendUrl": "postgresql://u:p@db/mlflow",
        "authUrl": "postgresql://u:p@db/auth",
        "artifactStore": STORE,
        "identity": POD_IDENTITY,
    },
    "FeatureStore": {
        "namespace": "team",
        "image": "r/features:1",
        "registryUrl": "postgresql://u:p@db/feast",
        "artifactStore": STORE,
        "identity": POD_IDENTITY,
    },
    "ModelServing": {},
    "ModelEndpoint": {
        "endpoint": {"name": "fraud", "model": "fraud-classifier"},
        "namespace": "team",
        "image": "r/serving:1",
        "mlflow": MLFLOW_CLIENT,
        "servingMode": "Standard",
        "monitorUrl": "http://monitor.team.svc.cluster.local:8080",
    },
    "DriftMonitor": {
        "namespace": "team",
        "image": "r/monitor:1",
        "model": "fraud-classifier",
        "mlflow": MLFLOW_CLIENT,
        "retraining": {
            "jobTemplateConfigmap": "training-job-template",
            "serviceAccount": "training",
            "image": "r/training:1",
            "secrets": ["mlflow-training"],
            "configMaps": ["training-config"],
        },
    },
    "TrainingPipeline": {
        "namespace": "team",
        "image": "r/training:1",
        "mlflow": MLFLOW_CLIENT,
        "artifactStore": STORE,
        "identity": POD_IDENTITY,
        "settings": {"model": "fraud"},
    },
    "MlPlatform": {
        "stack": "dev",
        "region": "us-east-1",
        "config": {
            "environment": "dev",
            "tags": {"owner": "ml-platform", "costCenter": "ml-dev-0001"},
            "network": {"vpcCidr": "10.20.0.0/16", "availabilityZones": ["us-east-1a", "us-east-1b"]},
            "cluster": {"endpointPublicAccess": False},
            "images": {"registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops", "tag": "0.1.0"},
        },
    },
}
"""A valid set of inputs for each component, as a stack in another language would write them."""


def _schema_type(ref: str) -> dict[str, Any]:
    return json.loads(package.SCHEMA.read_text())["types"][ref.removeprefix("#/types/")]


def wrapped(properties: dict[str, Any], values: dict[str, Any], wrap: Any) -> dict[str, Any]:
    """`values` with every input the schema does not mark plain passed through `wrap` (an Output), also
    inside plain objects (an artifact store's bucket names, MLflow's URL and credentials Secret)."""
    out = {}
    for key, value in values.items():
        spec = properties[key]
        if not spec.get("plain"):
            out[key] = wrap(value)
        elif "$ref" in spec and isinstance(value, dict) and "properties" in _schema_type(spec["$ref"]):
            out[key] = wrapped(_schema_type(spec["$ref"])["properties"], value, wrap)
        else:
            out[key] = value
    return out


def construct_with(type_name: str, wrap_kind: str) -> Any:
    import asyncio

    import pulumi

    schema = json.loads(package.SCHEMA.read_text())
    properties = schema["resources"][f"mlops:index:{type_name}"]["inputProperties"]

    def known(value: Any) -> Any:
        return pulumi.Output.from_input(value)

    def unknown(value: Any) -> Any:  # as in a first preview: a value no resource has produced yet
        loop = asyncio.get_event_loop()
        result, is_known = loop.create_future(), loop.create_future()
        result.set_result(value)
        is_known.set_result(False)
        return pulumi.Output(set(), result, is_known)

    results: dict[str, Any] = {}

    def program() -> None:
        inputs = wrapped(properties, LITERAL_INPUTS[type_name], known if wrap_kind == "outputs" else unknown)
        provider = ComponentProvider(list(COMPONENTS), "mlops", version="0.1.0")
        results["construct"] = provider.construct("c", f"mlops:index:{type_name}", inputs, None)

    graph = run_program(program, config={}, project="consumer", stack="test")
    return graph, results["construct"]


def test_the_six_wiring_inputs_take_outputs() -> None:
    """The inputs documented as another component's output are Inputs in the schema, not plain."""
    schema = json.loads(package.SCHEMA.read_text())
    endpoint = schema["resources"]["mlops:index:ModelEndpoint"]["inputProperties"]
    # a string: Pulumi's Python provider converts an enum input with ServingMode(value), which an output fails
    assert not endpoint["servingMode"].get("plain") and endpoint["servingMode"]["type"] == "string"
    assert not schema["types"]["mlops:index:MlflowClient"]["properties"]["credentialsSecret"].get("plain")
    retraining = schema["types"]["mlops:index:RetrainingJobs"]["properties"]
    for key in ("jobTemplateConfigmap", "serviceAccount", "secrets", "configMaps", "image"):
        assert not retraining[key].get("plain"), key


@pytest.mark.parametrize("wrap_kind", ["outputs", "unknown"])
@pytest.mark.parametrize("type_name", sorted(LITERAL_INPUTS))
def test_every_component_constructs_with_its_inputs_as_outputs_and_unknown(type_name: str, wrap_kind: str) -> None:
    graph, result = construct_with(type_name, wrap_kind)
    assert result.urn, type_name
    declared = [r for r in graph if r.parent and r.type != f"mlops:index:{type_name}"]
    assert declared, f"{type_name} declared nothing under {wrap_kind} inputs"


def test_outputs_reach_the_resources_they_configure() -> None:
    graph, _ = construct_with("DriftMonitor", "outputs")
    policy = graph.one("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy")
    messages = [v["message"] for v in policy.get("spec.validations")]
    assert "retraining Jobs run as the training service account" in messages
    assert "retraining Jobs read the Secrets mlflow-training only" in messages
    graph, _ = construct_with("ModelEndpoint", "outputs")
    isvc = graph.one("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    assert isvc.get("metadata.annotations")["serving.kserve.io/deploymentMode"] == "Standard"
    assert isvc.get("spec.predictor.containers")[0]["envFrom"] == [{"secretRef": {"name": "mlflow-team"}}]


def test_a_serving_mode_output_is_still_checked_when_it_resolves() -> None:
    import pulumi

    inputs = {**LITERAL_INPUTS["ModelEndpoint"], "endpoint": {"name": "f", "model": "m", "canaryTrafficPercent": 10}}

    def program() -> None:
        provider = ComponentProvider(list(COMPONENTS), "mlops", version="0.1.0")
        provider.construct(
            "c", "mlops:index:ModelEndpoint", {**inputs, "servingMode": pulumi.Output.from_input("Standard")}, None
        )

    with pytest.raises(ProgramFailed) as failed:
        run_program(program, config={}, project="consumer", stack="test")
    assert "canary" in str(failed.value).lower()


# --------------------------------------------------------------------------- names the generators produce
# pulumi/pulumi, read at commit 35cb711dec94: pkg/cmd/pulumi/packages/packages.go (getNodeJSPkgName: the
# nodejs packageName, else "@<namespace>/<name>", else "@pulumi/<name>"; setSpecNamespace: a git
# source's owner when the schema sets none; `pulumi package add` writes sdks/<namespace>-<name>) and
# pkg/codegen/python/gen.go (PyPack: "<namespace>_<name>" with - as _, "pulumi_<name>" without one).
# Go and TypeScript name a resource's inputs <Resource>Args and an object type's input shape <Type>Args.


def node_package(schema: dict[str, Any]) -> str:
    explicit = schema.get("language", {}).get("nodejs", {}).get("packageName")
    if explicit:
        return str(explicit)
    return f"@{schema['namespace']}/{schema['name']}" if schema.get("namespace") else f"@pulumi/{schema['name']}"


def python_package(schema: dict[str, Any]) -> str:
    return f"{(schema.get('namespace') or 'pulumi').replace('-', '_')}_{schema['name'].replace('-', '_')}"


def test_readme_snippets_use_the_names_the_generators_produce() -> None:
    import re

    schema = json.loads(package.SCHEMA.read_text())
    assert schema["namespace"] == "mlops-platform", "set, so a git source's owner does not rename the SDKs"
    assert (node_package(schema), python_package(schema)) == ("@mlops-platform/mlops", "mlops_platform_mlops")
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use the components from TypeScript, Go or YAML", 1)[1].split("\n## ", 1)[0]
    typescript = section.split("```typescript\n", 1)[1].split("```", 1)[0]
    go = section.split("```go\n", 1)[1].split("```", 1)[0]
    assert f'import * as mlops from "{node_package(schema)}";' in typescript
    assert f"sdks/{schema['namespace']}-{schema['name']}" in section
    resources = {token.rsplit(":", 1)[1] for token in schema["resources"]}
    types = {token.rsplit(":", 1)[1] for token in schema["types"]}
    for used in re.findall(r"new mlops\.(\w+)\(", typescript):
        assert used in resources, used
    for used in re.findall(r"mlops\.New(\w+)\(", go):
        assert used in resources, used
    for used in re.findall(r"mlops\.(\w+)Args\{", go):
        assert used in resources | types, f"{used}Args names no resource or type of the schema"
    assert "GpuPoolSettingsArgs{" in go, "a plain object input binds to its ...Args shape in Go"


def test_the_readme_yaml_wiring_example_names_real_outputs_and_inputs() -> None:
    """Every `${resource.output}` names an output of that resource's type, every property an input."""
    import re

    schema = json.loads(package.SCHEMA.read_text())
    section = (ROOT / "README.md").read_text().split("## Use the components from TypeScript, Go or YAML", 1)[1]
    blocks = [b.split("```", 1)[0] for b in section.split("```yaml\n")[1:]]
    program = next(yaml.safe_load(b) for b in blocks if "${store." in b)
    types = {name: r["type"].replace("mlops:", "mlops:index:") for name, r in program["resources"].items()}
    for name, resource in program["resources"].items():
        spec = schema["resources"][types[name]]
        assert set(resource["properties"]) <= set(spec["inputProperties"]), name
        text = json.dumps(resource["properties"])
        for ref, output in re.findall(r"\$\{(\w+)\.(\w+)\}", text):
            assert output in schema["resources"][types[ref]]["properties"], f"{ref}.{output}"
    training = program["resources"]["training"]["properties"]
    assert set(training["artifactStore"]) == set(schema["types"]["mlops:index:StoreRef"]["properties"])
    for ref, output in re.findall(r"\$\{(\w+)\.(\w+)\}", json.dumps(program["outputs"])):
        assert output in schema["resources"][types[ref]]["properties"], f"{ref}.{output}"


def test_every_plain_input_says_why_it_is_plain() -> None:
    """An input is plain only where it decides which resources exist or is checked before any is
    declared - and then the schema says so; the rest take outputs."""
    schema = json.loads(package.SCHEMA.read_text())
    unexplained = [
        f"{token}.{name}"
        for token, resource in schema["resources"].items()
        for name, spec in resource["inputProperties"].items()
        if spec.get("plain")
        and not ("Plain:" in spec["description"] or "A plain object; its fields take outputs" in spec["description"])
    ]
    assert unexplained == []
