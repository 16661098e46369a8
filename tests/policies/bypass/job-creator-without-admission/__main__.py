"""A service account that may create Jobs where Secrets live, with nothing limiting them."""

import pulumi_kubernetes as k8s

k8s.core.v1.Secret("db", metadata={"name": "db", "namespace": "mlops"}, string_data={"password": "x"})
k8s.rbac.v1.Role(
    "runner",
    metadata={"name": "runner", "namespace": "mlops"},
    rules=[{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]}],
)
k8s.rbac.v1.RoleBinding(
    "runner",
    metadata={"name": "runner", "namespace": "mlops"},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "runner"},
    subjects=[{"kind": "ServiceAccount", "name": "runner", "namespace": "mlops"}],
)
