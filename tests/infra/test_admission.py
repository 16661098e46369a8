"""The drift monitor may create Jobs in its namespace, so it could start a pod mounting any Secret
there; a ValidatingAdmissionPolicy admits only retraining Jobs from it. Its CEL is evaluated here by a
CEL implementation (cel-python) against the Job the monitor creates from the template and against
what a compromised monitor might try."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import celpy
import pytest
import yaml

from components.testing import Graph, unwrap

MONITOR = "system:serviceaccount:mlops:drift-monitor"


def admission(graph: Graph) -> tuple[dict[str, Any], dict[str, Any]]:
    (policy,) = graph.of_type("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy")
    (binding,) = graph.of_type("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding")
    return unwrap(policy.inputs), unwrap(binding.inputs)


def template_job(graph: Graph) -> dict[str, Any]:
    """The Job the monitor creates: the training template with a name (apps/monitor fills metadata)."""
    (config,) = [
        c for c in graph.of_type("kubernetes:core/v1:ConfigMap") if c.get("metadata.name") == "training-job-template"
    ]
    job = yaml.safe_load(unwrap(config.inputs["data"])["job-template.yaml"])
    job["metadata"]["name"] = "retrain-churn-classifier-20261130"
    return dict(job)


def evaluate(expression: str, **activation: Any) -> bool:
    """An expression's value; an evaluation error counts as false, as the API server counts it under
    failurePolicy Fail (and fails this test's message checks, which want the policy's own message)."""
    environment = celpy.Environment()
    program = environment.program(environment.compile(expression))
    try:
        return bool(program.evaluate({k: celpy.json_to_cel(v) for k, v in activation.items()}))
    except celpy.CELEvalError:
        return False


def admits(policy: dict[str, Any], job: dict[str, Any], username: str = MONITOR) -> list[str]:
    """The messages of the validations the Job fails ([] = admitted), as the API server would decide."""
    request = {"userInfo": {"username": username}, "operation": "CREATE"}
    if not all(evaluate(c["expression"], request=request, object=job) for c in policy["spec"]["matchConditions"]):
        return []  # the policy does not apply to this user
    return [
        v["message"]
        for v in policy["spec"]["validations"]
        if not evaluate(v["expression"], object=job, request=request)
    ]


@pytest.fixture(params=["dev", "prod"])
def stack_graph(request: pytest.FixtureRequest, graphs: dict[str, Graph]) -> Graph:
    return graphs[request.param]


def test_the_policy_is_bound_to_deny_in_the_monitors_namespace(stack_graph: Graph) -> None:
    policy, binding = admission(stack_graph)
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert binding["spec"]["matchResources"] == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mlops"}}
    }
    assert policy["spec"]["failurePolicy"] == "Fail"
    assert policy["spec"]["matchConstraints"]["resourceRules"] == [
        {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["jobs"]}
    ]


def test_the_retraining_job_from_the_template_is_admitted(stack_graph: Graph) -> None:
    policy, _ = admission(stack_graph)
    assert admits(policy, template_job(stack_graph)) == []


def _pod(job: dict[str, Any]) -> dict[str, Any]:
    return job["spec"]["template"]["spec"]


ADMIN_SECRET = "postgres-admin"
ATTACKS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "mounts the Postgres admin Secret",
        lambda job: _pod(job)["volumes"].append({"name": "x", "secret": {"secretName": ADMIN_SECRET}}),
        "retraining Jobs mount emptyDirs and the ConfigMaps training-config only",
    ),
    (
        "mounts it through a projected volume",
        lambda job: _pod(job)["volumes"].append(
            {"name": "x", "projected": {"sources": [{"secret": {"name": ADMIN_SECRET}}]}}
        ),
        "retraining Jobs mount emptyDirs and the ConfigMaps training-config only",
    ),
    (
        "mounts the node's filesystem",
        lambda job: _pod(job)["volumes"].append({"name": "x", "hostPath": {"path": "/"}}),
        "retraining Jobs mount emptyDirs and the ConfigMaps training-config only",
    ),
    (
        "mounts another ConfigMap",
        lambda job: _pod(job)["volumes"].append({"name": "x", "configMap": {"name": "aws-auth"}}),
        "retraining Jobs mount emptyDirs and the ConfigMaps training-config only",
    ),
    (
        "reads the admin password into its environment",
        lambda job: _pod(job)["containers"][0]["env"].append(
            {"name": "P", "valueFrom": {"secretKeyRef": {"name": ADMIN_SECRET, "key": "password"}}}
        ),
        "retraining Jobs read the Secrets mlflow-credentials-training only",
    ),
    (
        "takes a whole Secret as envFrom",
        lambda job: _pod(job)["containers"][0]["envFrom"].append({"secretRef": {"name": "mlflow-server"}}),
        "retraining Jobs take envFrom the Secrets mlflow-credentials-training only",
    ),
    (
        "takes a ConfigMap as envFrom",
        lambda job: _pod(job)["containers"][0]["envFrom"].append({"configMapRef": {"name": "anything"}}),
        "retraining Jobs take envFrom the Secrets mlflow-credentials-training only",
    ),
    (
        "runs another image",
        lambda job: _pod(job)["containers"][0].update(image="attacker.example.com/shell:1"),
        "retraining Jobs run the training image (123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops/mlops-training:0.1.0) only",
    ),
    (
        "adds an init container",
        lambda job: _pod(job).update(initContainers=[dict(_pod(job)["containers"][0], name="init")]),
        "retraining Jobs run the training image (123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops/mlops-training:0.1.0) only",
    ),
    (
        "mounts a ConfigMap without naming it",
        lambda job: _pod(job)["volumes"].append({"name": "x", "configMap": {}}),
        "retraining Jobs mount emptyDirs and the ConfigMaps training-config only",
    ),
    (
        "reads a Secret key without naming the Secret",
        lambda job: _pod(job)["containers"][0]["env"].append(
            {"name": "P", "valueFrom": {"secretKeyRef": {"key": "password"}}}
        ),
        "retraining Jobs read the Secrets mlflow-credentials-training only",
    ),
    (
        "runs as another service account",
        lambda job: _pod(job).update(serviceAccountName="drift-monitor"),
        "retraining Jobs run as the training service account",
    ),
    (
        "drops the service account (the namespace's default)",
        lambda job: _pod(job).pop("serviceAccountName"),
        "retraining Jobs run as the training service account",
    ),
]


@pytest.mark.parametrize(("attack", "change", "message"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_any_other_job_from_the_monitor_is_denied(
    graphs: dict[str, Graph], attack: str, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    graph = graphs["prod"]
    policy, _ = admission(graph)
    job = copy.deepcopy(template_job(graph))
    _pod(job).setdefault("volumes", [])
    change(job)
    assert message in admits(policy, job), attack


def test_the_policy_leaves_other_users_to_rbac(graphs: dict[str, Graph]) -> None:
    policy, _ = admission(graphs["prod"])
    job = template_job(graphs["prod"])
    _pod(job)["volumes"].append({"name": "x", "secret": {"secretName": ADMIN_SECRET}})
    assert admits(policy, job, username="system:serviceaccount:mlops:training") == []
    assert admits(policy, job, username=MONITOR) != []
