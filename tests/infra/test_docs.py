"""The README tells the truth: its reuse example runs, its config reference and metrics contract match the code."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from components.testing import Graph, run_program
from offline.readme import SECTIONS, documented, section
from tests.infra.conftest import ROOT

README = (ROOT / "README.md").read_text()


def reuse_example(marker: str = "reuse-example") -> str:
    block = README.split(f"<!-- {marker}:start -->")[1].split(f"<!-- {marker}:end -->")[0]
    match = re.search(r"```python\n(.*?)```", block, re.S)
    assert match, f"README lost its {marker}"
    return match.group(1)


def run_example(marker: str, project: str, config: dict[str, Any], secret_keys: Sequence[str] = ()) -> Graph:
    """Run a README code block exactly as written, as the program of `project`."""
    code = compile(reuse_example(marker), f"README.md:{marker}", "exec")
    return run_program(
        lambda: exec(code, {"__name__": "__main__"}),
        project=project,
        config={f"{project}:{key}": value for key, value in config.items()},
        secret_keys=[f"{project}:{key}" for key in secret_keys],
    )


def test_the_readme_reuse_example_runs_and_builds_what_it_says() -> None:
    graph = run_example(
        "reuse-example",
        "team-vision",
        {
            "clusterName": "shared-eks",
            "nodeRoleArn": "arn:aws:iam::123456789012:role/shared-eks-node",
            "privateSubnetIds": ["subnet-0a", "subnet-0b"],
            "clusterArn": "arn:aws:eks:us-east-1:123456789012:cluster/shared-eks",
        },
    )
    pool = graph.one("aws:eks/nodeGroup:NodeGroup", "vision-l4")
    assert pool.get("clusterName") == "shared-eks" and pool.get("capacityType") == "SPOT"
    assert len(graph.of_type("aws:s3/bucket:Bucket")) == 3
    policy = graph.one("aws:iam/rolePolicy:RolePolicy", "vision-trainer-identity").get("policy")
    assert "mlops" not in policy and "/datasets/*" in policy and "/vision/*" in policy
    association = graph.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "vision-trainer-identity")
    assert (association.get("clusterName"), association.get("namespace"), association.get("serviceAccount")) == (
        "shared-eks",
        "vision",
        "trainer",
    )
    assert graph.outputs["gpuNodeGroup"] == "vision-l4"


def test_the_example_grants_are_least_privilege_and_trusted_by_this_cluster_only() -> None:
    import json

    graph = run_example(
        "reuse-example",
        "team-vision",
        {
            "clusterName": "c",
            "nodeRoleArn": "arn:aws:iam::123456789012:role/n",
            "privateSubnetIds": ["subnet-0a", "subnet-0b"],
            "clusterArn": "arn:aws:eks:us-east-1:123456789012:cluster/c",
        },
    )
    statements = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "vision-trainer-identity").get("policy"))[
        "Statement"
    ]
    objects = {
        s["Resource"]: s["Action"]
        for s in statements
        if s["Action"] != "s3:ListBucket" and "s3:GetObject" in s["Action"]
    }
    assert objects == {
        "arn:aws:s3:::vision-data-0a1b2c3d/datasets/*": ["s3:GetObject", "s3:GetObjectVersion"],
        "arn:aws:s3:::vision-artifacts-0a1b2c3d/vision/*": [
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
        ],
    }
    listing = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert [s["Condition"]["StringLike"]["s3:prefix"] for s in listing] == [
        ["datasets", "datasets/*"],
        ["vision", "vision/*"],
    ]
    (trust,) = json.loads(graph.one("aws:iam/role:Role", "vision-trainer-identity").get("assumeRolePolicy"))[
        "Statement"
    ]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {
            "aws:RequestTag/kubernetes-namespace": "vision",
            "aws:RequestTag/kubernetes-service-account": "trainer",
            "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:123456789012:cluster/c",
        }
    }


def test_the_adopted_cluster_example_runs_with_provider_namespaces_kserve_and_credentials() -> None:
    graph = run_example(
        "reuse-example-adopted",
        "team-fraud",
        {
            "registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops",
            "kubeconfig": "apiVersion: v1\nkind: Config\n",
            "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X",
            "oidcIssuerUrl": "https://oidc.eks.us-east-1.amazonaws.com/id/X",
        },
        secret_keys=["kubeconfig"],
    )
    provider = graph.one("pulumi:providers:kubernetes", "shared-eks")
    for obj in graph.kubernetes_objects():
        assert (obj.options["provider"] or "").startswith(provider.urn), f"{obj.name} is not on the adopted cluster"
    isvc = graph.one("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    assert isvc.get("metadata.name") == "fraud" and isvc.get("metadata.namespace") == "fraud"
    releases = {r.get("name"): r for r in graph.of_type("kubernetes:helm.sh/v3:Release")}
    assert releases["kserve"].urn in isvc.options["dependencies"], "KServe must exist before the endpoint"
    container = isvc.get("spec.predictor.containers.0")
    assert container["envFrom"] == [{"secretRef": {"name": "fraud-mlflow-credentials-serving"}}]
    credentials = [
        r
        for r in graph.of_type("kubernetes:core/v1:Secret")
        if r.get("metadata.name") == "fraud-mlflow-credentials-serving"
    ]
    assert len(credentials) == 1 and credentials[0].get("metadata.namespace") == "fraud"
    assert graph.outputs["endpointUrl"] == "http://fraud-predictor.fraud.svc.cluster.local"


def test_settings_document_every_field_in_help() -> None:
    """`help()` on a settings model lists every setting with its documentation."""
    import pydoc

    from components.cluster.gpu_node_pool import GpuPoolSettings

    text = pydoc.render_doc(GpuPoolSettings, renderer=pydoc.plaintext)
    for name, field in GpuPoolSettings.model_fields.items():
        assert f"{name}: {field.description}" in text, name


@pytest.mark.parametrize(
    "component",
    [
        "data.artifact_store",
        "data.database",
        "services.drift_monitor",
        "cluster.eks_cluster",
        "services.feature_store",
        "cluster.gpu_node_pool",
        "services.mlflow_tracking",
        "services.model_endpoint",
        "services.model_serving",
        "services.monitoring",
        "cluster.network",
        "services.training_pipeline",
    ],
)
def test_every_args_class_documents_every_argument_in_help(component: str) -> None:
    import dataclasses
    import importlib
    import pydoc

    module = importlib.import_module(f"components.{component}")
    args = next(v for k, v in vars(module).items() if k.endswith("Args") and dataclasses.is_dataclass(v))
    text = pydoc.render_doc(args, renderer=pydoc.plaintext)
    for field in dataclasses.fields(args):
        assert f"    {field.name}: " in text, f"{args.__name__}.{field.name} is not documented in help()"


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_the_generated_readme_sections_match_the_code(name: str) -> None:
    assert documented(README, name), f"README lost its {name} section"
    assert documented(README, name) == section(name), "run `python -m offline.readme --write`"
