"""Monitoring: Prometheus, Alertmanager and Grafana (kube-prometheus-stack), with the platform's
scrape targets, ML dashboards and alert rules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
from pydantic import Field

from ..kit import k8s as kube
from ..kit.common import PlatformComponent, child, documented
from ..kit.observability import DASHBOARDS_DIR, RULES_DIR, MonitoringHooks
from ..kit.spec import Spec, matching, settings_arg
from ..kit.versions import KUBE_PROMETHEUS_STACK_CHART, PUSHGATEWAY_CHART

RELEASE = "kube-prometheus-stack"
PUSHGATEWAY_PORT = 9091


def alert_rule_files() -> list[Path]:
    """The PrometheusRule group files (the same files `promtool test rules` checks)."""
    return sorted(RULES_DIR.glob("*.rules.yaml"))


def dashboards() -> dict[str, dict[str, Any]]:
    """Grafana dashboards by file stem."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


class MonitoringSettings(Spec):
    """Prometheus, Alertmanager and Grafana."""

    retention: Annotated[str, matching(r"[0-9]+(h|d|w|y)", "a duration like 12h, 15d, 4w or 1y")] = "15d"
    """Prometheus retention. Default: 15d."""
    storage_gib: Annotated[int, Field(ge=5, le=16384)] = 50
    """Prometheus volume size. Default: 50."""
    grafana_ingress: kube.IngressSettings | None = None
    """Publish Grafana through an Ingress. Default: cluster-internal only."""
    gpu_profiling_metrics: bool = False
    """Export DCGM's profiling metrics (DCGM_FI_PROF_*), which gives the exporter SYS_ADMIN; dashboards and alerts use only DCGM_FI_DEV_*. Default: false."""


@documented
@dataclass
class MonitoringArgs:
    settings: MonitoringSettings = field(default_factory=MonitoringSettings)
    """Retention, volume size and an optional Grafana ingress. Default: the defaults."""
    namespace: str = "monitoring"
    """Namespace of the stack (created by the caller, privileged for node-exporter). Default: monitoring."""
    extra_values: Mapping[str, Any] = field(default_factory=dict)
    """Values merged over the chart values below (advanced). Default: none."""


