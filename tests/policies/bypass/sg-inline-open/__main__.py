"""Ingress written inline on the SecurityGroup."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.ec2.SecurityGroup(
    "web",
    vpc_id="vpc-1",
    description="web",
    ingress=[{"protocol": "tcp", "from_port": 8080, "to_port": 8080, "cidr_blocks": ["0.0.0.0/0"]}],
    tags=TAGS,
)
