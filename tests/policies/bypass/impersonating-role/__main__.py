"""A role that may impersonate others."""

import pulumi_kubernetes as k8s

k8s.rbac.v1.Role(
    "sudo",
    metadata={"name": "sudo", "namespace": "mlops"},
    rules=[{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]}],
)
