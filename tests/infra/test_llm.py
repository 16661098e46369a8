"""LLM endpoints: the sizing rule against real models' numbers and AWS's instance data, the config's
refusals, and what the component declares (schema-checked with the plans, judged by the pack)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from components.config import parse_platform_config
from components.kit import llm
from components.kit.versions import VLLM_IMAGE
from components.services.llm_endpoint import LlmEndpoint, LlmEndpointArgs, LlmEndpointSettings
from components.services.model_serving import KServeInstall, ServingMode
from components.testing import Graph, ProgramFailed, run_program
from tests.infra.conftest import run_platform, stack_config
from tests.infra.test_config import problems

# The models' config.json, as published on the Hugging Face hub (huggingface.co/<repository>/blob/<revision>/
# config.json; the hub is out of reach here: read through the copies public repositories keep of them, with
# the search tool), and the parameter counts their publishers state.
CONFIGS: dict[str, dict[str, Any]] = {
    "meta-llama/Llama-3.1-8B-Instruct": {
        "model_type": "llama",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
        "tie_word_embeddings": False,
    },
    "meta-llama/Llama-3.1-70B-Instruct": {
        "model_type": "llama",
        "hidden_size": 8192,
        "intermediate_size": 28672,
        "num_hidden_layers": 80,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
        "tie_word_embeddings": False,
    },
    "Qwen/Qwen2.5-0.5B-Instruct": {
        "model_type": "qwen2",
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
        "max_position_embeddings": 32768,
        "tie_word_embeddings": True,
    },
}
PUBLISHED_PARAMETERS = {
    "meta-llama/Llama-3.1-8B-Instruct": 8_030_261_248,
    "meta-llama/Llama-3.1-70B-Instruct": 70_553_706_496,
    "Qwen/Qwen2.5-0.5B-Instruct": 494_032_768,
}
HEAD_DIMS = {
    "meta-llama/Llama-3.1-8B-Instruct": 128,
    "meta-llama/Llama-3.1-70B-Instruct": 128,
    "Qwen/Qwen2.5-0.5B-Instruct": 64,
}


def declared(config: dict[str, Any], parameters: float | None = None) -> dict[str, Any]:
    """A stack's `model` numbers for a config.json."""
    arch = llm.architecture_from_config(config)
    return {
        "parametersBillions": round(parameters if parameters is not None else arch.parameters_billions, 3),
        "layers": arch.layers,
        "attentionHeads": arch.attention_heads,
        "kvHeads": arch.kv_heads,
        "headDim": arch.head_dim,
        "maxContext": arch.max_context,
    }


@pytest.mark.parametrize("repository", sorted(CONFIGS))
def test_the_numbers_come_from_config_json_and_the_parameter_count_is_the_published_one(repository: str) -> None:
    arch = llm.architecture_from_config(CONFIGS[repository])
    assert round(arch.parameters_billions * 1e9) == PUBLISHED_PARAMETERS[repository]
    assert arch.head_dim == HEAD_DIMS[repository]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shipped_stacks_declare_their_models_numbers_as_config_json_gives_them(stack: str) -> None:
    (endpoint,) = stack_config(stack)["llmEndpoints"]
    model = endpoint["model"]
    source = model["huggingFace"]
    assert re.fullmatch(r"[0-9a-f]{40}", source["revision"])
    expected = declared(CONFIGS[source["repository"]])
    numbers = {k: v for k, v in model.items() if k != "huggingFace"}
    assert numbers == {**expected, "parametersBillions": pytest.approx(expected["parametersBillions"], abs=0.005)}


def llm_stack(stack: str, **endpoint: Any) -> dict[str, Any]:
    """A shipped stack whose one LLM endpoint is changed by `endpoint` (model numbers merged in)."""
    platform = stack_config(stack)
    (current,) = platform["llmEndpoints"]
    model = {**current["model"], **endpoint.pop("model", {})}
    platform["llmEndpoints"] = [{**current, **endpoint, "model": model}]
    return platform


