"""A Job running as uid 0 (runAsNonRoot left out)."""

import pulumi_kubernetes as k8s

k8s.batch.v1.Job(
    "migrate",
    metadata={"name": "migrate", "namespace": "mlops"},
    spec={
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "migrate",
                        "image": "registry.example.com/migrate:1.0.0",
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "64Mi"},
                            "limits": {"cpu": "200m", "memory": "64Mi"},
                        },
                        "securityContext": {"runAsUser": 0, "allowPrivilegeEscalation": False},
                    }
                ],
            }
        }
    },
)
