"""LLM replicas that outgrow their GPU pool: three replicas of two GPUs pinned to a pool of four, and
a GPU endpoint with no maxReplicas at all."""

import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource(
    "a10g",
    api_version="karpenter.sh/v1",
    kind="NodePool",
    metadata={"name": "a10g"},
    spec={
        "template": {
            "metadata": {"labels": {"mlops.platform/gpu-pool": "a10g"}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "a10g"},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.12xlarge"]},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                ],
                "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
            },
        },
        "limits": {"nvidia.com/gpu": "4"},
    },
)
digest = "vllm/vllm-openai@sha256:58fdb6bb123a81aa53f46fa4652ad8cc87e817bd1077c9832c6258ef12c1c688"
for name, replicas in (("big", 3), ("unbounded", None)):
    predictor = {
        "minReplicas": 1,
        "nodeSelector": {"mlops.platform/gpu-pool": "a10g"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "model": {
            "modelFormat": {"name": "vllm"},
            "image": digest,
            "resources": {
                "requests": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "2"},
                "limits": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "2"},
            },
        },
    }
    if replicas is not None:
        predictor["maxReplicas"] = replicas
    k8s.apiextensions.CustomResource(
        name,
        api_version="serving.kserve.io/v1beta1",
        kind="InferenceService",
        metadata={"name": name, "namespace": "models", "labels": {"networking.kserve.io/visibility": "cluster-local"}},
        spec={"predictor": predictor},
    )
