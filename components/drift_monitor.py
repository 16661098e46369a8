"""DriftMonitor: the drift monitor app, with just enough RBAC to launch retraining Jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import k8s as kube
from components._common import PlatformComponent, child
from components.artifact_store import Access, ArtifactStore, Bucket, Grant
from components.irsa import ROLE_ARN_ANNOTATION, OidcIdentity

NAME = "drift-monitor"
PORT = 8080
CONFIG_DIR = "/etc/drift-monitor"


@dataclass
class DriftMonitorArgs:
    namespace: str
    """Namespace of the monitor and of the retraining Jobs it creates."""
    image: str
    """The monitor image (apps/monitor)."""
    model: str
    """Registered model whose predictions are monitored."""
    mlflow_url: pulumi.Input[str]
    """MLflow tracking server URL (reference profiles are artifacts of the serving version's run)."""
    mlflow_credentials_secret: str
    """Secret with MLFLOW_TRACKING_USERNAME/PASSWORD of a read-only account."""
    job_template_configmap: str
    """ConfigMap holding the training Job template (TrainingPipeline.job_template_configmap)."""
    alias: str = "champion"
    """Alias of the serving version. Default: champion."""
    window_size: int = 2000
    """Predictions per drift window. Default: 2000."""
    consecutive_windows: int = 3
    """Drifted windows in a row before retraining. Default: 3."""
    cooldown_minutes: int = 360
    """Least time between triggers. Default: 360."""
    allowed_client_namespaces: Sequence[str] = ()
    """Namespaces whose pods may post prediction logs and labels. Default: none but its own."""
    direct_artifact_access: tuple[ArtifactStore, OidcIdentity] | None = None
    """Read reference profiles straight from S3 (MLflow does not proxy artifacts). Default: through MLflow."""


class DriftMonitor(PlatformComponent):
    """One replica (its windows are in memory; retraining Jobs have deterministic names, so a
    restart cannot launch one twice), a Service for logs, labels and /metrics, and a Role that
    may create and read Jobs in its own namespace - nothing else."""

    ingest_url: pulumi.Output[str]
    scrape_target: kube.ScrapeTarget

    def __init__(self, name: str, args: DriftMonitorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:DriftMonitor", name, None, opts)
        ns = args.namespace
        labels = kube.labels(NAME, "monitor")
        selector = kube.selector(NAME, "monitor")
        annotations: dict[str, pulumi.Input[str]] = {}
        if args.direct_artifact_access is not None:
            store, oidc = args.direct_artifact_access
            role = store.irsa_role(
                f"{name}-irsa",
                oidc=oidc,
                namespace=ns,
                service_account=NAME,
                grants=[Grant(Bucket.ARTIFACTS, "mlflow", Access.READ)],
                parent=self,
            )
            annotations[ROLE_ARN_ANNOTATION] = role.arn
        k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=kube.metadata(NAME, ns, labels, annotations), opts=child(self)
        )
        rules: Any = [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "watch"]}]
        k8s.rbac.v1.Role(f"{name}-role", metadata=kube.metadata(NAME, ns, labels), rules=rules, opts=child(self))
        role_ref: Any = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME}
        subjects: Any = [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}]
        k8s.rbac.v1.RoleBinding(
            f"{name}-binding",
            metadata=kube.metadata(NAME, ns, labels),
            role_ref=role_ref,
            subjects=subjects,
            opts=child(self),
        )
        settings = {
            "model_name": args.model,
            "alias": args.alias,
            "window_size": args.window_size,
            "consecutive_windows": args.consecutive_windows,
            "cooldown_seconds": args.cooldown_minutes * 60,
            "retrain": {
                "backend": "kubernetes",
                "namespace": ns,
                "job_template": f"{CONFIG_DIR}/template/job-template.yaml",
            },
        }
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=kube.metadata(f"{NAME}-config", ns, labels),
            data={"monitor.yaml": yaml.safe_dump(settings, sort_keys=False)},
            opts=child(self),
        )
        http = kube.http_probe("/healthz", "http")
        spec: Any = {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": True,  # it creates retraining Jobs through the Kubernetes API
                    "securityContext": kube.pod_security(),
                    "nodeSelector": kube.SYSTEM_NODES,
                    "containers": [
                        {
                            "name": "monitor",
                            "image": args.image,
                            "imagePullPolicy": "Always",
                            "command": [
                                "python",
                                "-m",
                                "apps.monitor",
                                "serve",
                                "--config",
                                f"{CONFIG_DIR}/config/monitor.yaml",
                                "--port",
                                str(PORT),
                            ],
                            "envFrom": [{"secretRef": {"name": args.mlflow_credentials_secret}}],
                            "env": [
                                {"name": "MLFLOW_TRACKING_URI", "value": args.mlflow_url},
                                *kube.env({"HOME": "/tmp"}),
                            ],
                            "ports": [{"name": "http", "containerPort": PORT}],
                            "resources": kube.resources("500m", "1Gi"),
                            "securityContext": kube.RESTRICTED_CONTAINER,
                            "readinessProbe": kube.http_probe("/readyz", "http"),
                            "livenessProbe": {**http, "initialDelaySeconds": 20},
                            "volumeMounts": [
                                {"name": "config", "mountPath": f"{CONFIG_DIR}/config", "readOnly": True},
                                {"name": "template", "mountPath": f"{CONFIG_DIR}/template", "readOnly": True},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": f"{NAME}-config"}},
                        {"name": "template", "configMap": {"name": args.job_template_configmap}},
                        kube.tmp_volume(),
                    ],
                },
            },
        }
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=kube.metadata(NAME, ns, labels),
            spec=spec,
            opts=child(self, depends_on=[config]),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=kube.metadata(NAME, ns, labels),
            spec=kube.service_spec(selector, {"http": PORT}),
            opts=child(self),
        )
        kube.ingress_policy(
            self, f"{name}-netpol", NAME, ns, selector, PORT, [*args.allowed_client_namespaces, "monitoring"]
        )
        self.ingest_url = pulumi.Output.from_input(f"http://{NAME}.{ns}.svc.cluster.local:{PORT}")
        self.scrape_target = kube.ScrapeTarget(NAME, ns, selector, "http")
        self.register_outputs({"ingestUrl": self.ingest_url})
