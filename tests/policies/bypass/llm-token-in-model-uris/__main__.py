"""Credentials written into where the model is fetched from: a storage URI with a password, and a
model cache's source carrying the hub token."""

import pulumi_kubernetes as k8s

digest = "vllm/vllm-openai@sha256:58fdb6bb123a81aa53f46fa4652ad8cc87e817bd1077c9832c6258ef12c1c688"
resources = {"requests": {"cpu": "4", "memory": "32Gi"}, "limits": {"cpu": "8", "memory": "32Gi"}}
k8s.apiextensions.CustomResource(
    "uri-isvc",
    api_version="serving.kserve.io/v1beta1",
    kind="InferenceService",
    metadata={"name": "uri", "namespace": "models", "labels": {"networking.kserve.io/visibility": "cluster-local"}},
    spec={
        "predictor": {
            "minReplicas": 1,
            "model": {
                "modelFormat": {"name": "vllm"},
                "image": digest,
                "storageUri": "https://oauth:s3cr3tpass@models.example.com/llama.tar",
                "resources": resources,
            },
        }
    },
)
k8s.apiextensions.CustomResource(
    "cache",
    api_version="serving.kserve.io/v1alpha1",
    kind="LocalModelCache",
    metadata={"name": "llama"},
    spec={
        "sourceModelUri": "hf://meta-llama/Llama-3.1-8B-Instruct?token=hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "modelSize": "16Gi",
        "nodeGroups": ["a10g"],
    },
)
