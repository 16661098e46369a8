"""MlPlatform: the whole platform, composed from a validated stack config."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components._common import ComponentArgsError, child
from components.artifact_store import ArtifactStore, ArtifactStoreArgs, Bucket
from components.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.config import PlatformConfig
from components.eks_cluster import EksCluster, EksClusterArgs, ExistingClusterArgs
from components.gpu_node_pool import GPU_POOL_LABEL, GpuNodePool, GpuNodePoolArgs
from components.gpu_support import GpuSupport
from components.network import ExistingVpcArgs, Network, NetworkArgs
from components.node_group import NodeGroupSpec


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


class MlPlatform(pulumi.ComponentResource):
    """Network, EKS with GPU pools that scale to zero, and artifact storage, wired together."""

    network: Network
    cluster: EksCluster
    gpu_pools: dict[str, GpuNodePool]
    artifacts: ArtifactStore

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
        if self.gpu_pools:
            GpuSupport(f"{name}-gpu-support", opts=k8s_opts)

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
        self.register_outputs(self.outputs())

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
        }
