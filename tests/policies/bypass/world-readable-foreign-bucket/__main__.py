"""A bucket the program does not create (an existing one, by name) opened to the world through a
BucketPolicy: the completeness rule only judges buckets it can see, so this one must be judged by
its policy. The TLS condition says how, not who: still everyone. A policy naming the account passes."""

import json

import pulumi_aws as aws

aws.s3.BucketPolicy(
    "share-reports",
    bucket="acme-reports-2026",
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::acme-reports-2026/*",
                    "Condition": {"Bool": {"aws:SecureTransport": "true"}},
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:PutObject"],
                    "Resource": "arn:aws:s3:::acme-reports-2026/uploads/*",
                    "Condition": {"StringLike": {"aws:PrincipalOrgID": "*"}},
                },
            ],
        }
    ),
)
aws.s3.BucketPolicy(
    "share-with-partner",
    bucket="acme-partner-drop",
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::acme-partner-drop/*",
                    "Condition": {"StringEquals": {"aws:PrincipalAccount": "210987654321"}},
                }
            ],
        }
    ),
)
