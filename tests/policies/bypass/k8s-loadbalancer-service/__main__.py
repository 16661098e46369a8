"""A LoadBalancer Service: AWS makes it internet-facing unless told otherwise."""

import pulumi_kubernetes as k8s

k8s.core.v1.Service(
    "mlflow-public",
    metadata={"name": "mlflow-public", "namespace": "mlops"},
    spec={"type": "LoadBalancer", "selector": {"app": "mlflow"}, "ports": [{"port": 80, "targetPort": 5000}]},
)
