"""Credentials in plain env: by name, and by value under an innocent name."""

import pulumi_kubernetes as k8s

spec = {
    "containers": [
        {
            "name": "app",
            "image": "registry.example.com/app:1.0.0",
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}},
            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
            "readinessProbe": {"tcpSocket": {"port": 8080}},
            "livenessProbe": {"tcpSocket": {"port": 8080}},
        }
    ],
}
spec["containers"][0]["env"] = [
    {"name": "DB_PASSWORD", "value": "hunter2hunter2"},
    {"name": "DATABASE_URL", "value": "postgresql://mlflow:s3cr3t@db:5432/mlflow"},
]
spec["containers"][0]["args"] = ["--backend-store-uri", "postgresql://admin:hunter2@db/mlflow"]
k8s.apps.v1.Deployment(
    "leaky",
    metadata={"name": "leaky", "namespace": "mlops"},
    spec={"selector": {"matchLabels": {"app": "l"}}, "template": {"metadata": {"labels": {"app": "l"}}, "spec": spec}},
)
