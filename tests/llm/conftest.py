"""A real vLLM (the CPU build, .venv-llm) serving a tiny random-weight Llama with the flags an LlmEndpoint
gives it, and Prometheus (Debian's) scraping it with the LLM alert rules: one of each per session, on
free loopback ports, stopped whatever happens."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from apps.common import local
from apps.common.processes import free_port, http_ok, server
from components.kit import llm
from tests.llm.tiny_model import CONTEXT, build

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "components" / "assets" / "rules" / "llm.rules.yaml"
NAME = "assistant"
"""The served model name: an endpoint's name (clients ask for it; vLLM labels its metrics with it)."""
NAMESPACE = "models"
POD = f"{NAME}-predictor-5d8f7c9b4-x2k9q"
"""What the cluster's pod discovery would label the replica's series with (a Deployment pod's name)."""
SLO_SECONDS = {NAME: 0.000001, "generous": 3600.0}
"""Time-to-first-token objectives as the endpoints' recording rules state them: the served model's is
impossible to meet (its alert must fire on real traffic); another endpoint's can be met by anything."""


@dataclass(frozen=True)
class Vllm:
    url: str
    """The OpenAI API's base URL (append /v1/...)."""
    log: Path


@pytest.fixture(scope="session")
def vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vllm]:
    home = tmp_path_factory.mktemp("vllm")
    model = build(home / "model")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = llm.server_args(
        NAME,
        context_length=CONTEXT,
        tensor_parallel=1,
        dtype="bfloat16",
        quantization=None,
        gpu_memory_utilization=0.9,
    )
    # The runtime's own flags, the endpoint's, and one sequence at a time: requests sent together then
    # wait in the queue the autoscaler reads.
    command = [
        sys.executable, "-m", llm.SERVER_MODULE, f"--model={model}", f"--port={port}", "--host=127.0.0.1",
        *args, "--max-num-seqs=1",
    ]  # fmt: skip
    env = {
        "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB: the CPU build's KV cache
        "HF_HUB_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "OMP_NUM_THREADS": "1",
        "HOME": str(home),
    }
    log = home / "vllm.log"
    with server(command, ready=http_ok(f"{url}/health"), log=log, env=env, timeout=600, name="vLLM"):
        yield Vllm(url, log)


def rules_for_a_test(home: Path) -> list[Path]:
    """The LLM alert rules with `for` shortened to 1s, and each endpoint's SLO recording rule as the
    LlmEndpoint component declares it (a constant labelled with the served model's name)."""
    alerts = local.rules_firing_at_once(RULES, home / "llm.rules.yaml")
    slo = home / "slo.rules.yaml"
    groups = [
        {
            "name": f"llm-slo-{name}",
            "rules": [{"record": llm.SLO_RECORD, "expr": f"vector({seconds:g})", "labels": {"model_name": name}}],
        }
        for name, seconds in SLO_SECONDS.items()
    ]
    slo.write_text(yaml.safe_dump({"groups": groups}))
    return [alerts, slo]


@pytest.fixture(scope="session")
def prometheus(vllm: Vllm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("prometheus")
    with local.prometheus(
        home,
        [local.host_port(vllm.url)],
        rule_files=rules_for_a_test(home),
        interval="2s",
        labels={"namespace": NAMESPACE, "pod": POD},
    ) as url:
        yield url
