"""PowerUserAccess for a user, through a UserPolicyAttachment."""

import pulumi_aws as aws

aws.iam.UserPolicyAttachment("bob-power", user="bob", policy_arn="arn:aws:iam::aws:policy/PowerUserAccess")
