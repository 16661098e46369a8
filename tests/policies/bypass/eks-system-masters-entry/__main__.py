"""An access entry putting a role in system:masters."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.eks.AccessEntry(
    "ci-masters",
    cluster_name="c",
    principal_arn="arn:aws:iam::123456789012:role/ci",
    kubernetes_groups=["system:masters"],
    tags=TAGS,
)
