"""The stack config model: `mlops-platform:platform`, composed of each component's settings.

Each section is the settings model of the component it configures (declared, documented and
validated there); this module adds what only the whole stack can check - GPU budgets, workloads
on GPU pools that exist, production rules - and the derived values the program reads.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from ..cluster.eks_cluster import ClusterSettings
from ..cluster.gpu_node_pool import GpuPoolSettings, provisioner_issues
from ..cluster.network import NetworkSettings
from ..data.artifact_store import ArtifactSettings
from ..data.database import DatabaseSettings
from ..kit import aws_facts, guardrails, llm
from ..kit.gpu import fewest_gpus_per_node
from ..kit.spec import Issue, PathPart, Spec, fail, matching, name_rule, section
from ..kit.versions import APP_IMAGES, EKS_ADDONS
from ..services.drift_monitor import DriftMonitorSettings
from ..services.feature_store import FeatureStoreSettings
from ..services.llm_endpoint import LlmEndpointSettings, llm_mode_issues
from ..services.mlflow_tracking import MlflowSettings
from ..services.model_endpoint import EndpointSettings, ServingSettings
from ..services.model_serving import ServingMode
from ..services.monitoring import MonitoringSettings
from ..services.training_pipeline import TrainingSettings

Environment = Literal["dev", "prod"]
NonEmpty = Annotated[str, Field(min_length=1, max_length=256)]


class Tags(Spec):
    """Ownership and cost tags for every taggable AWS resource."""

    owner: NonEmpty
    """Team or person accountable for the stack (`owner` tag). Required."""
    cost_center: NonEmpty
    """Cost allocation code (`cost-center` tag). Required."""
    extra: dict[str, NonEmpty] = Field(default_factory=dict)
    """Further tags added to every taggable AWS resource. Default: none."""

    @field_validator("extra")
    @classmethod
    def _no_reserved(cls, value: dict[str, str]) -> dict[str, str]:
        fail(
            Issue((key,), v, f"'{key}' is set by the platform; remove it from extra")
            for key, v in value.items()
            if key in guardrails.REQUIRED_TAGS or key.lower().startswith("aws:")
        )
        return value


class Guardrails(Spec):
    """Cost guardrails checked here and by the policy pack."""

    max_gpus_per_pool: Annotated[int, Field(ge=0)] = 8
    """Most GPUs one pool may reach at maxSize. Default: 8."""
    max_gpus_total: Annotated[int, Field(ge=0)] = 16
    """Most GPUs all pools together may reach. Default: 16."""
    allow_spot: bool = True
    """Whether GPU pools may use SPOT capacity. Default: true."""

    def budget(self) -> guardrails.GpuBudget:
        return guardrails.GpuBudget(self.max_gpus_per_pool, self.max_gpus_total, self.allow_spot)


class Images(Spec):
    """Where the platform's own images come from."""

    registry: Annotated[
        str,
        matching(
            r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*",
            "a registry host and path like 123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops (lower case, no scheme)",
        ),
    ]
    """Registry and path the platform's images are pushed to (e.g. <account>.dkr.ecr.<region>.amazonaws.com/mlops). Required."""
    tag: Annotated[
        str,
        name_rule(
            chars=r"[A-Za-z0-9_.-]",
            allowed="letters, digits, '_', '.' and '-'",
            first=r"[A-Za-z0-9_]",
            first_words="a letter, digit or '_'",
            max_length=128,
        ),
    ] = "0.1.0"
    """Tag of the training, serving, monitor and mlflow-server images (a release, never `latest`). Default: 0.1.0."""

    @field_validator("tag")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if value == "latest":
            fail([Issue((), value, "must name a release; `latest` is not pinned")])
        return value

    def image(self, app: str) -> str:
        return f"{self.registry}/{APP_IMAGES[app]}:{self.tag}"


def offering_issues(
    path: tuple[PathPart, ...], instance_types: list[str], network: NetworkSettings, info: ValidationInfo, at_least: int
) -> list[Issue]:
    """Each instance type is offered in at least `at_least` of the stack's availability zones (AWS's
    offerings data). Unchecked for an adopted VPC: its subnets' zones are not in the config."""
    region = (info.context or {}).get("region")
    zones = network.availability_zones
    if not region or network.existing_vpc is not None or not zones:
        return []
    issues = []
    for instance in instance_types:
        offered = aws_facts.zones_offering(region, instance, zones)
        if len(offered) < at_least:
            anywhere = aws_facts.zones_offering(region, instance, aws_facts.zones(region))
            need = "any" if at_least == 1 else f"{at_least}"
            issues.append(
                Issue(
                    path,
                    instance_types,
                    f"{instance} is offered in {len(offered)} of the stack's zones ({', '.join(zones)}); needs {need}"
                    + (
                        f". {region} offers it in {', '.join(anywhere)}"
                        if anywhere
                        else f". {region} does not offer it"
                    ),
                    True,
                )
            )
    return issues


