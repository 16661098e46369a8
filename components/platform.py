"""MlPlatform: the whole platform, composed from a validated stack config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .cluster.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from .cluster.eks_cluster import EksCluster, EksClusterArgs
from .cluster.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from .cluster.gpu_support import GpuSupport, GpuSupportArgs
from .cluster.karpenter import Karpenter, KarpenterArgs
from .cluster.network import Network, NetworkArgs, PrivatePlacement
from .config import PlatformConfig
from .data.artifact_store import ArtifactAccess, ArtifactStore, ArtifactStoreArgs, Bucket
from .data.database import Database, DatabaseArgs
from .kit import k8s as kube
from .kit.common import PlatformComponent, child, documented, tagged
from .services.drift_monitor import DriftMonitor, DriftMonitorArgs
from .services.feature_store import FeatureStore, FeatureStoreArgs
from .services.llm_endpoint import LlmEndpoint, LlmEndpointArgs, ModelCacheNodes, ModelCacheNodesArgs
from .services.mlflow_tracking import MlflowTracking, MlflowTrackingArgs
from .services.model_endpoint import ModelEndpoint, ModelEndpointArgs
from .services.model_serving import ModelServing, ModelServingArgs
from .services.monitoring import RELEASE as MONITORING_RELEASE
from .services.monitoring import Monitoring, MonitoringArgs
from .services.training_pipeline import TrainingPipeline, TrainingPipelineArgs

MLOPS_NS = "mlops"
"""Platform services and apps: MLflow, Feast, Postgres/Redis (dev), training, drift monitor."""
MODELS_NS = "models"
"""InferenceServices."""
MONITORING_NS = "monitoring"
KSERVE_NS = "kserve"
MLFLOW_SERVICE = "mlflow"


def published_services(cfg: PlatformConfig) -> list[tuple[str, str]]:
    """The Ingresses the config publishes to the internet, as (namespace/name, the setting asking for it):
    the policy pack lets exactly these have an internet-facing load balancer."""
    found = []
    if cfg.mlflow.ingress is not None and not cfg.mlflow.ingress.internal:
        found.append((f"{MLOPS_NS}/{MLFLOW_SERVICE}", "platform.mlflow.ingress"))
    if cfg.monitoring.grafana_ingress is not None and not cfg.monitoring.grafana_ingress.internal:
        found.append((f"{MONITORING_NS}/{MONITORING_RELEASE}-grafana", "platform.monitoring.grafanaIngress"))
    return found


@documented
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
    karpenter: Karpenter | None
    gpu_pools: dict[str, GpuNodePool]
    artifacts: ArtifactStore
    monitoring: Monitoring
    mlflow: MlflowTracking
    feature_store: FeatureStore | None
    endpoints: dict[str, ModelEndpoint]
    llm_endpoints: dict[str, LlmEndpoint]

    def __init__(self, name: str, args: MlPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:MlPlatform", name, None, opts)
        cfg = args.config
        tags = cfg.aws_tags()
        cluster_name = cfg.cluster_name(args.stack)
        self.network = Network(
            f"{name}-network",
            NetworkArgs(
                cluster_name=cluster_name,
                region=args.region,
                settings=cfg.network,
                node_discovery=cfg.provisioner == "karpenter",
                tags=tags,
            ),
            opts=child(self),
        )
        self.cluster = EksCluster(
            f"{name}-eks",
            EksClusterArgs(
                cluster_name=cluster_name,
                region=args.region,
                settings=cfg.cluster,
                private_subnet_ids=self.network.private_subnet_ids,
                service_cidr=str(cfg.network.service_cidr),
                addon_versions=cfg.addon_versions(),
                tags=tags,
                protect=cfg.protect,
                kubeconfig=args.kubeconfig,
            ),
            opts=child(self),
        )
        self.karpenter = None
        if cfg.provisioner == "karpenter":
            self.karpenter = Karpenter(
                f"{name}-karpenter",
                KarpenterArgs(
                    cluster_name=self.cluster.cluster_name,
                    region=args.region,
                    identity=self.cluster.identity,
                    security_group_id=self.cluster.node_security_group_id,
                    tags=tags,
                ),
                opts=child(self, provider=self.cluster.provider),
            )
        # Spot capacity needs EC2's service-linked role in the account (one per account: see the setting).
        launch_after = []
        if cfg.creates_spot_role:
            launch_after.append(
                aws.iam.ServiceLinkedRole(
                    f"{name}-spot-role",
                    aws_service_name="spot.amazonaws.com",
                    description="EC2 spot capacity for the GPU pools",
                    tags=tagged(tags, f"{name}-spot-role"),
                    opts=child(self),
                )
            )
        self.gpu_pools = {
            pool.name: GpuNodePool(
                f"{name}-gpu-{pool.name}",
                GpuNodePoolArgs(
                    pool=pool,
                    cluster_name=self.cluster.cluster_name,
                    karpenter=self.karpenter,
                    node_role_arn=None if self.karpenter else self.cluster.node_role_arn,
                    subnet_ids=None if self.karpenter else self.network.private_subnet_ids,
                    tags=tags,
                ),
                opts=child(self, provider=self.cluster.provider, depends_on=launch_after),
            )
            for pool in cfg.gpu_pools
        }
        self.artifacts = ArtifactStore(
            f"{name}-artifacts",
            ArtifactStoreArgs(settings=cfg.artifacts, protect=cfg.protect, tags=tags),
            opts=child(self),
        )
        self._services(name, cfg, args.region, tags)
        self.register_outputs(self.outputs())

    def _services(self, name: str, cfg: PlatformConfig, region: str, tags: dict[str, str]) -> None:
        """Everything in the cluster, each in its namespace; monitoring first, so every component
        declares its own scrape targets, rules and dashboards."""
        provider = self.cluster.provider
        in_cluster = child(self, provider=provider)
        ns_mlops = kube.namespace(f"{name}-ns-{MLOPS_NS}", MLOPS_NS, deny_ingress=True, opts=in_cluster)
        ns_models = kube.namespace(f"{name}-ns-{MODELS_NS}", MODELS_NS, deny_ingress=True, opts=in_cluster)
        # node-exporter needs the host network and PID namespace.
        ns_monitoring = kube.namespace(
            f"{name}-ns-{MONITORING_NS}", MONITORING_NS, pod_security="privileged", opts=in_cluster
        )
        # KServe's model cache agents (LLM endpoints) write the GPU nodes' NVMe through a host path.
        kserve_security = "privileged" if cfg.llm_pools else "restricted"
        ns_kserve = kube.namespace(f"{name}-ns-{KSERVE_NS}", KSERVE_NS, pod_security=kserve_security, opts=in_cluster)

        def in_ns(*namespaces: pulumi.Resource, after: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
            return child(self, provider=provider, depends_on=[*namespaces, *after])

        self.monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(settings=cfg.monitoring, namespace=MONITORING_NS),
            opts=in_ns(ns_monitoring),
        )
        monitoring = self.monitoring.hooks
        ClusterAutoscaler(
            f"{name}-autoscaler",
            ClusterAutoscalerArgs(
                cluster_name=self.cluster.cluster_name,
                region=region,
                identity=self.cluster.identity,
                kubernetes_version=cfg.cluster.kubernetes_version,
                tags=tags,
            ),
            opts=in_cluster,
        )
        if self.gpu_pools:
            GpuSupport(
                f"{name}-gpu-support",
                GpuSupportArgs(monitoring=monitoring, profiling_metrics=cfg.monitoring.gpu_profiling_metrics),
                opts=in_cluster,
            )

        images = cfg.images
        access = ArtifactAccess(self.artifacts, self.cluster.identity)
        placement = PrivatePlacement(
            self.network.vpc_id, self.network.private_subnet_ids, self.cluster.node_security_group_id
        )
        database = Database(
            f"{name}-db",
            DatabaseArgs(
                namespace=MLOPS_NS,
                databases=["mlflow", "mlflow_auth", "feast"],
                settings=cfg.database,
                placement=placement,
                protect=cfg.protect,
                tags=tags,
                service_name="postgres",
            ),
            opts=in_ns(ns_mlops),
        )
        self.mlflow = MlflowTracking(
            f"{name}-mlflow",
            MlflowTrackingArgs(
                namespace=MLOPS_NS,
                image=images.image("mlflow"),
                backend_url=database.url("mlflow"),
                auth_url=database.url("mlflow_auth"),
                artifacts=access,
                settings=cfg.mlflow,
                users={"training": MLOPS_NS, "monitor": MLOPS_NS, "serving": MODELS_NS},
                allowed_client_namespaces=[MODELS_NS],
                monitoring=monitoring,
                service_name=MLFLOW_SERVICE,
            ),
            opts=in_ns(ns_mlops, ns_models, after=[database]),
        )
        self.feature_store = None
        if cfg.feature_store.enabled:
            self.feature_store = FeatureStore(
                f"{name}-feast",
                FeatureStoreArgs(
                    namespace=MLOPS_NS,
                    image=images.image("features"),
                    registry_url=database.url("feast", scheme="postgresql+psycopg"),
                    artifacts=access,
                    settings=cfg.feature_store,
                    placement=placement,
                    allowed_client_namespaces=[MODELS_NS],
                    monitoring=monitoring,
                    protect=cfg.protect,
                    tags=tags,
                    service_name="feast",
                ),
                opts=in_ns(ns_mlops, after=[database]),
            )
        pipeline = TrainingPipeline(
            f"{name}-training",
            TrainingPipelineArgs(
                namespace=MLOPS_NS,
                image=images.image("training"),
                mlflow=self.mlflow.client("training"),
                artifacts=access,
                settings=cfg.training,
                monitoring=monitoring,
                service_name="training",
            ),
            opts=in_ns(ns_mlops, after=[self.mlflow]),
        )
        monitored = cfg.monitored_endpoint
        monitor_url: pulumi.Output[str] | None = None
        if monitored is not None:
            monitor = DriftMonitor(
                f"{name}-monitor",
                DriftMonitorArgs(
                    namespace=MLOPS_NS,
                    image=images.image("monitor"),
                    model=monitored.model,
                    mlflow=self.mlflow.client("monitor"),
                    retraining=pipeline.retraining,
                    alias=monitored.alias,
                    settings=cfg.monitor,
                    allowed_client_namespaces=[MODELS_NS],
                    monitoring=monitoring,
                    service_name="drift-monitor",
                ),
                opts=in_ns(ns_mlops, after=[pipeline]),
            )
            monitor_url = monitor.ingest_url

        serving = ModelServing(
            f"{name}-kserve",
            ModelServingArgs(
                settings=cfg.serving,
                namespace=KSERVE_NS,
                monitoring=monitoring,
                keda=cfg.uses_keda,
                llm=bool(cfg.llm_endpoints),
                model_cache=bool(cfg.llm_pools),
            ),
            opts=in_ns(ns_kserve),
        )
        caches = {
            pool: ModelCacheNodes(
                f"{name}-model-cache-{pool}",
                ModelCacheNodesArgs(pool=pool, storage_gib=storage, ready=serving.ready),
                opts=in_cluster,
            ).cache(serving.model_cache_jobs or "")
            for pool, storage in cfg.llm_pools.items()
        }
        self.llm_endpoints = {
            endpoint.name: LlmEndpoint(
                endpoint.name,
                LlmEndpointArgs(
                    endpoint=endpoint,
                    namespace=MODELS_NS,
                    serving=serving,
                    data_bucket=self.artifacts.bucket_names[Bucket.DATA],
                    access=access,
                    cache=caches.get(endpoint.gpu_pool) if endpoint.cache else None,
                    monitoring=monitoring,
                ),
                opts=in_ns(ns_models),
            )
            for endpoint in cfg.llm_endpoints
        }
        self.endpoints = {
            endpoint.name: ModelEndpoint(
                endpoint.name,
                ModelEndpointArgs(
                    endpoint=endpoint,
                    namespace=MODELS_NS,
                    image=images.image("serving"),
                    mlflow=self.mlflow.client("serving"),
                    serving=serving,
                    monitor_url=monitor_url if monitored is not None and endpoint.model == monitored.model else None,
                    feature_server_url=self.feature_store.url if self.feature_store is not None else None,
                    monitoring=monitoring,
                ),
                opts=in_ns(ns_models, after=[self.mlflow]),
            )
            for endpoint in cfg.serving.endpoints
        }

    def outputs(self) -> dict[str, object]:
        """What the stack exports (secrets stay secret)."""
        return {
            "vpcId": self.network.vpc_id,
            "clusterName": self.cluster.cluster_name,
            "kubeconfig": self.cluster.kubeconfig,
            "artifactBucket": self.artifacts.bucket_names[Bucket.ARTIFACTS],
            "dataBucket": self.artifacts.bucket_names[Bucket.DATA],
            "gpuPools": {
                name: {"nodeGroup": pool.node_group_name, "nodePool": pool.node_pool_name, "maxGpus": pool.max_gpus}
                for name, pool in self.gpu_pools.items()
            },
            "mlflowUrl": self.mlflow.url,
            "mlflowAdminPassword": self.mlflow.admin_password,
            "grafanaAdminPassword": self.monitoring.grafana_admin_password,
            "endpoints": {name: endpoint.url for name, endpoint in self.endpoints.items()},
            "llmEndpoints": {name: endpoint.url for name, endpoint in self.llm_endpoints.items()},
        }
