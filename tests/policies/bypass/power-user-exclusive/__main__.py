"""PowerUserAccess through the exclusive attachment set."""

import pulumi_aws as aws

aws.iam.RolePolicyAttachmentsExclusive(
    "ci-exclusive", role_name="ci", policy_arns=["arn:aws:iam::aws:policy/PowerUserAccess"]
)
