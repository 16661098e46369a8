"""FeatureStore: Feast - SQL registry on the platform's Postgres, Redis online store, offline store in S3."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from mlops_platform.contracts import FeatureRepoSettings
from pydantic import Field, field_validator

from ..cluster.network import Hosting, PrivatePlacement, hosting_default
from ..data.artifact_store import Access, ArtifactAccess, Bucket, Grant
from ..kit import k8s as kube
from ..kit.common import ComponentArgsError, PlatformComponent, child, documented, stateful, tagged
from ..kit.observability import MonitoringHooks
from ..kit.schedule import cron
from ..kit.spec import Spec, managed_class, section, settings_arg
from ..kit.versions import REDIS_ENGINE_VERSION, REDIS_IMAGE
from ..kit.workload import Workload

PORT = 6566
METRICS_PORT = 8000
REDIS_PORT = 6379
REDIS_AUTH_DIR = "/etc/redis-auth"
"""The in-cluster Redis's Secret, mounted: redis.conf (requirepass) and the password for its probes."""
REDIS_PROBE = f'REDISCLI_AUTH="$(cat {REDIS_AUTH_DIR}/password)" redis-cli ping | grep -q PONG'
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


class Redis(Spec):
    """The online store."""

    mode: Hosting | None = Field(default=None, validate_default=True)
    """`managed` (ElastiCache, TLS + auth token) or `inCluster` (a Redis StatefulSet). Default: managed in prod, inCluster in dev."""
    node_type: Annotated[str, managed_class("cache")] = "cache.t4g.small"
    """ElastiCache node type; must mirror an EC2 type that exists (AWS data). Default: cache.t4g.small."""
    replicas: Annotated[int, Field(ge=1, le=6)] = 2
    """ElastiCache nodes (primary + replicas; 2 or more enables failover). Default: 2."""

    _mode = field_validator("mode")(hosting_default)


class FeatureStoreSettings(Spec):
    """Feast feature store."""

    enabled: bool = True
    """Deploy Feast. Default: true."""
    redis: Redis = section()
    """The online store."""
    materialize_schedule: str = Field(default="0 * * * *", validate_default=True)
    """Cron schedule of `feast materialize-incremental`. Default: hourly."""
    server_replicas: Annotated[int, Field(ge=1, le=20)] = 1
    """Feature server replicas. Default: 1."""

    _schedule = field_validator("materialize_schedule")(cron)


@documented
@dataclass
class FeatureStoreArgs:
    namespace: str
    """Namespace of the feature server and jobs."""
    image: pulumi.Input[str]
    """The features image (apps/features: Feast + the example feature repository)."""
    registry_url: pulumi.Input[str]
    """SQLAlchemy URL of the registry database (secret)."""
    artifacts: ArtifactAccess
    """Offline store: s3://<data bucket>/feast, reached through the feature server's IRSA role."""
    settings: FeatureStoreSettings = field(default_factory=FeatureStoreSettings)
    """Online store, materialisation schedule, replicas. Default: the defaults (Redis in the cluster)."""
    placement: PrivatePlacement | None = None
    """VPC, private subnets and the clients' security group of ElastiCache; required for a managed Redis."""
    allowed_client_namespaces: Sequence[str] = ()
    """Namespaces whose pods may call the feature server. Default: none but its own."""
    monitoring: MonitoringHooks | None = None
    """Scrape the feature server. Default: not monitored."""
    protect: bool = False
    """Protect the ElastiCache group. Default: false."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for AWS resources. Default: none."""
    service_name: str | None = None
    """Kubernetes name of the server's objects. Default: the component's name."""


