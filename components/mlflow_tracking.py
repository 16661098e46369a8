"""MlflowTracking: the MLflow tracking server and model registry, authenticated, artifacts proxied to S3."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import k8s as kube
from components._common import PlatformComponent, child
from components.artifact_store import Access, ArtifactStore, Bucket, Grant
from components.irsa import ROLE_ARN_ANNOTATION, OidcIdentity

PORT = 5000
NAME = "mlflow"
ARTIFACT_PREFIX = "mlflow"
ADMIN_USER = "admin"
AUTH_INI = (Path(__file__).parent / "assets" / "mlflow" / "basic_auth.ini").read_text()
"""MLflow's basic-auth config template (the tests start a real server with it)."""


@dataclass
class MlflowTrackingArgs:
    namespace: str
    """Namespace of the server."""
    image: str
    """The mlflow-server image (apps/mlflow_server: MLflow + Postgres driver + boto3)."""
    backend_url: pulumi.Input[str]
    """SQLAlchemy URL of the tracking/registry database (secret)."""
    auth_url: pulumi.Input[str]
    """SQLAlchemy URL of the authentication database (secret)."""
    artifacts: ArtifactStore
    """Where artifacts go: s3://<artifacts bucket>/mlflow, through the server."""
    oidc: OidcIdentity
    """The cluster's OIDC provider (the server's IRSA role)."""
    users: Mapping[str, str] = field(default_factory=dict)
    """Workload accounts to create: user name -> namespace that receives its credentials Secret."""
    replicas: int = 1
    """Server replicas. Default: 1."""
    cpu: str = "500m"
    """CPU request (limit twice). Default: 500m."""
    memory: str = "1Gi"
    """Memory request and limit. Default: 1Gi."""
    proxy_artifacts: bool = True
    """Serve artifacts through the server (clients need no AWS access and MLflow permissions apply);
    false makes clients read/write s3://<bucket>/mlflow directly with their own roles. Default: true."""
    ingress: kube.IngressArgs | None = None
    """Publish through an Ingress. Default: cluster-internal only."""
    allowed_client_namespaces: Sequence[str] = ()
    """Namespaces whose pods may call the server (its own always may). Default: none."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for AWS resources. Default: none."""


