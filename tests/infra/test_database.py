"""The platform's Postgres, least privilege: one role per consumer (MLflow tracking, MLflow auth, the
Feast registry) with its own password, created by the bootstrap Job - run here, as the Job runs it,
against a real PostgreSQL - reaching its own database and no other; the admin credential reaches
only the server and that Job, and only as a mounted file."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.data.database import ADMIN_DIR, bootstrap_script
from components.testing import Graph, unwrap
from tests.infra import postgres

DATABASES = ("mlflow", "mlflow_auth", "feast")


def bootstrap_job(graph: Graph) -> Any:
    (job,) = [
        j for j in graph.of_type("kubernetes:batch/v1:Job") if j.get("metadata.name") == "postgres-create-databases"
    ]
    return job


def roles_secret(graph: Graph) -> dict[str, Any]:
    (secret,) = [s for s in graph.of_type("kubernetes:core/v1:Secret") if s.get("metadata.name") == "postgres-roles"]
    return dict(unwrap(secret.inputs["stringData"]))


@pytest.fixture(scope="module")
def server() -> Any:
    with postgres.running() as running:
        yield running


def run_bootstrap(server: postgres.Postgres, script: str, tmp_path: Path, passwords: dict[str, str]) -> None:
    admin, roles = tmp_path / "admin", tmp_path / "roles"
    for directory in (admin, roles):
        directory.mkdir(exist_ok=True)
    (admin / "password").write_text(server.password)
    for db, password in passwords.items():
        (roles / db).write_text(password)
    env = server.env(ADMIN_DIR=str(admin), ROLES_DIR=str(roles))
    del env["PGPASSWORD"]  # the script reads the admin password from its file
    done = subprocess.run(["sh", "-ec", script], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_the_bootstrap_job_is_the_tested_script_for_every_database(graphs: dict[str, Graph]) -> None:
    for graph in graphs.values():
        container = bootstrap_job(graph).get("spec.template.spec.containers")[0]
        assert container["command"] == ["sh", "-ec", bootstrap_script(DATABASES)]
        assert sorted(roles_secret(graph)) == sorted(DATABASES)


def test_each_role_reaches_its_own_database_and_no_other(
    server: postgres.Postgres, graphs: dict[str, Graph], tmp_path: Path
) -> None:
    script = bootstrap_job(graphs["dev"]).get("spec.template.spec.containers")[0]["command"][2]
    passwords = {db: secrets.token_hex(16) for db in DATABASES}
    run_bootstrap(server, script, tmp_path, passwords)
    run_bootstrap(server, script, tmp_path, passwords)  # idempotent: a Job retried or re-run changes nothing
    for db, password in passwords.items():
        own = server.psql(
            "CREATE TABLE IF NOT EXISTS probe (x int); INSERT INTO probe VALUES (1); SELECT count(*) FROM probe",
            user=db,
            password=password,
            database=db,
        )
        assert own.returncode == 0, own.stderr
        for other in [*[d for d in DATABASES if d != db], "postgres"]:
            refused = server.psql("SELECT 1", user=db, password=password, database=other)
            assert refused.returncode != 0, f"{db} reached {other}"
            assert f'permission denied for database "{other}"' in refused.stderr, refused.stderr
    attributes = server.psql(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname IN ('mlflow', 'mlflow_auth', 'feast') ORDER BY 1"
    )
    assert attributes.stdout.split() == ["feast|f|f|f", "mlflow|f|f|f", "mlflow_auth|f|f|f"]
    owners = server.psql(
        "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('mlflow', 'mlflow_auth', 'feast') ORDER BY 1"
    )
    assert owners.stdout.split() == ["feast|feast", "mlflow|mlflow", "mlflow_auth|mlflow_auth"]


def test_a_rotated_password_takes_effect_on_the_next_run(server: postgres.Postgres, tmp_path: Path) -> None:
    script = bootstrap_script(["rotated"])
    old, new = secrets.token_hex(16), secrets.token_hex(16)
    run_bootstrap(server, script, tmp_path, {"rotated": old})
    assert server.psql("SELECT 1", user="rotated", password=old, database="rotated").returncode == 0
    run_bootstrap(server, script, tmp_path, {"rotated": new})
    assert server.psql("SELECT 1", user="rotated", password=new, database="rotated").returncode == 0
    stale = server.psql("SELECT 1", user="rotated", password=old, database="rotated")
    assert "password authentication failed" in stale.stderr


@pytest.mark.parametrize("name", ["MLflow", "mlflow-auth", "drop table", "x;y"])
def test_a_database_name_that_is_not_a_plain_identifier_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="lower-case letters, digits and _ only"):
        bootstrap_script([name])


def _mounts_admin(spec: Any) -> bool:
    volumes = {
        v["name"] for v in spec.get("volumes", []) if (v.get("secret") or {}).get("secretName") == "postgres-admin"
    }
    return bool(volumes)


def _env_refers_to(spec: Any, secret: str) -> bool:
    for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        for variable in container.get("env", []):
            if ((variable.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == secret:
                return True
        if any((e.get("secretRef") or {}).get("name") == secret for e in container.get("envFrom", [])):
            return True
    return False


def test_the_admin_credential_reaches_the_server_and_the_bootstrap_job_only_as_a_file(graphs: dict[str, Graph]) -> None:
    from policies.rules.kubernetes import WORKLOADS, pod_specs

    for stack, graph in graphs.items():
        holders = set()
        for workload in (r for r in graph if r.type in WORKLOADS):
            for spec in pod_specs(workload.type, unwrap(workload.inputs)):
                assert not _env_refers_to(spec, "postgres-admin"), (stack, workload.name)
                if _mounts_admin(spec):
                    holders.add(workload.get("metadata.name"))
        expected = {"postgres-create-databases"} | ({"postgres"} if stack == "dev" else set())
        assert holders == expected, (stack, holders)
        if stack == "dev":
            (server,) = [
                s for s in graph.of_type("kubernetes:apps/v1:StatefulSet") if s.get("metadata.name") == "postgres"
            ]
            env = {e["name"]: e.get("value") for e in server.get("spec.template.spec.containers")[0]["env"]}
            assert env["POSTGRES_PASSWORD_FILE"] == f"{ADMIN_DIR}/password" and "POSTGRES_PASSWORD" not in env


def test_consumers_connect_as_their_own_role(graphs: dict[str, Graph]) -> None:
    for graph in graphs.values():
        values = {
            s.get("metadata.name"): unwrap(s.inputs.get("stringData") or {})
            for s in graph.of_type("kubernetes:core/v1:Secret")
        }
        assert values["mlflow-server"]["backend-store-uri"].startswith("postgresql://mlflow:")
        assert "postgresql://mlflow_auth:" in values["mlflow-server"]["basic_auth.ini"]
        assert values["feast-config"]["FEAST_REGISTRY_URL"].startswith("postgresql+psycopg://feast:")
        every = " ".join(str(v) for secret in values.values() for v in secret.values())
        assert "mlops_admin:" not in every, "the admin credential is in a consumer's connection string"


# --------------------------------------------------------------------------- the in-cluster Redis (dev)


def test_redis_takes_its_password_from_a_mounted_file_and_so_do_its_probes(
    graphs: dict[str, Graph], tmp_path: Path
) -> None:
    """The StatefulSet's own command and probe, run against a real redis-server with the Secret's files
    where the pod mounts them: the password never appears in an env var or on a command line."""
    import shutil
    import time

    from components.services.feature_store import REDIS_AUTH_DIR

    graph = graphs["dev"]
    (redis,) = [s for s in graph.of_type("kubernetes:apps/v1:StatefulSet") if s.get("metadata.name") == "feast-redis"]
    container = redis.get("spec.template.spec.containers")[0]
    assert "env" not in container and "-a" not in container["command"][2].split()
    (secret,) = [s for s in graph.of_type("kubernetes:core/v1:Secret") if s.get("metadata.name") == "feast-redis"]
    files = unwrap(secret.inputs["stringData"])
    auth, data = tmp_path / "auth", tmp_path / "data"
    auth.mkdir()
    data.mkdir()
    for key, value in files.items():
        (auth / key).write_text(value)
    port = postgres.free_port()

    def local(command: str) -> str:
        return command.replace(REDIS_AUTH_DIR, str(auth)).replace("/data", str(data))

    server = subprocess.Popen(
        ["sh", "-c", local(container["command"][2]) + f" --port {port} --bind 127.0.0.1 --save ''"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        probe = local(container["readinessProbe"]["exec"]["command"][2]).replace("redis-cli", f"redis-cli -p {port}")
        deadline = time.monotonic() + 20
        while subprocess.run(["sh", "-c", probe], check=False, timeout=10).returncode != 0:
            assert time.monotonic() < deadline, "the probe never passed"
            time.sleep(0.2)
        cli = shutil.which("redis-cli") or "redis-cli"
        anonymous = subprocess.run(
            [cli, "-p", str(port), "ping"], capture_output=True, text=True, check=False, timeout=10
        )
        assert "NOAUTH" in anonymous.stdout + anonymous.stderr, "Redis answered without the password"
    finally:
        server.terminate()
        server.wait(timeout=10)
