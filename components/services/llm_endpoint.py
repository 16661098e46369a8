"""LlmEndpoint: an open-weight LLM served by vLLM's OpenAI-compatible server on a GPU pool - one KServe
InferenceService on a vLLM ServingRuntime, its weights cached on the nodes' NVMe (KServe's
LocalModelCache), scaled by KEDA on vLLM's queue depth, watched by its own SLO.

The sizing rule (components/kit/llm.py) is checked by the stack config before anything is declared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from ..data.artifact_store import Access, Bucket, Grant
from ..kit import k8s as kube
from ..kit import llm
from ..kit.common import ComponentArgsError, PlatformComponent, child, documented
from ..kit.gpu import GPU_POOL_LABEL
from ..kit.observability import MonitoringHooks
from ..kit.promql import waiting_requests_query
from ..kit.spec import Cpu, DnsLabel, Issue, Memory, Spec, check_names, fail, matching, render_message, settings_arg
from ..kit.versions import VLLM_IMAGE
from ..kit.workload import ROLLING, RoleIssuer, Workload
from .model_serving import (
    KServeInstall,
    ModelServing,
    ServingMode,
    keda_prometheus_scaling,
    predictor_base,
    rollout_issues,
)

HTTP_PORT = 8080
MODEL_DIR = "/mnt/models"
"""Where KServe puts the model: the storage initializer's download, or the node cache's volume."""
MODEL_FORMAT = "vllm"
CACHE_STORAGE_CLASS = "mlops-local-nvme"


class HuggingFaceModel(Spec):
    """A model on the Hugging Face hub, pinned to one commit."""

    repository: Annotated[
        str,
        matching(
            r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}",
            "an <organisation>/<model> repository, e.g. meta-llama/Llama-3.1-8B-Instruct",
        ),
    ]
    """The repository, e.g. meta-llama/Llama-3.1-8B-Instruct. Required."""
    revision: Annotated[
        str,
        matching(
            r"[0-9a-f]{40}",
            "a commit hash (40 lower-case hex characters): a branch or tag such as main can move under a running "
            "endpoint",
        ),
    ]
    """The commit to serve (40 hex characters; never a branch or tag, which can move). Required."""
    token_secret: DnsLabel | None = None
    """A Secret whose HF_TOKEN key holds the hub token (gated models need one): in the serving namespace, and in the model cache's job namespace when cached. Default: none (public models)."""


BucketPath = Annotated[
    str,
    matching(
        r"(?!\.{1,2}(/|$))[A-Za-z0-9!_.()'-]+(/(?!\.{1,2}(/|$))[A-Za-z0-9!_.()'-]+)*",
        "a key prefix in the data bucket without a leading or trailing '/', '*' or '..' (e.g. llm/llama-3.1-8b)",
    ),
]


class LlmModelSettings(Spec):
    """The model served and its numbers, as its config.json gives them (the sizing uses them)."""

    bucket_path: BucketPath | None = None
    """The model's files (config.json, tokenizer, safetensors) under this prefix of the data bucket. Default: none (give huggingFace)."""
    hugging_face: HuggingFaceModel | None = None
    """The model on the Hugging Face hub, at a pinned commit. Default: none (give bucketPath)."""
    parameters_billions: Annotated[float, Field(gt=0, le=2000)]
    """Parameters, in billions (8.03 for Llama 3.1 8B). Required."""
    layers: Annotated[int, Field(ge=1, le=1000)]
    """num_hidden_layers. Required."""
    attention_heads: Annotated[int, Field(ge=1, le=1024)]
    """num_attention_heads. Required."""
    kv_heads: Annotated[int, Field(ge=1, le=1024)]
    """num_key_value_heads (the attention heads when the model has no grouped-query attention). Required."""
    head_dim: Annotated[int, Field(ge=16, le=1024)]
    """head_dim (hidden_size / num_attention_heads when config.json does not say). Required."""
    max_context: Annotated[int, Field(ge=256, le=10_000_000)]
    """max_position_embeddings: the longest context the model takes. Required."""

    @model_validator(mode="after")
    def _source_and_shape(self) -> LlmModelSettings:
        issues = []
        if (self.bucket_path is None) == (self.hugging_face is None):
            issues.append(Issue((), None, "give exactly one of {bucket_path} and {hugging_face}"))
        if self.kv_heads > self.attention_heads or self.attention_heads % self.kv_heads:
            issues.append(
                Issue(
                    ("kv_heads",),
                    self.kv_heads,
                    f"must divide {{attention_heads}} ({self.attention_heads}): each KV head serves a group of them",
                )
            )
        fail(issues)
        return self

    @property
    def architecture(self) -> llm.Architecture:
        return llm.Architecture(
            self.parameters_billions, self.layers, self.attention_heads, self.kv_heads, self.head_dim, self.max_context
        )


