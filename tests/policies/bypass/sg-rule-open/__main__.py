"""The older SecurityGroupRule form, all ports."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

group = aws.ec2.SecurityGroup("db", vpc_id="vpc-1", description="db", tags=TAGS)
aws.ec2.SecurityGroupRule(
    "db-open",
    type="ingress",
    security_group_id=group.id,
    cidr_blocks=["0.0.0.0/0"],
    protocol="-1",
    from_port=0,
    to_port=0,
)
