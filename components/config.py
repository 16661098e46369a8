"""The stack configuration: one structured key, `mlops-platform:platform`, validated up front.

`parse_platform_config` checks everything before a single resource is declared and
reports every problem at once, each as `path = value: what is allowed`. Keys are
camelCase in the stack file; every field's docstring is its documentation (the README's
config reference is generated from this model).
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal, Protocol, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components import guardrails
from components.gpu import gpu_spec
from components.versions import EKS_ADDONS, KUBERNETES_VERSION, SUPPORTED_KUBERNETES_VERSIONS

PROJECT = "mlops-platform"
CONFIG_KEY = "platform"
ROOT = CONFIG_KEY

Environment = Literal["dev", "prod"]

CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config: where, what was found, what is allowed."""

    path: str
    message: str
    value: Any = None
    has_value: bool = True

    def __str__(self) -> str:
        if not self.has_value:
            return f"{self.path}: {self.message}"
        return f"{self.path} = {_render(self.value)}: {self.message}"


class ConfigError(Exception):
    """The stack config is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack config ({len(problems)} problem{'s' * (len(problems) != 1)}):\n{lines}")


@dataclass(frozen=True)
class _Issue:
    """A problem raised from inside a validator, relative to where the validator runs
    (or to the config root when `absolute`)."""

    path: tuple[str | int, ...]
    value: Any
    message: str
    absolute: bool = False


def _fail(issues: list[_Issue]) -> None:
    if issues:
        raise PydanticCustomError(
            "platform_config", "{summary}", {"summary": "; ".join(i.message for i in issues), "issues": issues}
        )


def _render(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _path(loc: Iterable[str | int]) -> str:
    out = ROOT
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


# --------------------------------------------------------------------------- secrets


class SecretSource(Protocol):
    """Where secret config values come from (Pulumi config in a program, a dict in tests)."""

    def status(self, key: str) -> Literal["missing", "plain", "secret"]: ...


def _check_secret(key: str, info: ValidationInfo, needed_for: str) -> list[_Issue]:
    secrets: SecretSource | None = (info.context or {}).get("secrets")
    if secrets is None:
        return []
    status = secrets.status(key)
    if status == "missing":
        return [
            _Issue(
                (), key, f"config key '{key}' is not set; {needed_for} needs it: pulumi config set --secret {key} ..."
            )
        ]
    if status == "plain":
        return [_Issue((), key, f"config key '{key}' is set in plain text; set it again with --secret")]
    return []


def _environment(info: ValidationInfo) -> str | None:
    return (info.context or {}).get("environment")


# --------------------------------------------------------------------------- sections


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        frozen=True,
        use_attribute_docstrings=True,
    )


NonEmpty = Annotated[str, Field(min_length=1, max_length=256)]


class Tags(Section):
    owner: NonEmpty
    """Team or person accountable for the stack (`owner` tag). Required."""
    cost_center: NonEmpty
    """Cost allocation code (`cost-center` tag). Required."""
    extra: dict[str, NonEmpty] = {}
    """Further tags added to every taggable AWS resource. Default: none."""

    @field_validator("extra")
    @classmethod
    def _no_reserved(cls, value: dict[str, str]) -> dict[str, str]:
        _fail(
            [
                _Issue((key,), v, f"'{key}' is set by the platform; remove it from extra")
                for key, v in value.items()
                if key in guardrails.REQUIRED_TAGS or key.lower().startswith("aws:")
            ]
        )
        return value


class ExistingVpc(Section):
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    """Id of the VPC to adopt (nothing in it is created or changed)."""
    private_subnet_ids: Annotated[list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]], Field(min_length=2)]
    """Private subnets for nodes, databases and caches, in at least two AZs."""
    public_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = []
    """Public subnets for internet-facing load balancers. Default: none."""


class Network(Section):
    existing_vpc: ExistingVpc | None = None
    """Adopt an existing VPC instead of creating one. Default: create one."""
    vpc_cidr: IPv4Network = IPv4Network("10.0.0.0/16")
    """VPC address range, /16 to /20; private and public subnets are carved from it. Default: 10.0.0.0/16."""
    availability_zones: list[str] = Field(default=[], validate_default=True)
    """Availability zones to spread subnets over, 2 to 6. Required unless existingVpc is set."""
    nat_gateways: Literal["single", "perAz"] | None = None
    """One shared NAT gateway (`single`) or one per AZ (`perAz`). Default: single in dev, perAz in prod."""
    service_cidr: IPv4Network = IPv4Network("172.20.0.0/16")
    """Kubernetes Service range, /12 to /24, in RFC 1918 space and apart from the VPC. Default: 172.20.0.0/16."""
    flow_log_retention_days: int = 90
    """Days VPC flow logs are kept in CloudWatch. Default: 90."""

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, value: IPv4Network) -> IPv4Network:
        if not 16 <= value.prefixlen <= 20:
            _fail([_Issue((), str(value), "must be a /16 to /20 network")])
        return value

    @field_validator("availability_zones")
    @classmethod
    def _azs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        issues = [
            _Issue((i,), az, "not an availability zone name like us-east-1a")
            for i, az in enumerate(value)
            if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", az)
        ]
        if len(set(value)) != len(value):
            issues.append(_Issue((), value, "availability zones must be distinct"))
        if len(value) > 6:
            issues.append(_Issue((), value, f"at most 6 availability zones, found {len(value)}"))
        if len(value) < 2 and info.data.get("existing_vpc") is None and "existing_vpc" in info.data:
            issues.append(_Issue((), value, "needs at least 2 availability zones (or set existingVpc)"))
        _fail(issues)
        return value

    @field_validator("service_cidr")
    @classmethod
    def _service_cidr(cls, value: IPv4Network, info: ValidationInfo) -> IPv4Network:
        issues = []
        if not 12 <= value.prefixlen <= 24:
            issues.append(_Issue((), str(value), "must be a /12 to /24 network"))
        if not value.is_private:
            issues.append(_Issue((), str(value), "must be in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"))
        vpc = info.data.get("vpc_cidr")
        if vpc is not None and value.overlaps(vpc):
            issues.append(_Issue((), str(value), f"overlaps vpcCidr ({vpc}); pick a range outside the VPC"))
        _fail(issues)
        return value

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return _retention_days(value)


def _retention_days(value: int) -> int:
    if value not in CLOUDWATCH_RETENTION_DAYS:
        _fail(
            [
                _Issue(
                    (),
                    value,
                    f"must be one of CloudWatch's retention periods: {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))}",
                )
            ]
        )
    return value


def _check_max_size(value: int, info: ValidationInfo) -> int:
    min_size = info.data.get("min_size")
    if min_size is not None and value < min_size:
        _fail([_Issue((), value, f"must be >= minSize ({min_size})")])
    return value


def _check_desired_size(value: int | None, info: ValidationInfo) -> int | None:
    low, high = info.data.get("min_size"), info.data.get("max_size")
    if value is not None and low is not None and high is not None and not low <= value <= high:
        _fail([_Issue((), value, f"must be between minSize ({low}) and maxSize ({high})")])
    return value


InstanceType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")]
Count = Annotated[int, Field(ge=0, le=1000)]


class SystemNodes(Section):
    instance_types: Annotated[list[InstanceType], Field(min_length=1)] = ["m6i.large"]
    """Instance types of the system node group (add-ons, platform services). Default: [m6i.large]."""
    min_size: Annotated[int, Field(ge=2, le=100)] = 2
    """Minimum nodes; at least 2 so add-ons survive a node loss. Default: 2."""
    max_size: Annotated[int, Field(ge=2, le=100, validate_default=True)] = 4
    """Maximum nodes. Default: 4."""
    desired_size: Annotated[int, Field(ge=2, le=100)] | None = None
    """Initial nodes (the autoscaler owns it afterwards). Default: minSize."""
    disk_size_gib: Annotated[int, Field(ge=20, le=16384)] = 50
    """Root volume size, GiB (gp3, encrypted). Default: 50."""

    _max_size = field_validator("max_size")(_check_max_size)
    _desired_size = field_validator("desired_size")(_check_desired_size)


class ExistingCluster(Section):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z][a-zA-Z0-9_-]{0,99}$")]
    """Name of the EKS cluster to adopt."""
    kubeconfig_secret: str = Field(default="kubeconfig", validate_default=True)
    """Config key holding its kubeconfig, set with `pulumi config set --secret`. Default: kubeconfig."""
    oidc_provider_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+$")]
    """ARN of the cluster's IAM OIDC provider (for IRSA)."""
    oidc_issuer_url: Annotated[str, Field(pattern=r"^https://.+$")]
    """The cluster's OIDC issuer URL."""
    node_security_group_id: Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]
    """Security group of its nodes (databases and caches admit it)."""

    @field_validator("kubeconfig_secret")
    @classmethod
    def _kubeconfig(cls, value: str, info: ValidationInfo) -> str:
        _fail(_check_secret(value, info, "cluster.existing"))
        return value


