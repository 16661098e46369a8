"""A node group with no launch template: EKS's default leaves IMDSv1 on."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.eks.NodeGroup(
    "plain",
    cluster_name="c",
    node_role_arn="arn:aws:iam::123456789012:role/node",
    subnet_ids=["subnet-1"],
    instance_types=["m7i.large"],
    scaling_config={"min_size": 1, "max_size": 2, "desired_size": 1},
    tags=TAGS,
)