def a10g_pool(*types: str, max_size: int = 4) -> dict[str, Any]:
    return {
        "name": "a10g",
        "instanceTypes": list(types),
        "capacityType": "ON_DEMAND",
        "minSize": 0,
        "maxSize": max_size,
    }


def on_a10g(*types: str, model: str, **endpoint: Any) -> dict[str, Any]:
    """prod with its LLM endpoint serving `model` on a pool of `types` (and nothing else pinned to that pool)."""
    platform = llm_stack("prod", model=declared(CONFIGS[model]), gpuPool="a10g", **{"concurrency": 1, **endpoint})
    platform["gpuPools"].append(a10g_pool(*types))
    platform["guardrails"]["maxGpusTotal"] = 64
    platform["guardrails"]["maxGpusPerPool"] = 32
    return platform


def test_8b_in_bf16_fits_one_a10g_at_8k_context() -> None:
    config = parse_platform_config(on_a10g("g5.xlarge", model="meta-llama/Llama-3.1-8B-Instruct", contextLength=8192))
    sizing = llm.size(config.llm_endpoints[0].serving, ["g5.xlarge"])
    assert sizing is not None and sizing.fits_memory and sizing.fits_gpus
    # 8.03e9 x 2 bytes = 14.96 GiB; 8192 tokens x 32 layers x 8 KV heads x 128 x 2 (K, V) x 2 bytes = 1 GiB; +1
    assert sizing.needed_gib == pytest.approx(14.96 + 1.0 + 1.0, abs=0.01)
    assert sizing.offered_gib == pytest.approx(22888 / 1024 * 0.9, abs=0.01)  # AWS: A10G 22,888 MiB


def test_70b_in_bf16_does_not_fit_one_a10g_and_the_error_gives_the_numbers_and_what_would() -> None:
    found = problems(on_a10g("g5.xlarge", "g5.2xlarge", model="meta-llama/Llama-3.1-70B-Instruct", contextLength=8192))
    (message,) = [p for p in found if "does not fit" in p]
    assert message.startswith("platform.llmEndpoints[0].model = ")
    assert "needs 134.9 GiB per GPU (weights 131.4 GiB + KV cache 2.5 GiB for 1 x 8192 tokens" in message
    assert "offered 20.1 GiB per GPU on g5.xlarge (1 x nvidia-a10g" in message, "the pool's smallest type"
    assert "tensorParallelSize 8 on g5.48xlarge" in message


def test_70b_in_4_bit_fits_across_four_a10gs() -> None:
    platform = on_a10g(
        "g5.12xlarge", model="meta-llama/Llama-3.1-70B-Instruct", quantization="awq", tensorParallelSize=4
    )
    platform["llmEndpoints"][0]["model"]["parametersBillions"] = 70.554
    config = parse_platform_config(platform)
    sizing = llm.size(config.llm_endpoints[0].serving, ["g5.12xlarge"])
    assert sizing is not None and sizing.fits_memory and sizing.fits_gpus and sizing.fits_disk
    assert sizing.needed_gib == pytest.approx((32.85 + 2.5) / 4 + 1.0, abs=0.02)
    assert sizing.disk_gib == pytest.approx(32.85, abs=0.02), "a 4-bit checkpoint on disk"


def test_the_same_4_bit_70b_on_one_gpu_is_refused_with_a_context_that_would_fit() -> None:
    found = problems(on_a10g("g5.xlarge", model="meta-llama/Llama-3.1-70B-Instruct", quantization="awq"))
    (message,) = [p for p in found if "does not fit" in p]
    assert "Would fit:" in message and "tensorParallelSize 2 on g5.12xlarge" in message


def test_more_tensor_parallel_gpus_than_the_smallest_node_has_is_refused() -> None:
    found = problems(on_a10g("g5.xlarge", "g5.2xlarge", model="meta-llama/Llama-3.1-8B-Instruct", tensorParallelSize=2))
    assert any(
        p.startswith("platform.llmEndpoints[0].tensorParallelSize = 2: needs 2 GPUs on one node; g5.xlarge")
        for p in found
    ), found


