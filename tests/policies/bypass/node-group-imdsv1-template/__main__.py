"""A node group launched from a template that allows IMDSv1."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

template = aws.ec2.LaunchTemplate("loose", metadata_options={"http_tokens": "optional"}, tags=TAGS)
aws.eks.NodeGroup(
    "loose-nodes",
    cluster_name="c",
    node_role_arn="arn:aws:iam::123456789012:role/node",
    subnet_ids=["subnet-1"],
    instance_types=["m7i.large"],
    scaling_config={"min_size": 1, "max_size": 2, "desired_size": 1},
    launch_template={"id": template.id, "version": "$Latest"},
    tags=TAGS,
)