class Cluster(Section):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,99}$")] | None = None
    """EKS cluster name. Default: mlops-<stack>."""
    kubernetes_version: str = KUBERNETES_VERSION
    """Kubernetes minor version; add-on versions are pinned per version. Default: the newest supported."""
    endpoint_public_access: bool = True
    """Expose the API server publicly (restricted to publicAccessCidrs). The private endpoint is always on. Default: true."""
    public_access_cidrs: list[str] = []
    """CIDRs allowed to reach the public endpoint. Required when the public endpoint is on; never 0.0.0.0/0 in prod."""
    admin_principal_arns: list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+$")]] = []
    """IAM roles/users given cluster-admin through EKS access entries. Default: none (only the creator)."""
    log_retention_days: int = 90
    """Days control-plane logs are kept in CloudWatch. Default: 90."""
    system_nodes: SystemNodes = SystemNodes()
    """The system node group that runs add-ons and platform services."""
    existing: ExistingCluster | None = None
    """Adopt an existing cluster instead of creating one (requires network.existingVpc). Default: create one."""

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            _fail(
                [
                    _Issue(
                        (),
                        value,
                        f"must be one of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)} (versions with pinned add-ons)",
                    )
                ]
            )
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        issues = []
        for i, cidr in enumerate(value):
            try:
                IPv4Network(cidr)
            except ValueError as exc:
                issues.append(_Issue((i,), cidr, f"not a valid IPv4 CIDR ({exc})"))
        open_cidrs = guardrails.open_to_world(value)
        if open_cidrs and _environment(info) == "prod":
            issues.append(_Issue((), value, guardrails.public_endpoint_message(open_cidrs)))
        _fail(issues)
        return value

    @model_validator(mode="after")
    def _public_endpoint_needs_cidrs(self) -> Cluster:
        if self.endpoint_public_access and not self.public_access_cidrs:
            _fail(
                [
                    _Issue(
                        ("publicAccessCidrs",),
                        [],
                        "list the CIDRs allowed to reach the public endpoint, or set endpointPublicAccess: false",
                    )
                ]
            )
        return self

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return _retention_days(value)


