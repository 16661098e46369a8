"""A flow-log role any account's flow logs could use (no aws:SourceAccount)."""

import json

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.iam.Role(
    "flow-logs",
    assume_role_policy=json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]
        }
    ),
    tags=TAGS,
)
