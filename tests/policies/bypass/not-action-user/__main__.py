"""Allow everything but S3, for a user: NotAction."""

import json

import pulumi_aws as aws

aws.iam.UserPolicy(
    "almost-all",
    user="bob",
    policy=json.dumps({"Statement": [{"Effect": "Allow", "NotAction": ["s3:*"], "Resource": "*"}]}),
)
