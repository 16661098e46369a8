"""A controller chart installed with nothing tying it to its Pod Identity association or its role's
policy: its pods can start before either exists, get no credentials and exit (an atomic release
rolls back)."""

import json

import pulumi_aws as aws
import pulumi_kubernetes as k8s

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}
CLUSTER_ARN = "arn:aws:eks:us-east-1:123456789012:cluster/prod"
trust = {
    "Effect": "Allow",
    "Principal": {"Service": "pods.eks.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession"],
    "Condition": {
        "StringEquals": {
            "aws:RequestTag/kubernetes-namespace": "kube-system",
            "aws:RequestTag/kubernetes-service-account": "karpenter",
            "aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
        }
    },
}
role = aws.iam.Role(
    "controller", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [trust]}), tags=TAGS
)
policy = aws.iam.RolePolicy(
    "controller",
    role=role.id,
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
        }
    ),
)
aws.eks.PodIdentityAssociation(
    "controller",
    cluster_name="prod",
    namespace="kube-system",
    service_account="karpenter",
    role_arn=role.arn,
    tags=TAGS,
)
k8s.helm.v3.Release(
    "karpenter",
    chart="oci://public.ecr.aws/karpenter/karpenter",
    version="1.14.1",
    namespace="kube-system",
    values={"serviceAccount": {"create": True, "name": "karpenter"}},
)
