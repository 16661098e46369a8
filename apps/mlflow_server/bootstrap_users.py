"""Create or update MLflow basic-auth accounts, one per file in USERS_DIR (file name = user name,
content = password), through MLflow's auth REST API as the admin. Idempotent: an existing user gets
its password reset to the file's, so rotating a Secret and re-running the Job is the rotation.

The MlflowTracking component runs this as a Job after the server is up. Its environment is the
BootstrapUsersSettings contract (`mlops_platform.contracts`, installed in the image):
MLFLOW_URL, MLFLOW_ADMIN_USER, MLFLOW_ADMIN_PASSWORD, USERS_DIR, READY_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from mlops_platform.contracts import BootstrapUsersSettings

USERNAME_LIMIT = 255


class MlflowAuth:
    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, headers=self.headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode() or "{}"
                return response.status, json.loads(text)
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                return error.code, json.loads(text)
            except json.JSONDecodeError:
                return error.code, {"message": text[:300]}

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"MLflow at {self.url} not healthy after {timeout:.0f}s")
            time.sleep(3)

    def ensure_user(self, user: str, password: str) -> str:
        """'created' or 'updated'; raises with MLflow's message on anything else."""
        status, body = self.call("POST", "/api/2.0/mlflow/users/create", {"username": user, "password": password})
        if status == 200:
            return "created"
        if body.get("error_code") != "RESOURCE_ALREADY_EXISTS":
            raise RuntimeError(f"creating user {user!r} failed ({status}): {body.get('message', body)}")
        status, body = self.call(
            "PATCH", "/api/2.0/mlflow/users/update-password", {"username": user, "password": password}
        )
        if status != 200:
            raise RuntimeError(f"updating user {user!r} failed ({status}): {body.get('message', body)}")
        return "updated"


def read_users(directory: Path) -> dict[str, str]:
    users = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():  # Secret volumes add ..data symlinks
            continue
        password = path.read_text().strip()
        if not password:
            raise ValueError(f"{path}: empty password")
        if len(path.name) > USERNAME_LIMIT:
            raise ValueError(f"{path.name[:40]}...: user name longer than {USERNAME_LIMIT}")
        users[path.name] = password
    return users


def main() -> int:
    settings = BootstrapUsersSettings.from_environ(os.environ)
    variables = BootstrapUsersSettings.variables()
    required = ("mlflow_url", "admin_user", "admin_password", "users_dir")
    missing = [variables[name] for name in required if not getattr(settings, name)]
    if missing:
        print(f"missing environment variables: {', '.join(missing)}", file=sys.stderr)
        return 2
    users = read_users(Path(settings.users_dir))
    auth = MlflowAuth(settings.mlflow_url, settings.admin_user, settings.admin_password)
    auth.wait_ready(settings.ready_timeout_seconds)
    for user, password in users.items():
        print(f"{user}: {auth.ensure_user(user, password)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
