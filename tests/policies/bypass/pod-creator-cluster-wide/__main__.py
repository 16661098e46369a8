"""A ClusterRole creating pods, bound cluster-wide to a user."""

import pulumi_kubernetes as k8s

k8s.core.v1.Secret("api-key", metadata={"name": "api-key", "namespace": "models"}, string_data={"key": "x"})
k8s.rbac.v1.ClusterRole(
    "pod-maker", metadata={"name": "pod-maker"}, rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]
)
k8s.rbac.v1.ClusterRoleBinding(
    "pod-maker",
    metadata={"name": "pod-maker"},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pod-maker"},
    subjects=[{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}],
)
