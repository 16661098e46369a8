"""Pinned to one service account and cluster, but the namespace by pattern (StringLike team-*), the
service account given twice, and no sts:TagSession: every assume fails, and a fix that adds it opens
the role to every team-* namespace."""

import json

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}
aws.iam.Role(
    "team-pattern",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["pods.eks.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringLike": {"aws:RequestTag/kubernetes-namespace": "team-*"},
                        "StringEquals": {
                            "aws:RequestTag/kubernetes-service-account": ["reader", "writer"],
                            "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:123456789012:cluster/prod",
                        },
                    },
                }
            ],
        }
    ),
    tags=TAGS,
)
