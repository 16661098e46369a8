"""Every contract between the stack and its apps, round-tripped through what the stack renders:
the environment, config files and Secrets each component writes are parsed with the model the app
parses them with, and say what the stack config said.

The apps' side (tests/apps/test_contracts.py) parses the same rendered files, kept as fixtures that
this module checks are current, with the apps' own loaders."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from mlops_platform.contracts import (
    CREDENTIAL_KEYS,
    BootstrapUsersSettings,
    EnvSettings,
    FeatureRepoSettings,
    MlflowClientSettings,
    MonitorJobConfig,
    PredictorSettings,
    TrainingEnv,
    TrainingJobConfig,
)

from components.testing import Graph, Resource
from tests.infra.conftest import ROOT, stack_config

FIXTURES = ROOT / "tests" / "fixtures"
CONTAINER_CONVENTIONS = {"HOME"}
"""Variables every container gets that are not an app's setting."""


def named(graph: Graph, type_: str, name: str) -> Resource:
    (found,) = [r for r in graph.of_type(type_) if r.get("metadata.name") == name]
    return found


def plain_env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def assert_only_contract_variables(container: dict[str, Any], *contracts: type[EnvSettings]) -> None:
    known = {v for contract in contracts for v in contract.variables().values()} | CONTAINER_CONVENTIONS
    unknown = {e["name"] for e in container.get("env", [])} - known
    assert not unknown, f"{container['name']} gets variables no contract declares: {sorted(unknown)}"


def mounted(pod: dict[str, Any], container: dict[str, Any], volume_kind: str, name: str) -> str:
    """Where the container mounts the ConfigMap/Secret `name`."""
    volume = next(
        v
        for v in pod["volumes"]
        if v.get(volume_kind, {}).get("name" if volume_kind == "configMap" else "secretName") == name
    )
    return next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == volume["name"])


def credentials_secret(graph: Graph, container: dict[str, Any], namespace: str) -> None:
    (ref,) = container["envFrom"]
    secret = named(graph, "kubernetes:core/v1:Secret", ref["secretRef"]["name"])
    assert secret.get("metadata.namespace") == namespace
    assert set(secret.get("stringData")) == set(CREDENTIAL_KEYS)


def test_the_predictor_reads_what_its_endpoint_is_configured_with(graph: Graph, stack: str) -> None:
    config = stack_config(stack)
    monitored = config["monitor"].get("endpoint") or config["serving"]["endpoints"][0]["name"]
    models = {e["name"]: e["model"] for e in config["serving"]["endpoints"]}
    for endpoint in config["serving"]["endpoints"]:
        isvc = named(graph, "kubernetes:serving.kserve.io/v1beta1:InferenceService", endpoint["name"])
        container = isvc.get("spec.predictor.containers.0")
        assert_only_contract_variables(container, PredictorSettings, MlflowClientSettings)
        settings = PredictorSettings.from_environ(plain_env(container))
        assert settings.model_name == endpoint["model"]
        assert settings.model_alias == endpoint.get("alias", "champion")
        logged = endpoint["model"] == models[monitored]
        assert settings.monitor_url == ("http://drift-monitor.mlops.svc.cluster.local:8080" if logged else None)
        assert settings.feast_url == "http://feast.mlops.svc.cluster.local:6566"
        assert MlflowClientSettings.from_environ(plain_env(container)).tracking_uri == (
            "http://mlflow.mlops.svc.cluster.local:5000"
        )
        credentials_secret(graph, container, "models")


def test_the_monitor_reads_its_settings_from_the_file_the_stack_mounts(graph: Graph, stack: str) -> None:
    config = stack_config(stack)
    rendered = named(graph, "kubernetes:core/v1:ConfigMap", "drift-monitor-config").get("data")["monitor.yaml"]
    settings = MonitorJobConfig.model_validate(yaml.safe_load(rendered))
    assert settings.window_size == config["monitor"]["windowSize"]
    assert settings.consecutive_windows == config["monitor"].get("consecutiveWindows", 3)
    assert settings.cooldown_seconds == 60 * config["monitor"].get("cooldownMinutes", 360)
    assert settings.model_name == "churn-classifier" and settings.alias == "champion"
    deployment = named(graph, "kubernetes:apps/v1:Deployment", "drift-monitor")
    pod = deployment.get("spec.template.spec")
    container = pod["containers"][0]
    config_path = container["command"][container["command"].index("--config") + 1]
    assert config_path == f"{mounted(pod, container, 'configMap', 'drift-monitor-config')}/monitor.yaml"
    assert settings.retrain.backend == "kubernetes" and settings.retrain.namespace == "mlops"
    template_dir = mounted(pod, container, "configMap", "training-job-template")
    assert str(settings.retrain.job_template) == f"{template_dir}/job-template.yaml"
    assert_only_contract_variables(container, MlflowClientSettings)
    credentials_secret(graph, container, "mlops")


