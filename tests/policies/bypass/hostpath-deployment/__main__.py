"""A Deployment mounting the node's root filesystem."""

import pulumi_kubernetes as k8s

k8s.apps.v1.Deployment(
    "reader",
    metadata={"name": "reader", "namespace": "mlops"},
    spec={
        "selector": {"matchLabels": {"app": "r"}},
        "template": {
            "metadata": {"labels": {"app": "r"}},
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "registry.example.com/app:1.0.0",
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "64Mi"},
                            "limits": {"cpu": "200m", "memory": "64Mi"},
                        },
                        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                        "readinessProbe": {"tcpSocket": {"port": 8080}},
                        "livenessProbe": {"tcpSocket": {"port": 8080}},
                    }
                ],
                "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
            },
        },
    },
)
