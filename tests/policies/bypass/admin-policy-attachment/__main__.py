"""AdministratorAccess through the legacy PolicyAttachment (roles, users, groups at once)."""

import pulumi_aws as aws

aws.iam.PolicyAttachment(
    "everyone-admin", policy_arn="arn:aws:iam::aws:policy/AdministratorAccess", roles=["ci"], users=["bob"]
)
