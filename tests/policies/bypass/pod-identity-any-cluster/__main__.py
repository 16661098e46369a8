"""A Pod Identity role without the confused-deputy guard: any cluster's association could hand it out."""

import json

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.iam.Role(
    "any-cluster",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                }
            ],
        }
    ),
    tags=TAGS,
)
