"""TrainingPipeline: the training app on a schedule, and the Job template the drift monitor launches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from mlops_platform.contracts import Dataset, Promotion, TrainingEnv, TrainingJobConfig
from pydantic import Field, field_validator

from ..data.artifact_store import Access, ArtifactAccess, Bucket, Grant
from ..kit import k8s as kube
from ..kit.common import PlatformComponent, child, documented
from ..kit.observability import RULES_DIR, MonitoringHooks
from ..kit.schedule import cron
from ..kit.spec import Cpu, Memory, ModelName, Spec, settings_arg
from ..kit.workload import Workload
from .mlflow_tracking import MlflowClient

DATASET_PREFIX = "datasets"
CONFIG_DIR = "/etc/training"
RULES: Path = RULES_DIR / "training.rules.yaml"


class TrainingSettings(Spec):
    """The training pipeline CronJob."""

    model: ModelName = "churn-classifier"
    """Registered model the pipeline trains and promotes. Default: churn-classifier."""
    schedule: str = Field(default="0 3 * * 0", validate_default=True)
    """Cron schedule of the training CronJob. Default: Sundays 03:00."""
    cpu: Cpu = "1"
    """CPU request (limit: twice). Default: 1."""
    memory: Memory = "4Gi"
    """Memory request and limit. Default: 4Gi."""
    gpus: Annotated[int, Field(ge=0, le=8)] = 0
    """GPUs per training run; needs a GPU pool. Default: 0."""
    gpu_pool: str | None = None
    """GPU pool to train on. Default: any pool (when gpus > 0)."""
    promotion_margin: Annotated[float, Field(ge=0, le=1)] = 0.005
    """A challenger must beat the champion's ROC AUC by this much to be promoted. Default: 0.005."""

    _schedule = field_validator("schedule")(cron)


@documented
@dataclass
class TrainingPipelineArgs:
    namespace: str
    """Namespace of the CronJob and its Jobs."""
    image: pulumi.Input[str]
    """The training image (apps/training)."""
    mlflow: MlflowClient
    """MLflow's URL and the training account's credentials (MlflowTracking.client("training"))."""
    artifacts: ArtifactAccess
    """Datasets are read from s3://<data bucket>/datasets/<model> through the Jobs' IRSA role."""
    settings: TrainingSettings = field(default_factory=TrainingSettings)
    """Model, schedule, resources, GPUs, promotion margin. Default: the defaults."""
    monitoring: MonitoringHooks | None = None
    """Push each run's outcome to the Pushgateway and alert on failed runs. Default: neither."""
    service_name: str | None = None
    """Kubernetes name of the CronJob and its objects. Default: the component's name."""