class LlmEndpointSettings(Spec):
    """One LLM served by vLLM (OpenAI-compatible API) on a GPU pool."""

    name: DnsLabel
    """InferenceService name, and the model name clients ask for (unique). Required."""
    model: LlmModelSettings
    """The model and its numbers. Required."""
    gpu_pool: str
    """The GPU pool the replicas run on (every replica must fit on its smallest instance type). Required."""
    tensor_parallel_size: Annotated[int, Field(ge=1, le=8)] = 1
    """GPUs of one node a replica spreads the model over (vLLM --tensor-parallel-size; divides the attention heads). Default: 1."""
    context_length: Annotated[int, Field(ge=256, le=10_000_000)] = 4096
    """Longest prompt + completion, in tokens (vLLM --max-model-len). Default: 4096."""
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 1
    """Full-length sequences one replica's KV cache must hold at once (the sizing counts them; vLLM batches more shorter ones). Default: 1."""
    dtype: llm.Dtype = "bfloat16"
    """Activations and KV cache: bfloat16 or float16 (T4s have no bfloat16). Default: bfloat16."""
    quantization: llm.Quantization | None = None
    """Weights: fp8 (quantised by vLLM at load), or awq / gptq (a 4-bit checkpoint). Default: none (the dtype's 16 bits)."""
    gpu_memory_utilization: Annotated[float, Field(ge=0.5, le=0.95)] = 0.9
    """Share of each GPU's memory vLLM may take (--gpu-memory-utilization). Default: 0.9."""
    min_replicas: Annotated[int, Field(ge=0, le=100)] = 1
    """Fewest replicas (0 only in Serverless mode and never in prod: a cold start loads the weights again). Default: 1."""
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 2
    """Most replicas (their GPUs count in the pool's budget). Default: 2."""
    target_waiting_requests: Annotated[float, Field(gt=0, le=10000)] = 4
    """Standard mode: requests waiting in one replica's queue KEDA aims for (vllm:num_requests_waiting per replica). Default: 4."""
    canary_traffic_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    """Share of traffic for the latest model revision during a rollout (Serverless mode only); 0 rolls back. Default: none."""
    ttft_slo_seconds: Annotated[float, Field(gt=0, le=600)] = 2.0
    """Time-to-first-token objective: LlmTimeToFirstTokenOverSlo fires when p95 is above it. Default: 2."""
    cache: bool = True
    """Cache the weights on the pool's nodes' NVMe (KServe LocalModelCache), so restarts and scale-ups load them from disk. Default: true."""
    cpu: Cpu = "4"
    """CPU request of a replica (limit: twice). Default: 4."""
    memory: Memory = "32Gi"
    """Memory request and limit of a replica (vLLM loads the weights through host memory). Default: 32Gi."""
    clients: list[DnsLabel] = Field(default_factory=list)
    """Namespaces whose pods may call the endpoint, besides its own (Standard mode; Serverless admits Knative's activator). Default: none."""

    @model_validator(mode="after")
    def _shape(self) -> LlmEndpointSettings:
        issues = []
        if self.tensor_parallel_size not in llm.TENSOR_PARALLEL_SIZES:
            issues.append(
                Issue(("tensor_parallel_size",), self.tensor_parallel_size, "must be 1, 2, 4 or 8 (GPUs of one node)")
            )
        if self.max_replicas < self.min_replicas:
            issues.append(
                Issue(("max_replicas",), self.max_replicas, f"must be >= {{min_replicas}} ({self.min_replicas})")
            )
        if self.context_length > self.model.max_context:
            issues.append(
                Issue(
                    ("context_length",),
                    self.context_length,
                    f"is longer than the model's max_context ({self.model.max_context})",
                )
            )
        if (
            self.tensor_parallel_size in llm.TENSOR_PARALLEL_SIZES
            and self.model.attention_heads % self.tensor_parallel_size
        ):
            issues.append(
                Issue(
                    ("tensor_parallel_size",),
                    self.tensor_parallel_size,
                    f"must divide the model's attention_heads ({self.model.attention_heads}); vLLM splits them evenly",
                )
            )
        fail(issues)
        return self

    @property
    def serving(self) -> llm.Serving:
        return llm.Serving(
            self.model.architecture,
            self.quantization,
            self.tensor_parallel_size,
            self.context_length,
            self.concurrency,
            self.gpu_memory_utilization,
        )

    @property
    def max_gpus(self) -> int:
        return self.max_replicas * self.tensor_parallel_size


