"""A bare Pod adding SYS_ADMIN."""

import pulumi_kubernetes as k8s

k8s.core.v1.Pod(
    "debug",
    metadata={"name": "debug", "namespace": "mlops"},
    spec={
        "containers": [
            {
                "name": "app",
                "image": "registry.example.com/app:1.0.0",
                "resources": {
                    "requests": {"cpu": "100m", "memory": "64Mi"},
                    "limits": {"cpu": "200m", "memory": "64Mi"},
                },
                "securityContext": {
                    "runAsNonRoot": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"add": ["SYS_ADMIN"]},
                },
                "readinessProbe": {"tcpSocket": {"port": 8080}},
                "livenessProbe": {"tcpSocket": {"port": 8080}},
            }
        ],
    },
)
