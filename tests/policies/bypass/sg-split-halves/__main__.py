"""0.0.0.0/0 split into two halves to dodge a string match."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.ec2.SecurityGroup(
    "halves",
    vpc_id="vpc-1",
    description="halves",
    ingress=[{"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": ["0.0.0.0/1", "128.0.0.0/1"]}],
    tags=TAGS,
)
