"""A "general purpose" Karpenter NodePool: no instance-type list and no GPU limit, so a pod asking for
GPUs gets whatever GPU instance Karpenter finds (a p5.48xlarge holds 8 H100s) - and no taint either."""

import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource(
    "general",
    api_version="karpenter.sh/v1",
    kind="NodePool",
    metadata={"name": "general"},
    spec={
        "template": {
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}],
            }
        },
        "limits": {"cpu": "1000"},
    },
)
