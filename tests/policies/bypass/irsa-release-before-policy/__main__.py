"""IRSA through a chart's own service account: the values name the role (so the release waits for the
role), but nothing waits for the role's policy - the controller's first pods run with a role that may
do nothing yet."""

import json

import pulumi_aws as aws
import pulumi_kubernetes as k8s

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
trust = {
    "Effect": "Allow",
    "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {
        "StringEquals": {
            f"{ISSUER}:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    },
}
role = aws.iam.Role(
    "autoscaler", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [trust]}), tags=TAGS
)
aws.iam.RolePolicy(
    "autoscaler",
    role=role.id,
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "autoscaling:Describe*", "Resource": "*"}],
        }
    ),
)
k8s.helm.v3.Release(
    "cluster-autoscaler",
    chart="cluster-autoscaler",
    version="9.47.0",
    repository_opts={"repo": "https://kubernetes.github.io/autoscaler"},
    namespace="kube-system",
    values={
        "rbac": {
            "serviceAccount": {
                "create": True,
                "name": "cluster-autoscaler",
                "annotations": {"eks.amazonaws.com/role-arn": role.arn},
            }
        }
    },
)