def test_weights_that_overflow_the_node_cache_are_refused_unless_the_cache_is_off() -> None:
    # dev's pool: g4dn.xlarge, 125 GB of NVMe (93 GiB may hold models); 60B parameters in fp8 fit 4 T4s' memory?
    # No - but the disk check is made whatever the memory says.
    platform = llm_stack("dev", model={"parametersBillions": 60})
    found = problems(platform)
    assert any(
        "platform.llmEndpoints[0].cache = true: the weights (111.8 GiB) do not fit the node cache on g4dn.xlarge (93 GiB"
        in p
        for p in found
    ), found
    platform["llmEndpoints"][0]["cache"] = False
    assert not any(".cache" in p for p in problems(platform))


CONFIG_CASES = [
    (
        {"model": {"huggingFace": {"repository": "Qwen/Qwen2.5-0.5B-Instruct", "revision": "main"}}},
        'llmEndpoints[0].model.huggingFace.revision = "main": must be a commit hash',
    ),
    (
        {
            "model": {
                "huggingFace": {
                    "repository": "Qwen/Qwen2.5-0.5B-Instruct",
                    "revision": "7AE557604ADF67BE50417F59C2C2F167DEF9A775",
                }
            }
        },
        "revision",
    ),
    (
        {
            "model": {
                "huggingFace": {
                    "repository": "Qwen2.5-0.5B-Instruct",
                    "revision": "7ae557604adf67be50417f59c2c2f167def9a775",
                }
            }
        },
        "repository",
    ),
    ({"model": {"bucketPath": "llm/qwen"}}, "give exactly one of bucketPath and huggingFace"),
    ({"model": {"huggingFace": None}}, "give exactly one of bucketPath and huggingFace"),
    ({"model": {"huggingFace": None, "bucketPath": "../secrets"}}, "bucketPath"),
    ({"model": {"huggingFace": None, "bucketPath": "/llm/qwen/"}}, "bucketPath"),
    ({"model": {"huggingFace": None, "bucketPath": "llm/*"}}, "bucketPath"),
    ({"model": {"huggingFace": None, "bucketPath": "llm/./qwen"}}, "bucketPath"),
    ({"model": {"huggingFace": None, "bucketPath": "llm//qwen"}}, "bucketPath"),
    ({"model": {"kvHeads": 3}}, "kvHeads = 3: must divide attentionHeads (14)"),
    ({"tensorParallelSize": 4}, "tensorParallelSize = 4: must divide the model's attention_heads (14)"),
    ({"tensorParallelSize": 3}, "tensorParallelSize"),
    ({"contextLength": 65536}, "contextLength = 65536: is longer than the model's max_context (32768)"),
    ({"quantization": "int4"}, "quantization"),
    ({"dtype": "float32"}, "dtype"),
    ({"gpuMemoryUtilization": 0.99}, "gpuMemoryUtilization"),
    ({"gpuPool": "a100"}, 'llmEndpoints[0].gpuPool = "a100": no such GPU pool; gpuPools has: t4-spot'),
    (
        {"minReplicas": 0},
        "Standard mode cannot scale to zero: with no replica running, no queue is measured to wake one",
    ),
    ({"minReplicas": 3, "maxReplicas": 2}, "maxReplicas = 2: must be >= minReplicas (3)"),
    ({"canaryTrafficPercent": 10}, "canary rollouts need mode Serverless"),
    ({"name": "churn"}, "duplicate InferenceService name"),
    ({"tensorParalelSize": 2}, "tensorParalelSize"),
    ({"maxReplicas": 3}, "pool 't4-spot' holds 2 GPUs at its max size, but the workloads pinned to it may take 3"),
    ({"clients": ["Not A Namespace"]}, "clients"),
]


