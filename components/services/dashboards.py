"""The Grafana dashboards, built with grafana-foundation-sdk's typed builders (not hand-written JSON):
a wrong field or type fails here, at build time. `python -m components.services.dashboards --write` writes
them to assets/dashboards/<name>.json, the files the components deploy (as ConfigMaps Grafana's
sidecar loads) and the demo queries; a test checks the files are exactly what the builders make.

Every query uses only metrics of the metrics contract (apps/common/metrics.py); after the demo loop,
a test runs each panel's query against the demo's Prometheus and wants series back.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import common, dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement
from grafana_foundation_sdk.models.dashboard import DataSourceRef, GridPos, VariableRefresh

from ..kit.observability import DASHBOARDS_DIR

DIRECTORY = DASHBOARDS_DIR
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
MODEL = 'model=~"$model"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    queries: Sequence[Query]
    unit: str = "short"
    kind: str = "timeseries"
    description: str = ""


def _target(query: Query, ref: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(query.expr).legend_format(query.legend).ref_id(ref).datasource(DATASOURCE)


def _panel(panel: Panel, position: int) -> Any:
    if panel.kind == "stat":
        builder: Any = stat.Panel().reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    else:
        legend = common.VizLegendOptions().display_mode(LegendDisplayMode.LIST).placement(LegendPlacement.BOTTOM)
        builder = timeseries.Panel().legend(legend.show_legend(True))
    builder = builder.title(panel.title).unit(panel.unit).datasource(DATASOURCE)
    builder = builder.grid_pos(GridPos(x=12 * (position % 2), y=8 * (position // 2), w=12, h=8))
    if panel.description:
        builder = builder.description(panel.description)
    for index, query in enumerate(panel.queries):
        builder = builder.with_target(_target(query, chr(ord("A") + index)))
    return builder


MODEL_VARIABLE = "label_values(mlops_predictions_total, model)"


def build(
    uid: str, title: str, panels: Sequence[Panel], *, per_model: bool, models: str = MODEL_VARIABLE
) -> dict[str, Any]:
    board = (
        dashboard.Dashboard(title)
        .uid(uid)
        .tags(["mlops"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )
    if per_model:
        board = board.with_variable(
            dashboard.QueryVariable("model")
            .label("Model")
            .datasource(DATASOURCE)
            .query(models)
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .include_all(True)
            .multi(True)
        )
    for position, panel in enumerate(panels):
        board = board.with_panel(_panel(panel, position))
    return dict(json.loads(JSONEncoder(sort_keys=True, indent=2).encode(board.build())))


def _latency(quantile: str) -> Query:
    return Query(
        f"histogram_quantile({quantile}, sum by (model, le) (rate(mlops_prediction_latency_seconds_bucket{{{MODEL}}}[5m])))",
        f"p{int(float(quantile) * 100)} {{{{model}}}}",
    )


SERVING = [
    Panel("Latency p50 / p95 / p99", [_latency("0.50"), _latency("0.95"), _latency("0.99")], "s"),
    Panel(
        "Throughput (requests/s)",
        [Query(f"sum by (model, version) (rate(mlops_predictions_total{{{MODEL}}}[5m]))", "{{model}} v{{version}}")],
        "reqps",
    ),
    Panel(
        "Error rate by reason",
        [
            Query(
                f"sum by (model, reason) (rate(mlops_prediction_errors_total{{{MODEL}}}[5m])) / ignoring(reason) "
                f"group_left sum by (model) (rate(mlops_predictions_total{{{MODEL}}}[5m]) + 1e-9)",
                "{{model}} {{reason}}",
            )
        ],
        "percentunit",
        description="Client errors (invalid_input, too_large...) and internal ones, as a share of answered requests.",
    ),
    Panel(
        "Serving version",
        [
            Query(
                f"max by (model, version, alias) (mlops_model_version_info{{{MODEL}}})",
                "{{model}} {{alias}} = v{{version}}",
            )
        ],
    ),
    Panel(
        "Prediction logs dropped (/s)",
        [Query(f"sum by (model) (rate(mlops_prediction_log_dropped_total{{{MODEL}}}[5m]))", "{{model}}")],
        description="Records that did not fit the predictor's queue while the monitor was away.",
    ),
]

MODEL_HEALTH = [
    Panel(
        "Feature drift (PSI)",
        [
            Query(
                f'max by (model, feature) (mlops_feature_drift_score{{{MODEL},method="psi"}})', "{{model}} {{feature}}"
            )
        ],
    ),
    Panel("Features drifted", [Query(f"sum by (model) (mlops_feature_drift_detected{{{MODEL}}})", "{{model}}")]),
    Panel(
        "Prediction drift",
        [Query(f"max by (model, method) (mlops_prediction_drift_score{{{MODEL}}})", "{{model}} {{method}}")],
    ),
    Panel(
        "Data quality (pooled)",
        [Query(f"min by (model, check) (mlops_data_quality_score{{{MODEL}}})", "{{model}} {{check}}")],
        "percentunit",
    ),
    Panel(
        "Feature quality: share failing, against the contract's limit",
        [
            Query(
                f"max by (model, feature, check) (mlops_feature_quality{{{MODEL}}}) > 0",
                "{{feature}} {{check}}",
            ),
            Query(
                f'max by (model, feature, check) (mlops_feature_quality_limit{{{MODEL},check="nulls"}})',
                "limit {{feature}} {{check}}",
            ),
        ],
        "percentunit",
        description="Per feature: nulls, schema violations, out-of-range values, unseen categories (FeatureQualityBreached).",
    ),
    Panel(
        "Model performance: estimated (no labels) and realized",
        [
            Query(
                f'max by (model, version, metric) (mlops_model_performance{{{MODEL},metric=~"estimated_.*"}})',
                "{{model}} v{{version}} {{metric}}",
            ),
            Query(
                f'max by (model, version, metric) (mlops_model_performance{{{MODEL},metric!~"estimated_.*"}})',
                "{{model}} v{{version}} {{metric}} (labelled)",
            ),
        ],
        description="CBPE from the champion's calibrated probabilities, and the realized values once labels arrive.",
    ),
    Panel(
        "Retraining triggers and training runs",
        [
            Query(
                f"sum by (model, reason) (increase(mlops_retrain_triggers_total{{{MODEL}}}[1h]))",
                "trigger {{model}} {{reason}}",
            ),
            Query(
                f"sum by (model, outcome) (increase(mlops_training_runs_total{{{MODEL}}}[1h]))",
                "run {{model}} {{outcome}}",
            ),
        ],
    ),
    Panel(
        "Monitor records and refusals (/s)",
        [
            Query(
                f"sum by (model, outcome) (rate(mlops_monitor_records_total{{{MODEL}}}[5m]))", "{{model}} {{outcome}}"
            ),
            Query(
                f"sum by (model, kind, reason) (rate(mlops_monitor_rejected_total{{{MODEL}}}[5m])) > 0",
                "refused {{kind}} {{reason}}",
            ),
        ],
    ),
]

GPU = [
    Panel(
        "GPU utilisation",
        [Query("avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)", "{{Hostname}} gpu{{gpu}}")],
        "percent",
    ),
    Panel(
        "GPU memory used",
        [Query("sum by (Hostname, gpu) (DCGM_FI_DEV_FB_USED) * 1024 * 1024", "{{Hostname}} gpu{{gpu}}")],
        "bytes",
    ),
    Panel(
        "Idle GPUs while allocated (util < 5%)",
        [
            Query(
                'count(avg by (Hostname, gpu, pod) (DCGM_FI_DEV_GPU_UTIL{pod!=""}) < 5) or vector(0)',
                "idle allocated GPUs",
            )
        ],
        kind="stat",
    ),
    Panel(
        "GPUs by workload",
        [Query('count by (namespace, pod) (DCGM_FI_DEV_GPU_UTIL{pod!=""})', "{{namespace}}/{{pod}}")],
    ),
    Panel("GPU power", [Query("sum by (Hostname) (DCGM_FI_DEV_POWER_USAGE)", "{{Hostname}}")], "watt"),
]


LLM_MODEL = 'model_name=~"$model"'


def _llm_quantiles(histogram: str) -> list[Query]:
    return [
        Query(
            f"histogram_quantile({q}, sum by (model_name, le) (rate({histogram}_bucket{{{LLM_MODEL}}}[5m])))",
            f"p{int(float(q) * 100)} {{{{model_name}}}}",
        )
        for q in ("0.50", "0.95")
    ]


LLM = [
    Panel(
        "Time to first token p50 / p95, and the SLO",
        [
            *_llm_quantiles("vllm:time_to_first_token_seconds"),
            Query(f"max by (model_name) (mlops:llm_ttft_slo_seconds{{{LLM_MODEL}}})", "SLO {{model_name}}"),
        ],
        "s",
        description="LlmTimeToFirstTokenOverSlo fires when p95 stays above the endpoint's ttftSloSeconds.",
    ),
    Panel("Time per output token p50 / p95", _llm_quantiles("vllm:request_time_per_output_token_seconds"), "s"),
    Panel("End-to-end request latency p50 / p95", _llm_quantiles("vllm:e2e_request_latency_seconds"), "s"),
    Panel(
        "Tokens per second",
        [
            Query(
                f"sum by (model_name) (rate(vllm:generation_tokens_total{{{LLM_MODEL}}}[5m]))",
                "generated {{model_name}}",
            ),
            Query(f"sum by (model_name) (rate(vllm:prompt_tokens_total{{{LLM_MODEL}}}[5m]))", "prompt {{model_name}}"),
        ],
    ),
    Panel(
        "Requests running and waiting",
        [
            Query(f"sum by (model_name) (vllm:num_requests_running{{{LLM_MODEL}}})", "running {{model_name}}"),
            Query(f"sum by (model_name) (vllm:num_requests_waiting{{{LLM_MODEL}}})", "waiting {{model_name}}"),
        ],
        description="KEDA scales Standard-mode endpoints on the waiting requests per replica.",
    ),
    Panel(
        "KV cache usage",
        [Query(f"max by (model_name) (vllm:kv_cache_usage_perc{{{LLM_MODEL}}})", "{{model_name}}")],
        "percentunit",
    ),
    Panel(
        "Preemptions (/s)",
        [Query(f"sum by (model_name) (rate(vllm:num_preemptions_total{{{LLM_MODEL}}}[5m]))", "{{model_name}}")],
        description="Sequences evicted from a full KV cache and recomputed later.",
    ),
    Panel(
        "Errors (/s)",
        [
            Query(
                'sum by (job, status) (rate(http_requests_total{handler=~"/v1/.*",status=~"4xx|5xx"}[5m]))',
                "{{job}} {{status}}",
            ),
            Query(
                f'sum by (model_name, finished_reason) (rate(vllm:request_success_total{{{LLM_MODEL},finished_reason=~"error|abort"}}[5m]))',
                "{{model_name}} {{finished_reason}}",
            ),
        ],
        description="HTTP errors of the OpenAI API (4xx: the client's; 5xx: LlmRequestsFailing), and requests the engine ended in error or aborted.",
    ),
]


def all_dashboards() -> dict[str, dict[str, Any]]:
    """File stem -> dashboard JSON model."""
    return {
        "serving": build("mlops-serving", "MLOps / Serving", SERVING, per_model=True),
        "model-health": build("mlops-model-health", "MLOps / Model health", MODEL_HEALTH, per_model=True),
        "gpu": build("mlops-gpu", "MLOps / GPUs", GPU, per_model=False),
        "llm": build(
            "mlops-llm",
            "MLOps / LLM endpoints",
            LLM,
            per_model=True,
            models="label_values(vllm:num_requests_running, model_name)",
        ),
    }


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.services.dashboards", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--write", action="store_true", help=f"write the dashboards to {DIRECTORY}")
    args = parser.parse_args(argv)
    stale = []
    for stem, board in all_dashboards().items():
        path = DIRECTORY / f"{stem}.json"
        if args.write:
            path.write_text(render(board))
        elif not path.exists() or path.read_text() != render(board):
            stale.append(path.name)
    if stale:
        print(f"out of date: {', '.join(stale)} (python -m components.services.dashboards --write)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
