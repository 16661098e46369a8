"""Network: a VPC over two or more AZs, or an existing VPC adopted by id."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Annotated, Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..kit import aws_facts
from ..kit.common import (
    ComponentArgsError,
    PlatformComponent,
    account_scoped_trust,
    child,
    documented,
    policy_document,
    tagged,
)
from ..kit.spec import RFC1918, Cidr, Issue, RetentionDays, Spec, environment, fail, matching, settings_arg
from .karpenter import DISCOVERY_TAG

SubnetId = Annotated[str, matching(r"subnet-[0-9a-f]{8,17}", "a subnet id like subnet-0123456789abcdef0")]


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


class ExistingVpc(Spec):
    """A VPC adopted by id: nothing in it is created or changed."""

    vpc_id: Annotated[str, matching(r"vpc-[0-9a-f]{8,17}", "a VPC id like vpc-0123456789abcdef0")]
    """Id of the VPC to adopt (nothing in it is created or changed)."""
    private_subnet_ids: Annotated[list[SubnetId], Field(min_length=2)]
    """Private subnets for nodes, databases and caches, in at least two AZs."""
    public_subnet_ids: list[SubnetId] = Field(default_factory=list)
    """Public subnets for internet-facing load balancers. Default: none."""
    cidr_blocks: Annotated[list[Cidr], Field(min_length=1)]
    """The VPC's CIDR blocks (`aws ec2 describe-vpcs`): the Kubernetes Service range must lie outside them, and the plan cannot look them up offline."""


class NetworkSettings(Spec):
    """The VPC."""

    existing_vpc: ExistingVpc | None = None
    """Adopt an existing VPC instead of creating one. Default: create one."""
    vpc_cidr: Cidr = IPv4Network("10.0.0.0/16")
    """VPC address range, /16 to /20; private and public subnets are carved from it. Default: 10.0.0.0/16."""
    availability_zones: list[str] = Field(default=[], validate_default=True)
    """Availability zones of aws:region (AWS data) to spread subnets over, 2 to 6. Required unless existingVpc is set."""
    nat_gateways: Literal["single", "perAz"] | None = Field(default=None, validate_default=True)
    """One shared NAT gateway (`single`) or one per AZ (`perAz`). Default: single in dev, perAz in prod."""
    service_cidr: Cidr = IPv4Network("172.20.0.0/16")
    """Kubernetes Service range, /12 to /24, in RFC 1918 space and apart from the VPC. Default: 172.20.0.0/16."""
    flow_log_retention_days: RetentionDays = 90
    """Days VPC flow logs are kept in CloudWatch. Default: 90."""

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, value: IPv4Network) -> IPv4Network:
        if not 16 <= value.prefixlen <= 20:
            fail([Issue((), str(value), "must be a /16 to /20 network")])
        return value

    @field_validator("availability_zones")
    @classmethod
    def _azs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        region = (info.context or {}).get("region")
        zones = aws_facts.zones(region) if region else []
        issues = []
        for i, az in enumerate(value):
            if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", az):
                issues.append(Issue((i,), az, "not an availability zone name like us-east-1a"))
            elif zones and az not in zones:
                where = (
                    f"is in {az[:-1]}, not in aws:region {region}"
                    if az[:-1] != region
                    else f"is not a zone of {region}"
                )
                issues.append(Issue((i,), az, f"{where}; the zones of {region} are {', '.join(zones)}"))
        if len(set(value)) != len(value):
            issues.append(Issue((), value, "availability zones must be distinct"))
        if len(value) > 6:
            issues.append(Issue((), value, f"at most 6 availability zones, found {len(value)}"))
        if len(value) < 2 and info.data.get("existing_vpc") is None and "existing_vpc" in info.data:
            issues.append(Issue((), value, "needs at least 2 availability zones (or set {existing_vpc})"))
        fail(issues)
        return value

    @field_validator("nat_gateways")
    @classmethod
    def _nat_default(cls, value: str | None, info: ValidationInfo) -> str:
        return value or ("perAz" if environment(info) == "prod" else "single")

    @field_validator("service_cidr")
    @classmethod
    def _service_cidr(cls, value: IPv4Network) -> IPv4Network:
        issues = []
        if not 12 <= value.prefixlen <= 24:
            issues.append(Issue((), str(value), "must be a /12 to /24 network"))
        if not any(value.subnet_of(private) for private in RFC1918):
            issues.append(Issue((), str(value), "must be in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"))
        fail(issues)
        return value

    @model_validator(mode="after")
    def _service_range_apart(self) -> NetworkSettings:
        """The effective Service range (the default too) overlaps no range of the VPC: EKS refuses it."""
        service = self.service_cidr
        if self.existing_vpc is not None:
            taken = [(str(c), "{existing_vpc}.{cidr_blocks}") for c in self.existing_vpc.cidr_blocks]
        else:
            taken = [(str(self.vpc_cidr), "{vpc_cidr}")]
        fail(
            Issue(
                ("service_cidr",),
                str(service),
                f"overlaps {where} ({cidr}); pick a range outside the VPC"
                + (" (the default: set {service_cidr})" if "service_cidr" not in self.model_fields_set else ""),
            )
            for cidr, where in taken
            if service.overlaps(IPv4Network(cidr))
        )
        return self

    @property
    def nat_per_az(self) -> bool:
        return self.nat_gateways == "perAz"