class GpuPool(Section):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
    """Pool name, unique in the stack (lower-case letters, digits, dashes)."""
    instance_types: Annotated[list[InstanceType], Field(min_length=1)]
    """NVIDIA GPU instance types, all with the same GPU model (e.g. [g5.xlarge, g5.2xlarge])."""
    capacity_type: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    """ON_DEMAND or SPOT capacity. Default: ON_DEMAND."""
    min_size: Count = 0
    """Minimum nodes; 0 lets the pool scale to zero when no GPU pod is pending. Default: 0."""
    max_size: Annotated[int, Field(ge=1, le=1000, validate_default=True)] = 1
    """Maximum nodes. Default: 1."""
    desired_size: Count | None = None
    """Initial nodes (the cluster autoscaler owns it afterwards). Default: minSize."""
    disk_size_gib: Annotated[int, Field(ge=20, le=16384)] = 100
    """Root volume size, GiB (gp3, encrypted): room for CUDA images. Default: 100."""
    labels: dict[str, str] = {}
    """Extra node labels. Default: none."""

    @field_validator("instance_types")
    @classmethod
    def _gpu_types(cls, value: list[str]) -> list[str]:
        bad = guardrails.non_gpu_instance_types(value)
        if bad:
            _fail([_Issue((), value, guardrails.non_gpu_message(bad))])
        kinds = {f"{spec.gpus} x {spec.model}" for t in value if (spec := gpu_spec(t))}
        if len(kinds) > 1:
            _fail(
                [
                    _Issue(
                        (),
                        value,
                        f"mixes GPU kinds ({', '.join(sorted(kinds))}); a pool's nodes share one GPU model and count",
                    )
                ]
            )
        return value

    _max_size = field_validator("max_size")(_check_max_size)
    _desired_size = field_validator("desired_size")(_check_desired_size)

    @property
    def gpu_model(self) -> str:
        spec = gpu_spec(self.instance_types[0])
        assert spec is not None  # validated
        return spec.model

    def capacity(self) -> guardrails.PoolCapacity:
        return guardrails.PoolCapacity(self.name, self.instance_types, self.max_size, self.capacity_type)


