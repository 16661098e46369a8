"""The hub token passed to vLLM as an argument, readable by whoever can read the runtime."""

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
                "image": "vllm/vllm-openai@sha256:58fdb6bb123a81aa53f46fa4652ad8cc87e817bd1077c9832c6258ef12c1c688",
                "args": [
                    "--model=meta-llama/Llama-3.1-8B-Instruct",
                    "--hf-token",
                    "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
                ],
                "resources": {"requests": {"cpu": "4", "memory": "32Gi"}, "limits": {"cpu": "8", "memory": "32Gi"}},
                "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
            }
        ],
    },
)
