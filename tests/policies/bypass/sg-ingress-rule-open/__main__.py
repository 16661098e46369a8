"""SSH from anywhere as a standalone SecurityGroupIngressRule."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

group = aws.ec2.SecurityGroup("bastion", vpc_id="vpc-1", description="bastion", tags=TAGS)
aws.vpc.SecurityGroupIngressRule(
    "ssh-from-anywhere", security_group_id=group.id, cidr_ipv4="0.0.0.0/0", ip_protocol="tcp", from_port=22, to_port=22
)
