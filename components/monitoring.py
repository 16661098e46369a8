"""Monitoring: Prometheus, Alertmanager and Grafana (kube-prometheus-stack), with the platform's
scrape targets, ML dashboards and alert rules."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from components import k8s as kube
from components._common import PlatformComponent, child
from components.versions import KUBE_PROMETHEUS_STACK_CHART, PUSHGATEWAY_CHART

ASSETS = Path(__file__).with_name("assets")
RULES_DIR = ASSETS / "rules"
DASHBOARDS_DIR = ASSETS / "dashboards"
RELEASE = "kube-prometheus-stack"


def alert_rule_files() -> list[Path]:
    """The PrometheusRule group files (the same files `promtool test rules` checks)."""
    return sorted(RULES_DIR.glob("*.rules.yaml"))


def dashboards() -> dict[str, dict[str, Any]]:
    """Grafana dashboards by file stem."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


@dataclass
class MonitoringArgs:
    namespace: str = "monitoring"
    """Namespace of the stack (created by the caller, privileged for node-exporter). Default: monitoring."""
    retention: str = "15d"
    """Prometheus retention. Default: 15d."""
    storage_gib: int = 50
    """Prometheus volume. Default: 50."""
    targets: Sequence[kube.ScrapeTarget] = ()
    """Platform services to scrape (one ServiceMonitor or PodMonitor each). Default: none."""
    grafana_ingress: kube.IngressArgs | None = None
    """Publish Grafana. Default: cluster-internal only."""
    extra_values: Mapping[str, Any] = field(default_factory=dict)
    """Values merged over the chart values below (advanced). Default: none."""


class Monitoring(PlatformComponent):
    """kube-prometheus-stack (pinned) with retention and a persistent volume; Prometheus selects
    every ServiceMonitor/PodMonitor/PrometheusRule in the cluster, not only the chart's own;
    Grafana's admin password is generated and read from a Secret; a Pushgateway receives batch
    jobs' metrics. The ML dashboards and alert rules are files under components/assets."""

    grafana_admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:Monitoring", name, None, opts)
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
            _deep_merge(self._values(args), dict(args.extra_values)),
            after=[admin],
        )
        kube.helm_release(
            self,
            f"{name}-pushgateway",
            "pushgateway",
            PUSHGATEWAY_CHART,
            ns,
            {
                "serviceMonitor": {"enabled": True, "namespace": ns, "honorLabels": True},
                "nodeSelector": kube.SYSTEM_NODES,
                "resources": kube.resources("50m", "64Mi", "200m", "128Mi"),
                "securityContext": kube.pod_security(65534),
                "containerSecurityContext": kube.RESTRICTED_CONTAINER,
            },
            after=[stack],  # its ServiceMonitor needs the chart's CRDs
        )
        after_crds = child(self, depends_on=[stack])
        for target in args.targets:
            self._monitor(name, target, after_crds)
        for path in alert_rule_files():
            document = yaml.safe_load(path.read_text())
            rule_name = path.name.removesuffix(".rules.yaml")
            k8s.apiextensions.CustomResource(
                f"{name}-rules-{rule_name}",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata=kube.metadata(f"mlops-{rule_name}", ns, kube.labels("mlops-alerts", "monitoring")),
                spec={"groups": document["groups"]},
                opts=after_crds,
            )
        for stem, dashboard in dashboards().items():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{stem}",
                metadata=kube.metadata(
                    f"dashboard-{stem}", ns, {**kube.labels("grafana", "dashboard"), "grafana_dashboard": "1"}
                ),
                data={f"{stem}.json": json.dumps(dashboard, indent=1)},
                opts=child(self),
            )
        self.register_outputs({})

    def _values(self, args: MonitoringArgs) -> dict[str, Any]:
        grafana: dict[str, Any] = {
            "admin": {"existingSecret": "grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"},
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": "grafana_dashboard",
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                }
            },
            "nodeSelector": kube.SYSTEM_NODES,
            "resources": kube.resources("100m", "256Mi"),
        }
        if args.grafana_ingress is not None:
            ingress = args.grafana_ingress
            grafana["ingress"] = {
                "enabled": True,
                "ingressClassName": ingress.class_name,
                "hosts": [ingress.host],
                "annotations": {
                    "alb.ingress.kubernetes.io/scheme": "internal" if ingress.internal else "internet-facing",
                    "alb.ingress.kubernetes.io/target-type": "ip",
                    **(
                        {
                            "alb.ingress.kubernetes.io/certificate-arn": ingress.tls_certificate_arn,
                            "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS": 443}]',
                        }
                        if ingress.tls_certificate_arn
                        else {}
                    ),
                },
            }
        return {
            "prometheus": {
                "prometheusSpec": {
                    "retention": args.retention,
                    "retentionSize": f"{int(args.storage_gib * 0.85)}GB",
                    "storageSpec": {
                        "volumeClaimTemplate": {
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": f"{args.storage_gib}Gi"}},
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
            "prometheusOperator": {"nodeSelector": kube.SYSTEM_NODES},
            "kube-state-metrics": {"nodeSelector": kube.SYSTEM_NODES},
            # node-exporter runs on every node, GPU nodes included.
            "prometheus-node-exporter": {"tolerations": [kube.GPU_TOLERATION]},
        }

    def _monitor(self, name: str, target: kube.ScrapeTarget, opts: pulumi.ResourceOptions) -> None:
        endpoint = {"port": target.port, "path": target.path, "interval": "15s"}
        kind = "PodMonitor" if target.pods else "ServiceMonitor"
        spec: Any = {
            "selector": {"matchLabels": dict(target.selector)},
            "namespaceSelector": {"matchNames": [target.namespace]},
            ("podMetricsEndpoints" if target.pods else "endpoints"): [endpoint],
        }
        k8s.apiextensions.CustomResource(
            f"{name}-{kind.lower()}-{target.name}",
            api_version="monitoring.coreos.com/v1",
            kind=kind,
            metadata=kube.metadata(target.name, target.namespace, kube.labels(target.name, "monitoring")),
            spec=spec,
            opts=opts,
        )


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            _deep_merge(merged[key], value)
            if isinstance(merged.get(key), dict) and isinstance(value, Mapping)
            else value
        )
    return merged
