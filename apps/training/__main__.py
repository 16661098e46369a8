"""`python -m apps.training run|generate`.

run       train, evaluate and (maybe) promote; exit 0 when the run completes (promoted or
          rejected), 2 when the data breaks its contract (nothing registered), 1 otherwise
generate  write a version of the example churn table (with drift, if asked)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m apps.training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline")
    run.add_argument("--config", type=Path, help="YAML config (see apps/training/config.py)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (repeatable)",
    )
    generate = commands.add_parser("generate", help="write a version of the example table")
    generate.add_argument("--uri", required=True, help="Delta table path or s3:// URI")
    generate.add_argument("--rows", type=int, default=5000)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--drift", type=float, default=0.0, help="0 (none) to 1 (strong)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Each command imports what it needs when it runs: `--help` and `generate` do not pay for MLflow.
    if args.command == "generate":
        from apps.training.data import generate as make
        from apps.training.data import write_version

        version = write_version(args.uri, make(args.rows, seed=args.seed, drift=args.drift))
        print(json.dumps({"uri": args.uri, "version": version, "rows": args.rows, "drift": args.drift}))
        return 0
    return _run(args.config, args.overrides)


def _run(config_path: Path | None, overrides: list[str]) -> int:
    import mlflow

    from apps.training.config import load_config
    from apps.training.pipeline import push_outcome, run
    from apps.training.validate import DataValidationError

    try:
        cfg = load_config(config_path, overrides)
    except (ValidationError, ValueError, OSError) as error:
        print(f"invalid training config: {error}", file=sys.stderr)
        return 1
    try:
        result = run(cfg)
    except DataValidationError as error:
        print(error, file=sys.stderr)
        last = mlflow.last_active_run()
        push_outcome(cfg.model_name, "failed", last.info.run_id if last else "unknown")
        return 2
    except Exception:
        last = mlflow.last_active_run()
        push_outcome(cfg.model_name, "failed", last.info.run_id if last else "unknown")
        raise
    push_outcome(cfg.model_name, result.outcome, result.run_id)
    print(
        json.dumps(
            {
                "outcome": result.outcome,
                "version": result.version,
                "run_id": result.run_id,
                "metrics": result.metrics,
                "champion_version": result.champion_version,
                "champion_metrics": result.champion_metrics,
                "decision": result.decision,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
