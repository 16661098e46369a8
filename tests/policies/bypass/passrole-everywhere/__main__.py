"""iam:PassRole on every role."""

import json

import pulumi_aws as aws

aws.iam.RolePolicy(
    "pass-any",
    role="ci",
    policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}),
)
