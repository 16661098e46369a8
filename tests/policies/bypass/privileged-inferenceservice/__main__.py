"""A privileged predictor: the risk written in a KServe resource."""

import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource(
    "gpu-isvc",
    api_version="serving.kserve.io/v1beta1",
    kind="InferenceService",
    metadata={"name": "gpu-isvc", "namespace": "models"},
    spec={
        "predictor": {
            "minReplicas": 1,
            "containers": [
                {
                    "name": "kserve-container",
                    "image": "registry.example.com/serving:1.0.0",
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                    "securityContext": {"privileged": True, "runAsNonRoot": True, "allowPrivilegeEscalation": False},
                }
            ],
        }
    },
)
