"""`python -m apps.monitor serve --config monitor.yaml --port 8080`."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from apps.monitor.config import MonitorConfig, load_config
from apps.monitor.trigger import Backend, KubernetesJobBackend, LocalProcessBackend

log = logging.getLogger("apps.monitor")


def backend_for(config: MonitorConfig) -> Backend | None:
    retrain = config.retrain
    if retrain.backend == "kubernetes":
        assert retrain.job_template is not None
        return KubernetesJobBackend(retrain.namespace, retrain.job_template)
    if retrain.backend == "local":
        return LocalProcessBackend(retrain.command, retrain.workdir or Path("retraining"))
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.monitor")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the monitor")
    serve.add_argument("--config", type=Path, help="YAML config (see apps/monitor/config.py)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    # The server's imports (FastAPI, scikit-learn, MLflow) load only when it serves: `--help` stays instant.
    import uvicorn
    from prometheus_client import CollectorRegistry

    from apps.monitor.service import Monitor, create_app

    config = load_config(args.config)
    if config.profile_path is not None:  # the profile is known now: check the config against it before serving
        from apps.common.profile import ReferenceProfile

        profile = ReferenceProfile.from_json(config.profile_path.read_text())
        try:
            config.methods.check_features(profile.numeric, profile.categorical)
        except ValueError as error:
            print(f"{args.config}: {error}", file=sys.stderr)
            return 2
    registry = CollectorRegistry()
    monitor = Monitor(config, backend_for(config), registry)
    stop = threading.Event()

    def follow_champion() -> None:
        while True:
            try:
                monitor.refresh_profile()
            except Exception:
                log.exception("could not refresh the reference profile")
            if stop.wait(config.profile_poll_seconds):
                return

    threading.Thread(target=follow_champion, name="profile-refresh", daemon=True).start()
    try:
        uvicorn.run(
            create_app(monitor, registry), host=args.host, port=args.port, log_level="warning", access_log=False
        )
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
