"""A CronJob sharing the node's IPC namespace."""

import pulumi_kubernetes as k8s

k8s.batch.v1.CronJob(
    "ipc",
    metadata={"name": "ipc", "namespace": "mlops"},
    spec={
        "schedule": "0 * * * *",
        "jobTemplate": {
            "spec": {
                "template": {
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
                        "hostIPC": True,
                        "restartPolicy": "Never",
                    }
                }
            }
        },
    },
)