class Guardrails(Section):
    max_gpus_per_pool: Annotated[int, Field(ge=0)] = 8
    """Most GPUs one pool may reach at maxSize. Default: 8."""
    max_gpus_total: Annotated[int, Field(ge=0)] = 16
    """Most GPUs all pools together may reach. Default: 16."""
    allow_spot: bool = True
    """Whether GPU pools may use SPOT capacity. Default: true."""

    def budget(self) -> guardrails.GpuBudget:
        return guardrails.GpuBudget(self.max_gpus_per_pool, self.max_gpus_total, self.allow_spot)


class Artifacts(Section):
    noncurrent_version_expiration_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """Days a replaced or deleted object version is kept before S3 expires it. Default: 30."""
    access_log_retention_days: Annotated[int, Field(ge=1, le=3650)] = 365
    """Days S3 access logs are kept. Default: 365."""
    force_destroy: bool = False
    """Let `pulumi destroy` delete non-empty buckets (never in prod). Default: false."""

    @field_validator("force_destroy")
    @classmethod
    def _not_in_prod(cls, value: bool, info: ValidationInfo) -> bool:
        if value and _environment(info) == "prod":
            _fail([_Issue((), value, "must be false in prod: a destroy must never delete artifacts")])
        return value


# --------------------------------------------------------------------------- services