def llm_mode_issues(endpoint: LlmEndpointSettings, mode: ServingMode) -> list[Issue]:
    """What an LLM endpoint asks that the serving mode cannot honour."""
    return rollout_issues(
        mode, endpoint.canary_traffic_percent, endpoint.min_replicas, "no queue is measured to wake one"
    )


def storage_uri(model: LlmModelSettings, data_bucket: pulumi.Input[str]) -> pulumi.Output[str]:
    """Where KServe fetches the model: hf://<repo>:<commit>, or s3://<data bucket>/<path>."""
    if model.hugging_face is not None:
        return pulumi.Output.from_input(f"hf://{model.hugging_face.repository}:{model.hugging_face.revision}")
    return pulumi.Output.concat("s3://", data_bucket, f"/{model.bucket_path}")


def vllm_args(endpoint: LlmEndpointSettings) -> list[str]:
    """vLLM's server flags for the endpoint (the runtime adds --model and --port)."""
    return llm.server_args(
        endpoint.name,
        context_length=endpoint.context_length,
        tensor_parallel=endpoint.tensor_parallel_size,
        dtype=endpoint.dtype,
        quantization=endpoint.quantization,
        gpu_memory_utilization=endpoint.gpu_memory_utilization,
    )


@dataclass(frozen=True)
class ModelCache:
    """Where an endpoint caches its weights: a LocalModelNodeGroup on its GPU pool, the namespace KServe
    runs the download jobs in, and what must exist first (the node group, KServe's cache controller)."""

    node_group: str
    job_namespace: str
    ready: Sequence[pulumi.Resource] = ()


@documented
@dataclass
class ModelCacheNodesArgs:
    pool: str
    """The GPU pool whose nodes cache models (its nodes carry mlops.platform/gpu-pool: <pool>)."""
    storage_gib: int
    """Instance-store space the cache may fill on each node, in GiB."""
    ready: Sequence[pulumi.Resource] = field(default_factory=list)
    """What must exist first: KServe's local-model controller and CRDs (ModelServing.ready)."""


