"""A role dressed as a controller's - it writes a custom resource's status - to create pods where Secrets
live: bound to a service account a Deployment runs as (but no CustomResourceDefinition of the stack
defines widgets), to one no workload runs as, and to a user."""

import pulumi_kubernetes as k8s

k8s.core.v1.Secret("api-key", metadata={"name": "api-key", "namespace": "models"}, string_data={"key": "x"})
k8s.rbac.v1.ClusterRole(
    "widget-manager",
    metadata={"name": "widget-manager"},
    rules=[
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]},
        {"apiGroups": ["widgets.example.com"], "resources": ["widgets/status"], "verbs": ["update", "patch"]},
    ],
)
k8s.rbac.v1.ClusterRoleBinding(
    "widget-manager",
    metadata={"name": "widget-manager"},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "widget-manager"},
    subjects=[
        {"kind": "ServiceAccount", "name": "widget-manager", "namespace": "models"},
        {"kind": "ServiceAccount", "name": "idle", "namespace": "models"},
        {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"},
    ],
)
k8s.apps.v1.Deployment(
    "widget-manager",
    metadata={"name": "widget-manager", "namespace": "models"},
    spec={
        "selector": {"matchLabels": {"app": "widget-manager"}},
        "template": {
            "metadata": {"labels": {"app": "widget-manager"}},
            "spec": {
                "serviceAccountName": "widget-manager",
                "containers": [{"name": "manager", "image": "registry.example.com/manager:1.0.0"}],
            },
        },
    },
)
