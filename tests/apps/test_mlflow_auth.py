"""MLflow with authentication as the platform deploys it: a real server running MLflow's basic-auth
app with the component's own config template, and the bootstrap Job's script creating, rotating
and refusing workload accounts."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apps.common import local
from apps.common.processes import ROOT

TEMPLATE = ROOT / "components" / "assets" / "mlflow" / "basic_auth.ini"
SCRIPT = ROOT / "apps" / "mlflow_server" / "bootstrap_users.py"
ADMIN = "admin"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    home = tmp_path_factory.mktemp("mlflow-auth")
    password = secrets.token_urlsafe(18)
    config = TEMPLATE.read_text().format(
        database_uri=f"sqlite:///{home / 'auth.db'}", admin_username=ADMIN, admin_password=password
    )
    (home / "basic_auth.ini").write_text(config)
    env = {
        "MLFLOW_AUTH_CONFIG_PATH": str(home / "basic_auth.ini"),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
    }
    with local.mlflow_server(home, app_name="basic-auth", env=env) as url:
        yield url, password


def bootstrap(url: str, admin_password: str, users: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MLFLOW_URL": url,
        "MLFLOW_ADMIN_USER": ADMIN,
        "MLFLOW_ADMIN_PASSWORD": admin_password,
        "USERS_DIR": str(users),
        "READY_TIMEOUT_SECONDS": "30",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def users_dir(tmp_path: Path, *names: str) -> tuple[Path, dict[str, str]]:
    """A directory like the mounted Secret the bootstrap Job reads: one file per user, its password."""
    users = tmp_path / "users"
    users.mkdir()
    passwords = {name: secrets.token_urlsafe(12) for name in names}
    for user, password in passwords.items():
        (users / user).write_text(password)
    return users, passwords


def search(url: str, user: str, password: str) -> int:
    answer = httpx.post(
        f"{url}/api/2.0/mlflow/experiments/search", json={"max_results": 10}, auth=(user, password), timeout=10
    )
    return answer.status_code


def test_anonymous_requests_are_refused(auth_server: tuple[str, str]) -> None:
    url, _ = auth_server
    assert httpx.post(f"{url}/api/2.0/mlflow/experiments/search", json={}, timeout=10).status_code == 401


def test_bootstrap_creates_accounts_then_rotates_them_idempotently(
    auth_server: tuple[str, str], tmp_path: Path
) -> None:
    url, admin_password = auth_server
    users, first = users_dir(tmp_path, "training", "serving")
    (users / "..data").mkdir()  # what a mounted Secret volume also contains: skipped

    done = bootstrap(url, admin_password, users)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["serving: created", "training: created"]
    assert search(url, "training", first["training"]) == 200
    assert search(url, "training", "wrong") == 401

    (users / "training").write_text(rotated := secrets.token_urlsafe(12))
    again = bootstrap(url, admin_password, users)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["serving: updated", "training: updated"]
    assert search(url, "training", rotated) == 200
    assert search(url, "training", first["training"]) == 401
    assert search(url, "serving", first["serving"]) == 200


def test_workloads_read_everything_but_change_only_what_they_created(
    auth_server: tuple[str, str], tmp_path: Path
) -> None:
    url, admin_password = auth_server
    users, passwords = users_dir(tmp_path, "trainer", "reader")
    assert bootstrap(url, admin_password, users).returncode == 0
    created = httpx.post(
        f"{url}/api/2.0/mlflow/experiments/create",
        json={"name": "churn-auth"},
        auth=("trainer", passwords["trainer"]),
        timeout=10,
    )
    assert created.status_code == 200, created.text
    experiment = created.json()["experiment_id"]
    read = httpx.get(
        f"{url}/api/2.0/mlflow/experiments/get",
        params={"experiment_id": experiment},
        auth=("reader", passwords["reader"]),
        timeout=10,
    )
    assert read.status_code == 200
    rename = httpx.post(
        f"{url}/api/2.0/mlflow/experiments/update",
        json={"experiment_id": experiment, "new_name": "taken-over"},
        auth=("reader", passwords["reader"]),
        timeout=10,
    )
    assert rename.status_code == 403


def test_bootstrap_fails_loudly_on_a_wrong_admin_password_or_missing_settings(
    auth_server: tuple[str, str], tmp_path: Path
) -> None:
    url, _ = auth_server
    (tmp_path / "someone").write_text("a-password-1234")
    wrong = bootstrap(url, "not-the-admin-password", tmp_path)
    assert wrong.returncode != 0
    assert "creating user 'someone' failed (401)" in wrong.stderr
    missing = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "MLFLOW_URL, MLFLOW_ADMIN_USER, MLFLOW_ADMIN_PASSWORD, USERS_DIR" in missing.stderr