@dataclass(frozen=True)
class RetrainingJobs:
    """What a retraining Job is: where its template is, and what any Job made from it may hold - the
    drift monitor's admission policy admits nothing else from it."""

    template_configmap: pulumi.Input[str]
    """ConfigMap holding the Job template (key job-template.yaml)."""
    service_account: pulumi.Input[str]
    """The training service account (IRSA: the datasets, the MLflow artifacts)."""
    image: pulumi.Input[str]
    """The training image."""
    secrets: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Secrets the template reads (the training account's MLflow credentials)."""
    config_maps: pulumi.Input[Sequence[pulumi.Input[str]]]
    """ConfigMaps the template mounts (the run's config)."""

    def resolved(self) -> pulumi.Output[RetrainingJobs]:
        """The same bundle with every value known (each may be another component's output)."""
        fields = (self.template_configmap, self.service_account, self.image, self.secrets, self.config_maps)
        return pulumi.Output.all(*fields).apply(
            lambda v: RetrainingJobs(str(v[0]), str(v[1]), str(v[2]), tuple(v[3]), tuple(v[4]))
        )


class TrainingPipeline(PlatformComponent):
    """A CronJob (`concurrencyPolicy: Forbid`, bounded history, one retry, a deadline) running
    `python -m apps.training run`. Its IRSA role reads the model's datasets and nothing else (plus
    the MLflow prefix when artifacts are not proxied). GPU runs get the GPU limit, toleration and
    node selector. The same Job spec is published as a ConfigMap for the drift monitor."""

    job_template_configmap: str
    """ConfigMap holding the Job template (key job-template.yaml) the drift monitor launches."""
    service_account: str
    """Service account of the training Jobs."""
    retraining: RetrainingJobs
    """The template and what a Job made from it may hold (DriftMonitorArgs.retraining)."""

    def __init__(self, name: str, args: TrainingPipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:TrainingPipeline", name, None, opts)
        settings = settings_arg(TrainingSettings, args.settings, "settings", "TrainingPipeline", name)
        runs = Workload.of(self, name, args.service_name, args.namespace, "pipeline")
        service, ns = runs.name, runs.namespace
        grants = [
            Grant(Bucket.DATA, f"{DATASET_PREFIX}/{settings.model}", Access.READ),
            *args.mlflow.artifact_grants(Access.READ_WRITE),
        ]
        account = runs.identity(args.artifacts, grants)
        self.service_account = service
        self.job_template_configmap = f"{service}-job-template"
        config_map = f"{service}-config"
        dataset_uri = pulumi.Output.format(
            "s3://{0}/{1}/{2}", args.artifacts.store.bucket_names[Bucket.DATA], DATASET_PREFIX, settings.model
        )
        app_config = dataset_uri.apply(
            lambda uri: TrainingJobConfig(
                model_name=settings.model,
                experiment=settings.model,
                dataset=Dataset(uri=uri),
                promotion=Promotion(margin=settings.promotion_margin),
            ).yaml()
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=runs.metadata(name=config_map),
            data={"config.yaml": app_config},
            opts=child(self),
        )
        self.retraining = RetrainingJobs(
            self.job_template_configmap, service, args.image, (args.mlflow.credentials_secret,), (config_map,)
        )
        pushgateway = args.monitoring.pushgateway_url if args.monitoring is not None else None
        job_spec = self.job_spec(service, config_map, args.image, args.mlflow, settings, pushgateway)
        cron_job: Any = {
            "schedule": settings.schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {"metadata": {"labels": runs.labels}, "spec": job_spec},
        }
        k8s.batch.v1.CronJob(
            f"{name}-cron", metadata=runs.metadata(), spec=cron_job, opts=child(self, depends_on=[config, account])
        )
        template = pulumi.Output.from_input(job_spec).apply(
            lambda spec: yaml.safe_dump(
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "metadata": {"namespace": ns, "labels": runs.labels},
                    "spec": spec,
                },
                sort_keys=False,
            )
        )
        k8s.core.v1.ConfigMap(
            f"{name}-job-template",
            metadata=runs.metadata(name=self.job_template_configmap),
            data={"job-template.yaml": template},
            opts=child(self),
        )
        if args.monitoring is not None:
            args.monitoring.alert_rules(self, f"{name}-rules", RULES)
        self.register_outputs({})

    @staticmethod
    def job_spec(
        service: str,
        config_map: str,
        image: pulumi.Input[str],
        mlflow: MlflowClient,
        settings: TrainingSettings,
        pushgateway_url: pulumi.Input[str] | None,
    ) -> Any:
        """The spec of one training run (the CronJob's and the drift monitor's)."""
        resources = kube.resources(settings.cpu, settings.memory)
        pod = kube.pod(
            service_account=service,
            restartPolicy="Never",
            containers=[
                {
                    "name": "train",
                    "image": image,
                    "imagePullPolicy": "Always",
                    "command": ["python", "-m", "apps.training", "run", "--config", f"{CONFIG_DIR}/config.yaml"],
                    "envFrom": mlflow.env_from(),
                    "env": [
                        *mlflow.env(),
                        *TrainingEnv.env(image_ref=image, pushgateway_url=pushgateway_url),
                        *kube.env({"HOME": "/tmp"}),
                    ],
                    "resources": resources,
                    "securityContext": kube.RESTRICTED_CONTAINER,
                    "volumeMounts": [
                        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                        {"name": "tmp", "mountPath": "/tmp"},
                    ],
                }
            ],
            volumes=[{"name": "config", "configMap": {"name": config_map}}, kube.tmp_volume(size="20Gi")],
        )
        kube.request_gpus(pod, resources, settings.gpus, settings.gpu_pool)
        return {
            "backoffLimit": 1,
            "activeDeadlineSeconds": 6 * 3600,
            "template": {
                # Karpenter does not consolidate a node away under a run in progress (a spot reclaim still ends it).
                "metadata": {
                    "labels": kube.labels(service, "run"),
                    "annotations": {"karpenter.sh/do-not-disrupt": "true"},
                },
                "spec": pod,
            },
        }
