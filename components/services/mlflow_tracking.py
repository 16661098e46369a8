"""MlflowTracking: the MLflow tracking server and model registry, authenticated, artifacts proxied to S3."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
from mlops_platform.contracts import CREDENTIAL_KEYS, BootstrapUsersSettings, MlflowClientSettings
from pydantic import Field, ValidationInfo, field_validator

from ..data.artifact_store import Access, ArtifactAccess, Bucket, Grant
from ..kit import k8s as kube
from ..kit.common import ASSETS, PlatformComponent, child, documented
from ..kit.observability import RULES_DIR, MonitoringHooks
from ..kit.spec import Cpu, Issue, Memory, Spec, check_names, environment, fail, settings_arg
from ..kit.workload import Workload

PORT = 5000
ARTIFACT_PREFIX = "mlflow"
ADMIN_USER = "admin"
USERS_DIR = "/etc/mlflow-users"
RULES = RULES_DIR / "mlflow.rules.yaml"
AUTH_INI = (ASSETS / "mlflow" / "basic_auth.ini").read_text()
"""MLflow's basic-auth config template (the tests start a real server with it)."""


class MlflowSettings(Spec):
    """MLflow tracking server and model registry."""

    replicas: Annotated[int, Field(ge=1, le=20)] | None = Field(default=None, validate_default=True)
    """Server replicas. Default: 1 in dev, 2 in prod (at least 2 in prod)."""
    cpu: Cpu = "500m"
    """CPU request per replica (limit: twice). Default: 500m."""
    memory: Memory = "1Gi"
    """Memory request and limit per replica. Default: 1Gi."""
    ingress: kube.IngressSettings | None = None
    """Publish the UI/API through an Ingress (authentication stays on). Default: cluster-internal only."""
    proxy_artifacts: bool = True
    """Serve artifacts through MLflow (clients need no AWS access; MLflow permissions apply). With false, clients read and write S3 directly through their own IRSA roles. Default: true."""

    @field_validator("replicas")
    @classmethod
    def _ha_in_prod(cls, value: int | None, info: ValidationInfo) -> int:
        prod = environment(info) == "prod"
        if value is not None and value < 2 and prod:
            fail([Issue((), value, "must be >= 2 in prod")])
        return value if value is not None else (2 if prod else 1)

    @property
    def server_replicas(self) -> int:
        return self.replicas or 1


@dataclass(frozen=True)
class MlflowClient:
    """What a workload needs to use MLflow - one typed bundle: the server's URL, the Secret (in the
    workload's namespace) with its own account's credentials, and, when MLflow does not proxy
    artifacts, access to the artifact store (the workload's role then reads `mlflow/` in S3)."""

    url: pulumi.Input[str]
    credentials_secret: pulumi.Input[str]
    artifacts: ArtifactAccess | None = None

    def env(self) -> list[Any]:
        return MlflowClientSettings.env(tracking_uri=self.url)

    def env_from(self) -> list[Any]:
        return [{"secretRef": {"name": self.credentials_secret}}]

    def artifact_grants(self, access: Access = Access.READ) -> list[Grant]:
        """What the workload's IRSA role needs to reach model artifacts (nothing when proxied)."""
        return [] if self.artifacts is None else [Grant(Bucket.ARTIFACTS, ARTIFACT_PREFIX, access)]


@documented
@dataclass
class MlflowTrackingArgs:
    namespace: str
    """Namespace of the server."""
    image: pulumi.Input[str]
    """The mlflow-server image (apps/mlflow_server: MLflow + Postgres driver + boto3)."""
    backend_url: pulumi.Input[str]
    """SQLAlchemy URL of the tracking/registry database (secret)."""
    auth_url: pulumi.Input[str]
    """SQLAlchemy URL of the authentication database (secret)."""
    artifacts: ArtifactAccess
    """Where artifacts go (s3://<artifacts bucket>/mlflow) and the identity the server's role trusts."""
    settings: MlflowSettings = field(default_factory=MlflowSettings)
    """Replicas, resources, ingress, artifact proxying. Default: the defaults."""
    users: Mapping[str, str] = field(default_factory=dict)
    """Workload accounts to create: user name -> namespace that receives its credentials Secret."""
    allowed_client_namespaces: Sequence[str] = ()
    """Namespaces whose pods may call the server (its own always may). Default: none."""
    monitoring: MonitoringHooks | None = None
    """Scrape the server and alert when it is down. Default: not monitored."""
    service_name: str | None = None
    """Kubernetes name of the server's objects. Default: the component's name."""


