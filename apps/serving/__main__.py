"""`python -m apps.serving [KServe options]` serves the model; `python -m apps.serving rollback ...`
moves the champion alias back (predictors follow it like any promotion).

    python -m apps.serving --model_name churn --http_port 8080
    python -m apps.serving rollback --model churn-classifier --why "p99 regression" [--to 3] [--who alice]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from components.contracts import EnvSettings, PredictorSettings


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["rollback"]:
        return _rollback(argv[1:])
    return _serve()


def _rollback(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.serving rollback")
    parser.add_argument("--model", required=True, help="registered model name")
    parser.add_argument("--why", required=True, help="reason, recorded on the model")
    parser.add_argument("--to", dest="to_version", help="version to restore (default: the one the champion replaced)")
    parser.add_argument("--who", help="who rolls back (default: the OS user)")
    args = parser.parse_args(argv)
    from apps.common.registry import rollback  # MLflow loads only for this command

    try:
        done = rollback(args.model, why=args.why, to_version=args.to_version, who=args.who)
    except (LookupError, ValueError) as error:
        print(f"rollback refused: {error}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {"model": done.model, "from": done.from_version, "to": done.to_version, "who": done.who, "why": done.why}
        )
    )
    return 0


def _serve() -> int:
    # KServe, FastAPI and the model stack load only to serve: `rollback` and `--help` stay instant.
    import kserve
    from fastapi.responses import JSONResponse
    from kserve import model_server

    from apps.common.http import BodyLimit
    from apps.serving.metrics import RequestMetrics, ServingMetrics
    from apps.serving.model import FeatureStoreUnavailable, Predictor, UnsupportedMediaType

    parser = argparse.ArgumentParser(
        prog="python -m apps.serving",
        parents=[model_server.parser],
        description=__doc__,
        epilog=_settings_help(PredictorSettings),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    args, _ = parser.parse_known_args()  # KServe reads its own options again in ModelServer
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One log line per request (or per prediction-log batch) costs more than the prediction: both are
    # counted in /metrics instead.
    for noisy in ("uvicorn.access", "kserve.trace", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = PredictorSettings.from_environ(os.environ)
    metrics = ServingMetrics.default()
    predictor = Predictor(args.model_name, settings, metrics)
    app = model_server.app
    app.add_middleware(RequestMetrics, metrics=metrics, model=settings.model_name, served_name=args.model_name)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    async def media_type(_: Any, error: Exception) -> JSONResponse:
        return JSONResponse(status_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE, content={"error": str(error)})

    async def unavailable(_: Any, error: Exception) -> JSONResponse:
        return JSONResponse(status_code=HTTPStatus.SERVICE_UNAVAILABLE, content={"error": str(error)})

    app.add_exception_handler(UnsupportedMediaType, media_type)
    app.add_exception_handler(FeatureStoreUnavailable, unavailable)
    predictor.load()
    # Everything loaded so far (libraries, the model) lives as long as the process: keep it out of
    # the collector's full passes, which otherwise stall every request for 100+ ms now and then.
    gc.freeze()
    try:
        kserve.ModelServer(enable_grpc=False).start([predictor])
    finally:
        predictor.stop()
    return 0


def _settings_help(settings: type[EnvSettings]) -> str:
    """The environment variables a settings contract reads, with defaults and descriptions, for --help."""
    lines = ["environment:"]
    for variable, description, default in settings.describe():
        lines.append(f"  {variable:<22} {description} (default: {default})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