class ModelCacheNodes(PlatformComponent):
    """A LocalModelNodeGroup on one GPU pool: a local PersistentVolume on each node's NVMe (the EC2NodeClass
    mounts the instance store at /mnt/k8s-disks/0), where KServe's node agent keeps cached models."""

    name: str

    def __init__(self, name: str, args: ModelCacheNodesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ModelCacheNodes", name, None, opts)
        check_names("ModelCacheNodes", name, {"pool": args.pool})
        if args.storage_gib < 1:
            raise ComponentArgsError("ModelCacheNodes", name, [f"storage_gib = {args.storage_gib}: must be >= 1"])
        self.name = f"{args.pool}-cache"
        labels = kube.labels(self.name, "model-cache")
        storage_class_name = f"{CACHE_STORAGE_CLASS}-{args.pool}"
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-storage-class",
            metadata={"name": storage_class_name, "labels": labels},
            provisioner="kubernetes.io/no-provisioner",
            volume_binding_mode="WaitForFirstConsumer",
            reclaim_policy="Delete",
            opts=child(self),
        )
        size = f"{args.storage_gib}Gi"
        on_pool = {
            "required": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": GPU_POOL_LABEL, "operator": "In", "values": [args.pool]}]}
                ]
            }
        }
        self.node_group = k8s.apiextensions.CustomResource(
            f"{name}-node-group",
            api_version="serving.kserve.io/v1alpha1",
            kind="LocalModelNodeGroup",
            metadata={"name": self.name, "labels": labels},
            spec={
                "storageLimit": size,
                "persistentVolumeSpec": {
                    "accessModes": ["ReadWriteOnce"],
                    "volumeMode": "Filesystem",
                    "capacity": {"storage": size},
                    "local": {"path": llm.MODEL_CACHE_PATH},
                    "storageClassName": storage_class_name,
                    "persistentVolumeReclaimPolicy": "Delete",
                    "nodeAffinity": on_pool,
                },
                "persistentVolumeClaimSpec": {
                    "accessModes": ["ReadWriteOnce"],
                    "volumeMode": "Filesystem",
                    "resources": {"requests": {"storage": size}},
                    "storageClassName": storage_class_name,
                },
            },
            opts=child(self, depends_on=[*args.ready, storage_class]),
        )
        self.register_outputs({})

    def cache(self, job_namespace: str) -> ModelCache:
        return ModelCache(self.name, job_namespace, [self.node_group])


@documented
@dataclass
class LlmEndpointArgs:
    endpoint: LlmEndpointSettings
    """The model, its pool and sizing, replicas, scaling, SLO."""
    namespace: str
    """Namespace of the InferenceService."""
    serving: ModelServing | KServeInstall
    """The KServe installation: its mode, what must exist first, KEDA's Prometheus (required in Standard mode)."""
    data_bucket: pulumi.Input[str] = ""
    """The data bucket's name (a model given by bucket_path is read from it). Default: none."""
    access: RoleIssuer[Grant] | None = None
    """Issues the S3 read role of a bucket_path model (ArtifactAccess). Default: none."""
    cache: ModelCache | None = None
    """The node group caching the weights (ModelCacheNodes.cache(...)); None serves without a cache. Default: none."""
    monitoring: MonitoringHooks | None = None
    """Scrape vLLM's /metrics and declare the endpoint's SLO. Default: not monitored."""
    image: str = VLLM_IMAGE
    """vLLM's OpenAI server image, pinned by digest. Default: the platform's pinned release."""


