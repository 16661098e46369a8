"""LLM endpoints pinned to no pool (any GPU node will do): each within reason, together beyond the
stack's GPU budget (prod's default 16)."""

import pulumi_kubernetes as k8s

digest = "vllm/vllm-openai@sha256:58fdb6bb123a81aa53f46fa4652ad8cc87e817bd1077c9832c6258ef12c1c688"
for name in ("chat", "code", "summarise"):
    k8s.apiextensions.CustomResource(
        name,
        api_version="serving.kserve.io/v1beta1",
        kind="InferenceService",
        metadata={"name": name, "namespace": "models", "labels": {"networking.kserve.io/visibility": "cluster-local"}},
        spec={
            "predictor": {
                "minReplicas": 1,
                "maxReplicas": 8,
                "nodeSelector": {"accelerator": "nvidia"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "model": {
                    "modelFormat": {"name": "vllm"},
                    "image": digest,
                    "resources": {
                        "requests": {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "1"},
                        "limits": {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "1"},
                    },
                },
            }
        },
    )
