"""A customer-managed policy granting iam:* (then attached)."""

import json

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

policy = aws.iam.Policy(
    "self-service",
    policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": ["iam:*"], "Resource": "*"}]}),
    tags=TAGS,
)
aws.iam.RolePolicyAttachment("self-service", role="ci", policy_arn=policy.arn)