@pytest.mark.parametrize(("change", "expected"), CONFIG_CASES, ids=[c[1][:48] for c in CONFIG_CASES])
def test_a_bad_llm_endpoint_is_refused_before_anything_is_declared(change: dict[str, Any], expected: str) -> None:
    change = copy.deepcopy(change)
    platform = llm_stack("dev", **change)
    if (
        isinstance(change.get("model"), dict)
        and change["model"].get("huggingFace") is None
        and "huggingFace" in change["model"]
    ):
        platform["llmEndpoints"][0]["model"].pop("huggingFace")
    found = problems(platform)
    assert any(expected in p for p in found), found


def test_prod_refuses_an_llm_on_a_spot_only_pool_and_scale_to_zero() -> None:
    platform = llm_stack("prod", gpuPool="l4-training-spot", minReplicas=0)
    platform["serving"]["mode"] = "Serverless"
    for endpoint in platform["serving"]["endpoints"]:
        endpoint.pop("autoscaler", None)
        endpoint.pop("targetRequestsPerSecond", None)
    found = problems(platform)
    assert any("llmEndpoints[0].minReplicas = 0: must be >= 1 in prod" in p for p in found), found
    assert any("llmEndpoints[0].gpuPool" in p and "spot" in p for p in found), found


# --------------------------------------------------------------------------- what is declared


def test_the_shipped_llm_endpoints_are_declared_as_sized(graph: Graph, stack: str) -> None:
    (endpoint,) = stack_config(stack)["llmEndpoints"]
    settings = LlmEndpointSettings.model_validate(endpoint)
    isvc = next(
        r
        for r in graph.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
        if r.get("metadata.name") == settings.name
    )
    assert isvc.get("metadata.labels")["networking.kserve.io/visibility"] == "cluster-local"
    predictor = isvc.get("spec.predictor")
    model = predictor["model"]
    source = endpoint["model"]["huggingFace"]
    assert model["storageUri"] == f"hf://{source['repository']}:{source['revision']}"
    assert model["runtime"] == f"{settings.name}-vllm" and model["modelFormat"] == {"name": "vllm"}
    assert f"--max-model-len={settings.context_length}" in model["args"]
    assert f"--served-model-name={settings.name}" in model["args"]
    assert model["resources"]["limits"]["nvidia.com/gpu"] == str(settings.tensor_parallel_size)
    assert predictor["nodeSelector"] == {"mlops.platform/gpu-pool": settings.gpu_pool}
    assert model["image"] == VLLM_IMAGE and re.search(r"@sha256:[0-9a-f]{64}$", VLLM_IMAGE)
    # The hub token: only in the service accounts KServe's downloads run as, never in vLLM's environment.
    token = source.get("tokenSecret")
    assert "env" not in model and "HF_TOKEN" not in json.dumps(runtime_of(graph))
    accounts = {
        (r.get("metadata.namespace"), r.get("metadata.name")): r.inputs.get("secrets")
        for r in graph.of_type("kubernetes:core/v1:ServiceAccount")
    }
    expected = [{"name": token}] if token else None
    assert accounts[("models", f"{settings.name}-predictor")] == expected
    assert accounts[("kserve-localmodel-jobs", f"{settings.name}-cache")] == expected
    # KEDA on the queue: waiting requests per replica, over this endpoint's pods only.
    assert isvc.get("metadata.annotations")["serving.kserve.io/autoscalerClass"] == "keda"
    (metric,) = predictor["autoScaling"]["metrics"]
    assert metric["external"]["metric"]["query"].startswith(
        'sum(vllm:num_requests_waiting{namespace="models",pod=~"assistant-predictor-'
    )
    assert metric["external"]["target"] == {
        "type": "AverageValue",
        "averageValue": f"{settings.target_waiting_requests:g}",
    }
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (settings.min_replicas, settings.max_replicas)
    (container,) = runtime_of(graph)["containers"]
    assert container["image"] == VLLM_IMAGE
    assert container["command"] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The weights, cached on the pool's nodes' NVMe.
    cache = graph.one("kubernetes:serving.kserve.io/v1alpha1:LocalModelCache")
    assert cache.get("spec.sourceModelUri") == model["storageUri"]
    assert cache.get("spec.nodeGroups") == [f"{settings.gpu_pool}-cache"]
    assert cache.get("spec.modelSize") == f"{llm.ceil_gib(settings.serving.checkpoint_gib)}Gi"
    group = graph.one("kubernetes:serving.kserve.io/v1alpha1:LocalModelNodeGroup")
    assert group.get("spec.persistentVolumeSpec.local.path") == llm.MODEL_CACHE_PATH
    node_class = next(
        r
        for r in graph.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
        if r.get("metadata.name") == settings.gpu_pool
    )
    assert node_class.get("spec.instanceStorePolicy") == "RAID0"
    releases = {r.get("name"): r for r in graph.of_type("kubernetes:helm.sh/v3:Release")}
    assert releases["kserve"].get("values")["kserve"]["localmodel"]["enabled"] is True
    cache_values = releases["kserve-localmodel"].get("values")["kserve"]
    for placement in (cache_values["localmodelnode"]["controller"], cache_values["localmodel"]["agent"]):
        assert placement["hostPath"] == llm.MODEL_CACHE_PATH  # both spellings the chart's values.yaml has
        assert placement["tolerations"] and placement["nodeSelector"]
    # Watched: scraped, its SLO recorded for the shared alert.
    slo = next(
        r
        for r in graph.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        if r.get("metadata.name") == f"llm-slo-{settings.name}"
    )
    (rule,) = slo.get("spec.groups")[0]["rules"]
    assert rule == {
        "record": "mlops:llm_ttft_slo_seconds",
        "expr": f"vector({settings.ttft_slo_seconds:g})",
        "labels": {"model_name": settings.name},
    }


