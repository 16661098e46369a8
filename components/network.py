"""Network: a VPC over two or more AZs, or an existing VPC adopted by id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from components._common import ComponentArgsError, PlatformComponent, assume_role_policy, child, policy_document, tagged


def plan_subnets(vpc_cidr: str, zone_count: int) -> tuple[list[str], list[str]]:
    """(private, public) subnet CIDRs, one each per AZ.

    Private subnets (nodes, pods with VPC CNI, databases) take an eighth of the VPC each;
    the public subnets (load balancers and NAT gateways only) share the last eighth.
    """
    eighths = list(IPv4Network(vpc_cidr).subnets(prefixlen_diff=3))
    if not 1 <= zone_count <= 7:
        raise ValueError(f"zone_count ({zone_count}) must be between 1 and 7")
    public = list(eighths[7].subnets(prefixlen_diff=3))[:zone_count]
    return [str(n) for n in eighths[:zone_count]], [str(n) for n in public]


@dataclass
class ExistingVpcArgs:
    vpc_id: str
    """Id of the VPC to adopt; nothing in it is created or changed."""
    private_subnet_ids: Sequence[str]
    """Private subnets (nodes, databases), in at least two AZs."""
    public_subnet_ids: Sequence[str] = ()
    """Public subnets for internet-facing load balancers. Default: none."""


@dataclass
class NetworkArgs:
    cluster_name: str
    """EKS cluster that will use the subnets (for the ELB discovery tags)."""
    region: str
    """AWS region (for the S3 gateway endpoint)."""
    availability_zones: Sequence[str] = ()
    """AZs to spread subnets over; at least two. Required unless `existing` is set."""
    vpc_cidr: str = "10.0.0.0/16"
    """VPC address range. Default: 10.0.0.0/16."""
    nat_per_az: bool = True
    """One NAT gateway per AZ (survives an AZ outage) or one shared (cheaper). Default: per AZ."""
    flow_log_retention_days: int = 90
    """Days VPC flow logs are kept. Default: 90."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default: none."""
    existing: ExistingVpcArgs | None = None
    """Adopt this VPC instead of creating one. Default: create one."""


class Network(PlatformComponent):
    """A VPC with private subnets for nodes and public subnets for load balancers.

    Private subnets route out through NAT (one per AZ, or one shared); S3 traffic stays
    on a free gateway endpoint; the default security group admits nothing; all traffic is
    recorded in VPC flow logs.
    """

    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:Network", name, None, opts)
        if args.existing is not None:
            self.vpc_id = pulumi.Output.from_input(args.existing.vpc_id)
            self.private_subnet_ids = pulumi.Output.from_input(list(args.existing.private_subnet_ids))
            self.public_subnet_ids = pulumi.Output.from_input(list(args.existing.public_subnet_ids))
        else:
            if len(args.availability_zones) < 2:
                raise ComponentArgsError(
                    "Network",
                    name,
                    [f"availability_zones ({list(args.availability_zones)}) must list at least two AZs"],
                )
            self._create(name, args)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
            }
        )

    def _create(self, name: str, args: NetworkArgs) -> None:
        tags = args.tags
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tagged(tags, f"{name}-vpc"),
            opts=child(self),
        )
        # The default security group is attached to anything created without one: let it admit nothing.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, tags=tagged(tags, f"{name}-default-deny"), opts=child(self)
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tagged(tags, f"{name}-igw"), opts=child(self))

        private_cidrs, public_cidrs = plan_subnets(args.vpc_cidr, len(args.availability_zones))
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags=tagged(tags, f"{name}-public"), opts=child(self)
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child(self),
        )
        public_subnets, private_subnets, private_tables = [], [], []
        nat_gateways: list[aws.ec2.NatGateway] = []
        for index, zone in enumerate(args.availability_zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=tagged(tags, f"{name}-public-{zone}", **cluster_tag, **{"kubernetes.io/role/elb": "1"}),
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_rt.id, opts=child(self)
            )
            public_subnets.append(public)
            if args.nat_per_az or index == 0:
                eip = aws.ec2.Eip(
                    f"{name}-nat-{zone}", domain="vpc", tags=tagged(tags, f"{name}-nat-{zone}"), opts=child(self)
                )
                nat_gateways.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{zone}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags=tagged(tags, f"{name}-nat-{zone}"),
                        opts=child(self, depends_on=[igw]),
                    )
                )
            private = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[index],
                availability_zone=zone,
                tags=tagged(tags, f"{name}-private-{zone}", **cluster_tag, **{"kubernetes.io/role/internal-elb": "1"}),
                opts=child(self),
            )
            table = aws.ec2.RouteTable(
                f"{name}-private-{zone}", vpc_id=vpc.id, tags=tagged(tags, f"{name}-private-{zone}"), opts=child(self)
            )
            aws.ec2.Route(
                f"{name}-private-{zone}-default",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat_gateways[-1].id,
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=private.id, route_table_id=table.id, opts=child(self)
            )
            private_subnets.append(private)
            private_tables.append(table)

        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in private_tables],
            tags=tagged(tags, f"{name}-s3"),
            opts=child(self),
        )
        self._flow_logs(name, vpc, args)

        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])

    def _flow_logs(self, name: str, vpc: aws.ec2.Vpc, args: NetworkArgs) -> None:
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=args.flow_log_retention_days,
            tags=tagged(args.tags, f"{name}-flow-logs"),
            opts=child(self),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com"),
            tags=tagged(args.tags, f"{name}-flow-logs"),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        "Resource": [log_group.arn, pulumi.Output.concat(log_group.arn, ":*")],
                    }
                ]
            ),
            opts=child(self),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            tags=tagged(args.tags, f"{name}-flow-logs"),
            opts=child(self),
        )
