"""The built-in admin role, bound in one namespace."""

import pulumi_kubernetes as k8s

k8s.rbac.v1.RoleBinding(
    "team-admin",
    metadata={"name": "team-admin", "namespace": "mlops"},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
    subjects=[{"kind": "Group", "name": "data-scientists", "apiGroup": "rbac.authorization.k8s.io"}],
)
