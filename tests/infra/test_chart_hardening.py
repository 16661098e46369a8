"""What the platform sets in the upstream charts to end their default findings (issue 25, point 3): each value
is one the chart reads - checked against the chart's own values.yaml, copied here as data with its provenance -
and each release of both shipped stacks sets it.

Provenance (read through the search tool; the nearest version it holds to each pin):
- kube-prometheus-stack: prometheus-community/helm-charts charts/kube-prometheus-stack/values.yaml at commit
  001f3a6d (a 7x release; `prometheusOperator.resources`, `.image.pullPolicy`, `.admissionWebhooks.patch.
  {resources, securityContext, image.pullPolicy}` - the patch job's values serve both hook Jobs).
- grafana (kube-prometheus-stack's subchart, under `grafana`): grafana/helm-charts charts/grafana/values.yaml at
  commit 001363be (`testFramework.enabled`, `image.pullPolicy`, `sidecar.{resources, imagePullPolicy,
  readinessProbe, livenessProbe}` - the last two empty, and one value for every sidecar of the pod).
- prometheus-node-exporter (subchart): prometheus-community/helm-charts charts/prometheus-node-exporter/values.yaml
  at commit 01931990 (`resources`, `containerSecurityContext` - handed on whole - `image.pullPolicy`).
- kube-state-metrics (subchart): `resources` and `image.pullPolicy`, the chart's standard image block.
- prometheus-pushgateway: prometheus-community/helm-charts charts/prometheus-pushgateway/values.yaml at commit
  014595e6 (`resources`, `image.pullPolicy`, `automountServiceAccountToken` - true by default -,
  `securityContext`, `containerSecurityContext`).
- cert-manager v1.17: jetstack deploy/charts/cert-manager/values.yaml and values.schema.json: `resources`,
  `image.pullPolicy` for the controller and under `webhook`, `cainjector` and `startupapicheck`.
A networked `make plans REQUIRE_CHARTS=1` judges the whole of each release's values against the pinned archive
(offline/charts.py); this test keeps the hardening keys honest where the archives cannot be had.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.testing import Graph

UPSTREAM_KEYS: dict[str, set[tuple[str, ...]]] = {
    "kube-prometheus-stack": {
        ("prometheusOperator", "resources"),
        ("prometheusOperator", "image", "pullPolicy"),
        ("prometheusOperator", "admissionWebhooks", "patch", "resources"),
        ("prometheusOperator", "admissionWebhooks", "patch", "securityContext"),
        ("prometheusOperator", "admissionWebhooks", "patch", "image", "pullPolicy"),
        ("grafana", "testFramework", "enabled"),
        ("grafana", "image", "pullPolicy"),
        ("grafana", "resources"),
        ("grafana", "sidecar", "resources"),
        ("grafana", "sidecar", "imagePullPolicy"),
        ("prometheus-node-exporter", "resources"),
        ("prometheus-node-exporter", "containerSecurityContext"),
        ("prometheus-node-exporter", "image", "pullPolicy"),
        ("kube-state-metrics", "resources"),
        ("kube-state-metrics", "image", "pullPolicy"),
    },
    "pushgateway": {
        ("resources",),
        ("image", "pullPolicy"),
        ("securityContext",),
        ("containerSecurityContext",),
        ("automountServiceAccountToken",),
    },
    "cert-manager": {
        (*component, key)
        for component in ((), ("webhook",), ("cainjector",), ("startupapicheck",))
        for key in ("resources", "image")
    },
}
"""Release -> the hardening keys it sets, each present in the chart's values (see the provenance above)."""


def dig(values: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(values, dict) or key not in values:
            return None
        values = values[key]
    return values


def release_values(graph: Graph, name: str) -> dict[str, Any]:
    releases = {r.get("name"): r for r in graph.of_type("kubernetes:helm.sh/v3:Release")}
    return dict(releases[name].get("values"))


@pytest.mark.parametrize("release", sorted(UPSTREAM_KEYS))
def test_each_release_sets_its_hardening_through_keys_its_chart_reads(graph: Graph, release: str) -> None:
    values = release_values(graph, release)
    for path in UPSTREAM_KEYS[release]:
        assert dig(values, path) is not None, f"{release} does not set {'.'.join(path)}"


def test_every_container_the_charts_start_has_requests_and_limits(graph: Graph) -> None:
    for release, paths in UPSTREAM_KEYS.items():
        values = release_values(graph, release)
        for path in paths:
            if path[-1] == "resources":
                resources = dig(values, path)
                assert set(resources) == {"requests", "limits"}, (release, path)
                assert all(set(resources[k]) == {"cpu", "memory"} for k in resources), (release, path)


def test_the_hardening_ends_the_findings_it_is_for(graph: Graph) -> None:
    monitoring = release_values(graph, "kube-prometheus-stack")
    assert monitoring["grafana"]["testFramework"] == {"enabled": False}, "Grafana's helm-test pod runs bats as root"
    exporter = monitoring["prometheus-node-exporter"]["containerSecurityContext"]
    assert exporter["allowPrivilegeEscalation"] is False and exporter["capabilities"] == {"drop": ["ALL"]}
    assert exporter["seccompProfile"] == {"type": "RuntimeDefault"}
    patch = monitoring["prometheusOperator"]["admissionWebhooks"]["patch"]["securityContext"]
    assert patch["runAsNonRoot"] is True and patch["runAsUser"] >= 10000, "checkov CKV_K8S_40: a uid above 10000"
    assert release_values(graph, "pushgateway")["automountServiceAccountToken"] is False, "checkov CKV_K8S_38"
    for release, paths in UPSTREAM_KEYS.items():
        values = release_values(graph, release)
        policies = [dig(values, p) for p in paths if p[-1] in ("pullPolicy", "imagePullPolicy")]
        policies += [dig(values, (*p, "pullPolicy")) for p in paths if p[-1] == "image"]
        assert policies and set(policies) == {"Always"}, (release, policies)
