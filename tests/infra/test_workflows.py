"""The GitHub workflows: every action pinned to a commit (a tag can be moved; a commit cannot), CI
runs the README's test command, every app image is built, and the preview runs the policy pack.
(actionlint checks their syntax in `make lint`.)"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", re.M)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def test_every_action_is_pinned_to_a_commit_with_its_release_named() -> None:
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for action, rest in USES.findall(path.read_text()):
            found.append(action)
            name, _, ref = action.partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{path.name}: {name} is pinned to {ref!r}, not a commit SHA"
            assert re.search(r"#\s*v\d+\.\d+\.\d+", rest), f"{path.name}: {action} does not name its release"
    assert len(found) >= 5


def test_ci_runs_the_readme_test_command() -> None:
    steps = load("ci.yml")["jobs"]["test"]["steps"]
    assert any(step.get("run") == ".ci/run" for step in steps)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


def test_ci_builds_every_app_image() -> None:
    from components.versions import APP_IMAGES

    job = load("ci.yml")["jobs"]["images"]
    assert set(job["strategy"]["matrix"]["app"]) == set(APP_IMAGES)
    build = next(step["run"] for step in job["steps"] if "docker build" in step.get("run", ""))
    assert '-f apps/Dockerfile --target "${{ matrix.app }}"' in build


def test_preview_runs_the_policy_pack_for_both_stacks() -> None:
    job = load("preview.yml")["jobs"]["preview"]
    assert set(job["strategy"]["matrix"]["stack"]) == {"dev", "prod"}
    pulumi = next(step for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["diff"] is True
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
