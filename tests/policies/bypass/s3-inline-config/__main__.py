"""A bucket configured through its deprecated inline arguments."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.s3.Bucket("inline", versioning={"enabled": False}, tags=TAGS)
