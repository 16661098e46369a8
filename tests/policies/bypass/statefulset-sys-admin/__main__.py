"""A StatefulSet whose init container adds SYS_ADMIN (the main container looks clean)."""

import pulumi_kubernetes as k8s

container = {
    "image": "registry.example.com/db:1.0.0",
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}},
    "readinessProbe": {"tcpSocket": {"port": 5432}},
    "livenessProbe": {"tcpSocket": {"port": 5432}},
}
k8s.apps.v1.StatefulSet(
    "store",
    metadata={"name": "store", "namespace": "mlops"},
    spec={
        "serviceName": "store",
        "selector": {"matchLabels": {"app": "store"}},
        "template": {
            "metadata": {"labels": {"app": "store"}},
            "spec": {
                "initContainers": [
                    {
                        **container,
                        "name": "tune-kernel",
                        "securityContext": {
                            "runAsNonRoot": True,
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"add": ["SYS_ADMIN"]},
                        },
                    }
                ],
                "containers": [
                    {
                        **container,
                        "name": "db",
                        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                    }
                ],
            },
        },
    },
)
