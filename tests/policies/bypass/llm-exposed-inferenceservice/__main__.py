"""An LLM endpoint published by KServe's gateway: labelled exposed, or simply not labelled cluster-local."""

import pulumi_kubernetes as k8s

digest = "vllm/vllm-openai@sha256:58fdb6bb123a81aa53f46fa4652ad8cc87e817bd1077c9832c6258ef12c1c688"
resources = {"requests": {"cpu": "4", "memory": "32Gi"}, "limits": {"cpu": "8", "memory": "32Gi"}}
for name, labels in (("exposed", {"networking.kserve.io/visibility": "exposed"}), ("unlabelled", {})):
    k8s.apiextensions.CustomResource(
        f"{name}-isvc",
        api_version="serving.kserve.io/v1beta1",
        kind="InferenceService",
        metadata={"name": name, "namespace": "models", "labels": labels},
        spec={
            "predictor": {
                "minReplicas": 1,
                "model": {"modelFormat": {"name": "vllm"}, "image": digest, "resources": resources},
            }
        },
    )
