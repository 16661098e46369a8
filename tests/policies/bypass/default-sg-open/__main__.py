"""The VPC's default security group opened inline."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.ec2.DefaultSecurityGroup(
    "default",
    vpc_id="vpc-1",
    ingress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
    tags=TAGS,
)