def test_training_runs_read_their_config_and_environment(graph: Graph, stack: str) -> None:
    config = stack_config(stack)
    rendered = named(graph, "kubernetes:core/v1:ConfigMap", "training-config").get("data")["config.yaml"]
    job = TrainingJobConfig.model_validate(yaml.safe_load(rendered))
    model = config["training"]["model"]
    assert (job.model_name, job.experiment) == (model, model)
    assert job.dataset.uri.startswith("s3://mlops-artifacts-data") and job.dataset.uri.endswith(f"/datasets/{model}")
    assert job.promotion.margin == config["training"].get("promotionMargin", 0.005)
    cron = named(graph, "kubernetes:batch/v1:CronJob", "training")
    pod = cron.get("spec.jobTemplate.spec.template.spec")
    container = pod["containers"][0]
    config_path = container["command"][container["command"].index("--config") + 1]
    assert config_path == f"{mounted(pod, container, 'configMap', 'training-config')}/config.yaml"
    assert_only_contract_variables(container, TrainingEnv, MlflowClientSettings)
    env = TrainingEnv.from_environ(plain_env(container))
    assert env.image_ref == container["image"]
    assert env.pushgateway_url == "http://pushgateway-prometheus-pushgateway.monitoring.svc.cluster.local:9091"
    credentials_secret(graph, container, "mlops")


def test_the_account_bootstrap_reads_the_users_the_component_mounts(graph: Graph) -> None:
    job = named(graph, "kubernetes:batch/v1:Job", "mlflow-bootstrap-users")
    pod = job.get("spec.template.spec")
    container = pod["containers"][0]
    assert_only_contract_variables(container, BootstrapUsersSettings)
    settings = BootstrapUsersSettings.from_environ({**plain_env(container), "MLFLOW_ADMIN_PASSWORD": "from-secret"})
    assert settings.mlflow_url == "http://mlflow:5000" and settings.admin_user == "admin"
    assert settings.users_dir == mounted(pod, container, "secret", "mlflow-users")
    secret_vars = {e["name"] for e in container["env"] if "valueFrom" in e}
    assert secret_vars == {BootstrapUsersSettings.variables()["admin_password"]}
    users = named(graph, "kubernetes:core/v1:Secret", "mlflow-users").get("stringData")
    assert set(users) == {"training", "monitor", "serving"}


def test_the_feature_repository_reads_its_offline_root(graph: Graph) -> None:
    deployment = named(graph, "kubernetes:apps/v1:Deployment", "feast")
    container = deployment.get("spec.template.spec.containers.0")
    assert_only_contract_variables(container, FeatureRepoSettings)
    assert FeatureRepoSettings.from_environ(plain_env(container)).offline_root.endswith("/feast")


def test_a_plain_value_the_app_would_refuse_is_refused_when_rendered() -> None:
    with pytest.raises(ValueError, match="MAX_BATCH_ROWS"):
        PredictorSettings.env(max_batch_rows=0)
    with pytest.raises(TypeError, match="has no setting model"):
        PredictorSettings.env(model="churn")  # the field is model_name


@pytest.mark.parametrize(
    ("fixture", "configmap", "key"),
    [
        ("training-job-template.yaml", "training-job-template", "job-template.yaml"),
        ("monitor.yaml", "drift-monitor-config", "monitor.yaml"),
        ("training-config.yaml", "training-config", "config.yaml"),
    ],
)
def test_the_apps_tests_parse_what_the_dev_stack_renders(
    graphs: dict[str, Graph], fixture: str, configmap: str, key: str
) -> None:
    published = named(graphs["dev"], "kubernetes:core/v1:ConfigMap", configmap).get("data")[key]
    text = (FIXTURES / fixture).read_text()
    assert yaml.safe_load(text) == yaml.safe_load(published), f"regenerate tests/fixtures/{fixture} from the dev plan"