def gpu_placement(path: tuple[PathPart, ...], gpus: int, pool: str | None, pools: list[GpuPoolSettings]) -> list[Issue]:
    """A workload asking for GPUs needs a GPU pool to run on (the named one, or any) whose every node
    has that many: the smallest instance type of the pool decides."""
    names = [p.name for p in pools]
    if gpus > 0 and pools:
        candidates = [p for p in pools if pool is None or p.name == pool]
        fits = [p for p in candidates if fewest_gpus_per_node(p.instance_types) >= gpus]
        if candidates and not fits:
            sizes = ", ".join(f"{p.name}: {fewest_gpus_per_node(p.instance_types)}" for p in candidates)
            return [
                Issue(
                    (*path, "gpus"),
                    gpus,
                    f"more GPUs than a node of {'pool ' + repr(pool) if pool else 'any pool'} has (GPUs on its smallest "
                    f"instance type: {sizes}); ask for fewer or add a larger type",
                    True,
                )
            ]
    if pool is not None and pool not in names:
        return [
            Issue((*path, "gpu_pool"), pool, f"no such GPU pool; {{gpu_pools}} has: {', '.join(names) or 'none'}", True)
        ]
    if pool is not None and gpus == 0:
        return [
            Issue(
                (*path, "gpus"),
                0,
                f"{{gpu_pool}} is {pool!r} but no GPU is requested; set {{gpus}} >= 1 or drop {{gpu_pool}}",
                True,
            )
        ]
    if gpus > 0 and not pools:
        return [Issue((*path, "gpus"), gpus, "asks for GPUs but the stack has no {gpu_pools} to run on", True)]
    return []


def llm_sizing_issues(where: tuple[PathPart, ...], endpoint: LlmEndpointSettings, pool: GpuPoolSettings) -> list[Issue]:
    """An LLM replica must fit the pool's smallest instance type: its GPUs, their memory at the
    endpoint's utilisation, and (cached) the weights on its instance store."""
    sizing = llm.size(endpoint.serving, pool.instance_types)
    if sizing is None:
        return []  # the pool's own types are refused where they are declared
    issues = []
    if not sizing.fits_gpus:
        issues.append(
            Issue(
                (*where, "tensor_parallel_size"),
                endpoint.tensor_parallel_size,
                f"needs {endpoint.tensor_parallel_size} GPUs on one node; {sizing.instance_type}, the smallest type of "
                f"pool {pool.name!r}, has {sizing.gpus_per_node}",
                True,
            )
        )
    elif not sizing.fits_memory:
        ideas = llm.what_would_fit(sizing)
        issues.append(
            Issue(
                (*where, "model"),
                f"{endpoint.model.parameters_billions:g}B {endpoint.quantization or endpoint.dtype}",
                f"does not fit: needs {sizing.breakdown()}; offered {sizing.offer()}, the smallest type of pool "
                f"{pool.name!r}"
                + (f". Would fit: {'; or '.join(ideas)}" if ideas else ". No size of this GPU model fits it"),
                True,
            )
        )
    if endpoint.cache and not sizing.fits_disk:
        issues.append(
            Issue(
                (*where, "cache"),
                True,
                f"the weights ({sizing.disk_gib:.1f} GiB) do not fit the node cache on {sizing.instance_type} "
                f"({sizing.disk_offered_gib:.0f} GiB: {llm.CACHE_SHARE:.0%} of its instance store); set cache: false "
                "or use a type with more NVMe",
                True,
            )
        )
    return issues


