"""FeatureStore: Feast - SQL registry on the platform's Postgres, Redis online store, offline store in S3."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import k8s as kube
from components._common import ComponentArgsError, PlatformComponent, child, stateful, tagged
from components.artifact_store import Access, ArtifactStore, Bucket, Grant
from components.irsa import ROLE_ARN_ANNOTATION, OidcIdentity
from components.versions import REDIS_ENGINE_VERSION, REDIS_IMAGE

NAME = "feast"
PORT = 6566
METRICS_PORT = 8000
REDIS_PORT = 6379
DATA_PREFIX = "feast"
REPO_DIR = "/app/feature_repo"

FEATURE_STORE_YAML = """\
project: mlops
provider: local
registry:
  registry_type: sql
  path: ${FEAST_REGISTRY_URL}
  cache_ttl_seconds: 60
online_store:
  type: redis
  connection_string: ${FEAST_REDIS_CONNECTION}
offline_store:
  type: file
entity_key_serialization_version: 3
"""
"""The deployed feature_store.yaml: Feast expands ${VARS} from the environment, so secrets stay in Secrets."""


class RedisMode(enum.Enum):
    MANAGED = "managed"
    """ElastiCache: encrypted at rest and in transit, AUTH token, failover across AZs."""
    IN_CLUSTER = "inCluster"
    """A single Redis pod with a password and a volume: for dev."""


@dataclass
class FeatureStoreArgs:
    namespace: str
    """Namespace of the feature server and jobs."""
    image: str
    """The features image (apps/features: Feast + the example feature repository)."""
    registry_url: pulumi.Input[str]
    """SQLAlchemy URL of the registry database (secret)."""
    artifacts: ArtifactStore
    """Offline store: s3://<data bucket>/feast."""
    oidc: OidcIdentity
    """The cluster's OIDC provider (the feature server's IRSA role)."""
    redis_mode: RedisMode = RedisMode.IN_CLUSTER
    """Where the online store runs. Default: in the cluster."""
    vpc_id: pulumi.Input[str] | None = None
    """VPC of ElastiCache (managed mode)."""
    subnet_ids: pulumi.Input[Sequence[str]] | None = None
    """Private subnets of ElastiCache (managed mode)."""
    client_security_group_id: pulumi.Input[str] | None = None
    """The only security group admitted on 6379 (the cluster's nodes; managed mode)."""
    redis_node_type: str = "cache.t4g.small"
    """ElastiCache node type. Default: cache.t4g.small."""
    redis_replicas: int = 2
    """ElastiCache nodes; 2 or more turns on failover and multi-AZ. Default: 2."""
    materialize_schedule: str = "0 * * * *"
    """Cron schedule of incremental materialisation. Default: hourly."""
    server_replicas: int = 1
    """Feature server replicas. Default: 1."""
    allowed_client_namespaces: Sequence[str] = ()
    """Namespaces whose pods may call the feature server. Default: none but its own."""
    protect: bool = False
    """Protect the ElastiCache group. Default: false."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for AWS resources. Default: none."""


