"""The aws-auth ConfigMap mapping a role to system:masters."""

import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap(
    "aws-auth",
    metadata={"name": "aws-auth", "namespace": "kube-system"},
    data={"mapRoles": "- rolearn: arn:aws:iam::123456789012:role/ci\n  username: ci\n  groups: [system:masters]\n"},
)