def pool_reservation_issues(
    pools: list[GpuPoolSettings],
    serving: ServingSettings,
    training: TrainingSettings,
    llms: list[LlmEndpointSettings],
) -> list[Issue]:
    """The GPUs the workloads pinned to a pool may take at their maximum (endpoints' and LLMs' max replicas,
    the training job) must fit in the pool at its max size - the pool's bound is the budget's unit."""
    issues = []
    for index, pool in enumerate(pools):
        asks = [
            (f"serving endpoint {e.name}", e.max_replicas * e.gpus)
            for e in serving.endpoints
            if e.gpu_pool == pool.name and e.gpus
        ]
        asks += [(f"LLM endpoint {e.name}", e.max_gpus) for e in llms if e.gpu_pool == pool.name]
        if training.gpu_pool == pool.name and training.gpus:
            asks.append(("training", training.gpus))
        capacity = fewest_gpus_per_node(pool.instance_types) * pool.max_size
        total = sum(gpus for _, gpus in asks)
        if asks and total > capacity:
            detail = ", ".join(f"{who}: {gpus}" for who, gpus in asks)
            issues.append(
                Issue(
                    ("gpu_pools", index, "max_size"),
                    pool.max_size,
                    f"pool {pool.name!r} holds {capacity} GPUs at its max size, but the workloads pinned to it may take "
                    f"{total} at their max replicas ({detail}); raise maxSize within the GPU budget or lower maxReplicas",
                    True,
                )
            )
    return issues


def _provisioner_of(
    value: Literal["karpenter", "clusterAutoscaler"] | None, cluster: ClusterSettings | None
) -> Literal["karpenter", "clusterAutoscaler"]:
    if value is not None:
        return value
    return "clusterAutoscaler" if cluster is not None and cluster.existing is not None else "karpenter"


