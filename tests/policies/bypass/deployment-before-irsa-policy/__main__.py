"""IRSA: the Deployment waits for its service account, and the service account names the role - but
nothing waits for the role's policy, so the first pods can run with a role that may do nothing."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
trust = {
    "Effect": "Allow",
    "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {
        "StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:team:reader", f"{ISSUER}:aud": "sts.amazonaws.com"}
    },
}
role = aws.iam.Role("reader", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [trust]}), tags=TAGS)
aws.iam.RolePolicyAttachment("reader-s3", role=role.name, policy_arn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
account = k8s.core.v1.ServiceAccount(
    "reader",
    metadata={"name": "reader", "namespace": "team", "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
)
k8s.apps.v1.Deployment(
    "reader",
    metadata={"name": "reader", "namespace": "team"},
    spec={
        "selector": {"matchLabels": {"app": "reader"}},
        "template": {
            "metadata": {"labels": {"app": "reader"}},
            "spec": {"serviceAccountName": "reader", "containers": [{"name": "reader", "image": "reader:1.0"}]},
        },
    },
    opts=pulumi.ResourceOptions(depends_on=[account]),
)
