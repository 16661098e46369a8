"""DriftMonitor: the drift monitor app, with just enough RBAC to launch retraining Jobs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, cast

import pulumi
import pulumi_kubernetes as k8s
from mlops_platform.contracts import MonitorJobConfig, Retrain
from pydantic import Field

from ..kit import k8s as kube
from ..kit.common import PlatformComponent, child, documented
from ..kit.observability import DASHBOARDS_DIR, RULES_DIR, MonitoringHooks
from ..kit.spec import DnsLabel, Memory, Spec, settings_arg
from ..kit.workload import Workload
from .mlflow_tracking import MlflowClient
from .training_pipeline import RetrainingJobs

PORT = 8080
CONFIG_DIR = "/etc/drift-monitor"
JOURNAL_DIR = "/var/lib/drift-monitor"
"""The monitor's journal (a volume claim): accepted records and labels survive a restart."""


def retraining_policy(retraining: RetrainingJobs, username: str) -> dict[str, Any]:
    """A ValidatingAdmissionPolicy spec: Jobs `username` creates or updates must be retraining Jobs - the
    training service account and image, the template's ConfigMaps and Secrets and nothing else (no
    other volume, Secret, envFrom or extra container). Every field is tested with has() before it is read,
    so a Job leaving one out is denied by its message, not by an evaluation error. CEL; tests evaluate
    it with cel-python."""
    spec = "object.spec.template.spec"
    # a resolved bundle (RetrainingJobs.resolved): every value a plain one
    names = {
        "secrets": cast(Sequence[str], retraining.secrets),
        "config_maps": cast(Sequence[str], retraining.config_maps),
    }
    secrets, config_maps = json.dumps(list(names["secrets"])), json.dumps(list(names["config_maps"]))
    checks = [
        (
            f"has({spec}.serviceAccountName) && {spec}.serviceAccountName == {json.dumps(retraining.service_account)}",
            f"retraining Jobs run as the {retraining.service_account} service account",
        ),
        (
            f"{spec}.containers.all(c, c.image == {json.dumps(retraining.image)})"
            f" && !has({spec}.initContainers) && !has({spec}.ephemeralContainers)",
            f"retraining Jobs run the training image ({retraining.image}) only",
        ),
        (
            f"!has({spec}.volumes) || {spec}.volumes.all(v, has(v.emptyDir)"
            f" || (has(v.configMap) && has(v.configMap.name) && v.configMap.name in {config_maps}))",
            f"retraining Jobs mount emptyDirs and the ConfigMaps {', '.join(names['config_maps'])} only",
        ),
        (
            f"{spec}.containers.all(c, !has(c.envFrom)"
            f" || c.envFrom.all(e, has(e.secretRef) && has(e.secretRef.name) && e.secretRef.name in {secrets}))",
            f"retraining Jobs take envFrom the Secrets {', '.join(names['secrets'])} only",
        ),
        (
            f"{spec}.containers.all(c, !has(c.env) || c.env.all(e, !has(e.valueFrom)"
            f" || !has(e.valueFrom.secretKeyRef)"
            f" || (has(e.valueFrom.secretKeyRef.name) && e.valueFrom.secretKeyRef.name in {secrets})))",
            f"retraining Jobs read the Secrets {', '.join(names['secrets'])} only",
        ),
    ]
    return {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": ["batch"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["jobs"],
                }
            ]
        },
        "matchConditions": [
            {"name": "from-the-drift-monitor", "expression": f"request.userInfo.username == {json.dumps(username)}"}
        ],
        "validations": [{"expression": expression, "message": message} for expression, message in checks],
    }


class DriftMonitorSettings(Spec):
    """The drift monitor."""

    endpoint: DnsLabel | None = None
    """Endpoint whose predictions are monitored. Default: the first endpoint."""
    window_size: Annotated[int, Field(ge=50, le=1_000_000)] = 2000
    """Predictions per drift window. Default: 2000."""
    consecutive_windows: Annotated[int, Field(ge=1, le=100)] = 3
    """Windows in a row above threshold before retraining is triggered. Default: 3."""
    cooldown_minutes: Annotated[int, Field(ge=0, le=10080)] = 360
    """Least time between two retraining triggers. Default: 360."""
    journal_storage: Memory = "5Gi"
    """Volume journaling accepted records and labels, so a restart loses none. Default: 5Gi."""


@documented
@dataclass
class DriftMonitorArgs:
    namespace: str
    """Namespace of the monitor and of the retraining Jobs it creates."""
    image: pulumi.Input[str]
    """The monitor image (apps/monitor)."""
    model: str
    """Registered model whose predictions are monitored."""
    mlflow: MlflowClient
    """MLflow's URL and a read-only account (reference profiles are artifacts of the serving version's run)."""
    retraining: RetrainingJobs
    """The training Job template and what a Job made from it may hold (TrainingPipeline.retraining): an
    admission policy admits no other Job from the monitor."""
    alias: str = "champion"
    """Alias of the serving version. Default: champion."""
    settings: DriftMonitorSettings = field(default_factory=DriftMonitorSettings)
    """Window size, how many drifted windows trigger retraining, the cooldown. Default: the defaults."""
    allowed_client_namespaces: Sequence[str] = ()
    """Namespaces whose pods may post prediction logs and labels. Default: none but its own."""
    monitoring: MonitoringHooks | None = None
    """Scrape the monitor, chart model health, alert on drift. Default: not monitored."""
    service_name: str | None = None
    """Kubernetes name of the monitor's objects. Default: the component's name."""


