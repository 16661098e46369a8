"""Request-rate autoscaling through KEDA for Standard-mode endpoints: what the plan declares, the query
evaluated by Prometheus' own engine (promtool), and the combinations that cannot work refused."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kit.versions import KEDA_CHART
from components.services.model_endpoint import request_rate_query
from components.testing import Graph, ProgramFailed, run_program
from offline.custom_resources import validate
from tests.infra.conftest import run_platform, stack_config


def isvc(graph: Graph, name: str) -> Any:
    return next(
        r
        for r in graph.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
        if r.get("metadata.name") == name
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_keda_endpoints_scale_on_their_request_rate_through_kserves_keda_class(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    churn = isvc(graph, "churn")
    assert churn.get("metadata.annotations")["serving.kserve.io/autoscalerClass"] == "keda"
    predictor = churn.get("spec.predictor")
    assert "scaleMetric" not in predictor and "scaleTarget" not in predictor
    (metric,) = predictor["autoScaling"]["metrics"]
    assert metric["type"] == "External"
    external = metric["external"]
    assert external["metric"]["backend"] == "prometheus"
    assert (
        external["metric"]["serverAddress"]
        == "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090"
    )
    assert external["metric"]["query"] == request_rate_query("models", "churn-predictor")
    wanted = next(e for e in stack_config(stack)["serving"]["endpoints"] if e["name"] == "churn")
    assert external["target"] == {"type": "Value", "value": str(wanted["targetRequestsPerSecond"])}
    assert validate(churn.inputs, "1.33").ok is True  # the InferenceService CRD of KServe v0.20.0
    releases = {r.get("name"): r for r in graph.of_type("kubernetes:helm.sh/v3:Release")}
    keda = releases["keda"]
    assert (keda.get("chart"), keda.get("version"), keda.get("repositoryOpts.repo")) == (
        KEDA_CHART.chart,
        KEDA_CHART.version,
        "https://kedacore.github.io/charts",
    )
    assert keda.get("values.nodeSelector") == {"mlops.platform/node-role": "system"}
    # KServe's controller manages ScaledObjects only if KEDA's CRDs exist when it starts.
    assert (
        keda.urn in releases["kserve"].options["dependencies"]
        or keda.urn in releases["kserve-crd"].options["dependencies"]
    )


def test_an_hpa_endpoint_keeps_cpu_scaling_and_no_keda_is_installed_when_none_asks() -> None:
    platform = stack_config("dev")
    for endpoint in platform["serving"]["endpoints"]:
        endpoint.pop("autoscaler", None)
        endpoint.pop("targetRequestsPerSecond", None)
    platform.pop("llmEndpoints")  # an LLM in Standard mode scales on its queue through KEDA
    graph = run_platform(platform)
    churn = isvc(graph, "churn")
    assert churn.get("metadata.annotations")["serving.kserve.io/autoscalerClass"] == "hpa"
    assert (churn.get("spec.predictor.scaleMetric"), churn.get("spec.predictor.scaleTarget")) == ("cpu", 70)
    assert "keda" not in {r.get("name") for r in graph.of_type("kubernetes:helm.sh/v3:Release")}


def promtool_eval(query: str, series: list[dict[str, str]], tmp_path: Path) -> float:
    """The query's value at 10m over `series` (promtool's input_series notation), computed by
    Prometheus' engine: a test expecting -1 fails and promtool prints what it got."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool not found: `make test` installs it (Debian package prometheus)")
    rules = {"groups": [{"name": "g", "rules": [{"record": "rate_under_test", "expr": query}]}]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    expect = [{"labels": "rate_under_test", "value": -1}]
    test = {
        "interval": "1m",
        "input_series": series,
        "promql_expr_test": [{"expr": "rate_under_test", "eval_time": "10m", "exp_samples": expect}],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "tests": [test]}))
    done = subprocess.run(
        [binary, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    got = re.search(r"got:\s*\{__name__=\"rate_under_test\"\}\s+(\S+)", done.stdout + done.stderr)
    assert done.returncode == 1 and got, done.stdout + done.stderr
    return float(got.group(1))


def test_the_request_rate_query_counts_this_endpoints_pods_only(tmp_path: Path) -> None:
    """Two churn pods answering 60 and 30 requests a minute plus 30 failures a minute (2 req/s in all);
    pods of churn-gpu and of an endpoint named churn-predictor must not count; nor another namespace."""
    query = request_rate_query("models", "churn-predictor")
    series = [
        {
            "series": 'mlops_predictions_total{namespace="models",pod="churn-predictor-7d9f8b6c4-abcde",model="churn"}',
            "values": "0+60x20",
        },
        {
            "series": 'mlops_predictions_total{namespace="models",pod="churn-predictor-7d9f8b6c4-fghij",model="churn"}',
            "values": "0+30x20",
        },
        {
            "series": 'mlops_prediction_errors_total{namespace="models",pod="churn-predictor-7d9f8b6c4-fghij",reason="internal"}',
            "values": "0+30x20",
        },
        {
            "series": 'mlops_predictions_total{namespace="models",pod="churn-gpu-predictor-5c6d7e8f9-klmno",model="churn"}',
            "values": "0+600x20",
        },
        {
            "series": 'mlops_predictions_total{namespace="models",pod="churn-predictor-predictor-5c6d7e8f9-pqrst",model="x"}',
            "values": "0+600x20",
        },
        {
            "series": 'mlops_predictions_total{namespace="other",pod="churn-predictor-7d9f8b6c4-uvwxy",model="churn"}',
            "values": "0+600x20",
        },
    ]
    assert promtool_eval(query, series, tmp_path) == 2.0


def test_the_request_rate_query_is_zero_not_empty_before_any_request_or_error(tmp_path: Path) -> None:
    """An empty result would leave KEDA without a value; a pod that never failed has no error series."""
    query = request_rate_query("models", "churn-predictor")
    series = [
        {
            "series": 'mlops_predictions_total{namespace="models",pod="churn-predictor-7d9f8b6c4-abcde"}',
            "values": "0+60x20",
        }
    ]
    assert promtool_eval(query, series, tmp_path) == 1.0
    assert promtool_eval(query, [{"series": 'up{job="x"}', "values": "1x20"}], tmp_path) == 0.0


# --------------------------------------------------------------------------- refused combinations


def dev_with(**endpoint: Any) -> dict[str, Any]:
    platform = stack_config("dev")
    platform["serving"]["endpoints"][0].update(endpoint)
    return platform


def refused(platform: dict[str, Any]) -> list[str]:
    from components.config import ConfigError, parse_platform_config

    with pytest.raises(ConfigError) as error:
        parse_platform_config(platform, region="us-east-1")
    return [str(p) for p in error.value.problems]


def test_scale_to_zero_in_standard_mode_is_refused_with_keda_too() -> None:
    assert refused(dev_with(minReplicas=0)) == [
        "platform.serving.endpoints[0].minReplicas = 0: Standard mode cannot scale to zero: with no replica running, "
        "no request is measured to wake one (with hpa or keda); use >= 1, or mode Serverless (Knative's activator "
        "holds the request)"
    ]


def test_an_autoscaler_in_serverless_mode_is_refused() -> None:
    platform = dev_with(autoscaler="keda", targetRequestsPerSecond=20)
    platform["serving"]["mode"] = "Serverless"
    assert refused(platform) == [
        'platform.serving.endpoints[0].autoscaler = "keda": Serverless mode scales with Knative (concurrency); '
        "autoscaler applies to mode Standard only",
    ]


def test_a_request_rate_target_without_keda_is_refused() -> None:
    assert refused(dev_with(autoscaler="hpa", targetRequestsPerSecond=20)) == [
        "platform.serving.endpoints[0].targetRequestsPerSecond = 20.0: is the request-rate target of autoscaler keda; "
        "set autoscaler: keda or remove it"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("KEDA", "platform.serving.endpoints[0].autoscaler = \"KEDA\": must be one of: 'hpa' or 'keda'"),
        (0, "platform.serving.endpoints[0].targetRequestsPerSecond = 0: must be > 0.0"),
    ],
)
def test_malformed_autoscaling_values_are_refused(value: Any, message: str) -> None:
    key = "autoscaler" if isinstance(value, str) else "targetRequestsPerSecond"
    assert refused(dev_with(**{key: value})) == [message]


def test_components_refuse_keda_without_what_it_needs() -> None:
    from components.services.model_serving import ModelServing, ModelServingArgs

    def program() -> None:
        ModelServing("kserve", ModelServingArgs(keda=True))

    with pytest.raises(ProgramFailed) as failed:
        run_program(program, config={}, project="team", stack="test")
    assert "keda = true: KEDA reads request rates from Prometheus; give monitoring too" in str(failed.value)


def kserve_scaled_object(isvc: dict[str, Any]) -> dict[str, Any]:
    """The ScaledObject KServe v0.20's KEDA reconciler writes for a predictor (kserve/kserve
    pkg/controller/v1beta1/inferenceservice/reconcilers/keda/keda_reconciler.go: one trigger per
    External metric - type = the backend, metadata serverAddress/query and threshold = the target
    value as %f; minReplicaCount/maxReplicaCount from the predictor; the Deployment as target)."""
    predictor = isvc["spec"]["predictor"]
    name = f"{isvc['metadata']['name']}-predictor"
    triggers = []
    for metric in predictor["autoScaling"]["metrics"]:
        external = metric["external"]
        triggers.append(
            {
                "type": external["metric"]["backend"],
                "metadata": {
                    "serverAddress": external["metric"]["serverAddress"],
                    "query": external["metric"]["query"],
                    "threshold": f"{float(external['target']['value']):f}",
                },
            }
        )
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": isvc["metadata"]["namespace"]},
        "spec": {
            "scaleTargetRef": {"name": name},
            "triggers": triggers,
            "minReplicaCount": predictor["minReplicas"],
            "maxReplicaCount": max(predictor["maxReplicas"], predictor["minReplicas"]),
        },
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_scaled_object_kserve_writes_from_our_endpoint_is_valid_for_keda_2_20(
    graphs: dict[str, Graph], stack: str
) -> None:
    """What KServe makes of the InferenceService, checked against KEDA's own CRD schema and CEL rules."""
    churn = isvc(graphs[stack], "churn")
    scaled = kserve_scaled_object(churn.inputs)
    result = validate(scaled, "1.33")
    assert result.ok is True, result.detail
    assert "KEDA v2.20.2" in result.detail
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus" and float(trigger["metadata"]["threshold"]) > 0
    assert scaled["spec"]["minReplicaCount"] >= 1