class Monitoring(PlatformComponent):
    """kube-prometheus-stack (pinned) with retention and a persistent volume; Prometheus selects
    every ServiceMonitor/PodMonitor/PrometheusRule in the cluster, not only the chart's own;
    Grafana's admin password is generated and read from a Secret; a Pushgateway receives batch
    jobs' metrics. The ML dashboards and alert rules are files under components/assets."""

    grafana_admin_password: pulumi.Output[str]
    hooks: MonitoringHooks
    """Hand this to every component that should be scraped, alerted on or charted."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:Monitoring", name, None, opts)
        settings = settings_arg(MonitoringSettings, args.settings, "settings", "Monitoring", name)
        ns = args.namespace
        labels = kube.labels("grafana", "monitoring")
        password = random.RandomPassword(f"{name}-grafana-admin", length=24, special=False, opts=child(self))
        self.grafana_admin_password = password.result
        admin = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=kube.metadata("grafana-admin", ns, labels),
            string_data={"admin-user": "admin", "admin-password": password.result},
            opts=child(self),
        )
        stack = kube.helm_release(
            self,
            f"{name}-stack",
            RELEASE,
            KUBE_PROMETHEUS_STACK_CHART,
            ns,
            _deep_merge(self._values(settings), dict(args.extra_values)),
            after=[admin],
        )
        pushgateway = "pushgateway"
        kube.helm_release(
            self,
            f"{name}-pushgateway",
            pushgateway,
            PUSHGATEWAY_CHART,
            ns,
            {
                "serviceMonitor": {"enabled": True, "namespace": ns, "honorLabels": True},
                "nodeSelector": kube.SYSTEM_NODES,
                "resources": kube.resources("50m", "64Mi", "200m", "128Mi"),
                "image": kube.PULL_ALWAYS,
                "automountServiceAccountToken": False,  # it receives pushes and serves them; no API calls
                "securityContext": kube.pod_security(65534),
                "containerSecurityContext": kube.RESTRICTED_CONTAINER,
            },
            after=[stack],  # its ServiceMonitor needs the chart's CRDs
        )
        # The chart names the Service <release>-<chart name>.
        self.hooks = MonitoringHooks(
            namespace=ns,
            ready=[stack],
            pushgateway_url=pulumi.Output.from_input(
                f"http://{pushgateway}-{PUSHGATEWAY_CHART.chart}.{ns}.svc.cluster.local:{PUSHGATEWAY_PORT}"
            ),
            # The chart names Prometheus' Service <fullname>-prometheus (the release name holds the chart's).
            prometheus_url=pulumi.Output.from_input(f"http://{RELEASE}-prometheus.{ns}.svc.cluster.local:9090"),
            owner=self,
            owner_name=name,
        )
        self.register_outputs({"pushgatewayUrl": self.hooks.pushgateway_url})

    def _values(self, settings: MonitoringSettings) -> dict[str, Any]:
        grafana: dict[str, Any] = {
            "admin": {"existingSecret": "grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"},
            "nodeSelector": kube.SYSTEM_NODES,
            "resources": kube.resources("100m", "256Mi"),
            "image": kube.PULL_ALWAYS,
            # The dashboard and datasource watchers (k8s-sidecar) share the resources and pull policy.
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": "grafana_dashboard",
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                },
                "resources": kube.resources("50m", "96Mi"),
                "imagePullPolicy": "Always",
            },
            # The chart's `helm test` pod (bats, as root) is not part of the platform.
            "testFramework": {"enabled": False},
        }
        if settings.grafana_ingress is not None:
            ingress = settings.grafana_ingress
            grafana["ingress"] = {
                "enabled": True,
                "ingressClassName": ingress.class_name,
                "hosts": [ingress.host],
                "annotations": ingress.annotations(),
            }
        return {
            "prometheus": {
                "prometheusSpec": {
                    "retention": settings.retention,
                    "retentionSize": f"{int(settings.storage_gib * 0.85)}GB",
                    "storageSpec": {
                        "volumeClaimTemplate": {
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": f"{settings.storage_gib}Gi"}},
                            }
                        }
                    },
                    # Select every ServiceMonitor/PodMonitor/PrometheusRule, not only those labelled for this release.
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    "ruleSelectorNilUsesHelmValues": False,
                    "nodeSelector": kube.SYSTEM_NODES,
                    "resources": kube.resources("500m", "2Gi"),
                }
            },
            "alertmanager": {
                "enabled": True,
                "alertmanagerSpec": {
                    "nodeSelector": kube.SYSTEM_NODES,
                    "resources": kube.resources("50m", "128Mi"),
                    "storage": {
                        "volumeClaimTemplate": {
                            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}
                        }
                    },
                },
            },
            "grafana": grafana,
            "prometheusOperator": {
                "nodeSelector": kube.SYSTEM_NODES,
                "resources": kube.resources("100m", "256Mi"),
                "image": kube.PULL_ALWAYS,
                # The two hook Jobs that create and install the admission webhook's certificate.
                "admissionWebhooks": {
                    "patch": {
                        "resources": kube.resources("10m", "32Mi"),
                        "securityContext": kube.pod_security(65534),
                        "image": kube.PULL_ALWAYS,
                    }
                },
            },
            "kube-state-metrics": {
                "nodeSelector": kube.SYSTEM_NODES,
                "resources": kube.resources("50m", "192Mi"),
                "image": kube.PULL_ALWAYS,
            },
            # node-exporter runs on every node, GPU nodes included; it needs no privilege beyond the host's view.
            "prometheus-node-exporter": {
                "tolerations": [kube.GPU_TOLERATION],
                "resources": kube.resources("50m", "64Mi"),
                "image": kube.PULL_ALWAYS,
                "containerSecurityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            },
        }


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            _deep_merge(merged[key], value)
            if isinstance(merged.get(key), dict) and isinstance(value, Mapping)
            else value
        )
    return merged
