"""vLLM's ServingRuntime on a release tag: a tag can be moved under a server that pulls tens of GB."""

import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource(
    "vllm-runtime",
    api_version="serving.kserve.io/v1alpha1",
    kind="ServingRuntime",
    metadata={"name": "vllm", "namespace": "models"},
    spec={
        "supportedModelFormats": [{"name": "vllm"}],
        "containers": [
            {
                "name": "kserve-container",
                "image": "vllm/vllm-openai:v0.30.0",
                "args": ["--model=/mnt/models"],
                "resources": {"requests": {"cpu": "4", "memory": "32Gi"}, "limits": {"cpu": "8", "memory": "32Gi"}},
                "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
            }
        ],
    },
)
