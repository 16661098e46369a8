"""The policy pack's config for a stack, generated from the stack itself: the enforcement levels of
its `platform.environment` (policies/config/<environment>.json - a stack of any name gets them) and
the limits its config already states (the GPU budget), so no number is kept in two places.

    python -m offline.pack_config --stack dev -o build/pack-config/dev.json
    python -m offline.pack_config --stack dev --stack-file ../head/Pulumi.dev.yaml   (the preview workflow)
    pulumi preview --policy-pack policies --policy-pack-config build/pack-config/dev.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from components.config import ConfigError, PlatformConfig
from components.config.loader import check_stack
from components.config.stack_file import StackFile
from components.platform import published_services
from components.services.model_serving import MODEL_CACHE_JOBS_NAMESPACE

ROOT = Path(__file__).resolve().parent.parent
LEVELS_DIR = ROOT / "policies" / "config"


def levels_file(environment: str) -> Path:
    return LEVELS_DIR / f"{environment}.json"


EXCEPTIONS_FILE = LEVELS_DIR / "exceptions.json"
"""Objects some rules do not apply to, each by name with its reason - the same in every environment."""


def _merge(config: dict[str, Any], policy: str, values: dict[str, Any]) -> None:
    """Add a policy's config values, keeping the enforcement level the levels file gives it."""
    entry = config.get(policy)
    if isinstance(entry, str):
        entry = {"enforcementLevel": entry}
    merged = {**(entry or {}), **values}
    if "exceptions" in (entry or {}) and "exceptions" in values:
        merged["exceptions"] = [*entry["exceptions"], *values["exceptions"]]
    config[policy] = merged


def levels(environment: str) -> dict[str, Any]:
    """The enforcement levels of an environment with the shared exceptions."""
    config: dict[str, Any] = json.loads(levels_file(environment).read_text())
    for policy, values in json.loads(EXCEPTIONS_FILE.read_text()).items():
        _merge(config, policy, values)
    return config


def pack_config(platform: PlatformConfig) -> dict[str, Any]:
    """Levels of the stack's environment, the shared exceptions, and what the stack's own config says:
    its GPU budget, its cluster admins, the services it publishes to the internet."""
    config = levels(platform.environment)
    budget = platform.guardrails
    _merge(config, "gpu-pool-budget", {"maxGpusPerPool": budget.max_gpus_per_pool})
    _merge(config, "gpu-stack-budget", {"maxGpusTotal": budget.max_gpus_total})
    _merge(config, "gpu-serving-within-pools", {"maxGpusTotal": budget.max_gpus_total})
    _merge(config, "gpu-spot-allowed", {"allowSpot": budget.allow_spot})
    _merge(config, "eks-cluster-admin-principals", {"adminPrincipalArns": list(platform.cluster.admin_principal_arns)})
    published = [
        {"name": name, "reason": f"the stack's config publishes it: {setting} has internal: false"}
        for name, setting in published_services(platform)
    ]
    if published:
        _merge(config, "k8s-no-unrequested-exposure", {"exceptions": published})
    if platform.monitoring.gpu_profiling_metrics:
        reason = "the stack's config turns on platform.monitoring.gpuProfilingMetrics: DCGM needs SYS_ADMIN for them"
        _merge(
            config,
            "k8s-no-added-capabilities",
            {"exceptions": [{"name": "kube-system/dcgm-exporter", "reason": reason}]},
        )
    if platform.llm_pools:
        reason = (
            "the stack caches LLM weights on its GPU nodes (platform.llmEndpoints[].cache): KServe's node agent "
            "writes the node's instance-store NVMe through a host path"
        )
        jobs = (
            "KServe's model cache runs its download Jobs there with pods that set no seccomp profile (the "
            "storage initializer's security context), which the restricted standard requires; baseline still "
            "refuses privilege, host namespaces and host paths"
        )
        _merge(
            config,
            "k8s-namespace-restricted",
            {
                "exceptions": [
                    {"name": "kserve", "reason": reason},
                    {"name": MODEL_CACHE_JOBS_NAMESPACE, "reason": jobs},
                ]
            },
        )
        agent = "kserve/kserve-localmodelnode-agent"
        _merge(config, "k8s-no-host-path", {"exceptions": [{"name": agent, "reason": reason}]})
        probes = "KServe v0.20.0's chart writes its node agent without probes and with no value to add them"
        _merge(config, "k8s-probes", {"exceptions": [{"name": f"{agent}/manager", "reason": probes}]})
    return config


def for_stack_file(path: Path) -> dict[str, Any]:
    """The pack config of the stack in `path` (ConfigError if its config is invalid)."""
    loaded = StackFile.load(path)
    return pack_config(check_stack(loaded.config, loaded.secret_keys))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m offline.pack_config", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--stack-file", type=Path, help="the stack's file (default: Pulumi.<stack>.yaml here)")
    parser.add_argument("-o", "--out", type=Path, help="write here (default: standard output)")
    args = parser.parse_args(argv)
    try:
        text = json.dumps(for_stack_file(args.stack_file or ROOT / f"Pulumi.{args.stack}.yaml"), indent=2) + "\n"
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
