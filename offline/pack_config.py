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

ROOT = Path(__file__).resolve().parent.parent
LEVELS_DIR = ROOT / "policies" / "config"
BUDGET_POLICIES = ("gpu-pool-budget", "gpu-stack-budget", "gpu-spot-allowed")


def levels_file(environment: str) -> Path:
    return LEVELS_DIR / f"{environment}.json"


def pack_config(platform: PlatformConfig) -> dict[str, Any]:
    """Levels of the stack's environment plus the limits its own config sets."""
    config: dict[str, Any] = json.loads(levels_file(platform.environment).read_text())
    budget = platform.guardrails
    limits: dict[str, dict[str, Any]] = {
        "gpu-pool-budget": {"maxGpusPerPool": budget.max_gpus_per_pool},
        "gpu-stack-budget": {"maxGpusTotal": budget.max_gpus_total},
        "gpu-spot-allowed": {"allowSpot": budget.allow_spot},
    }
    for policy, values in limits.items():
        entry = config.get(policy)
        level = entry if isinstance(entry, str) else (entry or {}).get("enforcementLevel")
        config[policy] = {**({"enforcementLevel": level} if level else {}), **values}
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