class FeatureStore(PlatformComponent):
    """Feast as a service: the feature server (HTTP, with Prometheus metrics), a `feast apply`
    Job that registers the repository's definitions, and a CronJob that materialises new
    feature values from the offline store into Redis."""

    url: pulumi.Output[str]
    scrape_target: kube.ScrapeTarget

    def __init__(self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:FeatureStore", name, None, opts)
        ns = args.namespace
        labels = kube.labels(NAME, "feature-server")
        selector = kube.selector(NAME, "feature-server")
        password = random.RandomPassword(f"{name}-redis", length=32, special=False, opts=child(self)).result
        if args.redis_mode is RedisMode.MANAGED:
            host = self._elasticache(name, args, password)
            connection = pulumi.Output.format("{0}:{1},ssl=true,password={2}", host, REDIS_PORT, password)
        else:
            host = self._in_cluster_redis(name, args, password)
            connection = pulumi.Output.format("{0}:{1},password={2}", host, REDIS_PORT, password)
        role = args.artifacts.irsa_role(
            f"{name}-irsa",
            oidc=args.oidc,
            namespace=ns,
            service_account=NAME,
            grants=[Grant(Bucket.DATA, DATA_PREFIX, Access.READ_WRITE)],
            parent=self,
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=kube.metadata(NAME, ns, labels, {ROLE_ARN_ANNOTATION: role.arn}),
            automount_service_account_token=False,
            opts=child(self),
        )
        config = k8s.core.v1.Secret(
            f"{name}-config",
            metadata=kube.metadata("feast-config", ns, labels),
            string_data={"FEAST_REGISTRY_URL": args.registry_url, "FEAST_REDIS_CONNECTION": connection},
            opts=child(self),
        )
        repo = k8s.core.v1.ConfigMap(
            f"{name}-repo",
            metadata=kube.metadata("feast-repo", ns, labels),
            data={"feature_store.yaml": FEATURE_STORE_YAML},
            opts=child(self),
        )
        offline_source = pulumi.Output.format("s3://{0}/{1}", args.artifacts.bucket_names[Bucket.DATA], DATA_PREFIX)
        env = [{"name": "FEAST_OFFLINE_ROOT", "value": offline_source}, *kube.env({"HOME": "/tmp"})]
        http = kube.http_probe("/health", "http")
        server: Any = {
            "replicas": args.server_replicas,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    **self._pod(args),
                    "topologySpreadConstraints": [kube.spread_over_zones(selector)],
                    "containers": [
                        {
                            **self._container(
                                args,
                                "feature-server",
                                [
                                    "feast",
                                    "serve",
                                    "--host",
                                    "0.0.0.0",
                                    "--port",
                                    str(PORT),
                                    "--metrics",
                                    "--no-access-log",
                                ],
                                env,
                            ),
                            "ports": [
                                {"name": "http", "containerPort": PORT},
                                {"name": "metrics", "containerPort": METRICS_PORT},
                            ],
                            "readinessProbe": http,
                            "livenessProbe": {**http, "initialDelaySeconds": 30},
                        }
                    ],
                },
            },
        }
        k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata=kube.metadata(NAME, ns, labels),
            spec=server,
            opts=child(self, depends_on=[config, repo]),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=kube.metadata(NAME, ns, labels),
            spec=kube.service_spec(selector, {"http": PORT, "metrics": METRICS_PORT}),
            opts=child(self),
        )
        kube.disruption_budget(self, f"{name}-pdb", NAME, ns, labels, selector, args.server_replicas)
        kube.ingress_policy(self, f"{name}-netpol", NAME, ns, selector, PORT, args.allowed_client_namespaces)
        kube.ingress_policy(
            self, f"{name}-metrics-netpol", f"{NAME}-metrics", ns, selector, METRICS_PORT, ["monitoring"]
        )

        job_labels = kube.labels(NAME, "apply")
        apply: Any = {
            "backoffLimit": 6,
            "template": {
                "metadata": {"labels": job_labels},
                "spec": {
                    **self._pod(args),
                    "restartPolicy": "OnFailure",
                    "containers": [self._container(args, "feast-apply", ["feast", "apply"], env)],
                },
            },
        }
        applied = k8s.batch.v1.Job(
            f"{name}-apply",
            metadata=kube.metadata("feast-apply", ns, job_labels),
            spec=apply,
            opts=child(self, depends_on=[config, repo]),
        )
        materialize_labels = kube.labels(NAME, "materialize")
        command = ["sh", "-c", 'exec feast materialize-incremental "$(date -u +%Y-%m-%dT%H:%M:%S)"']
        cron: Any = {
            "schedule": args.materialize_schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": 3600,
                    "template": {
                        "metadata": {"labels": materialize_labels},
                        "spec": {
                            **self._pod(args),
                            "restartPolicy": "Never",
                            "containers": [self._container(args, "materialize", command, env)],
                        },
                    },
                }
            },
        }
        k8s.batch.v1.CronJob(
            f"{name}-materialize",
            metadata=kube.metadata("feast-materialize", ns, materialize_labels),
            spec=cron,
            opts=child(self, depends_on=[applied]),
        )
        self.url = pulumi.Output.from_input(f"http://{NAME}.{ns}.svc.cluster.local:{PORT}")
        self.scrape_target = kube.ScrapeTarget(NAME, ns, selector, "metrics")
        self.register_outputs({"url": self.url})

    @staticmethod
    def _pod(args: FeatureStoreArgs) -> dict[str, Any]:
        return {
            "serviceAccountName": NAME,
            "automountServiceAccountToken": False,
            "securityContext": kube.pod_security(),
            "nodeSelector": kube.SYSTEM_NODES,
            "volumes": [{"name": "repo-config", "configMap": {"name": "feast-repo"}}, kube.tmp_volume(size="2Gi")],
        }

    @staticmethod
    def _container(args: FeatureStoreArgs, name: str, command: list[str], env: list[Any]) -> dict[str, Any]:
        return {
            "name": name,
            "image": args.image,
            "imagePullPolicy": "Always",
            "command": command,
            "workingDir": REPO_DIR,
            "envFrom": [{"secretRef": {"name": "feast-config"}}],
            "env": env,
            "securityContext": kube.RESTRICTED_CONTAINER,
            "resources": kube.resources("250m", "512Mi"),
            "volumeMounts": [
                {
                    "name": "repo-config",
                    "mountPath": f"{REPO_DIR}/feature_store.yaml",
                    "subPath": "feature_store.yaml",
                    "readOnly": True,
                },
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        }

    def _elasticache(self, name: str, args: FeatureStoreArgs, password: pulumi.Output[str]) -> pulumi.Output[str]:
        missing = [f for f in ("vpc_id", "subnet_ids", "client_security_group_id") if getattr(args, f) is None]
        if missing:
            raise ComponentArgsError(
                "FeatureStore", name, [f"{f} (None) is required for a managed Redis" for f in missing]
            )
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-redis",
            subnet_ids=args.subnet_ids,
            description="Feast online store",
            tags=tagged(args.tags, f"{name}-redis"),
            opts=child(self),
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-redis",
            vpc_id=args.vpc_id,
            description="Feast online store: reachable only from the cluster's nodes",
            tags=tagged(args.tags, f"{name}-redis"),
            opts=child(self),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-redis-from-nodes",
            security_group_id=group.id,
            referenced_security_group_id=args.client_security_group_id,
            ip_protocol="tcp",
            from_port=REDIS_PORT,
            to_port=REDIS_PORT,
            description="Redis from EKS nodes",
            opts=child(self),
        )
        failover = args.redis_replicas > 1
        snapshots = 7 if args.protect else 1
        cache = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            description="Feast online store",
            engine="redis",
            engine_version=REDIS_ENGINE_VERSION,
            node_type=args.redis_node_type,
            num_cache_clusters=args.redis_replicas,
            automatic_failover_enabled=failover,
            multi_az_enabled=failover,
            port=REDIS_PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            auth_token=password,
            snapshot_retention_limit=snapshots,
            auto_minor_version_upgrade=True,
            tags=tagged(args.tags, f"{name}-redis"),
            opts=stateful(self, args.protect),
        )
        return cache.primary_endpoint_address

    def _in_cluster_redis(self, name: str, args: FeatureStoreArgs, password: pulumi.Output[str]) -> pulumi.Output[str]:
        labels = kube.labels("redis", "online-store")
        selector = kube.selector("redis", "online-store")
        k8s.core.v1.Secret(
            f"{name}-redis",
            metadata=kube.metadata("redis", args.namespace, labels),
            string_data={"password": password},
            opts=child(self),
        )
        k8s.core.v1.Service(
            f"{name}-redis",
            metadata=kube.metadata("redis", args.namespace, labels),
            spec=kube.service_spec(selector, {"redis": REDIS_PORT}),
            opts=child(self),
        )
        probe: Any = {
            "exec": {"command": ["sh", "-c", 'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning ping | grep -q PONG']},
            "periodSeconds": 10,
        }
        spec: Any = {
            "serviceName": "redis",
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": kube.pod_security(),
                    "nodeSelector": kube.SYSTEM_NODES,
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "redis",
                            "image": REDIS_IMAGE,
                            "imagePullPolicy": "Always",
                            "command": [
                                "sh",
                                "-c",
                                'exec redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes --dir /data',
                            ],
                            "env": [kube.secret_env("REDIS_PASSWORD", "redis", "password")],
                            "ports": [{"name": "redis", "containerPort": REDIS_PORT}],
                            "securityContext": kube.RESTRICTED_CONTAINER,
                            "resources": kube.resources("100m", "256Mi"),
                            "readinessProbe": probe,
                            "livenessProbe": {**probe, "initialDelaySeconds": 15},
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
                }
            ],
        }
        k8s.apps.v1.StatefulSet(
            f"{name}-redis", metadata=kube.metadata("redis", args.namespace, labels), spec=spec, opts=child(self)
        )
        kube.ingress_policy(self, f"{name}-redis-netpol", "redis", args.namespace, selector, REDIS_PORT, [])
        return pulumi.Output.from_input(f"redis.{args.namespace}.svc.cluster.local")