def runtime_of(graph: Graph) -> dict[str, Any]:
    return dict(graph.one("kubernetes:serving.kserve.io/v1alpha1:ServingRuntime").get("spec"))


def test_only_its_namespace_and_the_monitoring_reach_an_llm_in_standard_mode(graph: Graph) -> None:
    policy = next(
        r
        for r in graph.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if r.get("metadata.name") == "assistant-predictor"
    )
    (rule,) = policy.get("spec.ingress")
    sources = {s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for s in rule["from"]}
    assert sources == {"models", "monitoring"} and rule["ports"] == [{"protocol": "TCP", "port": 8080}]


ENDPOINT = {
    "name": "chat",
    "model": {
        "huggingFace": {
            "repository": "Qwen/Qwen2.5-0.5B-Instruct",
            "revision": "7ae557604adf67be50417f59c2c2f167def9a775",
        },
        **declared(CONFIGS["Qwen/Qwen2.5-0.5B-Instruct"]),
    },
    "gpuPool": "t4",
    "dtype": "float16",
}


def component(serving: KServeInstall, **changes: Any) -> Graph:
    def program() -> None:
        LlmEndpoint("chat", LlmEndpointArgs(endpoint={**ENDPOINT, **changes}, namespace="llm", serving=serving))

    return run_program(program, config={}, project="team", stack="test")


def refused(serving: KServeInstall, image: str = VLLM_IMAGE, **changes: Any) -> str:
    def program() -> None:
        endpoint = {**ENDPOINT, **changes}
        LlmEndpoint("chat", LlmEndpointArgs(endpoint=endpoint, namespace="llm", serving=serving, image=image))

    with pytest.raises(ProgramFailed) as failed:
        run_program(program, config={}, project="team", stack="test")
    return str(failed.value)


def test_serverless_mode_rolls_a_new_revision_out_as_a_canary_and_back() -> None:
    serverless = KServeInstall(ServingMode.SERVERLESS)
    for share in (10, 0):  # 10%: the canary; 0: every request back on the previous revision
        isvc = component(serverless, canaryTrafficPercent=share, minReplicas=0).one(
            "kubernetes:serving.kserve.io/v1beta1:InferenceService"
        )
        predictor = isvc.get("spec.predictor")
        assert predictor["canaryTrafficPercent"] == share and predictor["minReplicas"] == 0
        assert (predictor["scaleMetric"], "autoScaling" in predictor) == ("concurrency", False)
        assert isvc.get("metadata.annotations")["serving.kserve.io/deploymentMode"] == "Knative"