class LlmEndpoint(PlatformComponent):
    """vLLM's OpenAI-compatible server (/v1/models, /v1/chat/completions, /v1/completions, streaming) as a
    KServe InferenceService on a vLLM ServingRuntime: the GPUs its tensor parallelism needs on its pool's
    nodes, the weights from a node cache when one is given, KEDA scaling on the queue (Standard) or
    Knative concurrency with canary rollouts (Serverless), reachable inside the cluster only, from the
    namespaces it names. Non-root, read-only root, the hub token only from a Secret."""

    url: pulumi.Output[str]
    """Cluster-internal base URL of the OpenAI API (append /v1/...)."""
    scrape_target: kube.ScrapeTarget

    def __init__(self, name: str, args: LlmEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:LlmEndpoint", name, None, opts)
        endpoint = settings_arg(LlmEndpointSettings, args.endpoint, "endpoint", "LlmEndpoint", name)
        check_names("LlmEndpoint", name, {"namespace": args.namespace})
        self._check(name, endpoint, args)
        ns, isvc = args.namespace, endpoint.name
        predictor_name = f"{isvc}-predictor"
        workload = Workload(self, name, isvc, ns, "llm-predictor")
        grants = self._grants(endpoint)
        # The hub token reaches only what downloads (KServe's storage initializer reads it from the Secrets
        # its service account lists); vLLM reads the weights from /mnt/models and never sees it.
        token = endpoint.model.hugging_face.token_secret if endpoint.model.hugging_face else None
        secrets = [token] if token else []
        account = workload.identity(args.access, grants, account=predictor_name, secrets=secrets)
        uri = storage_uri(endpoint.model, args.data_bucket)
        runtime = k8s.apiextensions.CustomResource(
            f"{name}-runtime",
            api_version="serving.kserve.io/v1alpha1",
            kind="ServingRuntime",
            metadata=kube.metadata(f"{isvc}-vllm", ns, kube.labels(isvc, "llm-runtime")),
            spec=runtime_spec(args.image, endpoint.tensor_parallel_size),
            opts=child(self, depends_on=list(args.serving.ready)),
        )
        after: list[pulumi.Resource] = [*args.serving.ready, account, runtime]
        if args.cache is not None:
            after += self._cache(name, endpoint, args.cache, uri, args, grants, token)
        resources = kube.resources(endpoint.cpu, endpoint.memory)
        # The image and security context repeat the runtime's: KServe merges the two, and the object then says
        # on its own what it runs (the policy pack judges each object alone).
        model: dict[str, Any] = {
            "modelFormat": {"name": MODEL_FORMAT},
            "runtime": f"{isvc}-vllm",
            "image": args.image,
            "securityContext": kube.RESTRICTED_CONTAINER,
            "storageUri": uri,
            "args": vllm_args(endpoint),
            "resources": resources,
        }
        predictor: dict[str, Any] = {
            **predictor_base(predictor_name, endpoint.min_replicas, endpoint.max_replicas),
            "model": model,
        }
        kube.request_gpus(predictor, resources, endpoint.tensor_parallel_size, endpoint.gpu_pool)
        mode = args.serving.mode
        assert isinstance(mode, ServingMode)  # _check
        annotations = {"serving.kserve.io/deploymentMode": mode.kserve_name}
        if mode is ServingMode.SERVERLESS:
            # Knative scales on in-flight requests: a replica takes about what its KV cache holds.
            predictor.update({"scaleMetric": "concurrency", "scaleTarget": max(1, endpoint.concurrency)})
            if endpoint.canary_traffic_percent is not None:
                predictor["canaryTrafficPercent"] = endpoint.canary_traffic_percent
        else:
            assert args.serving.keda_query_url is not None  # _check
            annotations["serving.kserve.io/autoscalerClass"] = "keda"
            predictor["deploymentStrategy"] = ROLLING
            predictor["autoScaling"] = keda_prometheus_scaling(
                args.serving.keda_query_url,
                waiting_requests_query(ns, predictor_name),
                {"type": "AverageValue", "averageValue": f"{endpoint.target_waiting_requests:g}"},
            )
        labels = {**workload.labels, **kube.CLUSTER_LOCAL}
        k8s.apiextensions.CustomResource(
            f"{name}-isvc",
            api_version="serving.kserve.io/v1beta1",
            kind="InferenceService",
            metadata=kube.metadata(isvc, ns, labels, annotations),
            spec={"predictor": predictor},
            opts=child(self, depends_on=after),
        )
        pods = {"serving.kserve.io/inferenceservice": isvc}
        callers = [*endpoint.clients, *([args.monitoring.namespace] if args.monitoring else [])]
        kube.ingress_policy(
            self,
            f"{name}-netpol",
            predictor_name,
            ns,
            pods,
            HTTP_PORT,
            callers,
            open_to_all=mode is ServingMode.SERVERLESS,
        )
        self.url = pulumi.Output.from_input(f"http://{predictor_name}.{ns}.svc.cluster.local")
        self.scrape_target = kube.ScrapeTarget(predictor_name, ns, pods, "http1", pods=True)
        if args.monitoring is not None:
            args.monitoring.scrape(self, f"{name}-podmonitor", self.scrape_target)
            args.monitoring.recording_rule(
                self, f"{name}-slo", f"llm-slo-{isvc}", llm.SLO_RECORD, endpoint.ttft_slo_seconds, {"model_name": isvc}
            )
        self.register_outputs({"url": self.url})

    @staticmethod
    def _check(name: str, endpoint: LlmEndpointSettings, args: LlmEndpointArgs) -> None:
        problems = []
        if not isinstance(args.serving.mode, ServingMode):
            problems.append("serving.mode must be known when the endpoint is declared (a ServingMode)")
        else:
            problems += [
                f"endpoint.{i.path[0]} = {i.value!r}: {render_message(i.message, 'python')}"
                for i in llm_mode_issues(endpoint, args.serving.mode)
            ]
            if args.serving.mode is ServingMode.STANDARD and args.serving.keda_query_url is None:
                problems.append(
                    "serving: Standard mode scales LLMs with KEDA on their queue; the KServeInstall given has no KEDA "
                    "(ModelServingArgs.keda, with monitoring)"
                )
        if endpoint.model.bucket_path is not None and (args.access is None or not args.data_bucket):
            problems.append("endpoint.model.bucket_path: give data_bucket and access (the S3 read role)")
        if "@sha256:" not in args.image:
            problems.append(f"image = {args.image!r}: pin it by digest (<image>@sha256:<64 hex>)")
        if problems:
            raise ComponentArgsError("LlmEndpoint", name, problems)

    @staticmethod
    def _grants(endpoint: LlmEndpointSettings) -> list[Grant]:
        path = endpoint.model.bucket_path
        return [] if path is None else [Grant(Bucket.DATA, path, Access.READ)]

    def _cache(
        self,
        name: str,
        endpoint: LlmEndpointSettings,
        cache: ModelCache,
        uri: pulumi.Output[str],
        args: LlmEndpointArgs,
        grants: list[Grant],
        token: str | None,
    ) -> list[pulumi.Resource]:
        """A LocalModelCache of the weights on the pool's node group, downloaded by KServe's job (as a service
        account of its own in the job namespace: the S3 role, or the hub token's Secret)."""
        jobs = Workload(self, f"{name}-cache", f"{endpoint.name}-cache", cache.job_namespace, "model-cache")
        # KServe's storage initializer reads HF_TOKEN from the Secrets its service account lists.
        account = jobs.identity(args.access, grants, secrets=[token] if token else [])
        size = llm.ceil_gib(endpoint.serving.checkpoint_gib)
        local = k8s.apiextensions.CustomResource(
            f"{name}-model-cache",
            api_version="serving.kserve.io/v1alpha1",
            kind="LocalModelCache",
            metadata={"name": f"{args.namespace}-{endpoint.name}"[:63].rstrip("-"), "labels": jobs.labels},
            spec={
                "sourceModelUri": uri,
                "modelSize": f"{size}Gi",
                "nodeGroups": [cache.node_group],
                "serviceAccountName": jobs.name,
            },
            opts=child(self, depends_on=[*cache.ready, account]),
        )
        return [local]


def runtime_spec(image: str, tensor_parallel: int) -> dict[str, Any]:
    """The vLLM ServingRuntime: the OpenAI server on the model KServe mounts, non-root on a read-only root
    (caches in /tmp), shared memory for tensor parallelism's NCCL."""
    volumes: list[Any] = [kube.tmp_volume(size="20Gi")]
    mounts: list[Any] = [{"name": "tmp", "mountPath": "/tmp"}]
    if tensor_parallel > 1:
        volumes.append({"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}})
        mounts.append({"name": "shm", "mountPath": "/dev/shm"})
    return {
        "supportedModelFormats": [{"name": MODEL_FORMAT, "autoSelect": False}],
        "protocolVersions": ["v1"],
        "containers": [
            {
                "name": "kserve-container",
                "image": image,
                "command": ["python3", "-m", llm.SERVER_MODULE],
                "args": [f"--model={MODEL_DIR}", f"--port={HTTP_PORT}", "--host=0.0.0.0"],
                "env": kube.env(
                    {
                        "HOME": "/tmp",
                        "HF_HOME": "/tmp/hf",
                        "HF_HUB_OFFLINE": "1",
                        "VLLM_CACHE_ROOT": "/tmp/vllm",
                        "XDG_CACHE_HOME": "/tmp/.cache",
                        "VLLM_NO_USAGE_STATS": "1",
                        "DO_NOT_TRACK": "1",
                    }
                ),
                "ports": [{"name": "http1", "containerPort": HTTP_PORT, "protocol": "TCP"}],
                "securityContext": kube.RESTRICTED_CONTAINER,
                # Loading tens of GB and compiling take minutes: the startup probe holds the others off.
                "startupProbe": kube.http_probe("/health", HTTP_PORT, initial_delay=10, period=10, failures=90),
                "readinessProbe": kube.http_probe("/health", HTTP_PORT, period=5),
                "livenessProbe": kube.http_probe("/health", HTTP_PORT, period=15, failures=4),
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }
