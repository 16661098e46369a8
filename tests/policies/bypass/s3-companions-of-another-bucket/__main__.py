"""Companions named after one bucket that configure another: the named bucket has none."""

import json

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

data = aws.s3.Bucket("data", tags=TAGS)
scratch = aws.s3.Bucket("scratch", tags=TAGS)
key = "arn:aws:kms:us-east-1:123456789012:key/1"
aws.s3.BucketServerSideEncryptionConfiguration(
    "data",
    bucket=scratch.id,
    rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key}}],
)
aws.s3.BucketVersioning("data", bucket=scratch.id, versioning_configuration={"status": "Enabled"})
aws.s3.BucketPublicAccessBlock(
    "data",
    bucket=scratch.id,
    block_public_acls=True,
    block_public_policy=True,
    ignore_public_acls=True,
    restrict_public_buckets=True,
)
aws.s3.BucketOwnershipControls("data", bucket=scratch.id, rule={"object_ownership": "BucketOwnerEnforced"})
aws.s3.BucketPolicy(
    "data",
    bucket=scratch.id,
    policy=json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ]
        }
    ),
)
aws.s3.BucketLifecycleConfiguration(
    "data",
    bucket=scratch.id,
    rules=[{"id": "old", "status": "Enabled", "noncurrent_version_expiration": {"noncurrent_days": 30}}],
)
aws.s3.BucketLogging("data", bucket=scratch.id, target_bucket="logs", target_prefix="data/")
