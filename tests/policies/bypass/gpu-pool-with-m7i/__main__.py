"""A GPU pool with a CPU type slipped in (through code, past the config)."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.eks.NodeGroup(
    "gpu-mixed",
    cluster_name="c",
    node_role_arn="arn:aws:iam::123456789012:role/node",
    subnet_ids=["subnet-1"],
    instance_types=["g5.xlarge", "m7i.large"],
    ami_type="AL2023_x86_64_NVIDIA",
    scaling_config={"min_size": 0, "max_size": 1, "desired_size": 0},
    taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
    launch_template={"name": "gpu-lt", "version": "1"},
    tags=TAGS,
)
aws.ec2.LaunchTemplate("gpu-lt", name="gpu-lt", metadata_options={"http_tokens": "required"}, tags=TAGS)