class PlatformConfig(Spec):
    """`mlops-platform:platform` - everything that differs between environments."""

    environment: Environment
    """dev or prod: prod turns on protection, multi-AZ NAT and the strict checks. Required."""
    tags: Tags
    """Ownership and cost tags for every taggable AWS resource. Required."""
    network: NetworkSettings
    """The VPC."""
    cluster: ClusterSettings
    """The EKS control plane and system nodes."""
    gpu_provisioner: Literal["karpenter", "clusterAutoscaler"] | None = None
    """What starts and stops GPU nodes: karpenter (a NodePool + EC2NodeClass per pool, spot interruption handling, consolidation) or clusterAutoscaler (a managed node group per pool). Default: karpenter for a created cluster, clusterAutoscaler for an adopted one."""
    gpu_pools: list[GpuPoolSettings] = Field(default_factory=list)
    """GPU node pools (each can scale to zero). Default: none."""
    spot_service_linked_role: Literal["create", "exists"] = "create"
    """EC2's service-linked role for spot (AWSServiceRoleForEC2Spot), without which an account that never used spot cannot launch a spot pool's nodes: create (when a GPU pool may use spot) or exists (the account has it - one per account, so every stack after the first in an account says exists; creating it twice fails). Default: create."""
    guardrails: Guardrails = section()
    """Cost guardrails checked here and by the policy pack."""
    artifacts: ArtifactSettings = section()
    """S3 storage for artifacts, models and datasets."""
    protect_state: bool | None = None
    """Protect stateful resources (buckets, keys, databases) from deletion. Default: true in prod, false in dev."""
    images: Images
    """Where the platform's own images (training, serving, monitor, mlflow-server) come from. Required."""
    database: DatabaseSettings = section()
    """Postgres for MLflow (tracking, registry, auth) and the Feast registry."""
    mlflow: MlflowSettings = section()
    """MLflow tracking server and model registry."""
    feature_store: FeatureStoreSettings = section()
    """Feast feature store."""
    monitoring: MonitoringSettings = section()
    """Prometheus, Alertmanager and Grafana."""
    serving: ServingSettings = section()
    """KServe and the inference endpoints."""
    training: TrainingSettings = section()
    """The training pipeline CronJob."""
    monitor: DriftMonitorSettings = section()
    """The drift monitor."""
    llm_endpoints: list[LlmEndpointSettings] = Field(default_factory=list)
    """Open-weight LLMs served by vLLM on the GPU pools (README: LLM endpoints), each sized against its pool before anything is declared. Default: none."""

    @field_validator("cluster")
    @classmethod
    def _cluster_in_network(cls, value: ClusterSettings, info: ValidationInfo) -> ClusterSettings:
        network: NetworkSettings | None = info.data.get("network")
        if network is None:
            return value
        if value.existing is not None and network.existing_vpc is None:
            fail(
                [
                    Issue(
                        ("network", "existing_vpc"),
                        None,
                        "required when cluster.existing is set (databases live in the cluster's VPC)",
                        True,
                    )
                ]
            )
        if value.existing is None:
            types = value.system_nodes.instance_types
            fail(offering_issues(("cluster", "system_nodes", "instance_types"), types, network, info, at_least=2))
        return value

    @field_validator("gpu_provisioner")
    @classmethod
    def _provisioner(cls, value: str | None, info: ValidationInfo) -> str | None:
        cluster: ClusterSettings | None = info.data.get("cluster")
        if value == "karpenter" and cluster is not None and cluster.existing is not None:
            fail(
                [
                    Issue(
                        (),
                        value,
                        "Karpenter needs a cluster the platform creates (it declares the nodes' access entry and "
                        "discovery tags); an adopted cluster uses clusterAutoscaler",
                    )
                ]
            )
        return value

    @field_validator("gpu_pools")
    @classmethod
    def _pools(cls, value: list[GpuPoolSettings], info: ValidationInfo) -> list[GpuPoolSettings]:
        names = [p.name for p in value]
        issues = [
            Issue((i, "name"), n, "duplicate pool name; names must be unique")
            for i, n in enumerate(names)
            if n in names[:i]
        ]
        if "gpu_provisioner" in info.data:
            karpenter = _provisioner_of(info.data.get("gpu_provisioner"), info.data.get("cluster")) == "karpenter"
            for index, pool in enumerate(value):
                issues += [
                    Issue((index, *i.path), i.value, i.message) for i in provisioner_issues(pool, karpenter=karpenter)
                ]
        network: NetworkSettings | None = info.data.get("network")
        if network is not None:
            for index, pool in enumerate(value):
                where = ("gpu_pools", index, "instance_types")
                issues += offering_issues(where, pool.instance_types, network, info, at_least=1)
        fail(issues)
        return value

    @field_validator("guardrails")
    @classmethod
    def _budget(cls, value: Guardrails, info: ValidationInfo) -> Guardrails:
        pools: list[GpuPoolSettings] | None = info.data.get("gpu_pools")
        if pools is not None:
            found = guardrails.gpu_budget_violations([p.capacity() for p in pools], value.budget())
            fail(
                Issue(
                    ("gpu_pools",) if index is None else ("gpu_pools", index, "max_size"),
                    [p.max_size for p in pools] if index is None else pools[index].max_size,
                    message,
                    True,
                )
                for index, message in found
            )
        return value

    @field_validator("protect_state")
    @classmethod
    def _protected_in_prod(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        if value is False and info.data.get("environment") == "prod":
            fail([Issue((), value, "must be true (or unset) in prod: stateful resources are protected")])
        return value

    @field_validator("serving", "training")
    @classmethod
    def _on_gpu_pools(cls, value: ServingSettings | TrainingSettings, info: ValidationInfo) -> Any:
        """Workloads asking for GPUs run on pools that exist; prod endpoints never scale to zero."""
        pools: list[GpuPoolSettings] = info.data.get("gpu_pools") or []
        checked = "gpu_pools" in info.data
        if isinstance(value, TrainingSettings):
            fail(gpu_placement(("training",), value.gpus, value.gpu_pool, pools) if checked else [])
            return value
        issues = []
        for index, endpoint in enumerate(value.endpoints):
            where: tuple[PathPart, ...] = ("serving", "endpoints", index)
            if endpoint.min_replicas < 1 and info.data.get("environment") == "prod":
                issues.append(Issue((*where, "min_replicas"), endpoint.min_replicas, "must be >= 1 in prod", True))
            if checked:
                issues += gpu_placement(where, endpoint.gpus, endpoint.gpu_pool, pools)
            if endpoint.gpus and info.data.get("environment") == "prod":
                spot_only = guardrails.spot_only_pools(
                    [p.capacity() for p in pools if endpoint.gpu_pool in (None, p.name)]
                )
                if spot_only:
                    message = guardrails.spot_only_serving_message(endpoint.name, spot_only)
                    issues.append(Issue((*where, "gpu_pool"), endpoint.gpu_pool, message, True))
        fail(issues)
        return value

    @field_validator("monitor")
    @classmethod
    def _monitor(cls, value: DriftMonitorSettings, info: ValidationInfo) -> DriftMonitorSettings:
        serving: ServingSettings | None = info.data.get("serving")
        names = [e.name for e in serving.endpoints] if serving is not None else []
        if serving is not None and value.endpoint is not None and value.endpoint not in names:
            fail(
                [
                    Issue(
                        ("endpoint",),
                        value.endpoint,
                        f"no such endpoint; serving.endpoints has: {', '.join(names) or 'none'}",
                    )
                ]
            )
        return value

    @field_validator("llm_endpoints")
    @classmethod
    def _llms(cls, value: list[LlmEndpointSettings], info: ValidationInfo) -> list[LlmEndpointSettings]:
        """Each LLM on a pool that exists, fitting its smallest instance type (GPUs, memory, the cache's
        disk), honoured by the serving mode, and every GPU workload pinned to a pool within its size."""
        if not {"gpu_pools", "serving", "training"} <= set(info.data):
            return value  # an earlier section is invalid and already reported
        pools: list[GpuPoolSettings] = info.data["gpu_pools"]
        serving: ServingSettings = info.data["serving"]
        prod = info.data.get("environment") == "prod"
        issues: list[Issue] = []
        predictive = {e.name for e in serving.endpoints}
        names = [e.name for e in value]
        for index, endpoint in enumerate(value):
            where: tuple[PathPart, ...] = ("llm_endpoints", index)
            if endpoint.name in predictive or endpoint.name in names[:index]:
                issues.append(
                    Issue(
                        (*where, "name"),
                        endpoint.name,
                        "duplicate InferenceService name (serving.endpoints and llm_endpoints share a namespace)",
                        True,
                    )
                )
            issues += [
                Issue((*where, *i.path), i.value, i.message, True) for i in llm_mode_issues(endpoint, serving.mode)
            ]
            if prod and endpoint.min_replicas < 1:
                issues.append(Issue((*where, "min_replicas"), endpoint.min_replicas, "must be >= 1 in prod", True))
            pool = next((p for p in pools if p.name == endpoint.gpu_pool), None)
            if pool is None:
                names_ = ", ".join(p.name for p in pools) or "none"
                issues.append(
                    Issue((*where, "gpu_pool"), endpoint.gpu_pool, f"no such GPU pool; gpuPools has: {names_}", True)
                )
                continue
            issues += llm_sizing_issues(where, endpoint, pool)
            if prod and guardrails.spot_only_pools([pool.capacity()]):
                message = guardrails.spot_only_serving_message(endpoint.name, [pool.name])
                issues.append(Issue((*where, "gpu_pool"), endpoint.gpu_pool, message, True))
        issues += pool_reservation_issues(pools, serving, info.data["training"], value)
        fail(issues)
        return value

    # ----------------------------------------------------------- derived settings

    @property
    def provisioner(self) -> Literal["karpenter", "clusterAutoscaler"]:
        return _provisioner_of(self.gpu_provisioner, self.cluster)

    @property
    def creates_spot_role(self) -> bool:
        """Whether this stack creates the account's spot service-linked role: a pool may use spot and the
        stack does not say the account has it."""
        spot = any(pool.capacity_type in guardrails.MAY_USE_SPOT for pool in self.gpu_pools)
        return spot and self.spot_service_linked_role == "create"

    @property
    def uses_keda(self) -> bool:
        """Whether KEDA is installed: an endpoint scales on its request rate, or an LLM (Standard mode) on its queue."""
        llm_on_keda = bool(self.llm_endpoints) and self.serving.mode is ServingMode.STANDARD
        return self.serving.uses_keda or llm_on_keda

    @property
    def llm_pools(self) -> dict[str, int]:
        """The GPU pools whose nodes cache LLM weights, with the instance store the cache may fill (GiB)."""
        pools = {p.name: p for p in self.gpu_pools}
        return {
            name: int(llm.instance_store_gib(llm.smallest(pools[name].instance_types) or "") * llm.CACHE_SHARE)
            for name in sorted({e.gpu_pool for e in self.llm_endpoints if e.cache})
        }

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def protect(self) -> bool:
        return self.is_prod if self.protect_state is None else self.protect_state

    @property
    def monitored_endpoint(self) -> EndpointSettings | None:
        endpoints = self.serving.endpoints
        if self.monitor.endpoint is not None:
            return next(e for e in endpoints if e.name == self.monitor.endpoint)
        return endpoints[0] if endpoints else None

    def unchecked(self) -> list[str]:
        """Checks the config cannot make offline with what it says (reported, never passed)."""
        found = []
        if self.network.existing_vpc is not None:
            found.append("instance types offered in the adopted VPC's zones: its subnets' zones are not in the config")
        if self.cluster.existing is not None:
            found.append("the adopted cluster's Kubernetes version, add-ons and endpoint: they are not in the config")
            if self.cluster.identity_mode.value == "podIdentity":
                found.append(
                    "the adopted cluster runs the eks-pod-identity-agent add-on, which workloadIdentity podIdentity "
                    "needs: the cluster's add-ons are not in the config"
                )
        return found

    def cluster_name(self, stack: str) -> str:
        existing = self.cluster.existing
        return existing.name if existing else self.cluster.name or f"mlops-{stack}"

    def aws_tags(self) -> dict[str, str]:
        return {
            **self.tags.extra,
            "owner": self.tags.owner,
            "environment": self.environment,
            "cost-center": self.tags.cost_center,
        }

    def addon_versions(self) -> dict[str, str]:
        return EKS_ADDONS[self.cluster.kubernetes_version]
