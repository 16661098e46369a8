"""IAMFullAccess to a group: it can grant itself anything."""

import pulumi_aws as aws

aws.iam.GroupPolicyAttachment("admins-iam", group="admins", policy_arn="arn:aws:iam::aws:policy/IAMFullAccess")
