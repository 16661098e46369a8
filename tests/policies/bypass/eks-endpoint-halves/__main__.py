"""The EKS public endpoint open to the internet in two halves."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.eks.Cluster(
    "cluster",
    role_arn="arn:aws:iam::123456789012:role/eks",
    vpc_config={
        "subnet_ids": ["subnet-1"],
        "endpoint_public_access": True,
        "public_access_cidrs": ["0.0.0.0/1", "128.0.0.0/1"],
    },
    tags=TAGS,
)
