"""GpuSupport: what GPU nodes need in the cluster - the NVIDIA device plugin and the DCGM exporter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..kit import k8s as kube
from ..kit.common import PlatformComponent, child, documented
from ..kit.gpu import ACCELERATOR_LABEL
from ..kit.observability import DASHBOARDS_DIR, RULES_DIR, MonitoringHooks
from ..kit.versions import DCGM_EXPORTER_IMAGE, NVIDIA_DEVICE_PLUGIN_IMAGE

NAMESPACE = "kube-system"
DCGM_PORT = 9400
DCGM_SERVICE = "dcgm-exporter"
GPU_NODES = {ACCELERATOR_LABEL: "nvidia"}
NODE_AGENT: Any = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""A node agent's container: root where the host's files demand it, but nothing more."""


@documented
@dataclass
class GpuSupportArgs:
    monitoring: MonitoringHooks | None = None
    """Scrape the DCGM exporter, chart GPU use, alert on idle GPUs. Default: not monitored."""
    profiling_metrics: bool = False
    """Export DCGM's profiling metrics too, which gives the exporter SYS_ADMIN. Default: false."""


class GpuSupport(PlatformComponent):
    """One per cluster, whatever the number of GPU pools.

    The device plugin advertises `nvidia.com/gpu` on each GPU node (the EKS NVIDIA AMI ships
    the driver and container toolkit); the DCGM exporter publishes GPU utilisation, memory
    and health on :9400 for Prometheus. Both only run on GPU nodes and tolerate their taint.
    """

    scrape_target = kube.ScrapeTarget(DCGM_SERVICE, NAMESPACE, kube.selector(DCGM_SERVICE, "gpu-metrics"), "metrics")

    def __init__(
        self, name: str, args: GpuSupportArgs | None = None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:index:GpuSupport", name, None, opts)
        args = args or GpuSupportArgs()
        # Device-level counters (DCGM_FI_DEV_*) need no capability; profiling counters need SYS_ADMIN.
        counters = "dcp-metrics-included.csv" if args.profiling_metrics else "default-counters.csv"
        capabilities = {"drop": ["ALL"], **({"add": ["SYS_ADMIN"]} if args.profiling_metrics else {})}
        security = {**NODE_AGENT, "capabilities": capabilities}
        self._agent(
            f"{name}-device-plugin",
            "nvidia-device-plugin",
            "gpu",
            {
                "image": NVIDIA_DEVICE_PLUGIN_IMAGE,
                "env": kube.env({"FAIL_ON_INIT_ERROR": "false"}),
                # Writes its socket into the kubelet's device-plugin dir.
                "securityContext": NODE_AGENT,
                "resources": kube.resources("50m", "64Mi", "200m", "128Mi"),
            },
            {"device-plugin": ("/var/lib/kubelet/device-plugins", False)},
        )
        self._agent(
            f"{name}-dcgm-exporter",
            DCGM_SERVICE,
            "gpu-metrics",
            {
                "image": DCGM_EXPORTER_IMAGE,
                "args": ["-f", f"/etc/dcgm-exporter/{counters}"],
                "env": kube.env({"DCGM_EXPORTER_KUBERNETES": "true", "DCGM_EXPORTER_LISTEN": f":{DCGM_PORT}"}),
                "ports": [{"name": "metrics", "containerPort": DCGM_PORT}],
                "securityContext": security,
                "resources": kube.resources("100m", "256Mi", "500m", "512Mi"),
                "livenessProbe": kube.http_probe("/health", DCGM_PORT, initial_delay=30),
                "readinessProbe": kube.http_probe("/health", DCGM_PORT, initial_delay=15),
            },
            {"pod-resources": ("/var/lib/kubelet/pod-resources", True)},
        )
        k8s.core.v1.Service(
            f"{name}-dcgm-exporter",
            metadata=kube.metadata(DCGM_SERVICE, NAMESPACE, kube.labels(DCGM_SERVICE, "gpu-metrics")),
            spec=kube.service_spec(kube.selector(DCGM_SERVICE, "gpu-metrics"), {"metrics": DCGM_PORT}),
            opts=child(self),
        )
        if args.monitoring is not None:
            args.monitoring.scrape(self, f"{name}-servicemonitor", self.scrape_target)
            args.monitoring.alert_rules(self, f"{name}-rules", RULES_DIR / "gpu.rules.yaml")
            args.monitoring.dashboard(self, f"{name}-dashboard", DASHBOARDS_DIR / "gpu.json")
        self.register_outputs({})

    def _agent(
        self,
        resource_name: str,
        app: str,
        component: str,
        container: Mapping[str, Any],
        host_paths: Mapping[str, tuple[str, bool]],
    ) -> k8s.apps.v1.DaemonSet:
        """A DaemonSet on every GPU node (tolerating the GPU taint) mounting the host paths it needs."""
        labels = kube.labels(app, component)
        spec: Any = {
            "selector": {"matchLabels": kube.selector(app, component)},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "nodeSelector": GPU_NODES,
                    "tolerations": [kube.GPU_TOLERATION],
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": app,
                            "imagePullPolicy": "Always",
                            **container,
                            "volumeMounts": [
                                {"name": volume, "mountPath": path, **({"readOnly": True} if read_only else {})}
                                for volume, (path, read_only) in host_paths.items()
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": volume, "hostPath": {"path": path}} for volume, (path, _) in host_paths.items()
                    ],
                },
            },
        }
        return k8s.apps.v1.DaemonSet(
            resource_name,
            metadata=kube.metadata(app, NAMESPACE, labels),
            spec=spec,
            opts=child(self),
        )
