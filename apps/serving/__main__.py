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

from mlops_platform.contracts import EnvSettings, PredictorSettings


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
    from kserve import model_server

    from apps.common.http import BodyLimit
    from apps.serving.metrics import RequestMetrics, ServingMetrics
    from apps.serving.model import FeatureStoreUnavailable, Predictor, UnsupportedMediaType
    from apps.serving.oip import OpenInference

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
    # Outermost last: RequestMetrics sees every answer, the 413s BodyLimit sends included (a client's
    # oversized body is a client error, never an internal one); OpenInference reads bounded bodies only.
    app.add_middleware(OpenInference, model=predictor)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=metrics, model=settings.model_name, served_name=args.model_name)
    quiet_client_errors()
    app.add_exception_handler(UnsupportedMediaType, answer(HTTPStatus.UNSUPPORTED_MEDIA_TYPE))
    app.add_exception_handler(FeatureStoreUnavailable, answer(HTTPStatus.SERVICE_UNAVAILABLE))
    predictor.load()
    # Everything loaded so far (libraries, the model) lives as long as the process: keep it out of
    # the collector's full passes, which otherwise stall every request for 100+ ms now and then.
    gc.freeze()
    try:
        kserve.ModelServer(enable_grpc=False).start([predictor])
    finally:
        predictor.stop()
    return 0


log = logging.getLogger("apps.serving")


def quiet_client_errors() -> None:
    """A client's error is answered with one log line, no traceback: KServe's own handlers log each with
    its stack, and it registers them when the server starts (after anything registered here) - so the
    handlers it registers for invalid input and unknown models are replaced where it looks them up."""
    from kserve.protocol.rest import server as rest

    rest.invalid_input_handler = answer(HTTPStatus.BAD_REQUEST)
    rest.model_not_found_handler = answer(HTTPStatus.NOT_FOUND)


def answer(status: HTTPStatus) -> Any:
    """An exception handler answering `status` with {"error": ...} and logging one line."""
    from fastapi.responses import JSONResponse

    async def handle(request: Any, error: Exception) -> JSONResponse:
        log.warning("%d %s %s: %s", status, request.method, request.url.path, str(error)[:300])
        return JSONResponse(status_code=status, content={"error": str(error)})

    return handle


def _settings_help(settings: type[EnvSettings]) -> str:
    """The environment variables a settings contract reads, with defaults and descriptions, for --help."""
    lines = ["environment:"]
    for variable, description, default in settings.describe():
        lines.append(f"  {variable:<22} {description} (default: {default})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