class MlflowTracking(PlatformComponent):
    """MLflow behind MLflow's basic-auth app: an admin with a generated password, one account per
    workload (READ by default; creators manage what they create), credentials only in Kubernetes
    Secrets. Runs non-root with a read-only root filesystem, probed, with a PodDisruptionBudget and
    a NetworkPolicy that admits only the listed namespaces (and the Ingress, when there is one)."""

    url: pulumi.Output[str]
    """Cluster-internal URL of the server."""
    admin_password: pulumi.Output[str]
    credentials: dict[str, str]
    """Name of each workload account's credentials Secret (in the namespace given in `users`)."""
    scrape_target: kube.ScrapeTarget

    def __init__(self, name: str, args: MlflowTrackingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:MlflowTracking", name, None, opts)
        settings = settings_arg(MlflowSettings, args.settings, "settings", "MlflowTracking", name)
        server = Workload.of(self, name, args.service_name, args.namespace, "tracking-server")
        service, ns = server.name, server.namespace
        check_names(
            "MlflowTracking",
            name,
            {
                **{f"users[{user!r}]": user for user in args.users},
                **{f"users[{user!r}].namespace": namespace for user, namespace in args.users.items()},
            },
        )
        account = server.identity(args.artifacts, [Grant(Bucket.ARTIFACTS, ARTIFACT_PREFIX, Access.READ_WRITE)])
        admin = random.RandomPassword(f"{name}-admin", length=24, special=False, opts=child(self))
        self.admin_password = admin.result
        auth_ini = pulumi.Output.all(args.auth_url, admin.result).apply(
            lambda values: AUTH_INI.format(database_uri=values[0], admin_username=ADMIN_USER, admin_password=values[1])
        )
        server_secret_name = f"{service}-server"
        server_secret = k8s.core.v1.Secret(
            f"{name}-server",
            metadata=server.metadata(name=server_secret_name),
            string_data={
                "backend-store-uri": args.backend_url,
                "basic_auth.ini": auth_ini,
                "admin-password": admin.result,
            },
            opts=child(self),
        )
        hosts = [service, f"{service}.{ns}", f"{service}.{ns}.svc", f"{service}.{ns}.svc.cluster.local", "localhost"]
        if settings.ingress is not None:
            hosts.append(settings.ingress.host)
        artifact_root = pulumi.Output.format(
            "s3://{0}/{1}", args.artifacts.store.bucket_names[Bucket.ARTIFACTS], ARTIFACT_PREFIX
        )
        artifact_args = (
            ["--serve-artifacts", "--artifacts-destination", artifact_root]
            if settings.proxy_artifacts
            else ["--no-serve-artifacts", "--default-artifact-root", artifact_root]
        )
        http = kube.http_probe("/health", "http")
        # No Kubernetes API access; the IRSA web-identity token is a separate projected volume.
        pod = kube.pod(
            service_account=service,
            topologySpreadConstraints=[kube.spread_over_zones(server.selector)],
            containers=[
                {
                    "name": "mlflow",
                    "image": args.image,
                    "imagePullPolicy": "Always",
                    "command": ["mlflow"],
                    "args": [
                        "server",
                        "--host",
                        "0.0.0.0",
                        "--port",
                        str(PORT),
                        "--workers",
                        "2",
                        *artifact_args,
                        "--app-name",
                        "basic-auth",
                        "--expose-prometheus",
                        "/tmp/prometheus",
                    ],
                    "env": [
                        kube.secret_env("MLFLOW_BACKEND_STORE_URI", server_secret_name, "backend-store-uri"),
                        *kube.env(
                            {
                                "MLFLOW_AUTH_CONFIG_PATH": "/etc/mlflow/basic_auth.ini",
                                "MLFLOW_SERVER_ALLOWED_HOSTS": ",".join(hosts),
                                "HOME": "/tmp",
                            }
                        ),
                    ],
                    "ports": [{"name": "http", "containerPort": PORT}],
                    "securityContext": kube.RESTRICTED_CONTAINER,
                    "resources": kube.resources(settings.cpu, settings.memory),
                    "readinessProbe": http,
                    "livenessProbe": {**http, "initialDelaySeconds": 30},
                    "startupProbe": {**http, "failureThreshold": 30},
                    "volumeMounts": [
                        {"name": "auth", "mountPath": "/etc/mlflow", "readOnly": True},
                        {"name": "tmp", "mountPath": "/tmp"},
                    ],
                }
            ],
            volumes=[
                {
                    "name": "auth",
                    "secret": {
                        "secretName": server_secret_name,
                        "items": [{"key": "basic_auth.ini", "path": "basic_auth.ini"}],
                    },
                },
                kube.tmp_volume(size="1Gi"),
            ],
        )
        replicas = settings.server_replicas
        deployment = server.deployment(pod, replicas=replicas, depends_on=[account, server_secret])
        server.service({"http": PORT})
        server.disruption_budget(replicas)
        clients = [*args.allowed_client_namespaces, *([args.monitoring.namespace] if args.monitoring else [])]
        server.admit(PORT, clients, open_to_all=settings.ingress is not None)
        if settings.ingress is not None:
            kube.ingress(self, f"{name}-ingress", service, ns, server.labels, PORT, settings.ingress)
        self.url = pulumi.Output.from_input(f"http://{service}.{ns}.svc.cluster.local:{PORT}")
        self._artifacts = None if settings.proxy_artifacts else args.artifacts
        self.credentials = self._users(name, service, args, server, deployment)
        self.scrape_target = server.scrape_target("http")
        if args.monitoring is not None:
            args.monitoring.scrape(self, f"{name}-servicemonitor", self.scrape_target)
            args.monitoring.alert_rules(self, f"{name}-rules", RULES)
        self.register_outputs({"url": self.url})

    def client(self, user: str) -> MlflowClient:
        """The bundle a workload running as `user` needs (one of the accounts in `users`)."""
        if user not in self.credentials:
            raise KeyError(f"no MLflow account {user!r}; accounts: {', '.join(self.credentials) or 'none'}")
        return MlflowClient(self.url, self.credentials[user], self._artifacts)

    def _users(
        self, name: str, service: str, args: MlflowTrackingArgs, server: Workload, deployment: pulumi.Resource
    ) -> dict[str, str]:
        """One account per workload, its password in a Secret in the workload's namespace; a Job
        (idempotent) creates or updates the accounts through MLflow's auth API."""
        secrets: dict[str, str] = {}
        passwords: dict[str, pulumi.Output[str]] = {}
        username_key, password_key = CREDENTIAL_KEYS
        for user, namespace in args.users.items():
            password = random.RandomPassword(f"{name}-user-{user}", length=24, special=False, opts=child(self)).result
            passwords[user] = password
            secrets[user] = f"{service}-credentials-{user}"
            k8s.core.v1.Secret(
                f"{name}-credentials-{user}",
                metadata=kube.metadata(secrets[user], namespace, server.labels),
                string_data={username_key: user, password_key: password},
                opts=child(self),
            )
        if not passwords:
            return secrets
        users_secret = k8s.core.v1.Secret(
            f"{name}-users",
            metadata=server.metadata(name=f"{service}-users"),
            string_data=passwords,
            opts=child(self),
        )
        bootstrap_labels = kube.labels(service, "bootstrap-users")
        bootstrap = BootstrapUsersSettings.variables()
        job = kube.run_once(
            bootstrap_labels,
            kube.pod(
                [
                    {
                        "name": "bootstrap-users",
                        "image": args.image,
                        "imagePullPolicy": "Always",
                        "command": ["python", "/opt/mlflow/bootstrap_users.py"],
                        "env": [
                            kube.secret_env(bootstrap["admin_password"], f"{service}-server", "admin-password"),
                            *BootstrapUsersSettings.env(
                                mlflow_url=f"http://{service}:{PORT}", admin_user=ADMIN_USER, users_dir=USERS_DIR
                            ),
                        ],
                        "securityContext": kube.RESTRICTED_CONTAINER,
                        "resources": kube.resources("50m", "128Mi", "200m", "256Mi"),
                        "volumeMounts": [{"name": "users", "mountPath": USERS_DIR, "readOnly": True}],
                    }
                ],
                [{"name": "users", "secret": {"secretName": f"{service}-users"}}],
            ),
            retries=10,
        )
        k8s.batch.v1.Job(
            f"{name}-bootstrap-users",
            metadata=kube.metadata(f"{service}-bootstrap-users", args.namespace, bootstrap_labels),
            spec=job,
            opts=child(self, depends_on=[deployment, users_secret]),
        )
        return secrets
