"""A server-side-apply patch making an existing Deployment privileged and on the host's network."""

import pulumi_kubernetes as k8s

k8s.apps.v1.DeploymentPatch(
    "mlflow-debug",
    metadata={"name": "mlflow", "namespace": "mlops"},
    spec={
        "template": {
            "spec": {"hostNetwork": True, "containers": [{"name": "mlflow", "securityContext": {"privileged": True}}]}
        }
    },
)
