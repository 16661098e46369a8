"""AdministratorAccess through a RolePolicyAttachment (the most common form)."""

import pulumi_aws as aws

aws.iam.RolePolicyAttachment("ci-admin", role="ci", policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")