class MlflowTracking(PlatformComponent):
    """MLflow behind MLflow's basic-auth app: an admin with a generated password, one account per
    workload (READ by default; creators manage what they create), credentials only in Kubernetes
    Secrets. Runs non-root with a read-only root filesystem, probed, with a PodDisruptionBudget and
    a NetworkPolicy that admits only the listed namespaces (and the Ingress, when there is one)."""

    url: pulumi.Output[str]
    """Cluster-internal URL of the server."""
    admin_password: pulumi.Output[str]
    scrape_target: kube.ScrapeTarget

    def __init__(self, name: str, args: MlflowTrackingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:MlflowTracking", name, None, opts)
        ns = args.namespace
        labels = kube.labels(NAME, "tracking-server")
        selector = kube.selector(NAME, "tracking-server")
        role = args.artifacts.irsa_role(
            f"{name}-irsa",
            oidc=args.oidc,
            namespace=ns,
            service_account=NAME,
            grants=[Grant(Bucket.ARTIFACTS, ARTIFACT_PREFIX, Access.READ_WRITE)],
            parent=self,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=kube.metadata(NAME, ns, labels, {ROLE_ARN_ANNOTATION: role.arn}),
            automount_service_account_token=False,
            opts=child(self),
        )
        admin = random.RandomPassword(f"{name}-admin", length=24, special=False, opts=child(self))
        self.admin_password = admin.result
        auth_ini = pulumi.Output.all(args.auth_url, admin.result).apply(
            lambda values: AUTH_INI.format(database_uri=values[0], admin_username=ADMIN_USER, admin_password=values[1])
        )
        server_secret = k8s.core.v1.Secret(
            f"{name}-server",
            metadata=kube.metadata("mlflow-server", ns, labels),
            string_data={
                "backend-store-uri": args.backend_url,
                "basic_auth.ini": auth_ini,
                "admin-password": admin.result,
            },
            opts=child(self),
        )
        hosts = [f"{NAME}", f"{NAME}.{ns}", f"{NAME}.{ns}.svc", f"{NAME}.{ns}.svc.cluster.local", "localhost"]
        if args.ingress is not None:
            hosts.append(args.ingress.host)
        artifact_root = pulumi.Output.format(
            "s3://{0}/{1}", args.artifacts.bucket_names[Bucket.ARTIFACTS], ARTIFACT_PREFIX
        )
        artifact_args = (
            ["--serve-artifacts", "--artifacts-destination", artifact_root]
            if args.proxy_artifacts
            else ["--no-serve-artifacts", "--default-artifact-root", artifact_root]
        )
        http = kube.http_probe("/health", "http")
        deployment: Any = {
            "replicas": args.replicas,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": NAME,
                    # No Kubernetes API access; the IRSA web-identity token is a separate projected volume.
                    "automountServiceAccountToken": False,
                    "securityContext": kube.pod_security(),
                    "nodeSelector": kube.SYSTEM_NODES,
                    "topologySpreadConstraints": [kube.spread_over_zones(selector)],
                    "containers": [
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
                                kube.secret_env("MLFLOW_BACKEND_STORE_URI", "mlflow-server", "backend-store-uri"),
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
                            "resources": kube.resources(args.cpu, args.memory),
                            "readinessProbe": http,
                            "livenessProbe": {**http, "initialDelaySeconds": 30},
                            "startupProbe": {**http, "failureThreshold": 30},
                            "volumeMounts": [
                                {"name": "auth", "mountPath": "/etc/mlflow", "readOnly": True},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "auth",
                            "secret": {
                                "secretName": "mlflow-server",
                                "items": [{"key": "basic_auth.ini", "path": "basic_auth.ini"}],
                            },
                        },
                        kube.tmp_volume(size="1Gi"),
                    ],
                },
            },
        }
        server = k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata=kube.metadata(NAME, ns, labels),
            spec=deployment,
            opts=child(self, depends_on=[account, server_secret]),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=kube.metadata(NAME, ns, labels),
            spec=kube.service_spec(selector, {"http": PORT}),
            opts=child(self),
        )
        kube.disruption_budget(self, f"{name}-pdb", NAME, ns, labels, selector, args.replicas)
        kube.ingress_policy(
            self,
            f"{name}-netpol",
            NAME,
            ns,
            selector,
            PORT,
            [*args.allowed_client_namespaces, "monitoring"],
            open_to_all=args.ingress is not None,
        )
        if args.ingress is not None:
            kube.ingress(self, f"{name}-ingress", NAME, ns, labels, PORT, args.ingress)
        self.url = pulumi.Output.from_input(f"http://{NAME}.{ns}.svc.cluster.local:{PORT}")
        self.credentials = self._users(name, args, labels, server)
        self.scrape_target = kube.ScrapeTarget(NAME, ns, selector, "http")
        self.register_outputs({"url": self.url})

    def _users(
        self, name: str, args: MlflowTrackingArgs, labels: Mapping[str, str], server: pulumi.Resource
    ) -> dict[str, str]:
        """One account per workload, its password in a Secret in the workload's namespace; a Job
        (idempotent) creates or updates the accounts through MLflow's auth API."""
        secrets: dict[str, str] = {}
        passwords: dict[str, pulumi.Output[str]] = {}
        for user, namespace in args.users.items():
            password = random.RandomPassword(f"{name}-user-{user}", length=24, special=False, opts=child(self)).result
            passwords[user] = password
            secrets[user] = f"mlflow-credentials-{user}"
            k8s.core.v1.Secret(
                f"{name}-credentials-{user}",
                metadata=kube.metadata(secrets[user], namespace, labels),
                string_data={"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password},
                opts=child(self),
            )
        if not passwords:
            return secrets
        users_secret = k8s.core.v1.Secret(
            f"{name}-users",
            metadata=kube.metadata("mlflow-users", args.namespace, labels),
            string_data=passwords,
            opts=child(self),
        )
        job: Any = {
            "backoffLimit": 10,
            "template": {
                "metadata": {"labels": kube.labels(NAME, "bootstrap-users")},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "securityContext": kube.pod_security(),
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "bootstrap-users",
                            "image": args.image,
                            "imagePullPolicy": "Always",
                            "command": ["python", "/opt/mlflow/bootstrap_users.py"],
                            "env": [
                                kube.secret_env("MLFLOW_ADMIN_PASSWORD", "mlflow-server", "admin-password"),
                                *kube.env(
                                    {
                                        "MLFLOW_URL": f"http://{NAME}:{PORT}",
                                        "MLFLOW_ADMIN_USER": ADMIN_USER,
                                        "USERS_DIR": "/etc/mlflow-users",
                                    }
                                ),
                            ],
                            "securityContext": kube.RESTRICTED_CONTAINER,
                            "resources": kube.resources("50m", "128Mi", "200m", "256Mi"),
                            "volumeMounts": [{"name": "users", "mountPath": "/etc/mlflow-users", "readOnly": True}],
                        }
                    ],
                    "volumes": [{"name": "users", "secret": {"secretName": "mlflow-users"}}],
                },
            },
        }
        k8s.batch.v1.Job(
            f"{name}-bootstrap-users",
            metadata=kube.metadata("mlflow-bootstrap-users", args.namespace, kube.labels(NAME, "bootstrap-users")),
            spec=job,
            opts=child(self, depends_on=[server, users_secret]),
        )
        return secrets
