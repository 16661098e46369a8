"""A Role that may not create pods or workloads - only InferenceServices, whose containers KServe runs as
written: a pod of the creator's choosing, mounting the namespace's Secrets."""

import pulumi_kubernetes as k8s

k8s.core.v1.Secret("api-key", metadata={"name": "api-key", "namespace": "models"}, string_data={"key": "x"})
k8s.rbac.v1.Role(
    "deployer",
    metadata={"name": "deployer", "namespace": "models"},
    rules=[{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["create", "get"]}],
)
k8s.rbac.v1.RoleBinding(
    "deployer",
    metadata={"name": "deployer", "namespace": "models"},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
    subjects=[{"kind": "ServiceAccount", "name": "ci", "namespace": "models"}],
)
