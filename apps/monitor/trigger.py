"""The retraining trigger: debounced, cooled down, idempotent.

Retraining starts when `consecutive_windows` windows in a row have drifted, unless the last
trigger is younger than the cooldown or a retraining is still running. Each trigger has a
deterministic name - model, serving version and the trigger's sequence number for that version -
so a restarted monitor or two concurrent alerts cannot start two runs for the same trigger: the
backend refuses a name it already has.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

log = logging.getLogger("apps.monitor.trigger")


class Backend(Protocol):
    def running(self) -> bool:
        """Whether a retraining launched by this monitor is still running."""

    def launch(self, name: str, reason: str) -> bool:
        """Start retraining under `name`; False if a run with that name already exists."""


@dataclass(frozen=True)
class Decision:
    fired: bool
    reason: str
    job_name: str | None = None


class RetrainTrigger:
    def __init__(
        self,
        model: str,
        backend: Backend | None,
        *,
        consecutive_windows: int,
        cooldown_seconds: float,
        on_trigger: Callable[[str, str], None] = lambda model, reason: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.backend = backend
        self.consecutive_windows = consecutive_windows
        self.cooldown_seconds = cooldown_seconds
        self._on_trigger = on_trigger
        self._clock = clock
        self._lock = threading.Lock()
        self.streak = 0
        self.sequence = 0
        self.serving_version = ""
        self.last_fired: float | None = None
        self.fired: list[str] = []

    def new_baseline(self, version: str) -> None:
        """A new champion (and profile): drift so far was measured against the old one."""
        with self._lock:
            if version != self.serving_version:
                self.serving_version = version
                self.streak = 0
                self.sequence = 0

    def observe(self, drifted: bool, detail: str) -> Decision:
        """Feed one window's verdict; fire if the debounce, cooldown and single-run rules allow."""
        with self._lock:
            self.streak = self.streak + 1 if drifted else 0
            if self.streak < self.consecutive_windows:
                return Decision(False, f"{self.streak}/{self.consecutive_windows} drifted windows")
            now = self._clock()
            if self.last_fired is not None and now - self.last_fired < self.cooldown_seconds:
                return Decision(False, f"cooling down ({self.cooldown_seconds - (now - self.last_fired):.0f}s left)")
            if self.backend is None:
                return Decision(False, "no retraining backend configured (alerts only)")
            if self.backend.running():
                return Decision(False, "a retraining is already running")
            name = job_name(self.model, self.serving_version, self.sequence + 1)
            reason = f"drift in {self.streak} consecutive windows: {detail}"
            if not self.backend.launch(name, reason):
                self.sequence += 1  # someone (a previous incarnation) already launched it
                self.last_fired = now
                return Decision(False, f"{name} already exists", name)
            self.sequence += 1
            self.last_fired = now
            self.streak = 0
            self.fired.append(name)
            log.warning("retraining %s triggered as %s: %s", self.model, name, reason)
            self._on_trigger(self.model, "drift")
            return Decision(True, reason, name)


def job_name(model: str, version: str, sequence: int) -> str:
    """A valid Kubernetes name, the same for the same (model, serving version, trigger number)."""
    digest = hashlib.sha256(f"{model}/{version}/{sequence}".encode()).hexdigest()[:10]
    return f"training-retrain-{digest}"


class LocalProcessBackend:
    """Retraining as a local process (the demo). One at a time; a marker file per name."""

    def __init__(self, command: Sequence[str], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.command = list(command)
        self.workdir = workdir
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.launched: list[str] = []
        workdir.mkdir(parents=True, exist_ok=True)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self, name: str, reason: str) -> bool:
        marker = self.workdir / f"{name}.started"
        try:
            marker.open("x").write(reason)
        except FileExistsError:
            return False
        log_file = (self.workdir / f"{name}.log").open("wb")
        self.process = subprocess.Popen(
            self.command, stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, **(self.env or {})}
        )
        self.launched.append(name)
        return True

    def wait(self, timeout: float | None = None) -> int | None:
        return self.process.wait(timeout) if self.process is not None else None


class KubernetesJobBackend:
    """Retraining as a Kubernetes Job copied from the training Job template."""

    LABEL = "mlops.platform/retrain"

    def __init__(self, namespace: str, template_path: Path, api: Any = None) -> None:
        self.namespace = namespace
        self.template = yaml.safe_load(template_path.read_text())
        if self.template.get("kind") != "Job":
            raise ValueError(f"{template_path} is not a Job manifest")
        self._api = api

    @property
    def api(self) -> Any:
        if self._api is None:  # the client is loaded (and configured) only when a Job is first needed
            from kubernetes import client, config

            config.load_incluster_config()
            self._api = client.BatchV1Api()
        return self._api

    def manifest(self, name: str, reason: str) -> dict[str, Any]:
        """The Job to create: the template, named, labelled and annotated with why."""
        job = yaml.safe_load(yaml.safe_dump(self.template))  # deep copy
        metadata = job.setdefault("metadata", {})
        metadata["name"] = name
        metadata["namespace"] = self.namespace
        metadata.setdefault("labels", {})[self.LABEL] = "true"
        metadata.setdefault("annotations", {})["mlops.platform/reason"] = reason[:1000]
        return dict(job)

    def running(self) -> bool:
        jobs = self.api.list_namespaced_job(self.namespace, label_selector=f"{self.LABEL}=true")
        return any((job.status.active or 0) > 0 for job in jobs.items)

    def launch(self, name: str, reason: str) -> bool:
        from kubernetes.client.exceptions import ApiException  # with the client, above

        try:
            self.api.create_namespaced_job(self.namespace, self.manifest(name, reason))
        except ApiException as error:
            if error.status == 409:
                return False
            raise
        return True
