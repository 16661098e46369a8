"""The apps' images: pinned bases, hash-pinned requirements that match what the tests ran on, the
uid the pods run as, and one image for every name the components deploy. (No Docker engine here:
the Dockerfiles are checked as files; CI builds each image and runs its entry point, job `images`.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import k8s as kube
from components.versions import APP_IMAGES

ROOT = Path(__file__).resolve().parents[2]
IMAGE_DIRS = {
    "training": "training",
    "serving": "serving",
    "monitor": "monitor",
    "features": "features",
    "mlflow": "mlflow_server",
}
"""APP_IMAGES key -> apps/<dir> holding its Dockerfile."""
OWN_RESOLUTION = {"features"}
"""Images resolved on their own rather than against requirements/apps.lock (see their requirements.in)."""


def pins(text: str) -> dict[str, str]:
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s\\;]+)", text, re.M)}


def direct(requirements_in: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in requirements_in.read_text().splitlines())
    return [re.split(r"[\[=<>~ ]", line, maxsplit=1)[0].lower() for line in lines if line]


APPS_LOCK = pins((ROOT / "requirements" / "apps.lock").read_text())


@pytest.mark.parametrize("image", sorted(APP_IMAGES))
def test_every_deployed_image_has_a_dockerfile_named_for_it(image: str) -> None:
    dockerfile = ROOT / "apps" / IMAGE_DIRS[image] / "Dockerfile"
    assert dockerfile.is_file()
    assert f"/{APP_IMAGES[image]}:" in dockerfile.read_text(), "the build command in its header names the image"


@pytest.mark.parametrize("app", sorted(IMAGE_DIRS.values()))
def test_base_images_are_pinned_and_the_same_python_as_the_locks(app: str) -> None:
    text = (ROOT / "apps" / app / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert bases
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), (
            f"{base}: pin the full Python version and Debian release"
        )
    locks = (ROOT / "Makefile").read_text()
    assert "--python-version 3.11" in locks


@pytest.mark.parametrize("app", sorted(IMAGE_DIRS.values()))
def test_images_run_as_the_pods_uid_and_copy_only_what_exists(app: str) -> None:
    text = (ROOT / "apps" / app / "Dockerfile").read_text()
    uid = kube.pod_security()["runAsUser"]
    assert re.search(rf"^USER {uid}:{uid}$", text, re.M), f"USER must be {uid}:{uid} (the pods' runAsUser)"
    for source in re.findall(r"^COPY (?!--from)(\S+) ", text, re.M):
        assert (ROOT / source).exists(), f"{app}/Dockerfile copies {source}, which does not exist"


@pytest.mark.parametrize("app", sorted(IMAGE_DIRS.values()))
def test_requirements_are_hash_pinned_and_match_the_tested_lock(app: str) -> None:
    folder = ROOT / "apps" / app
    text = (folder / "requirements.txt").read_text()
    requirements = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert requirements
    for line in requirements:
        assert re.match(r"^[A-Za-z0-9_.\-]+(\[[^\]]*\])?==\S+ \\$", line), f"{app}: {line!r} is not pinned with hashes"
    assert text.count("--hash=sha256:") >= len(requirements)
    image = pins(text)
    for name in direct(folder / "requirements.in"):
        assert name in image, f"{app}: {name} is in requirements.in but not in requirements.txt (run `make lock`)"
        if name in APPS_LOCK:
            assert image[name] == APPS_LOCK[name], f"{app}: {name}=={image[name]}, the tests ran {APPS_LOCK[name]}"
    if app not in OWN_RESOLUTION:  # the whole closure, not just the direct requirements
        drift = {n: (v, APPS_LOCK[n]) for n, v in image.items() if n in APPS_LOCK and APPS_LOCK[n] != v}
        assert not drift, f"{app}: versions differ from requirements/apps.lock: {drift}"