DnsLabel = Annotated[str, Field(pattern=r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$")]
Cpu = Annotated[str, Field(pattern=r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$")]
Memory = Annotated[str, Field(pattern=r"^[0-9]+(Mi|Gi)$")]
CRON = re.compile(r"^(\S+\s+){4}\S+$")


def _cron(value: str) -> str:
    if not CRON.match(value.strip()):
        _fail([_Issue((), value, "must be a five-field cron schedule, e.g. '0 3 * * *'")])
    return value


class Images(Section):
    registry: Annotated[str, Field(pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")]
    """Registry and path the platform's images are pushed to (e.g. <account>.dkr.ecr.<region>.amazonaws.com/mlops). Required."""
    tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")] = "0.1.0"
    """Tag of the training, serving, monitor and mlflow-server images (a release, never `latest`). Default: 0.1.0."""

    @field_validator("tag")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if value == "latest":
            _fail([_Issue((), value, "must name a release; `latest` is not pinned")])
        return value


class Database(Section):
    mode: Literal["managed", "inCluster"] | None = None
    """`managed` (RDS Postgres) or `inCluster` (a Postgres StatefulSet). Default: managed in prod, inCluster in dev."""
    instance_class: Annotated[str, Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")] = "db.t4g.medium"
    """RDS instance class. Default: db.t4g.medium."""
    storage_gib: Annotated[int, Field(ge=20, le=65536)] = 20
    """Storage (RDS allocated storage, or the in-cluster volume). Default: 20."""
    max_storage_gib: Annotated[int, Field(ge=20, le=65536)] = 100
    """RDS storage autoscaling ceiling. Default: 100."""
    backup_retention_days: Annotated[int, Field(ge=0, le=35)] = 7
    """Days of automated RDS backups; at least 7 in prod. Default: 7."""
    multi_az: bool | None = None
    """Standby in a second AZ. Default: true in prod, false in dev."""

    @field_validator("backup_retention_days")
    @classmethod
    def _backups(cls, value: int, info: ValidationInfo) -> int:
        if value < 7 and _environment(info) == "prod":
            _fail([_Issue((), value, "must be >= 7 in prod")])
        return value

    @field_validator("multi_az")
    @classmethod
    def _multi_az(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        if value is False and _environment(info) == "prod":
            _fail([_Issue((), value, "must be true (or unset) in prod")])
        return value


class Ingress(Section):
    host: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    """DNS name the service is published under."""
    class_name: str = "alb"
    """IngressClass. Default: alb (AWS Load Balancer Controller)."""
    internal: bool = True
    """Keep the load balancer inside the VPC. Default: true."""
    tls_certificate_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:acm:.+$")] | None = None
    """ACM certificate for HTTPS. Required when internal is false."""

    @model_validator(mode="after")
    def _public_needs_tls(self) -> Ingress:
        if not self.internal and self.tls_certificate_arn is None:
            _fail(
                [
                    _Issue(
                        ("tlsCertificateArn",), None, "an internet-facing ingress needs an ACM certificate (HTTPS only)"
                    )
                ]
            )
        return self


class Mlflow(Section):
    replicas: Annotated[int, Field(ge=1, le=20)] | None = None
    """Server replicas. Default: 1 in dev, 2 in prod (at least 2 in prod)."""
    cpu: Cpu = "500m"
    """CPU request per replica (limit: twice). Default: 500m."""
    memory: Memory = "1Gi"
    """Memory request and limit per replica. Default: 1Gi."""
    ingress: Ingress | None = None
    """Publish the UI/API through an Ingress (authentication stays on). Default: cluster-internal only."""
    proxy_artifacts: bool = True
    """Serve artifacts through MLflow (clients need no AWS access; MLflow permissions apply). With false, clients read and write S3 directly through their own IRSA roles. Default: true."""

    @field_validator("replicas")
    @classmethod
    def _ha_in_prod(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and value < 2 and _environment(info) == "prod":
            _fail([_Issue((), value, "must be >= 2 in prod")])
        return value


class Redis(Section):
    mode: Literal["managed", "inCluster"] | None = None
    """`managed` (ElastiCache, TLS + auth token) or `inCluster` (a Redis StatefulSet). Default: managed in prod, inCluster in dev."""
    node_type: Annotated[str, Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")] = "cache.t4g.small"
    """ElastiCache node type. Default: cache.t4g.small."""
    replicas: Annotated[int, Field(ge=1, le=6)] = 2
    """ElastiCache nodes (primary + replicas; 2 or more enables failover). Default: 2."""


class FeatureStore(Section):
    enabled: bool = True
    """Deploy Feast. Default: true."""
    redis: Redis = Redis()
    """The online store."""
    materialize_schedule: str = Field(default="0 * * * *", validate_default=True)
    """Cron schedule of `feast materialize-incremental`. Default: hourly."""
    server_replicas: Annotated[int, Field(ge=1, le=20)] = 1
    """Feature server replicas. Default: 1."""

    _schedule = field_validator("materialize_schedule")(_cron)


class Monitoring(Section):
    retention: Annotated[str, Field(pattern=r"^[0-9]+(h|d|w|y)$")] = "15d"
    """Prometheus retention. Default: 15d."""
    storage_gib: Annotated[int, Field(ge=5, le=16384)] = 50
    """Prometheus volume size. Default: 50."""
    grafana_ingress: Ingress | None = None
    """Publish Grafana through an Ingress. Default: cluster-internal only."""


class Endpoint(Section):
    name: DnsLabel
    """InferenceService name (unique)."""
    model: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]
    """Registered model name in MLflow."""
    alias: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")] = "champion"
    """Registry alias served (`models:/<model>@<alias>`). Default: champion."""
    min_replicas: Annotated[int, Field(ge=0, le=100)] = 1
    """Fewest replicas (0 only in Serverless mode, never in prod). Default: 1."""
    max_replicas: Annotated[int, Field(ge=1, le=100)] = Field(default=3, validate_default=True)
    """Most replicas. Default: 3."""
    canary_traffic_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    """Share of traffic for the latest revision during a rollout (Serverless mode only). Default: none."""
    cpu: Cpu = "500m"
    """CPU request (limit: twice). Default: 500m."""
    memory: Memory = "1Gi"
    """Memory request and limit. Default: 1Gi."""
    gpus: Annotated[int, Field(ge=0, le=8)] = 0
    """GPUs per replica; needs a GPU pool. Default: 0."""
    gpu_pool: str | None = None
    """GPU pool to run on. Default: any pool (when gpus > 0)."""

    @field_validator("max_replicas")
    @classmethod
    def _max(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min_replicas")
        if low is not None and value < low:
            _fail([_Issue((), value, f"must be >= minReplicas ({low})")])
        return value


class Serving(Section):
    mode: Literal["Standard", "Serverless"] = "Standard"
    """KServe deployment mode: Standard (Deployments + HPA; no scale to zero, no canary) or Serverless (Knative: scale to zero, canary rollouts). Default: Standard."""
    endpoints: list[Endpoint] = []
    """One InferenceService per entry. Default: none."""

    @model_validator(mode="after")
    def _mode_features(self) -> Serving:
        issues = []
        for index, endpoint in enumerate(self.endpoints):
            if self.mode == "Standard" and endpoint.canary_traffic_percent is not None:
                issues.append(
                    _Issue(
                        ("endpoints", index, "canaryTrafficPercent"),
                        endpoint.canary_traffic_percent,
                        "canary rollouts need mode Serverless (Standard mode rolls out with maxUnavailable 0)",
                    )
                )
            if self.mode == "Standard" and endpoint.min_replicas == 0:
                issues.append(
                    _Issue(
                        ("endpoints", index, "minReplicas"),
                        0,
                        "Standard mode cannot scale to zero; use >= 1 or mode Serverless",
                    )
                )
        names = [e.name for e in self.endpoints]
        issues += [
            _Issue(("endpoints", i, "name"), n, "duplicate endpoint name")
            for i, n in enumerate(names)
            if n in names[:i]
        ]
        _fail(issues)
        return self


class Training(Section):
    model: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")] = "churn-classifier"
    """Registered model the pipeline trains and promotes. Default: churn-classifier."""
    schedule: str = Field(default="0 3 * * 0", validate_default=True)
    """Cron schedule of the training CronJob. Default: Sundays 03:00."""
    cpu: Cpu = "1"
    """CPU request (limit: twice). Default: 1."""
    memory: Memory = "4Gi"
    """Memory request and limit. Default: 4Gi."""
    gpus: Annotated[int, Field(ge=0, le=8)] = 0
    """GPUs per training run; needs a GPU pool. Default: 0."""
    gpu_pool: str | None = None
    """GPU pool to train on. Default: any pool (when gpus > 0)."""
    promotion_margin: Annotated[float, Field(ge=0, le=1)] = 0.005
    """A challenger must beat the champion's ROC AUC by this much to be promoted. Default: 0.005."""

    _schedule = field_validator("schedule")(_cron)


class DriftMonitorConfig(Section):
    endpoint: DnsLabel | None = None
    """Endpoint whose predictions are monitored. Default: the first endpoint."""
    window_size: Annotated[int, Field(ge=50, le=1_000_000)] = 2000
    """Predictions per drift window. Default: 2000."""
    consecutive_windows: Annotated[int, Field(ge=1, le=100)] = 3
    """Windows in a row above threshold before retraining is triggered. Default: 3."""
    cooldown_minutes: Annotated[int, Field(ge=0, le=10080)] = 360
    """Least time between two retraining triggers. Default: 360."""


def _gpu_placement(path: tuple[str | int, ...], gpus: int, pool: str | None, pools: list[GpuPool]) -> list[_Issue]:
    """A workload asking for GPUs needs a GPU pool to run on (the named one, or any)."""
    names = [p.name for p in pools]
    if pool is not None and pool not in names:
        return [_Issue((*path, "gpuPool"), pool, f"no such GPU pool; gpuPools has: {', '.join(names) or 'none'}", True)]
    if pool is not None and gpus == 0:
        return [
            _Issue(
                (*path, "gpus"), 0, f"gpuPool is {pool!r} but no GPU is requested; set gpus >= 1 or drop gpuPool", True
            )
        ]
    if gpus > 0 and not pools:
        return [_Issue((*path, "gpus"), gpus, "asks for GPUs but the stack has no gpuPools to run on", True)]
    return []


# --------------------------------------------------------------------------- root


class PlatformConfig(Section):
    """`mlops-platform:platform` — everything that differs between environments."""

    environment: Environment
    """dev or prod: prod turns on protection, multi-AZ NAT and the strict checks. Required."""
    tags: Tags
    """Ownership and cost tags for every taggable AWS resource. Required."""
    network: Network
    """The VPC."""
    cluster: Cluster
    """The EKS control plane and system nodes."""
    gpu_pools: list[GpuPool] = []
    """GPU node pools (each can scale to zero). Default: none."""
    guardrails: Guardrails = Field(default=Guardrails(), validate_default=True)
    """Cost guardrails checked here and by the policy pack."""
    artifacts: Artifacts = Artifacts()
    """S3 storage for artifacts, models and datasets."""
    protect_state: bool | None = None
    """Protect stateful resources (buckets, keys, databases) from deletion. Default: true in prod, false in dev."""
    images: Images
    """Where the platform's own images (training, serving, monitor, mlflow-server) come from. Required."""
    database: Database = Database()
    """Postgres for MLflow (tracking, registry, auth) and the Feast registry."""
    mlflow: Mlflow = Mlflow()
    """MLflow tracking server and model registry."""
    feature_store: FeatureStore = FeatureStore()
    """Feast feature store."""
    monitoring: Monitoring = Monitoring()
    """Prometheus, Alertmanager and Grafana."""
    serving: Serving = Field(default=Serving(), validate_default=True)
    """KServe and the inference endpoints."""
    training: Training = Field(default=Training(), validate_default=True)
    """The training pipeline CronJob."""
    monitor: DriftMonitorConfig = Field(default=DriftMonitorConfig(), validate_default=True)
    """The drift monitor."""

    @field_validator("cluster")
    @classmethod
    def _adopt_needs_vpc(cls, value: Cluster, info: ValidationInfo) -> Cluster:
        network = info.data.get("network")
        if value.existing is not None and network is not None and network.existing_vpc is None:
            _fail(
                [
                    _Issue(
                        ("network", "existingVpc"),
                        None,
                        "required when cluster.existing is set (databases live in the cluster's VPC)",
                        True,
                    )
                ]
            )
        return value

    @field_validator("gpu_pools")
    @classmethod
    def _unique_names(cls, value: list[GpuPool]) -> list[GpuPool]:
        seen: set[str] = set()
        issues = []
        for index, pool in enumerate(value):
            if pool.name in seen:
                issues.append(_Issue((index, "name"), pool.name, "duplicate pool name; names must be unique"))
            seen.add(pool.name)
        _fail(issues)
        return value

    @field_validator("guardrails")
    @classmethod
    def _budget(cls, value: Guardrails, info: ValidationInfo) -> Guardrails:
        pools: list[GpuPool] | None = info.data.get("gpu_pools")
        if pools is not None:
            found = guardrails.gpu_budget_violations([p.capacity() for p in pools], value.budget())
            _fail(
                [
                    _Issue(
                        ("gpuPools",) if index is None else ("gpuPools", index, "maxSize"),
                        [p.max_size for p in pools] if index is None else pools[index].max_size,
                        message,
                        True,
                    )
                    for index, message in found
                ]
            )
        return value

    @field_validator("serving")
    @classmethod
    def _serving(cls, value: Serving, info: ValidationInfo) -> Serving:
        pools: list[GpuPool] | None = info.data.get("gpu_pools")
        issues = []
        for index, endpoint in enumerate(value.endpoints):
            if endpoint.min_replicas < 1 and info.data.get("environment") == "prod":
                issues.append(
                    _Issue(
                        ("serving", "endpoints", index, "minReplicas"),
                        endpoint.min_replicas,
                        "must be >= 1 in prod",
                        True,
                    )
                )
            if pools is not None:
                issues += _gpu_placement(("serving", "endpoints", index), endpoint.gpus, endpoint.gpu_pool, pools)
        _fail(issues)
        return value

    @field_validator("training")
    @classmethod
    def _training(cls, value: Training, info: ValidationInfo) -> Training:
        pools: list[GpuPool] | None = info.data.get("gpu_pools")
        if pools is not None:
            _fail(_gpu_placement(("training",), value.gpus, value.gpu_pool, pools))
        return value

    @field_validator("monitor")
    @classmethod
    def _monitor(cls, value: DriftMonitorConfig, info: ValidationInfo) -> DriftMonitorConfig:
        serving: Serving | None = info.data.get("serving")
        if (
            serving is not None
            and value.endpoint is not None
            and value.endpoint not in [e.name for e in serving.endpoints]
        ):
            _fail(
                [
                    _Issue(
                        ("endpoint",),
                        value.endpoint,
                        f"no such endpoint; serving.endpoints has: {', '.join(e.name for e in serving.endpoints) or 'none'}",
                    )
                ]
            )
        return value

    @field_validator("protect_state")
    @classmethod
    def _protected_in_prod(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        if value is False and info.data.get("environment") == "prod":
            _fail([_Issue((), value, "must be true (or unset) in prod: stateful resources are protected")])
        return value

    # ----------------------------------------------------------- derived settings

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def protect(self) -> bool:
        return self.is_prod if self.protect_state is None else self.protect_state

    @property
    def nat_per_az(self) -> bool:
        mode = self.network.nat_gateways or ("perAz" if self.is_prod else "single")
        return mode == "perAz"

    @property
    def managed_database(self) -> bool:
        return (self.database.mode or ("managed" if self.is_prod else "inCluster")) == "managed"

    @property
    def managed_redis(self) -> bool:
        return (self.feature_store.redis.mode or ("managed" if self.is_prod else "inCluster")) == "managed"

    @property
    def database_multi_az(self) -> bool:
        return self.is_prod if self.database.multi_az is None else self.database.multi_az

    @property
    def mlflow_replicas(self) -> int:
        return self.mlflow.replicas or (2 if self.is_prod else 1)

    @property
    def monitored_endpoint(self) -> Endpoint | None:
        endpoints = self.serving.endpoints
        if self.monitor.endpoint is not None:
            return next(e for e in endpoints if e.name == self.monitor.endpoint)
        return endpoints[0] if endpoints else None

    def aws_tags(self) -> dict[str, str]:
        return {
            **self.tags.extra,
            "owner": self.tags.owner,
            "environment": self.environment,
            "cost-center": self.tags.cost_center,
        }

    def addon_versions(self) -> dict[str, str]:
        return EKS_ADDONS[self.cluster.kubernetes_version]


# --------------------------------------------------------------------------- parsing


class DictSecrets:
    """A SecretSource over a plain mapping of key -> is_secret (tests, offline plan)."""

    def __init__(self, keys: Mapping[str, bool]) -> None:
        self._keys = keys

    def status(self, key: str) -> Literal["missing", "plain", "secret"]:
        if key not in self._keys:
            return "missing"
        return "secret" if self._keys[key] else "plain"


def parse_platform_config(raw: Any, *, secrets: SecretSource | None = None) -> PlatformConfig:
    """Validate the raw `platform` object; raise ConfigError listing every problem."""
    if raw is None:
        raise ConfigError([Problem(ROOT, f"not set; add `{PROJECT}:{CONFIG_KEY}` to the stack file", has_value=False)])
    environment = raw.get("environment") if isinstance(raw, Mapping) else None
    context = {
        "environment": environment if environment in typing.get_args(Environment) else None,
        "secrets": secrets,
    }
    try:
        return PlatformConfig.model_validate_json(json.dumps(raw), strict=True, context=context)
    except ValidationError as exc:
        raise ConfigError([p for error in exc.errors() for p in _problems(error)]) from None


def _problems(error: Any) -> Iterable[Problem]:
    # A default that is validated reports its Python field name; the stack file spells keys in camelCase.
    loc: tuple[str | int, ...] = tuple(to_camel(p) if isinstance(p, str) else p for p in error["loc"])
    kind = error["type"]
    if kind == "platform_config":
        for issue in error["ctx"]["issues"]:
            yield Problem(_path(_join(() if issue.absolute else loc, issue.path)), issue.message, issue.value)
        return
    if kind == "missing":
        yield Problem(_path(loc), "required key is missing", has_value=False)
        return
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        yield Problem(_path(loc), f"unknown key; allowed keys here: {', '.join(allowed)}", error["input"])
        return
    yield Problem(_path(loc), _MESSAGES.get(kind, error["msg"]).format(**error.get("ctx", {})), error["input"])


def _join(base: tuple[str | int, ...], rel: tuple[str | int, ...]) -> tuple[str | int, ...]:
    out = list(base)
    for part in rel:
        if part == "..":
            out.pop()
        else:
            out.append(part)
    return tuple(out)


_MESSAGES = {
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "ip_v4_network": "not a valid IPv4 CIDR (like 10.0.0.0/16, host bits zero)",
    "value_error": "not a valid IPv4 CIDR ({error})",  # only the IPv4Network fields raise plain ValueErrors
    "greater_than_equal": "must be >= {ge}",
    "less_than_equal": "must be <= {le}",
    "string_pattern_mismatch": "must match {pattern}",
    "too_short": "must have at least {min_length} item(s)",
    "string_too_short": "must not be empty",
    "literal_error": "must be one of: {expected}",
    "float_type": "must be a number",
}


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    model: Any = PlatformConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for f in model.model_fields.values() if f.alias == part), None)
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, Union, types.UnionType, Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


# --------------------------------------------------------------------------- the running program


@dataclass(frozen=True)
class StackConfig:
    """Everything the program reads from the stack's configuration."""

    platform: PlatformConfig
    region: str
    kubeconfig: Any = None
    """pulumi.Output[str] (secret) when an existing cluster is adopted."""


class PulumiSecrets:
    """SecretSource over the running stack's configuration."""

    def status(self, key: str) -> Literal["missing", "plain", "secret"]:
        from pulumi.runtime.config import get_config, is_config_secret

        full_key = f"{PROJECT}:{key}"
        if get_config(full_key) is None:
            return "missing"
        return "secret" if is_config_secret(full_key) else "plain"


def load_stack_config() -> StackConfig:
    """Read and validate the running stack's config; raise ConfigError before anything is declared."""
    import pulumi

    problems: list[Problem] = []
    region = pulumi.Config("aws").get("region")
    if not region:
        problems.append(Problem("aws:region", "not set: pulumi config set aws:region <region>", has_value=False))
    try:
        raw = pulumi.Config(PROJECT).get_object(CONFIG_KEY)
        platform = parse_platform_config(raw, secrets=PulumiSecrets())
    except ConfigError as error:
        problems = error.problems + problems
    if problems:
        raise ConfigError(problems)
    kubeconfig = None
    if platform.cluster.existing is not None:
        kubeconfig = pulumi.Config(PROJECT).require_secret(platform.cluster.existing.kubeconfig_secret)
    return StackConfig(platform=platform, region=str(region), kubeconfig=kubeconfig)
