"""A namespace enforcing the privileged Pod Security Standard."""

import pulumi_kubernetes as k8s

k8s.core.v1.Namespace(
    "tools", metadata={"name": "tools", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}
)
