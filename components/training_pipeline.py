"""TrainingPipeline: the training app on a schedule, and the Job template the drift monitor launches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import k8s as kube
from components._common import PlatformComponent, child
from components.artifact_store import Access, ArtifactStore, Bucket, Grant
from components.gpu import GPU_RESOURCE
from components.gpu_node_pool import ACCELERATOR_LABEL, GPU_POOL_LABEL
from components.irsa import ROLE_ARN_ANNOTATION, OidcIdentity

NAME = "training"
DATASET_PREFIX = "datasets"
ARTIFACT_PREFIX = "mlflow"
JOB_TEMPLATE_CONFIGMAP = "training-job-template"


@dataclass
class TrainingPipelineArgs:
    namespace: str
    """Namespace of the CronJob and its Jobs."""
    image: str
    """The training image (apps/training)."""
    model: str
    """Registered model the pipeline trains and promotes."""
    mlflow_url: pulumi.Input[str]
    """MLflow tracking server URL."""
    mlflow_credentials_secret: str
    """Secret with MLFLOW_TRACKING_USERNAME/PASSWORD of the training account."""
    artifacts: ArtifactStore
    """Datasets are read from s3://<data bucket>/datasets/<model>."""
    oidc: OidcIdentity
    """The cluster's OIDC provider (the Jobs' IRSA role)."""
    schedule: str = "0 3 * * 0"
    """Cron schedule. Default: Sundays 03:00."""
    cpu: str = "1"
    """CPU request (limit twice). Default: 1."""
    memory: str = "4Gi"
    """Memory request and limit. Default: 4Gi."""
    gpus: int = 0
    """GPUs per run. Default: 0."""
    gpu_pool: str | None = None
    """GPU pool to train on. Default: any GPU node (when gpus > 0)."""
    promotion_margin: float = 0.005
    """Margin by which a challenger must beat the champion. Default: 0.005."""
    pushgateway_url: str | None = None
    """Prometheus Pushgateway for mlops_training_runs_total. Default: none."""
    direct_artifact_access: bool = False
    """Write MLflow artifacts straight to S3 (MLflow does not proxy them). Default: false."""


class TrainingPipeline(PlatformComponent):
    """A CronJob (`concurrencyPolicy: Forbid`, bounded history, one retry, a deadline) running
    `python -m apps.training run`. Its IRSA role reads the model's datasets and nothing else (plus
    the MLflow prefix when artifacts are not proxied). GPU runs get the GPU limit, toleration and
    node selector. The same Job spec is published as a ConfigMap for the drift monitor."""

    job_template_configmap: str = JOB_TEMPLATE_CONFIGMAP

    def __init__(self, name: str, args: TrainingPipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:TrainingPipeline", name, None, opts)
        ns = args.namespace
        labels = kube.labels(NAME, "pipeline")
        grants = [Grant(Bucket.DATA, f"{DATASET_PREFIX}/{args.model}", Access.READ)]
        if args.direct_artifact_access:
            grants.append(Grant(Bucket.ARTIFACTS, ARTIFACT_PREFIX, Access.READ_WRITE))
        role = args.artifacts.irsa_role(
            f"{name}-irsa", oidc=args.oidc, namespace=ns, service_account=NAME, grants=grants, parent=self
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=kube.metadata(NAME, ns, labels, {ROLE_ARN_ANNOTATION: role.arn}),
            automount_service_account_token=False,
            opts=child(self),
        )
        dataset_uri = pulumi.Output.format(
            "s3://{0}/{1}/{2}", args.artifacts.bucket_names[Bucket.DATA], DATASET_PREFIX, args.model
        )
        app_config = dataset_uri.apply(
            lambda uri: yaml.safe_dump(
                {
                    "model_name": args.model,
                    "experiment": args.model,
                    "dataset": {"uri": uri},
                    "promotion": {"margin": args.promotion_margin},
                },
                sort_keys=False,
            )
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=kube.metadata("training-config", ns, labels),
            data={"config.yaml": app_config},
            opts=child(self),
        )
        job_spec = self.job_spec(args)
        cron: Any = {
            "schedule": args.schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {"metadata": {"labels": labels}, "spec": job_spec},
        }
        k8s.batch.v1.CronJob(
            f"{name}-cron", metadata=kube.metadata(NAME, ns, labels), spec=cron, opts=child(self, depends_on=[config])
        )
        template = pulumi.Output.from_input(job_spec).apply(
            lambda spec: yaml.safe_dump(
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "metadata": {"namespace": ns, "labels": dict(labels)},
                    "spec": spec,
                },
                sort_keys=False,
            )
        )
        k8s.core.v1.ConfigMap(
            f"{name}-job-template",
            metadata=kube.metadata(JOB_TEMPLATE_CONFIGMAP, ns, labels),
            data={"job-template.yaml": template},
            opts=child(self),
        )
        self.register_outputs({})

    @staticmethod
    def job_spec(args: TrainingPipelineArgs) -> Any:
        """The spec of one training run (the CronJob's and the drift monitor's)."""
        resources = kube.resources(args.cpu, args.memory)
        pod: dict[str, Any] = {
            "serviceAccountName": NAME,
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "securityContext": kube.pod_security(),
            "nodeSelector": dict(kube.SYSTEM_NODES),
            "containers": [
                {
                    "name": "train",
                    "image": args.image,
                    "imagePullPolicy": "Always",
                    "command": ["python", "-m", "apps.training", "run", "--config", "/etc/training/config.yaml"],
                    "envFrom": [{"secretRef": {"name": args.mlflow_credentials_secret}}],
                    "env": [
                        {"name": "MLFLOW_TRACKING_URI", "value": args.mlflow_url},
                        *kube.env({"IMAGE_REF": args.image, "HOME": "/tmp"}),
                        *([{"name": "PUSHGATEWAY_URL", "value": args.pushgateway_url}] if args.pushgateway_url else []),
                    ],
                    "resources": resources,
                    "securityContext": kube.RESTRICTED_CONTAINER,
                    "volumeMounts": [
                        {"name": "config", "mountPath": "/etc/training", "readOnly": True},
                        {"name": "tmp", "mountPath": "/tmp"},
                    ],
                }
            ],
            "volumes": [{"name": "config", "configMap": {"name": "training-config"}}, kube.tmp_volume(size="20Gi")],
        }
        if args.gpus:
            resources["limits"][GPU_RESOURCE] = str(args.gpus)
            resources["requests"][GPU_RESOURCE] = str(args.gpus)
            pod["tolerations"] = [kube.GPU_TOLERATION]
            pod["nodeSelector"] = {GPU_POOL_LABEL: args.gpu_pool} if args.gpu_pool else {ACCELERATOR_LABEL: "nvidia"}
        return {
            "backoffLimit": 1,
            "activeDeadlineSeconds": 6 * 3600,
            "template": {"metadata": {"labels": kube.labels(NAME, "run")}, "spec": pod},
        }
