"""A trust policy any AWS principal may assume: Principal {"AWS": "*"}."""

import json

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.iam.Role(
    "open-trust",
    assume_role_policy=json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    ),
    tags=TAGS,
)
