"""The platform's services on loopback, each a context manager that yields its URL and stops it
afterwards: MLflow, the predictor, the drift monitor, Prometheus. One definition of how each is
started, shared by the demo, the benchmarks and the tests."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from apps.common.processes import BIN, ROOT, free_port, http_ok, server

RULES = tuple(sorted((ROOT / "components" / "assets" / "rules").glob("*.rules.yaml")))
"""The alert rules the components deploy, one file per component."""


def child_env(**extra: str) -> dict[str, str]:
    """What every child needs on top of the inherited environment: this venv's tools on PATH, and
    MLflow quiet about run URLs."""
    return {"PATH": f"{BIN}:{os.environ.get('PATH', '')}", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true", **extra}


@contextlib.contextmanager
def mlflow_server(
    home: Path,
    *,
    artifacts: str | None = None,
    workers: int = 1,
    app_name: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """MLflow tracking server + registry on sqlite in `home`; artifacts proxied to `artifacts`
    (a local directory under `home` by default, or an s3:// URI); `app_name="basic-auth"` turns
    authentication on (with MLFLOW_AUTH_CONFIG_PATH in `env`)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}",
        "--artifacts-destination", artifacts or str(home / "artifacts"), "--serve-artifacts",
        "--workers", str(workers),
        *(["--app-name", app_name] if app_name else []),
    ]  # fmt: skip
    with server(
        command,
        ready=http_ok(f"{url}/health"),
        log=home / "mlflow.log",
        env=child_env(**(env or {})),
        timeout=120,
        name="MLflow",
    ):
        yield url


@contextlib.contextmanager
def predictor(log: Path, model_name: str, *, tracking_uri: str, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """The KServe predictor serving `models:/<model_name>@champion` as model `churn`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "apps.serving", "--model_name", "churn", "--http_port", str(port)]
    settings = child_env(MODEL_NAME=model_name, MLFLOW_TRACKING_URI=tracking_uri, **(env or {}))
    with server(
        command, ready=http_ok(f"{url}/v2/models/churn/ready"), log=log, env=settings, timeout=180, name="predictor"
    ):
        yield url


def monitor_command(config: Path, port: int) -> list[str]:
    """The drift monitor serving on 127.0.0.1:`port` with the config file `config`."""
    return [
        sys.executable,
        "-m",
        "apps.monitor",
        "serve",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


@contextlib.contextmanager
def monitor(config: Path, log: Path, *, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """The drift monitor with the config file `config`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = monitor_command(config, port)
    with server(
        command,
        ready=http_ok(f"{url}/readyz"),
        log=log,
        env=child_env(**(env or {})),
        timeout=120,
        name="drift monitor",
    ):
        yield url


@contextlib.contextmanager
def prometheus(
    home: Path,
    targets: Sequence[str],
    *,
    rule_files: Sequence[Path] = RULES,
    interval: str = "2s",
    labels: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Prometheus (the Debian package) scraping `targets` (host:port) with the repository's alert rules;
    `labels` are added to every scraped series (as a cluster's service discovery would add namespace, pod)."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise FileNotFoundError("prometheus is not installed (Debian package `prometheus`; `make system-deps`)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(f) for f in rule_files],
        "scrape_configs": [
            {"job_name": "mlops", "static_configs": [{"targets": list(targets), "labels": dict(labels or {})}]}
        ],
    }
    (home / "prometheus.yml").write_text(yaml.safe_dump(config))
    command = [
        binary, f"--config.file={home / 'prometheus.yml'}", f"--storage.tsdb.path={home / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]  # fmt: skip
    with server(command, ready=http_ok(f"{url}/-/ready"), log=home / "prometheus.log", name="Prometheus"):
        yield url


def rules_firing_at_once(source: Path, target: Path) -> Path:
    """`source`'s alert rules with `for` shortened to 1s - the same expressions and labels - written to
    `target`: tests see an alert fire in seconds."""
    rules = yaml.safe_load(source.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "1s"
    target.write_text(yaml.safe_dump(rules))
    return target


def train(config: Path, log: Path, *, env: Mapping[str, str], timeout: float) -> dict[str, Any]:
    """Run the training pipeline once, as its CLI (the monitor's local backend runs the same command);
    return the result it prints. Its chatter goes to `log`."""
    with log.open("wb") as output:
        done = subprocess.run(
            training_command(config),
            stdout=subprocess.PIPE,
            stderr=output,
            env={**os.environ, **env},
            cwd=ROOT,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"training failed with exit code {done.returncode}; see {log}")
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def training_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "apps.training", "run", "--config", str(config)]


def host_port(url: str) -> str:
    return url.removeprefix("http://").removeprefix("https://").rstrip("/")


DASHBOARDS = ROOT / "components" / "assets" / "dashboards"


def dashboards() -> dict[str, dict[str, Any]]:
    """The Grafana dashboards the platform deploys (built by components/services/dashboards.py), by file stem."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}
