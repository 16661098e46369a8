"""What a component needs to be monitored - where its scrape targets, alert rules and dashboards go -
and where the platform's own rules and dashboards live (components/assets). The Monitoring component
(components/services/monitoring.py) installs Prometheus and hands out the hooks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from . import k8s as kube
from .common import ASSETS, child

RULES_DIR = ASSETS / "rules"
DASHBOARDS_DIR = ASSETS / "dashboards"


@dataclass(frozen=True)
class MonitoringHooks:
    """What a component needs to be monitored - one typed bundle from the Monitoring component:
    where Prometheus and Grafana run, what to wait for (the operator's CRDs), where batch jobs push.
    Each component declares its own scrape targets, alert rules and dashboards through it."""

    namespace: str
    """Namespace of Prometheus (NetworkPolicies admit scrapes from it) and of the dashboards."""
    ready: Sequence[pulumi.Resource]
    """The monitoring stack's release: its CRDs exist once it is installed."""
    pushgateway_url: pulumi.Input[str]
    """Where batch jobs push their metrics."""
    prometheus_url: pulumi.Input[str] = ""
    """Prometheus' query API inside the cluster (KEDA scales endpoints on it)."""
    owner: pulumi.Resource | None = None
    """The Monitoring component: it declared these objects before components declared their own, so
    each keeps an alias to its old name there (a deployed stack adopts them instead of replacing)."""
    owner_name: str = ""

    def scrape(self, parent: pulumi.Resource, resource_name: str, target: kube.ScrapeTarget) -> pulumi.Resource:
        """A ServiceMonitor (or PodMonitor) for `target`, once the operator's CRDs exist."""
        endpoint = {"port": target.port, "path": target.path, "interval": "15s"}
        kind = "PodMonitor" if target.pods else "ServiceMonitor"
        spec: Any = {
            "selector": {"matchLabels": dict(target.selector)},
            "namespaceSelector": {"matchNames": [target.namespace]},
            ("podMetricsEndpoints" if target.pods else "endpoints"): [endpoint],
        }
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version="monitoring.coreos.com/v1",
            kind=kind,
            metadata=kube.metadata(target.name, target.namespace, kube.labels(target.name, "monitoring")),
            spec=spec,
            opts=child(parent, depends_on=list(self.ready), aliases=self._aliases(f"{kind.lower()}-{target.name}")),
        )

    def alert_rules(self, parent: pulumi.Resource, resource_name: str, path: Path) -> pulumi.Resource:
        """A PrometheusRule holding the groups of one rules file (unit-tested by promtool)."""
        rule_name = path.name.removesuffix(".rules.yaml")
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=kube.metadata(f"mlops-{rule_name}", self.namespace, kube.labels("mlops-alerts", "monitoring")),
            spec={"groups": yaml.safe_load(path.read_text())["groups"]},
            opts=child(parent, depends_on=list(self.ready)),
        )

    def recording_rule(
        self,
        parent: pulumi.Resource,
        resource_name: str,
        name: str,
        record: str,
        value: float,
        labels: Mapping[str, str],
    ) -> pulumi.Resource:
        """A PrometheusRule recording a constant under `labels` - a per-object setting (an endpoint's SLO)
        that the shared alert rules compare with."""
        rule = {"record": record, "expr": f"vector({value:g})", "labels": dict(labels)}
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=kube.metadata(name, self.namespace, kube.labels("mlops-alerts", "monitoring")),
            spec={"groups": [{"name": name, "rules": [rule]}]},
            opts=child(parent, depends_on=list(self.ready)),
        )

    def dashboard(self, parent: pulumi.Resource, resource_name: str, path: Path) -> pulumi.Resource:
        """A Grafana dashboard, picked up by Grafana's sidecar from any namespace."""
        stem = path.stem
        return k8s.core.v1.ConfigMap(
            resource_name,
            metadata=kube.metadata(
                f"dashboard-{stem}", self.namespace, {**kube.labels("grafana", "dashboard"), "grafana_dashboard": "1"}
            ),
            data={f"{stem}.json": json.dumps(json.loads(path.read_text()), indent=1)},
            opts=child(parent, aliases=self._aliases(f"dashboard-{stem}")),
        )

    def _aliases(self, old_suffix: str) -> list[pulumi.Alias]:
        if self.owner is None:
            return []
        return [pulumi.Alias(name=f"{self.owner_name}-{old_suffix}", parent=self.owner)]
