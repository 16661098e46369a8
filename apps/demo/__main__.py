"""`python -m apps.demo` (what `make demo` runs)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from apps.demo.loop import run
from apps.demo.timeline import DemoSettings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.demo", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=DemoSettings.workdir)
    parser.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus even if installed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = run(DemoSettings(workdir=args.workdir, prometheus=not args.no_prometheus))
    except KeyboardInterrupt:
        print("interrupted: every process the demo started has been stopped", file=sys.stderr)
        return 130
    metrics = report.metrics
    print()
    print(f"drift onset -> new champion serving: {metrics['drift_to_new_champion_seconds']:.1f}s")
    print(
        f"requests: {metrics['requests']}, failed: {metrics['failed_requests']}, retraining triggers: {metrics['retraining_triggers']}"
    )
    print(f"report: {args.workdir / 'report.md'} (plot: {args.workdir / 'demo.png'})")
    return 0 if metrics["failed_requests"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
