"""The Pod Identity trust this platform used to ship: aws:SourceAccount and aws:SourceArn = the cluster.
Pod Identity does not set aws:SourceArn to the cluster's ARN (so every assume is denied), and nothing
pins the namespace or service account: any association of the cluster could use the role."""

import json

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}
CLUSTER_ARN = "arn:aws:eks:us-east-1:123456789012:cluster/prod"
aws.iam.Role(
    "source-arn",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": "123456789012"},
                        "ArnEquals": {"aws:SourceArn": CLUSTER_ARN},
                    },
                }
            ],
        }
    ),
    tags=TAGS,
)
