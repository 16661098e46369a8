"""GpuSupport: what GPU nodes need in the cluster - the NVIDIA device plugin and the DCGM exporter."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import k8s as kube
from components._common import PlatformComponent, child
from components.gpu_node_pool import ACCELERATOR_LABEL
from components.versions import DCGM_EXPORTER_IMAGE, NVIDIA_DEVICE_PLUGIN_IMAGE

NAMESPACE = "kube-system"
DCGM_PORT = 9400
DCGM_SERVICE = "dcgm-exporter"
GPU_NODES = {ACCELERATOR_LABEL: "nvidia"}


class GpuSupport(PlatformComponent):
    """One per cluster, whatever the number of GPU pools.

    The device plugin advertises `nvidia.com/gpu` on each GPU node (the EKS NVIDIA AMI ships
    the driver and container toolkit); the DCGM exporter publishes GPU utilisation, memory
    and health on :9400 for Prometheus. Both only run on GPU nodes and tolerate their taint.
    """

    scrape_target = kube.ScrapeTarget(DCGM_SERVICE, NAMESPACE, kube.selector(DCGM_SERVICE, "gpu-metrics"), "metrics")

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:GpuSupport", name, None, opts)
        plugin_labels = kube.labels("nvidia-device-plugin", "gpu")
        plugin: Any = {
            "selector": {"matchLabels": kube.selector("nvidia-device-plugin", "gpu")},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": plugin_labels},
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "nodeSelector": GPU_NODES,
                    "tolerations": [kube.GPU_TOLERATION],
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": "nvidia-device-plugin",
                            "image": NVIDIA_DEVICE_PLUGIN_IMAGE,
                            "imagePullPolicy": "Always",
                            "env": kube.env({"FAIL_ON_INIT_ERROR": "false"}),
                            # Writes its socket into the kubelet's device-plugin dir: root, but nothing more.
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "privileged": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "resources": kube.resources("50m", "64Mi", "200m", "128Mi"),
                            "volumeMounts": [{"name": "device-plugin", "mountPath": "/var/lib/kubelet/device-plugins"}],
                        }
                    ],
                    "volumes": [{"name": "device-plugin", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}],
                },
            },
        }
        k8s.apps.v1.DaemonSet(
            f"{name}-device-plugin",
            metadata=kube.metadata("nvidia-device-plugin", NAMESPACE, plugin_labels),
            spec=plugin,
            opts=child(self),
        )
        dcgm_labels = kube.labels(DCGM_SERVICE, "gpu-metrics")
        dcgm: Any = {
            "selector": {"matchLabels": kube.selector(DCGM_SERVICE, "gpu-metrics")},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": dcgm_labels},
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "nodeSelector": GPU_NODES,
                    "tolerations": [kube.GPU_TOLERATION],
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": "dcgm-exporter",
                            "image": DCGM_EXPORTER_IMAGE,
                            "imagePullPolicy": "Always",
                            "env": kube.env(
                                {"DCGM_EXPORTER_KUBERNETES": "true", "DCGM_EXPORTER_LISTEN": f":{DCGM_PORT}"}
                            ),
                            "ports": [{"name": "metrics", "containerPort": DCGM_PORT}],
                            # DCGM reads profiling counters: it needs SYS_ADMIN, and nothing else.
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "privileged": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "resources": kube.resources("100m", "256Mi", "500m", "512Mi"),
                            "livenessProbe": kube.http_probe("/health", DCGM_PORT, initial_delay=30),
                            "readinessProbe": kube.http_probe("/health", DCGM_PORT, initial_delay=15),
                            "volumeMounts": [
                                {
                                    "name": "pod-resources",
                                    "mountPath": "/var/lib/kubelet/pod-resources",
                                    "readOnly": True,
                                }
                            ],
                        }
                    ],
                    "volumes": [{"name": "pod-resources", "hostPath": {"path": "/var/lib/kubelet/pod-resources"}}],
                },
            },
        }
        k8s.apps.v1.DaemonSet(
            f"{name}-dcgm-exporter",
            metadata=kube.metadata(DCGM_SERVICE, NAMESPACE, dcgm_labels),
            spec=dcgm,
            opts=child(self),
        )
        k8s.core.v1.Service(
            f"{name}-dcgm-exporter",
            metadata=kube.metadata(DCGM_SERVICE, NAMESPACE, dcgm_labels),
            spec=kube.service_spec(kube.selector(DCGM_SERVICE, "gpu-metrics"), {"metrics": DCGM_PORT}),
            opts=child(self),
        )
        self.register_outputs({})
