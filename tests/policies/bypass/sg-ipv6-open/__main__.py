"""The IPv6 internet (::/0) through an ingress rule."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

group = aws.ec2.SecurityGroup("v6", vpc_id="vpc-1", description="v6", tags=TAGS)
aws.vpc.SecurityGroupIngressRule(
    "v6-open", security_group_id=group.id, cidr_ipv6="::/0", ip_protocol="tcp", from_port=6379, to_port=6379
)
