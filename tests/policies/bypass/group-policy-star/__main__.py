"""Every action for a whole group: an inline GroupPolicy with Action "*:*"."""

import json

import pulumi_aws as aws

aws.iam.GroupPolicy(
    "admins-inline",
    group="admins",
    policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "*:*", "Resource": "*"}]}),
)
