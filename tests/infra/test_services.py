"""The services on the cluster - MLflow, Feast, monitoring, KServe - and the apps' deployments,
asserted on the recorded graph of each shipped stack."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from apps.common.metrics import known_series
from components.kit import llm
from components.kit.versions import KSERVE_CHART, KSERVE_CRD_CHART, KUBE_PROMETHEUS_STACK_CHART
from components.services.monitoring import DASHBOARDS_DIR, alert_rule_files, dashboards
from components.testing import Graph, Resource, Secret, run_program, unwrap
from policies.rules.kubernetes import LONG_RUNNING, WORKLOADS, containers, image_problem, pod_spec
from tests.infra.conftest import ROOT, stack_config

ROOT_AGENTS = {"nvidia-device-plugin", "dcgm-exporter"}


def workloads(graph: Graph) -> list[Resource]:
    return [r for r in graph if r.type in WORKLOADS]


def named(graph: Graph, type_: str, name: str) -> Resource:
    found = [r for r in graph.of_type(type_) if r.get("metadata.name") == name]
    assert len(found) == 1, f"{type_} {name}: {len(found)} found"
    return found[0]


def secrets_in(graph: Graph) -> set[str]:
    found: set[str] = set()

    def walk(value: Any, inside: bool) -> None:
        if isinstance(value, Secret):
            walk(value.value, True)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v, inside)
        elif isinstance(value, list):
            for v in value:
                walk(v, inside)
        elif inside and isinstance(value, str) and len(value) >= 8:
            found.add(value)

    for resource in graph:
        walk(resource.inputs, False)
    return found


def plain_strings(value: Any) -> list[str]:
    if isinstance(value, Secret):
        return []
    if isinstance(value, dict):
        return [s for v in value.values() for s in plain_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in plain_strings(v)]
    return [value] if isinstance(value, str) else []


# --------------------------------------------------------------------------- secrets


def test_no_secret_value_appears_outside_a_secret(graph: Graph) -> None:
    secrets = secrets_in(graph)
    generated = {s for s in secrets if s.startswith("offline-")}
    assert len(generated) >= 5, "the generated passwords (admin, users, grafana, postgres, redis) must be secrets"
    for resource in graph:
        for text in plain_strings(resource.inputs):
            leaked = [s for s in generated if s in text]
            assert not leaked, f"{resource.type} {resource.name} holds a secret in plain text"
    for key, value in graph.outputs.items():
        if key in ("kubeconfig", "mlflowAdminPassword", "grafanaAdminPassword"):
            assert isinstance(value, Secret), key
        else:
            assert not any(s in json.dumps(value, default=str) for s in generated), key


def test_every_kubernetes_secret_has_its_data_marked_secret(graph: Graph) -> None:
    for secret in graph.of_type("kubernetes:core/v1:Secret"):
        assert isinstance(secret.inputs["stringData"], Secret), secret.get("metadata.name")


# --------------------------------------------------------------------------- workloads


def test_every_workload_is_bounded_unprivileged_pinned_and_read_only(graph: Graph) -> None:
    checked = 0
    for workload in workloads(graph):
        spec = pod_spec(workload.type, workload.inputs)
        name = workload.get("metadata.name")
        pod_non_root = (spec.get("securityContext") or {}).get("runAsNonRoot")
        for container in containers(unwrap(spec)):
            where = f"{workload.type} {name}/{container['name']}"
            resources = container["resources"]
            assert all(resources[k].get(r) for k in ("requests", "limits") for r in ("cpu", "memory")), where
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security.get("privileged") is not True, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            if name not in ROOT_AGENTS:
                assert security.get("runAsNonRoot", pod_non_root) is True, where
            assert image_problem(container["image"]) is None, where
            if workload.type in LONG_RUNNING and name != "nvidia-device-plugin":
                assert container.get("readinessProbe") and container.get("livenessProbe"), where
            checked += 1
    assert checked >= 10


def test_kserve_predictors_are_bounded_and_hardened(graph: Graph) -> None:
    """The predictive endpoints' (LLM endpoints: tests/infra/test_llm.py)."""
    predictive = {
        e.get("metadata.name") for e in graph.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    }
    predictive -= {"assistant"}
    assert predictive
    for isvc in graph.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService"):
        if isvc.get("metadata.name") not in predictive:
            continue
        predictor = isvc.get("spec.predictor")
        (container,) = predictor["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["resources"]["limits"]["memory"] == container["resources"]["requests"]["memory"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
        assert predictor["securityContext"]["runAsNonRoot"] is True


# --------------------------------------------------------------------------- MLflow


def test_mlflow_requires_authentication_and_proxies_artifacts_to_its_prefix(graph: Graph, stack: str) -> None:
    deployment = named(graph, "kubernetes:apps/v1:Deployment", "mlflow")
    (container,) = deployment.get("spec.template.spec.containers")
    args = container["args"]
    assert args[args.index("--app-name") + 1] == "basic-auth"
    assert args[args.index("--artifacts-destination") + 1].endswith("/mlflow")
    assert "--serve-artifacts" in args
    assert deployment.get("spec.replicas") == (2 if stack == "prod" else 1)
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": "mlflow-server",
        "key": "backend-store-uri",
    }
    budget = named(graph, "kubernetes:policy/v1:PodDisruptionBudget", "mlflow")
    assert budget.get("spec.minAvailable" if stack == "prod" else "spec.maxUnavailable") == 1
    auth = unwrap(named(graph, "kubernetes:core/v1:Secret", "mlflow-server").inputs["stringData"])["basic_auth.ini"]
    assert "default_permission = READ" in auth and "database_uri = postgresql://" in auth and "/mlflow_auth?" in auth
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "mlops-mlflow-identity").get("policy"))
    assert {
        s["Resource"] for s in policy["Statement"] if s["Action"] != "s3:ListBucket" and "kms" not in str(s["Action"])
    } == {"arn:aws:s3:::mlops-artifacts-artifacts-0a1b2c3d/mlflow/*"}


