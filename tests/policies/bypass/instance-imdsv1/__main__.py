"""A plain EC2 instance with the instance metadata service's v1 on."""

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}

aws.ec2.Instance("jump", ami="ami-123", instance_type="t3.micro", tags=TAGS)