class DriftMonitor(PlatformComponent):
    """One replica (retraining Jobs have deterministic names, so a restart cannot launch one twice),
    a Service for logs, labels and /metrics, and a Role that may create and read Jobs in its own
    namespace - nothing else."""

    ingest_url: pulumi.Output[str]
    """Where predictors send prediction logs (`<url>/v1/logs`) and labels (`/v1/labels`)."""
    scrape_target: kube.ScrapeTarget

    def __init__(self, name: str, args: DriftMonitorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:DriftMonitor", name, None, opts)
        settings = settings_arg(DriftMonitorSettings, args.settings, "settings", "DriftMonitor", name)
        monitor = Workload.of(self, name, args.service_name, args.namespace, "monitor")
        service, ns = monitor.name, monitor.namespace
        # It creates retraining Jobs through the Kubernetes API: the token is mounted.
        account = monitor.identity(args.mlflow.artifacts, args.mlflow.artifact_grants(), automount=None)
        rules: Any = [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "watch"]}]
        k8s.rbac.v1.Role(f"{name}-role", metadata=monitor.metadata(), rules=rules, opts=child(self))
        role_ref: Any = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": service}
        subjects: Any = [{"kind": "ServiceAccount", "name": service, "namespace": ns}]
        k8s.rbac.v1.RoleBinding(
            f"{name}-binding", metadata=monitor.metadata(), role_ref=role_ref, subjects=subjects, opts=child(self)
        )
        # Creating Jobs in its namespace could start a pod mounting any Secret there: admit only retraining Jobs.
        username = f"system:serviceaccount:{ns}:{service}"
        policy_spec: Any = args.retraining.resolved().apply(lambda retraining: retraining_policy(retraining, username))
        binding_spec: Any = {
            "policyName": f"{service}-retraining-only",
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}},
        }
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-retraining-only",
            metadata=kube.metadata(f"{service}-retraining-only", None, monitor.labels),
            spec=policy_spec,
            opts=child(self),
        )
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-retraining-only",
            metadata=kube.metadata(f"{service}-retraining-only", None, monitor.labels),
            spec=binding_spec,
            opts=child(self, depends_on=[policy]),
        )
        settings_file = MonitorJobConfig(
            model_name=args.model,
            alias=args.alias,
            window_size=settings.window_size,
            consecutive_windows=settings.consecutive_windows,
            cooldown_seconds=settings.cooldown_minutes * 60,
            retrain=Retrain(
                backend="kubernetes", namespace=ns, job_template=f"{CONFIG_DIR}/template/job-template.yaml"
            ),
            state_dir=JOURNAL_DIR,
        )
        claim: Any = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": settings.journal_storage}},
        }
        journal = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-journal", metadata=monitor.metadata(name=f"{service}-journal"), spec=claim, opts=child(self)
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=monitor.metadata(name=f"{service}-config"),
            data={"monitor.yaml": settings_file.yaml()},
            opts=child(self),
        )
        http = kube.http_probe("/healthz", "http")
        pod = kube.pod(
            service_account=service,
            api_access=True,
            containers=[
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
                    "envFrom": args.mlflow.env_from(),
                    "env": [*args.mlflow.env(), *kube.env({"HOME": "/tmp"})],
                    "ports": [{"name": "http", "containerPort": PORT}],
                    "resources": kube.resources("500m", "1Gi"),
                    "securityContext": kube.RESTRICTED_CONTAINER,
                    "readinessProbe": kube.http_probe("/readyz", "http"),
                    "livenessProbe": {**http, "initialDelaySeconds": 20},
                    "volumeMounts": [
                        {"name": "config", "mountPath": f"{CONFIG_DIR}/config", "readOnly": True},
                        {"name": "template", "mountPath": f"{CONFIG_DIR}/template", "readOnly": True},
                        {"name": "tmp", "mountPath": "/tmp"},
                        {"name": "journal", "mountPath": JOURNAL_DIR},
                    ],
                }
            ],
            volumes=[
                {"name": "config", "configMap": {"name": f"{service}-config"}},
                {"name": "template", "configMap": {"name": args.retraining.template_configmap}},
                kube.tmp_volume(),
                {"name": "journal", "persistentVolumeClaim": {"claimName": f"{service}-journal"}},
            ],
        )
        # One replica, replaced (not rolled): the journal's volume is ReadWriteOnce.
        monitor.deployment(
            pod, replicas=1, strategy={"type": "Recreate"}, suffix="deployment", depends_on=[config, journal, account]
        )
        monitor.service({"http": PORT})
        scrapers = [args.monitoring.namespace] if args.monitoring is not None else []
        monitor.admit(PORT, [*args.allowed_client_namespaces, *scrapers])
        self.ingest_url = pulumi.Output.from_input(f"http://{service}.{ns}.svc.cluster.local:{PORT}")
        self.scrape_target = monitor.scrape_target("http")
        if args.monitoring is not None:
            args.monitoring.scrape(self, f"{name}-servicemonitor", self.scrape_target)
            args.monitoring.alert_rules(self, f"{name}-rules", RULES_DIR / "model-health.rules.yaml")
            args.monitoring.dashboard(self, f"{name}-dashboard", DASHBOARDS_DIR / "model-health.json")
        self.register_outputs({"ingestUrl": self.ingest_url})