class FeatureStore(PlatformComponent):
    """Feast as a service: the feature server (HTTP, with Prometheus metrics), a `feast apply`
    Job that registers the repository's definitions, and a CronJob that materialises new
    feature values from the offline store into Redis."""

    url: pulumi.Output[str]
    scrape_target: kube.ScrapeTarget

    def __init__(self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:FeatureStore", name, None, opts)
        settings = settings_arg(FeatureStoreSettings, args.settings, "settings", "FeatureStore", name)
        server = Workload.of(self, name, args.service_name, args.namespace, "feature-server")
        service = self._service = server.name
        ns = server.namespace
        password = random.RandomPassword(f"{name}-redis", length=32, special=False, opts=child(self)).result
        redis = settings.redis
        if redis.mode is Hosting.MANAGED:
            if args.placement is None:
                raise ComponentArgsError("FeatureStore", name, ["placement = None: required for a managed Redis"])
            host = self._elasticache(name, args, redis, args.placement, password)
            connection = pulumi.Output.format("{0}:{1},ssl=true,password={2}", host, REDIS_PORT, password)
        else:
            host = self._in_cluster_redis(name, args, password)
            connection = pulumi.Output.format("{0}:{1},password={2}", host, REDIS_PORT, password)
        account = server.identity(args.artifacts, [Grant(Bucket.DATA, DATA_PREFIX, Access.READ_WRITE)])
        config = k8s.core.v1.Secret(
            f"{name}-config",
            metadata=server.metadata(name=f"{service}-config"),
            string_data={"FEAST_REGISTRY_URL": args.registry_url, "FEAST_REDIS_CONNECTION": connection},
            opts=child(self),
        )
        repo = k8s.core.v1.ConfigMap(
            f"{name}-repo",
            metadata=server.metadata(name=f"{service}-repo"),
            data={"feature_store.yaml": FEATURE_STORE_YAML},
            opts=child(self),
        )
        offline_source = pulumi.Output.format(
            "s3://{0}/{1}", args.artifacts.store.bucket_names[Bucket.DATA], DATA_PREFIX
        )
        env = [*FeatureRepoSettings.env(offline_root=offline_source), *kube.env({"HOME": "/tmp"})]
        http = kube.http_probe("/health", "http")
        command = ["feast", "serve", "--host", "0.0.0.0", "--port", str(PORT), "--metrics", "--no-access-log"]
        pod = self._pod(
            [
                {
                    **self._container(args, "feature-server", command, env),
                    "ports": [
                        {"name": "http", "containerPort": PORT},
                        {"name": "metrics", "containerPort": METRICS_PORT},
                    ],
                    "readinessProbe": http,
                    "livenessProbe": {**http, "initialDelaySeconds": 30},
                }
            ],
            topologySpreadConstraints=[kube.spread_over_zones(server.selector)],
        )
        server.deployment(pod, replicas=settings.server_replicas, depends_on=[config, repo, account])
        server.service({"http": PORT, "metrics": METRICS_PORT})
        server.disruption_budget(settings.server_replicas)
        server.admit(PORT, args.allowed_client_namespaces)
        if args.monitoring is not None:
            server.admit(METRICS_PORT, [args.monitoring.namespace], suffix="metrics-netpol")

        job_labels = kube.labels(service, "apply")
        apply = kube.run_once(
            job_labels, self._pod([self._container(args, "feast-apply", ["feast", "apply"], env)]), retries=6
        )
        applied = k8s.batch.v1.Job(
            f"{name}-apply",
            metadata=kube.metadata(f"{service}-apply", ns, job_labels),
            spec=apply,
            opts=child(self, depends_on=[config, repo, account]),
        )
        materialize_labels = kube.labels(service, "materialize")
        materialize = ["sh", "-c", 'exec feast materialize-incremental "$(date -u +%Y-%m-%dT%H:%M:%S)"']
        cron: Any = {
            "schedule": settings.materialize_schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": 3600,
                    "template": {
                        "metadata": {"labels": materialize_labels},
                        "spec": self._pod(
                            [self._container(args, "materialize", materialize, env)], restartPolicy="Never"
                        ),
                    },
                }
            },
        }
        k8s.batch.v1.CronJob(
            f"{name}-materialize",
            metadata=kube.metadata(f"{service}-materialize", ns, materialize_labels),
            spec=cron,
            opts=child(self, depends_on=[applied]),
        )
        self.url = pulumi.Output.from_input(f"http://{service}.{ns}.svc.cluster.local:{PORT}")
        self.scrape_target = server.scrape_target("metrics")
        if args.monitoring is not None:
            args.monitoring.scrape(self, f"{name}-servicemonitor", self.scrape_target)
        self.register_outputs({"url": self.url})

    def _pod(self, containers: list[Any], **extra: Any) -> dict[str, Any]:
        """A pod of the feature server's: its service account, the repository config, scratch space."""
        volumes = [{"name": "repo-config", "configMap": {"name": f"{self._service}-repo"}}, kube.tmp_volume(size="2Gi")]
        return kube.pod(containers, volumes, service_account=self._service, **extra)

    def _container(self, args: FeatureStoreArgs, name: str, command: list[str], env: list[Any]) -> dict[str, Any]:
        return {
            "name": name,
            "image": args.image,
            "imagePullPolicy": "Always",
            "command": command,
            "workingDir": REPO_DIR,
            "envFrom": [{"secretRef": {"name": f"{self._service}-config"}}],
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

    def _elasticache(
        self,
        name: str,
        args: FeatureStoreArgs,
        redis: Redis,
        placement: PrivatePlacement,
        password: pulumi.Output[str],
    ) -> pulumi.Output[str]:
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-redis",
            subnet_ids=placement.subnet_ids,
            description="Feast online store",
            tags=tagged(args.tags, f"{name}-redis"),
            opts=child(self),
        )
        group = placement.security_group(
            self, f"{name}-redis", port=REDIS_PORT, service="Feast online store", protocol="Redis", tags=args.tags
        )
        failover = redis.replicas > 1
        snapshots = 7 if args.protect else 1
        cache = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            description="Feast online store",
            engine="redis",
            engine_version=REDIS_ENGINE_VERSION,
            node_type=redis.node_type,
            num_cache_clusters=redis.replicas,
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
        store = Workload(self, f"{name}-redis", f"{self._service}-redis", args.namespace, "online-store")
        redis = store.name
        # The password reaches the server and its probes as files: redis.conf (requirepass) and the
        # password itself for redis-cli (REDISCLI_AUTH, never `-a` on a command line).
        k8s.core.v1.Secret(
            f"{name}-redis",
            metadata=store.metadata(),
            string_data={"password": password, "redis.conf": pulumi.Output.concat("requirepass ", password, "\n")},
            opts=child(self),
        )
        probe: Any = {"exec": {"command": ["sh", "-c", REDIS_PROBE]}, "periodSeconds": 10}
        container = {
            "name": "redis",
            "image": REDIS_IMAGE,
            "imagePullPolicy": "Always",
            "command": ["sh", "-c", f"exec redis-server {REDIS_AUTH_DIR}/redis.conf --appendonly yes --dir /data"],
            "ports": [{"name": "redis", "containerPort": REDIS_PORT}],
            "securityContext": kube.RESTRICTED_CONTAINER,
            "resources": kube.resources("100m", "256Mi"),
            "readinessProbe": probe,
            "livenessProbe": {**probe, "initialDelaySeconds": 15},
            "volumeMounts": [
                {"name": "data", "mountPath": "/data"},
                {"name": "auth", "mountPath": REDIS_AUTH_DIR, "readOnly": True},
            ],
        }
        store.data_store(container, port=REDIS_PORT, storage="5Gi", volumes=[kube.secret_volume("auth", redis)])
        return pulumi.Output.from_input(f"{redis}.{args.namespace}.svc.cluster.local")
