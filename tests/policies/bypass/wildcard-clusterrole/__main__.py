"""A home-made cluster-admin: every verb on every resource."""

import pulumi_kubernetes as k8s

k8s.rbac.v1.ClusterRole(
    "everything", metadata={"name": "everything"}, rules=[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
)
