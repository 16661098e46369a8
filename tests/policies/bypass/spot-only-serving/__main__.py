"""Prod GPU serving on spot only: one InferenceService pinned to a spot NodePool, another asking for a
GPU with no pool selector (it can land on the spot pool too). The config refuses this; code can try."""

import pulumi_kubernetes as k8s


def pool(name: str, capacity: list[str]) -> None:
    k8s.apiextensions.CustomResource(
        name,
        api_version="karpenter.sh/v1",
        kind="NodePool",
        metadata={"name": name},
        spec={
            "template": {
                "metadata": {"labels": {"mlops.platform/gpu-pool": name}},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
                    "requirements": [
                        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.xlarge"]},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": capacity},
                    ],
                    "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
                },
            },
            "limits": {"nvidia.com/gpu": "2"},
        },
    )


def endpoint(name: str, selector: dict[str, str]) -> None:
    k8s.apiextensions.CustomResource(
        name,
        api_version="serving.kserve.io/v1beta1",
        kind="InferenceService",
        metadata={"name": name, "namespace": "models"},
        spec={
            "predictor": {
                "minReplicas": 2,
                "nodeSelector": selector,
                "containers": [
                    {"name": "kserve-container", "image": "r/i:1", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
                ],
            }
        },
    )


pool("cheap", ["spot"])
pool("steady", ["on-demand"])
endpoint("pinned-to-spot", {"mlops.platform/gpu-pool": "cheap"})
endpoint("anywhere", {"accelerator": "nvidia"})
endpoint("pinned-to-on-demand", {"mlops.platform/gpu-pool": "steady"})
