"""Serving throughput and tail latency: our KServe predictor against the two servers an MLflow model
would otherwise get - MLServer with its MLflow runtime (what KServe runs for `modelFormat: mlflow`)
and `mlflow models serve`.

One run, same machine, same registered model (`models:/churn-classifier@champion`), same load
generator (wrk), same concurrency, one process each. Our predictor logs every prediction to a
running drift monitor, as in production; a second instance without logging measures what logging
costs. Rounds rotate through the targets after a warm-up each; medians are reported. The payload is
one row, the shape of an online scoring call: a V1 `instances` request to ours (against MLflow's
`dataframe_records`), a V2 request with one input per feature to ours and to MLServer.

MLServer runs from its own environment (.venv-mlserver, requirements/mlserver.lock) on a local copy
of the model's artifacts - what KServe's storage initializer hands it - with inference inline
(`parallel_workers: 0`): one process, like the others.

With py-spy installed, one more round of ours is sampled and the functions the predictor spends its
time in are listed.

Last lines: BENCH serving throughput_ratio=<ours/mlflow> p99_ratio=<ours/mlflow> ...
            BENCH serving-mlserver throughput_ratio=<ours V2/MLServer> p99_ratio=... logging_cost=...
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

from apps.common import local
from apps.common.processes import BIN, ROOT, free_port, http_ok, server, terminable
from apps.demo.loop import table_rows
from apps.training.data import write_version

MODEL = "churn-classifier"
MLSERVER = ROOT / ".venv-mlserver" / "bin" / "mlserver"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
IDLE = (
    "Condition.wait (threading.py)",
    "_worker (concurrent/futures/thread.py)",
    "EpollSelector.select (selectors.py)",
)
"""py-spy samples of parked threads (counted as active while they wait for the GIL)."""


def cpu_seconds(pids: list[int]) -> float:
    """CPU time used so far by these processes and their children."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            for each in (process, *process.children(recursive=True)):
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = each.cpu_times()
                    total += times.user + times.system
    return total


def wrk_script(body: dict[str, Any], path: Path) -> Path:
    """A wrk script that POSTs `body` as JSON."""
    path.write_text(
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = {json.dumps(json.dumps(body))}\n'
    )
    return path


