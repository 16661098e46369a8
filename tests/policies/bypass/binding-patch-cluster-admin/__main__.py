"""A patch turning an existing, harmless ClusterRoleBinding into one to cluster-admin."""

import pulumi_kubernetes as k8s

k8s.rbac.v1.ClusterRoleBindingPatch(
    "view-binding",
    metadata={"name": "monitoring-view"},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
)
