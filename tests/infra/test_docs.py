"""The README tells the truth: its reuse example runs, its config reference and metrics contract match the code."""

from __future__ import annotations

import re

import pytest

from components.testing import run_program
from offline.readme import SECTIONS, documented, section
from tests.infra.conftest import ROOT

README = (ROOT / "README.md").read_text()


def reuse_example() -> str:
    block = README.split("<!-- reuse-example:start -->")[1].split("<!-- reuse-example:end -->")[0]
    match = re.search(r"```python\n(.*?)```", block, re.S)
    assert match, "README lost its reuse example"
    return match.group(1)


def test_the_readme_reuse_example_runs_and_builds_what_it_says() -> None:
    code = compile(reuse_example(), "README.md:reuse-example", "exec")
    graph = run_program(
        lambda: exec(code, {"__name__": "__main__"}),
        project="team-vision",
        config={
            "team-vision:clusterName": "shared-eks",
            "team-vision:nodeRoleArn": "arn:aws:iam::123456789012:role/shared-eks-node",
            "team-vision:privateSubnetIds": ["subnet-0a", "subnet-0b"],
            "team-vision:oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X",
            "team-vision:oidcIssuerUrl": "https://oidc.eks.us-east-1.amazonaws.com/id/X",
        },
    )
    pool = graph.one("aws:eks/nodeGroup:NodeGroup", "vision-l4")
    assert pool.get("clusterName") == "shared-eks" and pool.get("capacityType") == "SPOT"
    assert len(graph.of_type("aws:s3/bucket:Bucket")) == 3
    policy = graph.one("aws:iam/rolePolicy:RolePolicy", "vision-trainer").get("policy")
    assert "mlops" not in policy and "/datasets/*" in policy and "/vision/*" in policy
    assert graph.outputs["gpuNodeGroup"] == "vision-l4"


def test_the_irsa_grants_are_least_privilege() -> None:
    import json

    code = compile(reuse_example(), "README.md:reuse-example", "exec")
    graph = run_program(
        lambda: exec(code, {"__name__": "__main__"}),
        project="team-vision",
        config={
            "team-vision:clusterName": "c",
            "team-vision:nodeRoleArn": "arn:aws:iam::123456789012:role/n",
            "team-vision:privateSubnetIds": ["subnet-0a", "subnet-0b"],
            "team-vision:oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/x",
            "team-vision:oidcIssuerUrl": "https://x",
        },
    )
    statements = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "vision-trainer").get("policy"))["Statement"]
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
    (trust,) = json.loads(graph.one("aws:iam/role:Role", "vision-trainer").get("assumeRolePolicy"))["Statement"]
    assert trust["Condition"]["StringEquals"] == {
        "x:sub": "system:serviceaccount:vision:trainer",
        "x:aud": "sts.amazonaws.com",
    }


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_the_generated_readme_sections_match_the_code(name: str) -> None:
    assert documented(README, name), f"README lost its {name} section"
    assert documented(README, name) == section(name), "run `python -m offline.readme --write`"
