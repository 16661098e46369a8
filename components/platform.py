"""MlPlatform: the whole platform, composed from a validated stack config."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi

from components import k8s as kube
from components._common import ComponentArgsError, PlatformComponent, child
from components.artifact_store import ArtifactStore, ArtifactStoreArgs, Bucket
from components.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.config import Ingress, PlatformConfig
from components.database import Database, DatabaseArgs, DatabaseMode
from components.drift_monitor import DriftMonitor, DriftMonitorArgs
from components.eks_cluster import EksCluster, EksClusterArgs, ExistingClusterArgs
from components.feature_store import FeatureStore, FeatureStoreArgs, RedisMode
from components.gpu_node_pool import GPU_POOL_LABEL, GpuNodePool, GpuNodePoolArgs
from components.gpu_support import GpuSupport
from components.mlflow_tracking import MlflowTracking, MlflowTrackingArgs
from components.model_endpoint import DirectArtifactAccess, ModelEndpoint, ModelEndpointArgs
from components.model_serving import ModelServing, ModelServingArgs, ServingMode
from components.monitoring import Monitoring, MonitoringArgs
from components.network import ExistingVpcArgs, Network, NetworkArgs
from components.node_group import NodeGroupSpec
from components.training_pipeline import TrainingPipeline, TrainingPipelineArgs
from components.versions import APP_IMAGES

MLOPS_NS = "mlops"
"""Platform services and apps: MLflow, Feast, Postgres/Redis (dev), training, drift monitor."""
MODELS_NS = "models"
"""InferenceServices."""
MONITORING_NS = "monitoring"
KSERVE_NS = "kserve"
DRIFT_MONITOR_URL = f"http://drift-monitor.{MLOPS_NS}.svc.cluster.local:8080"
PUSHGATEWAY_URL = f"http://pushgateway-prometheus-pushgateway.{MONITORING_NS}.svc.cluster.local:9091"


@dataclass
class MlPlatformArgs:
    config: PlatformConfig
    """The validated stack config (components.config.parse_platform_config)."""
    stack: str
    """Stack name: names the cluster (mlops-<stack>) unless the config does."""
    region: str
    """AWS region of the stack."""
    kubeconfig: pulumi.Input[str] | None = None
    """Kubeconfig of an adopted cluster (a secret); required when config.cluster.existing is set."""


class MlPlatform(PlatformComponent):
    """Network, EKS with GPU pools that scale to zero, artifact storage, MLflow, Feast, monitoring,
    KServe endpoints, the training pipeline and the drift monitor, wired together."""

    network: Network
    cluster: EksCluster
    gpu_pools: dict[str, GpuNodePool]
    artifacts: ArtifactStore
    mlflow: MlflowTracking
    feature_store: FeatureStore
    endpoints: dict[str, ModelEndpoint]
    monitoring: Monitoring

    def __init__(self, name: str, args: MlPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:MlPlatform", name, None, opts)
        cfg = args.config
        tags = cfg.aws_tags()
        cluster_cfg = cfg.cluster
        cluster_name = cluster_cfg.existing.name if cluster_cfg.existing else cluster_cfg.name or f"mlops-{args.stack}"

        existing_vpc = cfg.network.existing_vpc
        self.network = Network(
            f"{name}-network",
            NetworkArgs(
                cluster_name=cluster_name,
                region=args.region,
                availability_zones=cfg.network.availability_zones,
                vpc_cidr=str(cfg.network.vpc_cidr),
                nat_per_az=cfg.nat_per_az,
                flow_log_retention_days=cfg.network.flow_log_retention_days,
                tags=tags,
                existing=ExistingVpcArgs(
                    existing_vpc.vpc_id, existing_vpc.private_subnet_ids, existing_vpc.public_subnet_ids
                )
                if existing_vpc
                else None,
            ),
            opts=child(self),
        )

        existing = None
        if cluster_cfg.existing is not None:
            if args.kubeconfig is None:
                raise ComponentArgsError(
                    "MlPlatform", name, ["kubeconfig (None) is required to adopt an existing cluster"]
                )
            existing = ExistingClusterArgs(
                name=cluster_cfg.existing.name,
                kubeconfig=args.kubeconfig,
                oidc_provider_arn=cluster_cfg.existing.oidc_provider_arn,
                oidc_issuer_url=cluster_cfg.existing.oidc_issuer_url,
                node_security_group_id=cluster_cfg.existing.node_security_group_id,
            )
        nodes = cluster_cfg.system_nodes
        self.cluster = EksCluster(
            f"{name}-eks",
            EksClusterArgs(
                cluster_name=cluster_name,
                region=args.region,
                private_subnet_ids=self.network.private_subnet_ids,
                public_access_cidrs=cluster_cfg.public_access_cidrs,
                endpoint_public_access=cluster_cfg.endpoint_public_access,
                kubernetes_version=cluster_cfg.kubernetes_version,
                service_cidr=str(cfg.network.service_cidr),
                admin_principal_arns=cluster_cfg.admin_principal_arns,
                log_retention_days=cluster_cfg.log_retention_days,
                system_nodes=NodeGroupSpec(
                    instance_types=nodes.instance_types,
                    min_size=nodes.min_size,
                    max_size=nodes.max_size,
                    desired_size=nodes.desired_size,
                    disk_size_gib=nodes.disk_size_gib,
                ),
                addon_versions=cfg.addon_versions(),
                tags=tags,
                protect=cfg.protect,
                existing=existing,
            ),
            opts=child(self),
        )
        k8s_opts = child(self, provider=self.cluster.provider)

        self.gpu_pools = {
            pool.name: GpuNodePool(
                f"{name}-gpu-{pool.name}",
                GpuNodePoolArgs(
                    cluster_name=self.cluster.cluster_name,
                    node_role_arn=self.cluster.node_role_arn,
                    subnet_ids=self.network.private_subnet_ids,
                    instance_types=pool.instance_types,
                    min_size=pool.min_size,
                    max_size=pool.max_size,
                    desired_size=pool.desired_size,
                    capacity_type=pool.capacity_type,
                    disk_size_gib=pool.disk_size_gib,
                    labels={GPU_POOL_LABEL: pool.name, **pool.labels},
                    tags=tags,
                ),
                opts=child(self),
            )
            for pool in cfg.gpu_pools
        }
        ClusterAutoscaler(
            f"{name}-autoscaler",
            ClusterAutoscalerArgs(
                cluster_name=self.cluster.cluster_name, region=args.region, oidc=self.cluster.oidc, tags=tags
            ),
            opts=k8s_opts,
        )
        gpu_support = GpuSupport(f"{name}-gpu-support", opts=k8s_opts) if self.gpu_pools else None

        self.artifacts = ArtifactStore(
            f"{name}-artifacts",
            ArtifactStoreArgs(
                noncurrent_version_expiration_days=cfg.artifacts.noncurrent_version_expiration_days,
                access_log_retention_days=cfg.artifacts.access_log_retention_days,
                force_destroy=cfg.artifacts.force_destroy,
                protect=cfg.protect,
                tags=tags,
            ),
            opts=child(self),
        )
        self._services(name, cfg, tags, gpu_support)
        self.register_outputs(self.outputs())

    def _services(self, name: str, cfg: PlatformConfig, tags: dict[str, str], gpu_support: GpuSupport | None) -> None:
        """The services data scientists touch, and the apps, each in its namespace."""
        provider = self.cluster.provider
        ns_mlops = kube.namespace(self, f"{name}-ns-{MLOPS_NS}", MLOPS_NS, deny_ingress=True, opts_provider=provider)
        ns_models = kube.namespace(self, f"{name}-ns-{MODELS_NS}", MODELS_NS, deny_ingress=True, opts_provider=provider)
        # node-exporter needs the host network and PID namespace.
        ns_monitoring = kube.namespace(
            self, f"{name}-ns-{MONITORING_NS}", MONITORING_NS, pod_security="privileged", opts_provider=provider
        )
        ns_kserve = kube.namespace(self, f"{name}-ns-{KSERVE_NS}", KSERVE_NS, opts_provider=provider)

        def in_ns(*namespaces: pulumi.Resource, after: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
            return child(self, provider=provider, depends_on=[*namespaces, *after])

        image = _images(cfg)
        oidc = self.cluster.oidc
        proxy = cfg.mlflow.proxy_artifacts
        database = Database(
            f"{name}-db",
            DatabaseArgs(
                namespace=MLOPS_NS,
                databases=["mlflow", "mlflow_auth", "feast"],
                mode=DatabaseMode.MANAGED if cfg.managed_database else DatabaseMode.IN_CLUSTER,
                vpc_id=self.network.vpc_id,
                subnet_ids=self.network.private_subnet_ids,
                client_security_group_id=self.cluster.node_security_group_id,
                instance_class=cfg.database.instance_class,
                storage_gib=cfg.database.storage_gib,
                max_storage_gib=cfg.database.max_storage_gib,
                backup_retention_days=cfg.database.backup_retention_days,
                multi_az=cfg.database_multi_az,
                protect=cfg.protect,
                tags=tags,
            ),
            opts=in_ns(ns_mlops),
        )
        self.mlflow = MlflowTracking(
            f"{name}-mlflow",
            MlflowTrackingArgs(
                namespace=MLOPS_NS,
                image=image("mlflow"),
                backend_url=database.url("mlflow"),
                auth_url=database.url("mlflow_auth"),
                artifacts=self.artifacts,
                oidc=oidc,
                users={"training": MLOPS_NS, "monitor": MLOPS_NS, "serving": MODELS_NS},
                replicas=cfg.mlflow_replicas,
                cpu=cfg.mlflow.cpu,
                memory=cfg.mlflow.memory,
                proxy_artifacts=proxy,
                ingress=_ingress(cfg.mlflow.ingress),
                allowed_client_namespaces=[MODELS_NS],
            ),
            opts=in_ns(ns_mlops, ns_models, after=[database]),
        )
        targets: list[kube.ScrapeTarget] = [self.mlflow.scrape_target]
        feature_url: pulumi.Output[str] | None = None
        if cfg.feature_store.enabled:
            redis = cfg.feature_store.redis
            self.feature_store = FeatureStore(
                f"{name}-feast",
                FeatureStoreArgs(
                    namespace=MLOPS_NS,
                    image=image("features"),
                    registry_url=database.url("feast", scheme="postgresql+psycopg"),
                    artifacts=self.artifacts,
                    oidc=oidc,
                    redis_mode=RedisMode.MANAGED if cfg.managed_redis else RedisMode.IN_CLUSTER,
                    vpc_id=self.network.vpc_id,
                    subnet_ids=self.network.private_subnet_ids,
                    client_security_group_id=self.cluster.node_security_group_id,
                    redis_node_type=redis.node_type,
                    redis_replicas=redis.replicas,
                    materialize_schedule=cfg.feature_store.materialize_schedule,
                    server_replicas=cfg.feature_store.server_replicas,
                    allowed_client_namespaces=[MODELS_NS],
                    protect=cfg.protect,
                    tags=tags,
                ),
                opts=in_ns(ns_mlops, after=[database]),
            )
            feature_url = self.feature_store.url
            targets.append(self.feature_store.scrape_target)

        training = cfg.training
        pipeline = TrainingPipeline(
            f"{name}-training",
            TrainingPipelineArgs(
                namespace=MLOPS_NS,
                image=image("training"),
                model=training.model,
                mlflow_url=self.mlflow.url,
                mlflow_credentials_secret=self.mlflow.credentials["training"],
                artifacts=self.artifacts,
                oidc=oidc,
                schedule=training.schedule,
                cpu=training.cpu,
                memory=training.memory,
                gpus=training.gpus,
                gpu_pool=training.gpu_pool,
                promotion_margin=training.promotion_margin,
                pushgateway_url=PUSHGATEWAY_URL,
                direct_artifact_access=not proxy,
            ),
            opts=in_ns(ns_mlops, after=[self.mlflow]),
        )
        monitored = cfg.monitored_endpoint
        if monitored is not None:
            monitor = DriftMonitor(
                f"{name}-monitor",
                DriftMonitorArgs(
                    namespace=MLOPS_NS,
                    image=image("monitor"),
                    model=monitored.model,
                    mlflow_url=self.mlflow.url,
                    mlflow_credentials_secret=self.mlflow.credentials["monitor"],
                    job_template_configmap=pipeline.job_template_configmap,
                    alias=monitored.alias,
                    window_size=cfg.monitor.window_size,
                    consecutive_windows=cfg.monitor.consecutive_windows,
                    cooldown_minutes=cfg.monitor.cooldown_minutes,
                    allowed_client_namespaces=[MODELS_NS],
                    direct_artifact_access=None if proxy else (self.artifacts, oidc),
                ),
                opts=in_ns(ns_mlops, after=[pipeline]),
            )
            targets.append(monitor.scrape_target)

        mode = ServingMode(cfg.serving.mode)
        serving = ModelServing(
            f"{name}-kserve", ModelServingArgs(mode=mode, namespace=KSERVE_NS), opts=in_ns(ns_kserve)
        )
        self.endpoints = {}
        for endpoint in cfg.serving.endpoints:
            logged = monitored is not None and endpoint.model == monitored.model
            self.endpoints[endpoint.name] = ModelEndpoint(
                endpoint.name,
                ModelEndpointArgs(
                    namespace=MODELS_NS,
                    image=image("serving"),
                    model=endpoint.model,
                    alias=endpoint.alias,
                    mlflow_url=self.mlflow.url,
                    mlflow_credentials_secret=self.mlflow.credentials["serving"],
                    mode=mode,
                    min_replicas=endpoint.min_replicas,
                    max_replicas=endpoint.max_replicas,
                    canary_traffic_percent=endpoint.canary_traffic_percent,
                    cpu=endpoint.cpu,
                    memory=endpoint.memory,
                    gpus=endpoint.gpus,
                    gpu_pool=endpoint.gpu_pool,
                    monitor_url=DRIFT_MONITOR_URL if logged else None,
                    feature_server_url=feature_url,
                    direct_artifact_access=None if proxy else DirectArtifactAccess(self.artifacts, oidc),
                ),
                opts=in_ns(ns_models, after=[*serving.ready, self.mlflow]),
            )
            targets.append(self.endpoints[endpoint.name].scrape_target)
        if gpu_support is not None:
            targets.append(gpu_support.scrape_target)
        self.monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                namespace=MONITORING_NS,
                retention=cfg.monitoring.retention,
                storage_gib=cfg.monitoring.storage_gib,
                targets=targets,
                grafana_ingress=_ingress(cfg.monitoring.grafana_ingress),
            ),
            opts=in_ns(ns_monitoring, ns_mlops, ns_models),
        )

    def outputs(self) -> dict[str, object]:
        """What the stack exports (secrets stay secret)."""
        return {
            "vpcId": self.network.vpc_id,
            "clusterName": self.cluster.cluster_name,
            "kubeconfig": self.cluster.kubeconfig,
            "artifactBucket": self.artifacts.bucket_names[Bucket.ARTIFACTS],
            "dataBucket": self.artifacts.bucket_names[Bucket.DATA],
            "gpuPools": {
                name: {"nodeGroup": pool.node_group_name, "maxGpus": pool.max_gpus}
                for name, pool in self.gpu_pools.items()
            },
            "mlflowUrl": self.mlflow.url,
            "mlflowAdminPassword": self.mlflow.admin_password,
            "grafanaAdminPassword": self.monitoring.grafana_admin_password,
            "endpoints": {name: endpoint.url for name, endpoint in self.endpoints.items()},
        }


def _images(cfg: PlatformConfig) -> Callable[[str], str]:
    def image(app: str) -> str:
        return f"{cfg.images.registry}/{APP_IMAGES[app]}:{cfg.images.tag}"

    return image


def _ingress(ingress: Ingress | None) -> kube.IngressArgs | None:
    return (
        kube.IngressArgs(ingress.host, ingress.class_name, ingress.internal, ingress.tls_certificate_arn)
        if ingress
        else None
    )
