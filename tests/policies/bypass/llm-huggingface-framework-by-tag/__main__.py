"""KServe's Hugging Face runtime (vLLM inside) given an image by tag, in the framework field and as a
model of format vllm."""

import pulumi_kubernetes as k8s

resources = {"requests": {"cpu": "4", "memory": "32Gi"}, "limits": {"cpu": "8", "memory": "32Gi"}}
k8s.apiextensions.CustomResource(
    "hf-isvc",
    api_version="serving.kserve.io/v1beta1",
    kind="InferenceService",
    metadata={"name": "hf", "namespace": "models", "labels": {"networking.kserve.io/visibility": "cluster-local"}},
    spec={
        "predictor": {
            "minReplicas": 1,
            "huggingface": {"image": "kserve/huggingfaceserver:v0.20.0", "resources": resources},
        }
    },
)
k8s.apiextensions.CustomResource(
    "model-isvc",
    api_version="serving.kserve.io/v1beta1",
    kind="InferenceService",
    metadata={"name": "model", "namespace": "models", "labels": {"networking.kserve.io/visibility": "cluster-local"}},
    spec={
        "predictor": {
            "minReplicas": 1,
            "model": {"modelFormat": {"name": "vllm"}, "image": "acme/llm:2.0", "resources": resources},
        }
    },
)
