"""Every pinned version the platform deploys: EKS add-ons, Helm charts, container images.

One place, so an upgrade is one reviewed diff. Images are pinned to release tags (not
`latest`); charts to exact versions.
"""

from __future__ import annotations

from dataclasses import dataclass

KUBERNETES_VERSION = "1.33"

EKS_ADDONS: dict[str, dict[str, str]] = {
    "1.33": {
        "vpc-cni": "v1.19.5-eksbuild.1",
        "coredns": "v1.12.1-eksbuild.2",
        "kube-proxy": "v1.33.0-eksbuild.2",
        "aws-ebs-csi-driver": "v1.48.0-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.8-eksbuild.2",
    },
}
"""Managed add-on versions per Kubernetes minor version (`aws eks describe-addon-versions`)."""

SUPPORTED_KUBERNETES_VERSIONS = tuple(EKS_ADDONS)


@dataclass(frozen=True)
class HelmChart:
    chart: str
    version: str
    repo: str

    @property
    def archive(self) -> str:
        """The archive `helm pull` writes: `<chart name>-<version>.tgz`."""
        return archive_name(self.chart, self.version)


def archive_name(chart: str, version: str) -> str:
    """`<chart name>-<version>.tgz`, the chart's name being the last segment of an OCI reference."""
    return f"{chart.rstrip('/').rsplit('/', 1)[-1]}-{version}.tgz"


@dataclass(frozen=True)
class ClusterAutoscalerRelease:
    chart: HelmChart
    image_tag: str
    """The autoscaler's own version: the cluster's Kubernetes minor (it simulates that scheduler)."""


CLUSTER_AUTOSCALER: dict[str, ClusterAutoscalerRelease] = {
    "1.33": ClusterAutoscalerRelease(
        HelmChart("cluster-autoscaler", "9.47.0", "https://kubernetes.github.io/autoscaler"), "v1.33.0"
    ),
}
"""The cluster-autoscaler release per Kubernetes minor version, from the upstream compatibility table
(kubernetes/autoscaler cluster-autoscaler/README.md: 1.33.x -> chart 9.47.0+)."""

KARPENTER_CHART = HelmChart("oci://public.ecr.aws/karpenter/karpenter", "1.14.1", "")
"""Karpenter's controller; its chart installs the NodePool, NodeClaim and EC2NodeClass CRDs."""
KARPENTER_AMI_ALIAS = "al2023@v20250915"
"""EKS-optimized AL2023 AMI release for Karpenter nodes, pinned (`@latest` would drift every node on
each AMI release); Karpenter picks the NVIDIA variant of this release for GPU instance types."""
KEDA_CHART = HelmChart("keda", "2.20.2", "https://kedacore.github.io/charts")

NVIDIA_DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.0"
DCGM_EXPORTER_IMAGE = "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.9-3.6.1-ubuntu22.04"

VLLM_IMAGE = "vllm/vllm-openai:v0.30.0-cu129@sha256:58fdb6bb123a81aa53f46fa4652ad8cc87e817bd1077c9832c6258ef12c1c688"
"""vLLM's OpenAI server for the LLM endpoints, pinned by digest: the CUDA 12.9 build, which the NVIDIA driver of
the pinned EKS AL2023 AMI runs (the plain v0.30.0 tag is CUDA 13 and needs driver 580 or newer)."""

POSTGRES_ENGINE_VERSION = "16.6"  # RDS
POSTGRES_IMAGE = "postgres:16.6-bookworm"  # in-cluster (dev)
REDIS_ENGINE_VERSION = "7.1"  # ElastiCache
REDIS_IMAGE = "redis:7.2.7-bookworm"  # in-cluster (dev)

KUBE_PROMETHEUS_STACK_CHART = HelmChart(
    "kube-prometheus-stack", "79.12.0", "https://prometheus-community.github.io/helm-charts"
)
PUSHGATEWAY_CHART = HelmChart("prometheus-pushgateway", "3.7.0", "https://prometheus-community.github.io/helm-charts")
CERT_MANAGER_CHART = HelmChart("cert-manager", "v1.17.0", "https://charts.jetstack.io")
# OCI charts: the chart reference is the full oci:// URL, no repository.
KSERVE_CRD_CHART = HelmChart("oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0", "")
KSERVE_CHART = HelmChart("oci://ghcr.io/kserve/charts/kserve-resources", "v0.20.0", "")
KSERVE_LOCALMODEL_CRD_CHART = HelmChart("oci://ghcr.io/kserve/charts/kserve-localmodel-crd", "v0.20.0", "")
KSERVE_LOCALMODEL_CHART = HelmChart("oci://ghcr.io/kserve/charts/kserve-localmodel-resources", "v0.20.0", "")
"""KServe's local model cache: its controller and the node agent that fills each node's cache (LLM endpoints)."""
KNATIVE_OPERATOR_CHART = HelmChart("knative-operator", "1.21.1", "https://knative.github.io/operator")
"""Chart versions are what the repository's index lists (Knative's release drops the `v` of the tag
knative-v1.21.1): `helm pull` names the archive `<chart>-<that version>.tgz`."""
KNATIVE_SERVING_VERSION = "1.21.1"

CHARTS = (
    *(release.chart for release in CLUSTER_AUTOSCALER.values()),
    KARPENTER_CHART,
    KEDA_CHART,
    KUBE_PROMETHEUS_STACK_CHART,
    PUSHGATEWAY_CHART,
    CERT_MANAGER_CHART,
    KSERVE_CRD_CHART,
    KSERVE_CHART,
    KSERVE_LOCALMODEL_CRD_CHART,
    KSERVE_LOCALMODEL_CHART,
    KNATIVE_OPERATOR_CHART,
)
"""Every chart the platform may install (`make charts` pulls them, `make plan` renders them)."""

# The platform's own images, built from apps/*/Dockerfile and pushed to the stack's images.registry.
APP_IMAGES = {
    "training": "mlops-training",
    "serving": "mlops-serving",
    "monitor": "mlops-monitor",
    "features": "mlops-features",
    "mlflow": "mlops-mlflow-server",
}
