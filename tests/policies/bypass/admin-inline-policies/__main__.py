"""AdministratorAccess written as Role.inlinePolicies."""

import json

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.iam.Role(
    "ci",
    assume_role_policy=json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    ),
    inline_policies=[
        {
            "name": "everything",
            "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        }
    ],
    tags=TAGS,
)
