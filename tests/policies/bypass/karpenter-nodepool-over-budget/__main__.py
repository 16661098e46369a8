"""A GPU NodePool whose limit is written as a number (the engine sees 64.0) far past the per-pool
budget, on spot-or-on-demand capacity, and a managed node group beside it: the stack total counts both."""

import pulumi_aws as aws
import pulumi_kubernetes as k8s

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

k8s.apiextensions.CustomResource(
    "h100",
    api_version="karpenter.sh/v1",
    kind="NodePool",
    metadata={"name": "h100"},
    spec={
        "template": {
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["p5.48xlarge"]},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]},
                ],
                "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
            }
        },
        "limits": {"nvidia.com/gpu": 64},
    },
)
aws.eks.NodeGroup(
    "a10g",
    cluster_name="c",
    node_role_arn="arn:aws:iam::123456789012:role/node",
    subnet_ids=["subnet-1"],
    instance_types=["g5.xlarge"],
    scaling_config={"min_size": 0, "max_size": 4, "desired_size": 0},
    taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
    launch_template={"name": "gpu-lt", "version": "1"},
    tags=TAGS,
)
aws.ec2.LaunchTemplate("gpu-lt", name="gpu-lt", metadata_options={"http_tokens": "required"}, tags=TAGS)
