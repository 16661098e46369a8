"""The apps' images: pinned bases, hash-pinned requirements that match what the tests ran on, the
uid the pods run as, and one image for every name the components deploy. (No Docker engine here:
the Dockerfiles are checked as files; CI builds each image and runs its entry point, job `images`.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.kit import k8s as kube
from components.kit.versions import APP_IMAGES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "apps" / "Dockerfile"
IMAGE_DIRS = {
    "training": "training",
    "serving": "serving",
    "monitor": "monitor",
    "features": "features",
    "mlflow": "mlflow_server",
}
"""APP_IMAGES key (= the Dockerfile's target) -> apps/<dir> holding its requirements."""
OWN_RESOLUTION = {"features"}
"""Images resolved on their own rather than against requirements/apps.lock (see their requirements.in)."""


def pins(text: str) -> dict[str, str]:
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s\\;]+)", text, re.M)}


def direct(requirements_in: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in requirements_in.read_text().splitlines())
    return [re.split(r"[\[=<>~ ]", line, maxsplit=1)[0].lower() for line in lines if line]


APPS_LOCK = pins((ROOT / "requirements" / "apps.lock").read_text())


def stages() -> dict[str, str]:
    """Each stage of the Dockerfile: name -> its instructions (up to the next FROM)."""
    text = DOCKERFILE.read_text()
    found = {}
    for match in re.finditer(r"^FROM\s+(\S+)\s+AS\s+(\S+)\n(.*?)(?=^FROM\s|\Z)", text, re.M | re.S):
        found[match[2]] = f"FROM {match[1]}\n{match[3]}"
    return found


def target(name: str) -> str:
    """A target's instructions with those of the stages it is built from."""
    all_stages = stages()
    text = all_stages[name]
    parent = text.split()[1]
    return (target(parent) if parent in all_stages else "") + text


@pytest.mark.parametrize("image", sorted(APP_IMAGES))
def test_every_deployed_image_is_a_target_of_the_dockerfile(image: str) -> None:
    assert image in stages(), f"apps/Dockerfile has no target {image!r}"
    command = f"docker build -f apps/Dockerfile --target {image} -t <registry>/{APP_IMAGES[image]}:<tag> ."
    assert command in DOCKERFILE.read_text(), "the header shows how to build it under the name it is deployed as"
    assert f"apps/{IMAGE_DIRS[image]}/requirements.txt" in stages()[image], "it installs its own requirements"


def test_base_images_are_pinned_and_the_same_python_as_the_locks() -> None:
    bases = [b for b in re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), re.M) if b not in stages()]
    assert bases
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), (
            f"{base}: pin the full Python version and Debian release"
        )
    assert "--python-version 3.11" in (ROOT / "Makefile").read_text()


@pytest.mark.parametrize("image", sorted(APP_IMAGES))
def test_images_run_as_the_pods_uid_and_copy_only_what_exists(image: str) -> None:
    text = target(image)
    uid = kube.pod_security()["runAsUser"]
    assert re.search(rf"^USER {uid}:{uid}$", text, re.M), f"USER must be {uid}:{uid} (the pods' runAsUser)"
    for sources in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for source in sources.split():
            assert (ROOT / source).exists(), f"target {image} copies {source}, which does not exist"
    assert "COPY contracts/__init__.py mlops_platform/contracts/" in target("base"), "every image carries the contracts"
    assert "components/" not in text and "components/" not in target("base"), "the apps need nothing of components/"


def test_the_build_context_holds_what_the_images_copy() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") :][:1] == ["*"], "everything is excluded first"
    for needed in ("!apps/", "!contracts/__init__.py"):
        assert needed in ignore
    assert not any(line.startswith("!components") for line in ignore), "no image copies the components"


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