@documented
@dataclass
class NetworkArgs:
    cluster_name: str
    """EKS cluster that will use the subnets (for the ELB discovery tags)."""
    region: str
    """AWS region (for the S3 gateway endpoint)."""
    settings: NetworkSettings
    """The VPC: created from a CIDR over the listed AZs, or adopted (`existing_vpc`)."""
    node_discovery: bool = False
    """Tag the private subnets `karpenter.sh/discovery: <cluster>` so Karpenter launches nodes there (adopted subnets get the tag too). Default: false."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default: none."""


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
        settings = settings_arg(NetworkSettings, args.settings, "settings", "Network", name)
        existing = settings.existing_vpc
        if existing is not None:
            self.vpc_id = pulumi.Output.from_input(existing.vpc_id)
            self.private_subnet_ids = pulumi.Output.from_input(list(existing.private_subnet_ids))
            self.public_subnet_ids = pulumi.Output.from_input(list(existing.public_subnet_ids))
            for subnet in existing.private_subnet_ids if args.node_discovery else ():
                aws.ec2.Tag(
                    f"{name}-{subnet}-discovery",
                    resource_id=subnet,
                    key=DISCOVERY_TAG,
                    value=args.cluster_name,
                    opts=child(self),
                )
        else:
            if len(settings.availability_zones) < 2:
                raise ComponentArgsError(
                    "Network",
                    name,
                    [f"settings.availability_zones = {list(settings.availability_zones)}: must list at least two AZs"],
                )
            self._create(name, args, settings)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
            }
        )

    def _create(self, name: str, args: NetworkArgs, settings: NetworkSettings) -> None:
        tags = args.tags
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        discovery = {DISCOVERY_TAG: args.cluster_name} if args.node_discovery else {}
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(settings.vpc_cidr),
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

        zones = settings.availability_zones
        private_cidrs, public_cidrs = plan_subnets(str(settings.vpc_cidr), len(zones))
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
        for index, zone in enumerate(zones):
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
            if settings.nat_per_az or index == 0:
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
                tags=tagged(
                    tags,
                    f"{name}-private-{zone}",
                    **cluster_tag,
                    **discovery,
                    **{"kubernetes.io/role/internal-elb": "1"},
                ),
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
        self._flow_logs(name, vpc, args, settings.flow_log_retention_days)

        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])

    def _flow_logs(self, name: str, vpc: aws.ec2.Vpc, args: NetworkArgs, retention_days: int) -> None:
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=retention_days,
            tags=tagged(args.tags, f"{name}-flow-logs"),
            opts=child(self),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=account_scoped_trust(
                "vpc-flow-logs.amazonaws.com", "arn:{partition}:ec2:{region}:{account}:vpc-flow-log/*"
            ),
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


class Hosting(enum.Enum):
    """Where a data store runs: an AWS managed service in the VPC, or a StatefulSet in the cluster."""

    MANAGED = "managed"
    """RDS or ElastiCache: encrypted, private, backed up; multi-AZ and protected in prod."""
    IN_CLUSTER = "inCluster"
    """A single pod with a persistent volume: cheap, for dev."""


def hosting_default(value: Hosting | None, info: ValidationInfo) -> Hosting:
    """A data store's hosting: as written, else managed in prod and in the cluster in dev."""
    if value is not None:
        return value
    return Hosting.MANAGED if environment(info) == "prod" else Hosting.IN_CLUSTER


@dataclass(frozen=True)
class PrivatePlacement:
    """Where a managed data store (RDS, ElastiCache) sits: private subnets of the VPC, reachable on its
    port only from the cluster's nodes."""

    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets, in at least two AZs."""
    client_security_group_id: pulumi.Input[str]
    """The only security group admitted (the cluster's nodes)."""

    def security_group(
        self,
        parent: pulumi.Resource,
        resource_name: str,
        *,
        port: int,
        service: str,
        protocol: str,
        tags: Mapping[str, str],
    ) -> aws.ec2.SecurityGroup:
        """A security group admitting `port` from the clients' group only (no other ingress)."""
        group = aws.ec2.SecurityGroup(
            resource_name,
            vpc_id=self.vpc_id,
            description=f"{service}: reachable only from the cluster's nodes",
            tags=tagged(tags, resource_name),
            opts=child(parent),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{resource_name.removesuffix('-sg')}-from-nodes",
            security_group_id=group.id,
            referenced_security_group_id=self.client_security_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{protocol} from EKS nodes",
            opts=child(parent),
        )
        return group
