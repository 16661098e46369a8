"""A DaemonSet on the node's network and PID namespace."""

import pulumi_kubernetes as k8s

k8s.apps.v1.DaemonSet(
    "sniffer",
    metadata={"name": "sniffer", "namespace": "mlops"},
    spec={
        "selector": {"matchLabels": {"app": "s"}},
        "template": {
            "metadata": {"labels": {"app": "s"}},
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
                "hostNetwork": True,
                "hostPID": True,
            },
        },
    },
)
