"""Tags: every taggable AWS resource says who owns it, which environment it is, who pays."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from components.kit.guardrails import REQUIRED_TAGS
from policies.rules.common import resource_rule

TAGGABLE = {
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ec2/flowLog:FlowLog",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:iam/role:Role",
    "aws:iam/policy:Policy",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:kms/key:Key",
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:eks/addon:Addon",
    "aws:eks/accessEntry:AccessEntry",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:rds/instance:Instance",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:elasticache/subnetGroup:SubnetGroup",
    "aws:secretsmanager/secret:Secret",
    "aws:ecr/repository:Repository",
}


def required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    tags = args.props.get("tags") or {}
    missing = [key for key in REQUIRED_TAGS if not tags.get(key)]
    if missing:
        report(
            f"'{args.name}' ({args.resource_type.rsplit(':', 1)[-1]}) lacks the {', '.join(missing)} tag{'s' * (len(missing) > 1)}; tag every AWS resource with {', '.join(REQUIRED_TAGS)}"
        )


POLICIES = [
    resource_rule(
        "aws-required-tags", f"Taggable AWS resources carry {', '.join(REQUIRED_TAGS)} tags.", TAGGABLE, required_tags
    ),
]
