"""Cluster admin for a principal of another account, through an access policy."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.eks.AccessEntry("vendor", cluster_name="c", principal_arn="arn:aws:iam::999999999999:role/vendor", tags=TAGS)
aws.eks.AccessPolicyAssociation(
    "vendor",
    cluster_name="c",
    principal_arn="arn:aws:iam::999999999999:role/vendor",
    policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
    access_scope={"type": "cluster"},
)
