"""The components as teams consume them: an installable distribution under `mlops_platform`, settings
checked where they are given, and instances that never collide."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from components.cluster.gpu_node_pool import GpuNodePool, GpuNodePoolArgs, GpuPoolSettings
from components.data.artifact_store import ArtifactAccess, ArtifactStore, ArtifactStoreArgs
from components.data.database import Database, DatabaseArgs
from components.kit.common import ComponentArgsError
from components.kit.identity import ClusterIdentity, OidcIdentity
from components.services.drift_monitor import DriftMonitor, DriftMonitorArgs
from components.services.mlflow_tracking import MlflowClient
from components.services.model_endpoint import ModelEndpoint, ModelEndpointArgs
from components.services.model_serving import ModelServing, ModelServingArgs, ServingMode
from components.services.training_pipeline import RetrainingJobs
from components.testing import Graph, ProgramFailed, run_program
from tests.infra.conftest import ROOT

UV = ROOT / ".cache" / "uv" / "bin" / "uv"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [str(UV), "build", "--quiet", "--wheel", "--no-build-isolation", "--python", sys.executable, "-o", str(out)],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    (built,) = out.glob("*.whl")
    return built


def test_the_distribution_claims_no_generic_top_level_module(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"mlops_platform", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    assert "mlops_platform/components/assets/rules/serving.rules.yaml" in names
    assert "mlops_platform/components/config/model.py" in names
    assert not any(name.startswith("components/") for name in names)


def test_the_installed_package_imports_under_its_own_name(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
        env={**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)},
    )
    code = (
        "import importlib.util, mlops_platform.components.platform as p, mlops_platform.components.testing as t;"
        "assert importlib.util.find_spec('components') is None, 'a generic top-level module is importable';"
        f"assert p.__file__.startswith({str(target)!r}), p.__file__; print('ok')"
    )
    # Outside the repository, with the dependencies of the project's environment.
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.strip() == "ok", done.stderr[-3000:]


# --------------------------------------------------------------------------- settings given to components

OIDC = ClusterIdentity.irsa(OidcIdentity("arn:aws:iam::123456789012:oidc-provider/x", "https://x"))


def run(program: object) -> Graph:
    return run_program(program, config={}, project="team", stack="test")  # type: ignore[arg-type]


def test_settings_given_as_a_mapping_are_checked_and_refused_naming_the_argument() -> None:
    def program() -> None:
        GpuNodePool(
            "pool",
            GpuNodePoolArgs(
                pool={"name": "p", "instance_types": ["m7i.large"], "min_size": 3, "max_size": 1},  # type: ignore[arg-type]
                cluster_name="c",
                node_role_arn="r",
                subnet_ids=["s"],
            ),
        )

    with pytest.raises(ProgramFailed) as failed:
        run(program)
    assert isinstance(failed.value.error, ComponentArgsError)
    assert failed.value.error.problems == [
        'pool.instance_types = ["m7i.large"]: m7i.large has no GPU. A GPU pool holds NVIDIA GPU instance types for '
        "x86_64 (families g4dn, g5, g6, g6e, g7, g7e, gr6, p3dn, p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300)",
    ]


def test_settings_built_in_python_are_refused_when_built() -> None:
    with pytest.raises(ValueError, match=r"must be >= min_size \(3\)"):
        GpuPoolSettings(name="p", instance_types=["g5.xlarge"], min_size=3, max_size=1)
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        from components.services.model_endpoint import EndpointSettings

        EndpointSettings(name="e", model="m", cpu="two")


def test_kubernetes_names_are_checked_and_every_problem_is_named() -> None:
    def program() -> None:
        Database("db", DatabaseArgs(namespace="Team_ML", databases=["x"], service_name="pg-"))

    with pytest.raises(ProgramFailed) as failed:
        run(program)
    assert failed.value.error.problems == [  # type: ignore[attr-defined]
        "namespace = 'Team_ML': may hold only lower-case letters, digits and '-' (found 'T', '_', 'M', 'L')",
        "service_name = 'pg-': must start and end with a letter or digit",
    ]


def test_an_endpoint_asking_what_its_serving_mode_cannot_do_is_refused() -> None:
    def program() -> None:
        serving = ModelServing("kserve", ModelServingArgs())
        ModelEndpoint(
            "e",
            ModelEndpointArgs(
                endpoint={"name": "e", "model": "m", "min_replicas": 0, "canary_traffic_percent": 10},  # type: ignore[arg-type]
                namespace="models",
                image="r/i:1",
                mlflow=MlflowClient("http://mlflow:5000", "creds"),
                serving=serving,
            ),
        )

    with pytest.raises(ProgramFailed) as failed:
        run(program)
    assert failed.value.error.problems == [  # type: ignore[attr-defined]
        "endpoint.canary_traffic_percent = 10: canary rollouts need mode Serverless (Standard mode rolls out with maxUnavailable 0)",
        "endpoint.min_replicas = 0: Standard mode cannot scale to zero: with no replica running, no request is measured "
        "to wake one (with hpa or keda); use >= 1, or mode Serverless (Knative's activator holds the request)",
    ]
    assert ServingMode("Serverless").kserve_name == "Knative"


RETRAINING = RetrainingJobs("t", "training", "r/train:1", ("creds",), ("train-config",))


def test_two_instances_in_one_namespace_never_collide() -> None:
    """Kubernetes names come from each component's name, unless given."""

    def program() -> None:
        store = ArtifactStore("store", ArtifactStoreArgs())
        mlflow = MlflowClient("http://mlflow:5000", "creds", ArtifactAccess(store, OIDC))
        for name in ("monitor-a", "monitor-b"):
            DriftMonitor(
                name,
                DriftMonitorArgs(namespace="team", image="r/i:1", model=name, mlflow=mlflow, retraining=RETRAINING),
            )
        for name in ("db-a", "db-b"):
            Database(name, DatabaseArgs(namespace="team", databases=["x"]))

    graph = run(program)
    objects = [(o.get("kind"), o.get("metadata.namespace"), o.get("metadata.name")) for o in graph.kubernetes_objects()]
    duplicates = {o for o in objects if objects.count(o) > 1}
    assert not duplicates, duplicates
    assert ("Deployment", "team", "monitor-b") in objects and ("StatefulSet", "team", "db-a") in objects


def test_a_managed_node_group_pool_needs_its_role_and_subnets_and_refuses_karpenter_only_settings() -> None:
    def program() -> None:
        GpuNodePool(
            "pool",
            GpuNodePoolArgs(
                pool=GpuPoolSettings(
                    name="p",
                    instance_types=["g5.xlarge"],
                    capacity_type="SPOT_OR_ON_DEMAND",
                    disruption={"consolidation_policy": "WhenEmpty"},  # type: ignore[arg-type]
                ),
                cluster_name="c",
            ),
        )

    with pytest.raises(ProgramFailed) as failed:
        run(program)
    assert isinstance(failed.value.error, ComponentArgsError)
    assert failed.value.error.problems == [
        "pool.capacity_type = 'SPOT_OR_ON_DEMAND': a managed node group has one capacity type; SPOT_OR_ON_DEMAND "
        "needs gpuProvisioner karpenter",
        "pool.disruption = {'consolidationPolicy': 'WhenEmpty'}: applies to gpuProvisioner karpenter only; remove it",
        "node_role_arn = null: required for a managed node group (or give karpenter)",
        "subnet_ids = null: required for a managed node group (or give karpenter)",
    ]
