"""Serving throughput and tail latency: our KServe predictor against `mlflow models serve`.

One run, same machine, same registered model (`models:/churn-classifier@champion`), same load
generator (wrk), same concurrency, one worker process each. Our predictor logs every prediction to a
running drift monitor, as in production. Rounds alternate between the two servers after a warm-up
each; medians are reported. The payload is one row (a V1 `instances` request for ours, a
`dataframe_records` request for MLflow's), the shape of an online scoring call.

With py-spy installed, one more round of ours is sampled and the functions the predictor spends its
time in are listed.

Last line: BENCH serving throughput_ratio=<ours/mlflow> p99_ratio=<ours/mlflow> ...
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
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
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

        frame, rows = table_rows(seed=7, rows=4000, drift=0.0)
        write_version(str(work / "data" / "churn"), frame)
        training = {"model_name": MODEL, "experiment": MODEL, "dataset": {"uri": str(work / "data" / "churn")}}
        (work / "training.yaml").write_text(yaml.safe_dump(training))
        trained = local.train(work / "training.yaml", work / "logs" / "training.log", env=env, timeout=900)
        print(f"model {MODEL} v{trained['version']} registered and promoted to champion", flush=True)

        (work / "monitor.yaml").write_text(yaml.safe_dump({"model_name": MODEL, "profile_poll_seconds": 60}))
        monitor_url = stack.enter_context(local.monitor(work / "monitor.yaml", work / "logs" / "monitor.log", env=env))
        ours_url = stack.enter_context(
            local.predictor(
                work / "logs" / "predictor.log", MODEL, tracking_uri=mlflow_url, env={"MONITOR_URL": monitor_url}
            )
        )
        port = free_port()
        stack.enter_context(
            server(
                [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{MODEL}@champion", "-h", "127.0.0.1", "-p", str(port),
                 "--env-manager", "local", "--workers", "1"],
                ready=http_ok(f"http://127.0.0.1:{port}/ping"), log=work / "logs" / "mlflow-serve.log", env=env, timeout=180,
                name="mlflow models serve",
            )
        )  # fmt: skip
        targets = {
            "ours": (f"{ours_url}/v1/models/churn:predict", wrk_script({"instances": rows[:1]}, work / "ours.lua")),
            "mlflow": (
                f"http://127.0.0.1:{port}/invocations",
                wrk_script({"dataframe_records": rows[:1]}, work / "mlflow.lua"),
            ),
        }
        # Same model, same answer: MLflow's pyfunc returns predict_proba's rows, ours P(churn).
        ours_answer = httpx.post(targets["ours"][0], json={"instances": rows[:50]}, timeout=30).json()["predictions"]
        mlflow_answer = httpx.post(targets["mlflow"][0], json={"dataframe_records": rows[:50]}, timeout=30).json()
        gap = max(abs(p - q[1]) for p, q in zip(ours_answer, mlflow_answer["predictions"], strict=True))
        if gap > 1e-6:
            raise RuntimeError(f"the two servers disagree on the same model's predictions (by up to {gap:.2g})")

        rounds: dict[str, list[dict[str, float]]] = {"ours": [], "mlflow": []}
        processes = {
            "ours": {"predictor": [_pid_listening(ours_url)], "monitor": [_pid_listening(monitor_url)]},
            "mlflow": {"server": [_pid_listening(f"http://127.0.0.1:{port}")]},
        }
        for index in range(args.rounds):
            for name in ("ours", "mlflow") if index % 2 == 0 else ("mlflow", "ours"):
                url, script = targets[name]
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
                    f"round {index + 1} {name:6}: {result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                    f"p99 {result['p99_ms']:7.2f} ms  errors {result['errors']:.0f}  CPU ms/request: {cpu}",
                    flush=True,
                )
        time.sleep(3)  # the last prediction-log batches reach the monitor
        logged = metric(monitor_url, "mlops_monitor_records_total", 'outcome="accepted"')
        dropped = metric(ours_url, "mlops_prediction_log_dropped_total")
        served = metric(ours_url, "mlops_predictions_total")

        top: list[tuple[str, float]] = []
        if (BIN / "py-spy").exists():  # one more round of ours, sampled
            url, script = targets["ours"]
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
    summary = {
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": rounds,
        "median": median,
        "throughput_ratio": throughput_ratio,
        "p99_ratio": p99_ratio,
        "prediction_logging": {"served": served, "logged_to_monitor": logged, "dropped": dropped},
        "profile_top_own_time": top,
    }
    args.out.write_text(json.dumps(summary, indent=2))
    print(
        f"prediction logging: {served:.0f} predictions served, {logged:.0f} logged to the monitor, {dropped:.0f} dropped"
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
    return 0


def _pid_listening(url: str) -> int:
    port = int(url.rsplit(":", 1)[1])
    return next(
        c.pid
        for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid
    )


if __name__ == "__main__":
    sys.exit(main())
