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
