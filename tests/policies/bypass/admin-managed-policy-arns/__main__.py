"""AdministratorAccess through Role.managedPolicyArns."""

import json

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.iam.Role(
    "ops",
    assume_role_policy=json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    ),
    managed_policy_arns=["arn:aws:iam::aws:policy/AdministratorAccess"],
    tags=TAGS,
)