def test_each_workload_gets_its_own_mlflow_account_in_its_namespace(graph: Graph) -> None:
    credentials = {
        r.get("metadata.name"): r.get("metadata.namespace")
        for r in graph.of_type("kubernetes:core/v1:Secret")
        if str(r.get("metadata.name")).startswith("mlflow-credentials-")
    }
    assert credentials == {
        "mlflow-credentials-training": "mlops",
        "mlflow-credentials-monitor": "mlops",
        "mlflow-credentials-serving": "models",
    }
    job = named(graph, "kubernetes:batch/v1:Job", "mlflow-bootstrap-users")
    assert job.get("spec.template.spec.containers.0.command") == ["python", "/opt/mlflow/bootstrap_users.py"]


def test_mlflow_ingress_only_when_configured() -> None:
    platform = stack_config("dev")
    assert not run_platform(platform).of_type("kubernetes:networking.k8s.io/v1:Ingress")
    platform["mlflow"]["ingress"] = {"host": "mlflow.internal.example.com"}
    ingress = run_platform(platform).one("kubernetes:networking.k8s.io/v1:Ingress")
    assert ingress.get("metadata.annotations")["alb.ingress.kubernetes.io/scheme"] == "internal"
    assert ingress.get("spec.rules.0.host") == "mlflow.internal.example.com"


def run_platform(platform: dict[str, Any]) -> Graph:
    return run_program(
        ROOT / "__main__.py", config={"aws:region": "us-east-1", "mlops-platform:platform": platform}, stack="test"
    )


# --------------------------------------------------------------------------- database