@pytest.mark.parametrize(
    ("serving", "changes", "expected"),
    [
        (
            KServeInstall(ServingMode.STANDARD, keda_query_url="http://prometheus:9090"),
            {"canaryTrafficPercent": 10},
            "canary rollouts need mode Serverless",
        ),
        (KServeInstall(ServingMode.STANDARD), {}, "has no KEDA"),
        (
            KServeInstall(ServingMode.STANDARD, keda_query_url="http://prometheus:9090"),
            {"model": {**ENDPOINT["model"], "huggingFace": None, "bucketPath": "llm/qwen"}},
            "give data_bucket and access",
        ),
    ],
)
def test_the_component_refuses_what_its_serving_cannot_do(
    serving: KServeInstall, changes: dict[str, Any], expected: str
) -> None:
    assert expected in refused(serving, **changes)


def test_an_image_without_a_digest_is_refused() -> None:
    serving = KServeInstall(ServingMode.STANDARD, keda_query_url="http://prometheus:9090")
    assert "pin it by digest" in refused(serving, image="vllm/vllm-openai:v0.30.0")


def test_an_llm_on_another_stack_config_runs_end_to_end() -> None:
    """The dev stack with a second LLM (no cache) on the same pool: both declared, one node group."""
    platform = stack_config("dev")
    platform["gpuPools"][0]["maxSize"] = 2
    second = copy.deepcopy(platform["llmEndpoints"][0])
    second.update({"name": "summariser", "cache": False})
    platform["llmEndpoints"].append(second)
    graph = run_platform(platform)
    names = {r.get("metadata.name") for r in graph.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")}
    assert {"assistant", "summariser"} <= names
    assert len(graph.of_type("kubernetes:serving.kserve.io/v1alpha1:LocalModelCache")) == 1
    assert len(graph.of_type("kubernetes:serving.kserve.io/v1alpha1:LocalModelNodeGroup")) == 1


def test_the_cache_namespaces_security_is_relaxed_only_where_it_must_and_the_pack_says_why(
    graph: Graph, stack: str
) -> None:
    namespaces = {
        r.get("metadata.name"): r.get("metadata.labels")["pod-security.kubernetes.io/enforce"]
        for r in graph.of_type("kubernetes:core/v1:Namespace")
    }
    assert namespaces["kserve"] == "privileged", "the node agents write the NVMe through a host path"
    assert namespaces["kserve-localmodel-jobs"] == "baseline"
    assert namespaces["models"] == "restricted"
    from offline.pack_config import pack_config

    exceptions = pack_config(parse_platform_config(stack_config(stack)))["k8s-namespace-restricted"]["exceptions"]
    assert {e["name"] for e in exceptions} >= {"kserve", "kserve-localmodel-jobs"}
    assert all(len(e["reason"]) > 40 for e in exceptions)
    without = stack_config(stack)
    without.pop("llmEndpoints")
    relaxed = pack_config(parse_platform_config(without)).get("k8s-namespace-restricted", {})
    assert not isinstance(relaxed, dict) or "kserve" not in {e["name"] for e in relaxed.get("exceptions", [])}
    # The node agent's host path and its missing probes are excused by name only while weights are cached.
    agent = {
        "k8s-no-host-path": "kserve/kserve-localmodelnode-agent",
        "k8s-probes": "kserve/kserve-localmodelnode-agent/manager",
    }
    for config, cached in (
        (pack_config(parse_platform_config(stack_config(stack))), True),
        (pack_config(parse_platform_config(without)), False),
    ):
        for policy, name in agent.items():
            entry = config.get(policy)
            names = {e["name"] for e in entry.get("exceptions", [])} if isinstance(entry, dict) else set()
            assert (name in names) is cached, (policy, cached)


def test_without_a_cache_nothing_of_the_cache_is_installed_and_kserve_stays_restricted() -> None:
    platform = stack_config("dev")
    platform["llmEndpoints"][0]["cache"] = False
    graph = run_platform(platform)
    releases = {r.get("name"): r for r in graph.of_type("kubernetes:helm.sh/v3:Release")}
    assert "kserve-localmodel" not in releases and "kserve-localmodel-crd" not in releases
    assert "localmodel" not in releases["kserve"].get("values")["kserve"]
    namespaces = {
        r.get("metadata.name"): r.get("metadata.labels")["pod-security.kubernetes.io/enforce"]
        for r in graph.of_type("kubernetes:core/v1:Namespace")
    }
    assert namespaces["kserve"] == "restricted" and "kserve-localmodel-jobs" not in namespaces
    assert not graph.of_type("kubernetes:serving.kserve.io/v1alpha1:LocalModelCache")
    assert not graph.of_type("kubernetes:serving.kserve.io/v1alpha1:LocalModelNodeGroup")
    isvc = next(
        r
        for r in graph.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
        if r.get("metadata.name") == "assistant"
    )
    assert isvc.get("spec.predictor.model.storageUri").startswith("hf://"), "downloaded at each start instead"
    rules = {r.get("metadata.name") for r in graph.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")}
    assert {"mlops-llm", "llm-slo-assistant"} <= rules, "still watched"


# KServe's local-model chart, as upstream publishes it: kserve/kserve charts/kserve-localmodel-resources/
# values.yaml at commit 021c79fc (chart v0.20.0-rc0 - the nearest to the pinned v0.20.0 the search tool
# holds), the keys under `kserve` the platform sets and their siblings, copied as data. Its node agent's
# template hands `nodeSelector` and `tolerations` on whole (`with ... toYaml .`): from
# `localmodelnode.controller` at commit e866405, from `localmodel.agent` at commit 1112e81 (with the host
# path, and no probes) - the platform sets both.
UPSTREAM_LOCALMODEL_VALUES: dict[str, Any] = {
    "kserve": {
        "version": "v0.20.0-rc0",
        "createSharedResources": True,
        "localmodel": {
            "enabled": False,
            "controller": {"image": "kserve/kserve-localmodel-controller", "tag": ""},
            "jobNamespace": "kserve-localmodel-jobs",
            "jobTTLSecondsAfterFinished": 3600,
            "defaultJobImage": "kserve/storage-initializer",
            "securityContext": {"fsGroup": 1000},
            "disableVolumeManagement": False,
            "agent": {"nodeSelector": {}, "tolerations": [], "hostPath": "/mnt/models"},
        },
        "localmodelnode": {
            "controller": {
                "image": "kserve/kserve-localmodelnode-agent",
                "nodeSelector": {"kserve/localmodel": "worker"},
                "affinity": {},
                "tolerations": [],
                "hostPath": "/models",
            }
        },
    }
}


def test_the_model_cache_chart_values_are_ones_upstreams_chart_reads(graph: Graph) -> None:
    from offline.charts import ChartSource

    chart = ChartSource(
        defaults=UPSTREAM_LOCALMODEL_VALUES,
        free={
            (*parent, key)
            for parent in (("kserve", "localmodelnode", "controller"), ("kserve", "localmodel", "agent"))
            for key in ("nodeSelector", "tolerations")
        },
    )
    releases = {r.get("name"): r for r in graph.of_type("kubernetes:helm.sh/v3:Release")}
    values = releases["kserve-localmodel"].get("values")
    assert chart.unknown_values(values, "kserve-localmodel-resources") == []
    assert (
        values["kserve"]["localmodel"]["jobNamespace"]
        == UPSTREAM_LOCALMODEL_VALUES["kserve"]["localmodel"]["jobNamespace"]
    )
    # The check itself catches a key upstream does not have.
    typo = {"kserve": {"localmodelnode": {"controler": {"hostPath": "/x"}}}}
    assert chart.unknown_values(typo, "kserve-localmodel-resources") == [
        "values.kserve.localmodelnode.controler: chart kserve-localmodel-resources has no such value "
        "(did you mean kserve.localmodelnode.controller?)"
    ]
