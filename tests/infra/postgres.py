"""A real PostgreSQL for tests: initdb into a temporary directory, started on a free loopback port with
password authentication, stopped (and removed) when the test is done - also when it fails.

PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user (or `nobody`)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def binaries() -> Path:
    """The newest PostgreSQL server's bin directory (Debian installs them under /usr/lib/postgresql)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError("PostgreSQL is not installed: `make system-deps` installs the Debian package postgresql")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Postgres:
    bin: Path
    port: int
    admin: str
    password: str

    def env(self, **extra: str) -> dict[str, str]:
        """libpq's environment for this server (add PGUSER/PGPASSWORD to be someone else)."""
        return {
            **os.environ,
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": self.admin,
            "PGPASSWORD": self.password,
            "PGDATABASE": "postgres",
            "PGSSLMODE": "disable",
            "PGCONNECT_TIMEOUT": "5",
            **extra,
        }

    def psql(
        self, sql: str, *, user: str | None = None, password: str | None = None, database: str = "postgres"
    ) -> subprocess.CompletedProcess[str]:
        env = self.env(
            PGDATABASE=database, **({"PGUSER": user} if user else {}), **({"PGPASSWORD": password} if password else {})
        )
        return subprocess.run(
            [str(self.bin / "psql"), "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            return ["runuser", "-u", user, "--"]
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


@contextlib.contextmanager
def running(admin: str = "mlops_admin", password: str = "admin-password-for-tests") -> Iterator[Postgres]:
    bin_dir = binaries()
    sudo = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="pg-test-"))
    root.chmod(0o755)
    data, pwfile = root / "data", root / "pwfile"
    pwfile.write_text(password + "\n")
    data.mkdir()
    if sudo:
        owner = pwd.getpwnam(sudo[2])
        for path in (root, data, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = free_port()
    server = Postgres(bin_dir, port, admin, password)
    started = False
    try:
        subprocess.run(
            [
                *sudo,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                admin,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root}"
        subprocess.run(
            [
                *sudo,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
        started = True
        yield server
    finally:
        if started:
            subprocess.run(
                [*sudo, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)
