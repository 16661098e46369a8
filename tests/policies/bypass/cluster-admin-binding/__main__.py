"""A ClusterRoleBinding to cluster-admin."""

import pulumi_kubernetes as k8s

k8s.rbac.v1.ClusterRoleBinding(
    "ci-admin",
    metadata={"name": "ci-admin"},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
    subjects=[{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}],
)