def test_prod_postgres_is_rds_encrypted_private_backed_up_and_protected(graphs: dict[str, Graph]) -> None:
    prod = graphs["prod"]
    rds = prod.one("aws:rds/instance:Instance")
    assert rds.get("storageEncrypted") is True and rds.get("publiclyAccessible") is False
    assert rds.get("multiAz") is True and rds.get("backupRetentionPeriod") == 14
    assert (
        rds.get("deletionProtection") is True
        and rds.get("skipFinalSnapshot") is False
        and rds.get("finalSnapshotIdentifier")
    )
    assert rds.protect and rds.options["retainOnDelete"]
    assert isinstance(rds.inputs["password"], Secret)
    ingress_rules = {r.name: r for r in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    postgres = ingress_rules["mlops-db-from-nodes"]
    assert postgres.get("referencedSecurityGroupId") == "sg-0123456789abcdef0" and postgres.get("fromPort") == 5432
    assert "cidrIpv4" not in postgres.inputs
    params = prod.one("aws:rds/parameterGroup:ParameterGroup").get("parameters")
    assert {"name": "rds.force_ssl", "value": "1"} in params
    assert not prod.of_type("kubernetes:apps/v1:StatefulSet"), "prod runs no in-cluster Postgres or Redis"


def test_dev_postgres_runs_in_cluster_with_a_volume(graphs: dict[str, Graph]) -> None:
    dev = graphs["dev"]
    assert not dev.of_type("aws:rds/instance:Instance")
    postgres = named(dev, "kubernetes:apps/v1:StatefulSet", "postgres")
    assert postgres.get("spec.volumeClaimTemplates.0.spec.resources.requests.storage") == "20Gi"
    job = named(dev, "kubernetes:batch/v1:Job", "postgres-create-databases")
    command = job.get("spec.template.spec.containers.0.command")[-1]
    for database in ("mlflow", "mlflow_auth", "feast"):
        assert f"ALTER DATABASE {database} OWNER TO {database};" in command


# --------------------------------------------------------------------------- Feast


def test_prod_online_store_is_elasticache_with_tls_auth_and_failover(graphs: dict[str, Graph]) -> None:
    cache = graphs["prod"].one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert cache.get("atRestEncryptionEnabled") is True and cache.get("transitEncryptionEnabled") is True
    assert isinstance(cache.inputs["authToken"], Secret)
    assert (
        cache.get("automaticFailoverEnabled") is True
        and cache.get("multiAzEnabled") is True
        and cache.get("numCacheClusters") == 2
    )
    assert cache.protect


def test_feast_is_configured_from_secrets_and_applies_and_materialises(graph: Graph, stack: str) -> None:
    repo = named(graph, "kubernetes:core/v1:ConfigMap", "feast-repo")
    config = yaml.safe_load(repo.get("data")["feature_store.yaml"])
    assert config["registry"] == {"registry_type": "sql", "path": "${FEAST_REGISTRY_URL}", "cache_ttl_seconds": 60}
    assert config["online_store"] == {"type": "redis", "connection_string": "${FEAST_REDIS_CONNECTION}"}
    settings = unwrap(named(graph, "kubernetes:core/v1:Secret", "feast-config").inputs["stringData"])
    assert (
        settings["FEAST_REGISTRY_URL"].startswith("postgresql+psycopg://")
        and "/feast?" in settings["FEAST_REGISTRY_URL"]
    )
    assert ("ssl=true" in settings["FEAST_REDIS_CONNECTION"]) is (stack == "prod")
    server = named(graph, "kubernetes:apps/v1:Deployment", "feast")
    assert server.get("spec.template.spec.containers.0.command")[:2] == ["feast", "serve"]
    assert named(graph, "kubernetes:batch/v1:Job", "feast-apply").get("spec.template.spec.containers.0.command") == [
        "feast",
        "apply",
    ]
    cron = named(graph, "kubernetes:batch/v1:CronJob", "feast-materialize")
    assert cron.get("spec.schedule") == "0 * * * *" and cron.get("spec.concurrencyPolicy") == "Forbid"


# --------------------------------------------------------------------------- monitoring


def test_kube_prometheus_stack_is_pinned_and_sized_from_config(graph: Graph, stack: str) -> None:
    release = next(
        r for r in graph.of_type("kubernetes:helm.sh/v3:Release") if r.get("chart") == "kube-prometheus-stack"
    )
    assert release.get("version") == KUBE_PROMETHEUS_STACK_CHART.version
    spec = release.get("values.prometheus.prometheusSpec")
    config = stack_config(stack)["monitoring"]
    assert spec["retention"] == config["retention"]
    assert (
        spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"]
        == f"{config['storageGib']}Gi"
    )
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False and spec["ruleSelectorNilUsesHelmValues"] is False
    assert release.get("values.alertmanager.enabled") is True
    assert release.get("values.grafana.admin") == {
        "existingSecret": "grafana-admin",
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    assert "adminPassword" not in release.get("values.grafana")


def test_every_platform_service_is_scraped(graph: Graph, stack: str) -> None:
    monitors = {r.get("metadata.name") for r in graph.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")}
    assert monitors == {"mlflow", "feast", "drift-monitor", "dcgm-exporter"}
    pods = {r.get("metadata.name") for r in graph.of_type("kubernetes:monitoring.coreos.com/v1:PodMonitor")}
    config = stack_config(stack)
    assert pods == {f"{e['name']}-predictor" for e in [*config["serving"]["endpoints"], *config["llmEndpoints"]]}


OWNERS = {
    "serving": "ModelServing",
    "model-health": "DriftMonitor",
    "training": "TrainingPipeline",
    "mlflow": "MlflowTracking",
    "gpu": "GpuSupport",
    "llm": "ModelServing",
}
"""Which component declares each rules file and dashboard (monitoring is declared where it belongs)."""


def test_alert_rules_and_dashboards_are_deployed_by_the_components_they_watch(graph: Graph) -> None:
    rules = {r.get("metadata.name"): r for r in graph.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")}
    for path in alert_rule_files():
        stem = path.name.removesuffix(".rules.yaml")
        rule = rules.pop(f"mlops-{stem}")
        assert rule.get("spec.groups") == yaml.safe_load(path.read_text())["groups"], stem
        owner = graph.parent_of(rule)
        assert owner is not None and owner.type == f"mlops:index:{OWNERS[stem]}", (stem, owner)
        assert rule.get("metadata.namespace") == "monitoring"
    # Each LLM endpoint records its own SLO (the llm rules compare with it).
    for name, rule in [(n, r) for n, r in rules.items() if n.startswith("llm-slo-")]:
        owner = graph.parent_of(rule)
        assert owner is not None and owner.type == "mlops:index:LlmEndpoint", name
        del rules[name]
    assert rules == {}, f"rules from no file: {sorted(rules)}"
    maps = {
        r.get("metadata.name"): r
        for r in graph.of_type("kubernetes:core/v1:ConfigMap")
        if r.get("metadata.labels", {}).get("grafana_dashboard") == "1"
    }
    assert set(maps) == {f"dashboard-{stem}" for stem in dashboards()}
    for stem, board in maps.items():
        owner = graph.parent_of(board)
        assert owner is not None and owner.type == f"mlops:index:{OWNERS[stem.removeprefix('dashboard-')]}", stem


def test_scrape_targets_moved_to_their_components_keep_an_alias_to_where_they_were(graph: Graph) -> None:
    """A deployed stack adopts the monitors under their new parents instead of replacing them."""
    monitors = [
        *graph.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor"),
        *graph.of_type("kubernetes:monitoring.coreos.com/v1:PodMonitor"),
    ]
    assert monitors
    for monitor in monitors:
        kind = monitor.type.rsplit(":", 1)[-1].lower()
        stack_project = monitor.urn.split("::")[:2]
        old = "::".join(
            [
                *stack_project,
                f"mlops:index:Monitoring${monitor.type}",
                f"mlops-monitoring-{kind}-{monitor.get('metadata.name')}",
            ]
        )
        assert old in monitor.options["aliases"], (monitor.name, monitor.options)


METRIC = re.compile(r"\b(mlops_[a-z_]+|DCGM_[A-Z_]+|vllm:[a-z0-9_]+|mlops:[a-z_]+|http_requests_total)\b")


def queries() -> list[tuple[str, str]]:
    found = [
        (f"{stem}: {panel['title']}", target["expr"])
        for stem, board in dashboards().items()
        for panel in board["panels"]
        for target in panel["targets"]
    ]
    for path in alert_rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [(f"alert {rule['alert']}", rule["expr"]) for rule in group["rules"]]
    return found


def test_every_panel_and_rule_queries_the_metrics_contract() -> None:
    known = known_series() | llm.VLLM_METRICS | {llm.SLO_RECORD}
    for where, expr in queries():
        names = set(METRIC.findall(expr))
        assert names or "up{" in expr or "kube_job" in expr, f"{where} queries no contract metric"
        assert names <= known, f"{where} queries metrics outside the contract: {names - known}"


def test_dashboards_cover_serving_gpu_and_model_health() -> None:
    titles = {stem: [p["title"] for p in board["panels"]] for stem, board in dashboards().items()}
    assert {"serving", "gpu", "model-health", "llm"} == set(titles)
    text = json.dumps(dashboards())
    for needle in ("histogram_quantile(0.50", "histogram_quantile(0.95", "histogram_quantile(0.99", "mlops_predictions_total", "mlops_prediction_errors_total",
                   "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "mlops_feature_drift_score", "mlops_prediction_drift_score",
                   "mlops_data_quality_score", "mlops_model_performance", "mlops_retrain_triggers_total"):  # fmt: skip
        assert needle in text, needle


# --------------------------------------------------------------------------- KServe


def test_kserve_is_installed_in_order_and_pinned(graph: Graph) -> None:
    releases = {r.get("name"): r for r in graph.of_type("kubernetes:helm.sh/v3:Release")}
    assert (
        releases["kserve-crd"].get("version") == KSERVE_CRD_CHART.version
        and releases["kserve-crd"].get("chart") == KSERVE_CRD_CHART.chart
    )
    assert releases["kserve"].get("version") == KSERVE_CHART.version
    assert releases["kserve"].get("values.kserve.controller.deploymentMode") == "Standard"
    assert releases["kserve-crd"].urn in releases["kserve"].options["dependencies"]
    assert releases["cert-manager"].urn in releases["kserve-crd"].options["dependencies"]
    for isvc in graph.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService"):
        assert releases["kserve"].urn in isvc.options["dependencies"], (
            "an InferenceService must wait for the controller and its CRDs"
        )


def test_endpoints_follow_the_config(graph: Graph, stack: str) -> None:
    for endpoint in stack_config(stack)["serving"]["endpoints"]:
        isvc = named(graph, "kubernetes:serving.kserve.io/v1beta1:InferenceService", endpoint["name"])
        predictor = isvc.get("spec.predictor")
        assert (
            predictor["minReplicas"] == endpoint["minReplicas"] and predictor["maxReplicas"] == endpoint["maxReplicas"]
        )
        assert predictor["deploymentStrategy"]["rollingUpdate"]["maxUnavailable"] == 0
        env = {e["name"]: e.get("value") for e in predictor["containers"][0]["env"]}
        assert env["MODEL_NAME"] == endpoint["model"] and env["MODEL_ALIAS"] == "champion"
        limits = predictor["containers"][0]["resources"]["limits"]
        if endpoint.get("gpus"):
            assert limits["nvidia.com/gpu"] == str(endpoint["gpus"])
            assert predictor["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
            assert predictor["nodeSelector"] == {"mlops.platform/gpu-pool": endpoint["gpuPool"]}
        else:
            assert "nvidia.com/gpu" not in limits and "tolerations" not in predictor


def test_serverless_mode_installs_knative_and_allows_canaries() -> None:
    platform = stack_config("dev")
    platform["serving"] = {
        "mode": "Serverless",
        "endpoints": [{"name": "churn", "model": "churn-classifier", "minReplicas": 0, "canaryTrafficPercent": 10}],
    }
    graph = run_platform(platform)
    releases = {r.get("name") for r in graph.of_type("kubernetes:helm.sh/v3:Release")}
    assert "knative-operator" in releases
    serving = graph.one("kubernetes:operator.knative.dev/v1beta1:KnativeServing")
    assert serving.get("spec.ingress.kourier.enabled") is True
    (isvc,) = [
        i
        for i in graph.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
        if i.get("metadata.name") == "churn"
    ]
    assert isvc.get("spec.predictor.canaryTrafficPercent") == 10 and isvc.get("spec.predictor.minReplicas") == 0
    assert isvc.get("metadata.annotations")["serving.kserve.io/deploymentMode"] == "Knative"


# --------------------------------------------------------------------------- apps


def test_training_runs_on_schedule_one_at_a_time_and_on_its_gpu_pool(graph: Graph, stack: str) -> None:
    config = stack_config(stack)["training"]
    cron = named(graph, "kubernetes:batch/v1:CronJob", "training")
    assert cron.get("spec.schedule") == config["schedule"] and cron.get("spec.concurrencyPolicy") == "Forbid"
    assert cron.get("spec.successfulJobsHistoryLimit") == 3 and cron.get("spec.failedJobsHistoryLimit") == 5
    job = cron.get("spec.jobTemplate.spec")
    assert job["backoffLimit"] == 1 and job["activeDeadlineSeconds"] == 21600
    pod = job["template"]["spec"]
    if config.get("gpus"):
        assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == str(config["gpus"])
        assert pod["nodeSelector"] == {"mlops.platform/gpu-pool": config["gpuPool"]}
        assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    else:
        assert "tolerations" not in pod
    template = yaml.safe_load(
        named(graph, "kubernetes:core/v1:ConfigMap", "training-job-template").get("data")["job-template.yaml"]
    )
    assert template["kind"] == "Job" and template["spec"] == unwrap(job), (
        "the monitor launches exactly the scheduled run"
    )


def test_training_can_read_only_its_datasets(graph: Graph) -> None:
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "mlops-training-identity").get("policy"))
    objects = [s for s in policy["Statement"] if "s3:GetObject" in s["Action"]]
    assert objects == [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": "arn:aws:s3:::mlops-artifacts-data-0a1b2c3d/datasets/churn-classifier/*",
        }
    ]


def test_drift_monitor_may_only_create_and_read_jobs_in_its_namespace(graph: Graph) -> None:
    role = named(graph, "kubernetes:rbac.authorization.k8s.io/v1:Role", "drift-monitor")
    assert role.get("metadata.namespace") == "mlops"
    assert role.get("rules") == [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "watch"]}
    ]
    assert not graph.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    settings = yaml.safe_load(
        named(graph, "kubernetes:core/v1:ConfigMap", "drift-monitor-config").get("data")["monitor.yaml"]
    )
    assert settings["retrain"]["backend"] == "kubernetes"


def test_direct_artifact_access_gives_clients_scoped_roles() -> None:
    platform = stack_config("dev")
    platform["mlflow"]["proxyArtifacts"] = False
    graph = run_platform(platform)
    args = named(graph, "kubernetes:apps/v1:Deployment", "mlflow").get("spec.template.spec.containers.0.args")
    assert "--no-serve-artifacts" in args and "--default-artifact-root" in args
    for role, access in (
        ("churn-identity", "read"),
        ("mlops-monitor-identity", "read"),
        ("mlops-training-identity", "write"),
    ):
        policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", role).get("policy"))
        mlflow = [s for s in policy["Statement"] if str(s["Resource"]).endswith("/mlflow/*")]
        assert mlflow, role
        assert ("s3:PutObject" in mlflow[0]["Action"]) is (access == "write"), role


@pytest.mark.parametrize("namespace", ["mlops", "models"])
def test_platform_namespaces_are_restricted_and_deny_ingress_by_default(graph: Graph, namespace: str) -> None:
    ns = named(graph, "kubernetes:core/v1:Namespace", namespace)
    assert ns.get("metadata.labels")["pod-security.kubernetes.io/enforce"] == "restricted"
    deny = [
        r
        for r in graph.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if r.get("metadata.namespace") == namespace and r.get("metadata.name") == "default-deny-ingress"
    ]
    assert len(deny) == 1 and deny[0].get("spec") == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_the_monitor_tests_use_the_job_template_the_dev_stack_publishes(graphs: dict[str, Graph]) -> None:
    published = named(graphs["dev"], "kubernetes:core/v1:ConfigMap", "training-job-template").get("data")[
        "job-template.yaml"
    ]
    fixture = (ROOT / "tests" / "fixtures" / "training-job-template.yaml").read_text()
    assert yaml.safe_load(fixture) == yaml.safe_load(published), (
        "regenerate tests/fixtures/training-job-template.yaml from the dev plan"
    )


def test_the_dashboards_are_what_the_typed_builders_make() -> None:
    """components/services/dashboards.py builds them with grafana-foundation-sdk; the files deployed are its output."""
    from components.services.dashboards import all_dashboards, main, render

    assert main([]) == 0, "run `python -m components.services.dashboards --write`"
    built = all_dashboards()
    assert set(built) == set(dashboards())
    for stem, board in built.items():
        assert render(board) == (DASHBOARDS_DIR / f"{stem}.json").read_text()
        assert all(panel["targets"] and panel["datasource"]["uid"] == "${datasource}" for panel in board["panels"])