def wrk(url: str, script: Path, seconds: float, connections: int, threads: int) -> dict[str, float]:
    """One wrk run: requests/s, latency percentiles (ms) and errors."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])}  # type: ignore[index]
    for percentile in ("50", "90", "99"):
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()  # type: ignore[union-attr]
        result[f"p{percentile}_ms"] = float(value) * UNITS[unit]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result["errors"] = float(non_2xx[1] if non_2xx else 0) + (
        sum(int(g) for g in socket_errors.groups()) if socket_errors else 0
    )
    result["requests"] = float(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    return result


@contextlib.contextmanager
def mlserver(work: Path, tracking_uri: str, model_uri: str) -> Iterator[str]:
    """MLServer + mlserver-mlflow serving a local copy of `model_uri` as model `churn`."""
    import mlflow.artifacts

    if not MLSERVER.exists():
        raise FileNotFoundError(
            f"{MLSERVER} not found: `make bench` builds .venv-mlserver (requirements/mlserver.lock)"
        )
    home = work / "mlserver"
    mlflow.set_tracking_uri(tracking_uri)
    model_dir = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(home / "model"))
    http, grpc, metrics = free_port(), free_port(), free_port()
    settings = {"host": "127.0.0.1", "http_port": http, "grpc_port": grpc, "metrics_port": metrics,
                "parallel_workers": 0, "debug": False}  # fmt: skip
    (home / "settings.json").write_text(json.dumps(settings))
    (home / "model-settings.json").write_text(
        json.dumps(
            {"name": "churn", "implementation": "mlserver_mlflow.MLflowRuntime", "parameters": {"uri": model_dir}}
        )
    )
    url = f"http://127.0.0.1:{http}"
    with server(
        [str(MLSERVER), "start", str(home)],
        ready=http_ok(f"{url}/v2/models/churn/ready"),
        log=work / "logs" / "mlserver.log",
        env=local.child_env(),
        timeout=180,
        name="MLServer",
    ):
        yield url


def v2_body(rows: list[dict[str, Any]], numeric: set[str]) -> dict[str, Any]:
    """A V2 (Open Inference) request: one input per feature."""
    return {
        "inputs": [
            {
                "name": n,
                "shape": [len(rows)],
                "datatype": "FP64" if n in numeric else "BYTES",
                "data": [r[n] for r in rows],
            }
            for n in rows[0]
        ]
    }


def metric(url: str, name: str, having: str = "") -> float:
    """Sum of a counter over its label sets (those containing `having`), from a /metrics page."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith((f"{name} ", f"{name}{{")) and having in line
    )


def profile(pid: int, seconds: float, out: Path) -> list[tuple[str, float]]:
    """Sample the process with py-spy for `seconds`; the functions with the most on-CPU time of
    their own (share of samples), top 12."""
    subprocess.run(
        [str(BIN / "py-spy"), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250", "--format", "raw",
         "--output", str(out), "--nonblocking"],
        check=True, capture_output=True,
    )  # fmt: skip
    own: collections.Counter[str] = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        function, _, where = stack.rsplit(";", 1)[-1].partition(" (")
        module = re.sub(r"^(.*/)?(site-packages/|lib/python3\.\d+/)?", "", where.rsplit(":", 1)[0])
        own[f"{function} ({module})"] += int(count)
    for waiting in IDLE:  # threads parked on a lock or a selector: not work
        own.pop(waiting, None)
    total = sum(own.values())
    return [(frame, count / total) for frame, count in own.most_common(12)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "serving.json")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: `make system-deps` (Debian package wrk)", file=sys.stderr)
        return 2
    work = args.out.parent / "serving"
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    with terminable(), contextlib.ExitStack() as stack:
        mlflow_url = stack.enter_context(local.mlflow_server(work))
        env = local.child_env(MLFLOW_TRACKING_URI=mlflow_url)

        frame, rows, _ = table_rows(seed=7, rows=4000, drift=0.0)
        write_version(str(work / "data" / "churn"), frame)
        training = {"model_name": MODEL, "experiment": MODEL, "dataset": {"uri": str(work / "data" / "churn")}}
        (work / "training.yaml").write_text(yaml.safe_dump(training))
        trained = local.train(work / "training.yaml", work / "logs" / "training.log", env=env, timeout=900)
        print(f"model {MODEL} v{trained['version']} registered and promoted to champion", flush=True)

        (work / "monitor.yaml").write_text(yaml.safe_dump({"model_name": MODEL, "profile_poll_seconds": 60}))
        monitor_url = stack.enter_context(local.monitor(work / "monitor.yaml", work / "logs" / "monitor.log", env=env))
        # Cold start: process start until ready to answer with the model loaded - what a new replica costs
        # once its node and image are there (README's serving modes table quotes it).
        cold: dict[str, list[float]] = collections.defaultdict(list)

        def started(name: str, context: Any) -> Any:
            began = time.perf_counter()
            value = stack.enter_context(context)
            cold[name].append(time.perf_counter() - began)
            return value

        for attempt in range(2):  # two more starts of ours, stopped at once: four samples in all
            began = time.perf_counter()
            with local.predictor(work / "logs" / f"predictor-cold-{attempt}.log", MODEL, tracking_uri=mlflow_url):
                cold["ours"].append(time.perf_counter() - began)
        ours_url = started(
            "ours",
            local.predictor(
                work / "logs" / "predictor.log", MODEL, tracking_uri=mlflow_url, env={"MONITOR_URL": monitor_url}
            ),
        )
        unlogged_url = started(
            "ours", local.predictor(work / "logs" / "predictor-unlogged.log", MODEL, tracking_uri=mlflow_url)
        )
        mlserver_url = started("mlserver", mlserver(work, mlflow_url, f"models:/{MODEL}/{trained['version']}"))
        port = free_port()
        started(
            "mlflow",
            server(
                [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{MODEL}@champion", "-h", "127.0.0.1", "-p", str(port),
                 "--env-manager", "local", "--workers", "1"],
                ready=http_ok(f"http://127.0.0.1:{port}/ping"), log=work / "logs" / "mlflow-serve.log", env=env, timeout=180,
                name="mlflow models serve",
            ),
        )  # fmt: skip
        mlflow_url_serve = f"http://127.0.0.1:{port}"
        numeric = {c for c in frame.columns if frame[c].dtype.kind in "fiu"}
        v1, v2 = {"instances": rows[:1]}, v2_body(rows[:1], numeric)
        targets = {  # name: (URL, wrk script, the processes whose CPU it uses)
            "ours": (f"{ours_url}/v1/models/churn:predict", wrk_script(v1, work / "ours.lua"),
                     {"predictor": ours_url, "monitor": monitor_url}),
            "ours_v2": (f"{ours_url}/v2/models/churn/infer", wrk_script(v2, work / "ours-v2.lua"),
                        {"predictor": ours_url, "monitor": monitor_url}),
            "ours_unlogged": (f"{unlogged_url}/v1/models/churn:predict", wrk_script(v1, work / "unlogged.lua"),
                              {"predictor": unlogged_url}),
            "mlserver": (f"{mlserver_url}/v2/models/churn/infer", wrk_script(v2, work / "mlserver.lua"),
                         {"server": mlserver_url}),
            "mlflow": (f"{mlflow_url_serve}/invocations", wrk_script({"dataframe_records": rows[:1]}, work / "mlflow.lua"),
                       {"server": mlflow_url_serve}),
        }  # fmt: skip
        # Same model, same answer: MLflow's pyfunc (both MLflow servers) returns predict_proba's rows, ours P(churn).
        want = httpx.post(targets["ours"][0], json={"instances": rows[:50]}, timeout=30).json()["predictions"]
        answers = {
            "ours V2": httpx.post(targets["ours_v2"][0], json=v2_body(rows[:50], numeric), timeout=30).json()["outputs"][0]["data"],
            "MLServer": [p[1] for p in _v2_rows(httpx.post(targets["mlserver"][0], json=v2_body(rows[:50], numeric), timeout=30).json())],
            "mlflow models serve": [p[1] for p in httpx.post(targets["mlflow"][0], json={"dataframe_records": rows[:50]}, timeout=30).json()["predictions"]],
        }  # fmt: skip
        for peer, answer in answers.items():
            gap = max(abs(p - q) for p, q in zip(want, answer, strict=True))
            if gap > 1e-6:
                raise RuntimeError(f"{peer} disagrees with ours on the same model's predictions (by up to {gap:.2g})")

        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        processes = {
            name: {role: [_pid_listening(u)] for role, u in target[2].items()} for name, target in targets.items()
        }
        order = list(targets)
        for index in range(args.rounds):
            for name in order[index % len(order) :] + order[: index % len(order)]:  # rotate who goes first
                url, script, _ = targets[name]
                wrk(url, script, args.warmup, args.connections, args.threads)
                before = {role: cpu_seconds(pids) for role, pids in processes[name].items()}
                result = wrk(url, script, args.seconds, args.connections, args.threads)
                for role, pids in processes[name].items():  # where the CPU goes, per request
                    result[f"{role}_cpu_ms_per_request"] = (
                        (cpu_seconds(pids) - before[role]) * 1000 / result["requests"]
                    )
                rounds[name].append(result)
                cpu = ", ".join(f"{role} {result[f'{role}_cpu_ms_per_request']:.2f}" for role in processes[name])
                print(
                    f"round {index + 1} {name:13}: {result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                    f"p99 {result['p99_ms']:7.2f} ms  errors {result['errors']:.0f}  CPU ms/request: {cpu}",
                    flush=True,
                )
        time.sleep(3)  # the last prediction-log batches reach the monitor
        logged = metric(monitor_url, "mlops_monitor_records_total", 'outcome="accepted"')
        dropped = metric(ours_url, "mlops_prediction_log_dropped_total")
        served = metric(ours_url, "mlops_predictions_total")

        top: list[tuple[str, float]] = []
        if (BIN / "py-spy").exists():  # one more round of ours, sampled
            url, script, _ = targets["ours"]
            pool = concurrent.futures.ThreadPoolExecutor(1)
            load = pool.submit(wrk, url, script, args.seconds + 2, args.connections, args.threads)
            time.sleep(1)
            top = profile(_pid_listening(ours_url), args.seconds, work / "profile.txt")
            if load.result()["errors"]:
                raise RuntimeError("requests failed during the profiled round")
            pool.shutdown()

    median = {
        name: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for name, results in rounds.items()
    }
    throughput_ratio = median["ours"]["rps"] / median["mlflow"]["rps"]
    p99_ratio = median["ours"]["p99_ms"] / median["mlflow"]["p99_ms"]
    mlserver_ratio = median["ours_v2"]["rps"] / median["mlserver"]["rps"]
    mlserver_p99_ratio = median["ours_v2"]["p99_ms"] / median["mlserver"]["p99_ms"]
    logging_cost = 1 - median["ours"]["rps"] / median["ours_unlogged"]["rps"]
    summary = {
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": rounds,
        "median": median,
        "throughput_ratio": throughput_ratio,
        "p99_ratio": p99_ratio,
        "mlserver": {"throughput_ratio": mlserver_ratio, "p99_ratio": mlserver_p99_ratio},
        "logging_cost": logging_cost,
        "prediction_logging": {"served": served, "logged_to_monitor": logged, "dropped": dropped},
        "profile_top_own_time": top,
        "cold_start_seconds": {
            name: {"samples": times, "median": statistics.median(times)} for name, times in cold.items()
        },
    }
    args.out.write_text(json.dumps(summary, indent=2))
    print(
        f"prediction logging: {served:.0f} predictions served, {logged:.0f} logged to the monitor, {dropped:.0f} dropped"
    )
    starts = {name: statistics.median(times) for name, times in cold.items()}
    print(
        "cold start (process start to ready, model loaded from MLflow; median): "
        + ", ".join(f"{name} {seconds:.1f} s ({len(cold[name])} starts)" for name, seconds in starts.items())
    )
    if top:
        print("where the predictor's time goes (py-spy, own time, share of samples):")
        for frame, share in top:
            print(f"  {share:6.1%}  {frame}")
    print(
        f"BENCH serving throughput_ratio={throughput_ratio:.1f} p99_ratio={p99_ratio:.3f} "
        f"ours_rps={median['ours']['rps']:.0f} mlflow_rps={median['mlflow']['rps']:.0f} "
        f"ours_p99_ms={median['ours']['p99_ms']:.2f} mlflow_p99_ms={median['mlflow']['p99_ms']:.2f} connections={args.connections}"
    )
    print(
        f"BENCH serving-mlserver throughput_ratio={mlserver_ratio:.1f} p99_ratio={mlserver_p99_ratio:.3f} "
        f"logging_cost={logging_cost:.3f} ours_v2_rps={median['ours_v2']['rps']:.0f} "
        f"mlserver_rps={median['mlserver']['rps']:.0f} ours_v2_p99_ms={median['ours_v2']['p99_ms']:.2f} "
        f"mlserver_p99_ms={median['mlserver']['p99_ms']:.2f} ours_unlogged_rps={median['ours_unlogged']['rps']:.0f} "
        f"connections={args.connections}"
    )
    print(
        f"BENCH serving-cold-start ours_s={starts['ours']:.2f} mlserver_s={starts['mlserver']:.2f} "
        f"mlflow_s={starts['mlflow']:.2f} ratio_mlserver={starts['ours'] / starts['mlserver']:.2f}"
    )
    return 0


def _v2_rows(body: dict[str, Any]) -> list[list[float]]:
    """MLServer's answer as rows: its one output holds predict_proba's [rows, 2] values, flattened."""
    (output,) = body["outputs"]
    data, (_, width) = output["data"], output["shape"]
    return [data[i : i + width] for i in range(0, len(data), width)]


def _pid_listening(url: str) -> int:
    port = int(url.rsplit(":", 1)[1])
    return next(
        c.pid
        for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid
    )


if __name__ == "__main__":
    sys.exit(main())
