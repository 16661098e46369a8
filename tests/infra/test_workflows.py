"""The GitHub workflows: every action pinned to a commit (a tag can be moved; a commit cannot), CI
runs the README's test command, every app image is built, and the preview runs the policy pack.
(actionlint checks their syntax in `make lint`.)"""

from __future__ import annotations

import json
import re
import subprocess
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
    from components.kit.versions import APP_IMAGES

    job = load("ci.yml")["jobs"]["images"]
    assert set(job["strategy"]["matrix"]["app"]) == set(APP_IMAGES)
    build = next(step["run"] for step in job["steps"] if "docker build" in step.get("run", ""))
    assert '-f apps/Dockerfile --target "${{ matrix.app }}"' in build


def steps_of(job: dict) -> list[dict]:
    return list(job["steps"])


def step(job: dict, name: str) -> dict:
    return next(s for s in steps_of(job) if name in s.get("name", ""))


def test_preview_finds_every_stack_in_the_repository() -> None:
    workflow = load("preview.yml")
    script = step(workflow["jobs"]["stacks"], "Every Pulumi.<stack>.yaml")["run"]
    out = subprocess.run(
        ["bash", "-c", script.replace('>> "$GITHUB_OUTPUT"', "")], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().removeprefix("stacks=")) == sorted(p.name[7:-5] for p in ROOT.glob("Pulumi.*.yaml"))
    for job in ("offline-plan", "preview"):
        assert workflow["jobs"][job]["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"


def test_the_offline_plan_judges_the_head_with_the_base_gate_and_diffs_against_the_base() -> None:
    job = load("preview.yml")["jobs"]["offline-plan"]
    checkouts = [s for s in steps_of(job) if s.get("uses", "").startswith("actions/checkout@")]
    assert [c["with"].get("path") for c in checkouts] == ["head", "base"]
    assert checkouts[1]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    names = [s.get("name", s.get("uses", "")) for s in steps_of(job)]
    gate = step(job, "The gate from the base branch")["run"]
    assert gate.startswith("python3 base/offline/gate.py --base base --head head --install")  # the base's own script
    base_plan = step(job, "make plan (base branch)")["run"]
    head_plan = step(job, "make plan (pull request")["run"]
    assert names.index(step(job, "The gate")["name"]) < names.index(step(job, "make plan (pull request")["name"])
    assert "make -C base plan" in base_plan
    assert (
        "make -C head plan" in head_plan
        and "REQUIRE_CHARTS=1" in head_plan
        and 'NOTICE="$GITHUB_WORKSPACE/gate.md"' in head_plan
    )
    assert 'BASE="$GITHUB_WORKSPACE/plans/base"' in head_plan
    assert "plans/head/report.md" in step(job, "job summary")["run"]
    charts = step(job, "Pull the pinned charts")["run"]
    assert "make -C head charts" in charts and "git -C head diff --exit-code requirements/charts.lock" in charts


def test_the_comment_runs_none_of_the_pull_requests_code() -> None:
    job = load("preview.yml")["jobs"]["comment"]
    assert job["permissions"] == {"pull-requests": "write"}
    assert not any(s.get("uses", "").startswith("actions/checkout@") for s in steps_of(job))
    assert "review.md" in step(job, "One comment per stack")["run"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]


def test_forks_get_no_secrets_and_the_offline_plan_needs_none() -> None:
    workflow = load("preview.yml")
    text = (WORKFLOWS / "preview.yml").read_text()
    preview = workflow["jobs"]["preview"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in preview["if"]
    for name in ("stacks", "offline-plan"):
        assert "secrets." not in yaml.safe_dump(workflow["jobs"][name]), name
        assert "permissions" not in workflow["jobs"][name], f"{name} keeps the workflow's read-only token"
    assert workflow["permissions"] == {"contents": "read"}
    assert "pull_request_target" not in text, "the PR's code must never run with the base repository's secrets"


def test_the_credentialed_preview_takes_the_pack_and_its_config_from_the_base_branch() -> None:
    job = load("preview.yml")["jobs"]["preview"]
    pulumi = next(s for s in steps_of(job) if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["work-dir"] == "head"
    assert pulumi["with"]["policyPacks"] == "${{ github.workspace }}/base/policies"
    assert pulumi["with"]["policyPackConfigs"] == "${{ github.workspace }}/pack-config.json"
    assert pulumi["with"]["diff"] is True
    config = step(job, "The pack config from the base branch")
    assert config["run"].strip().startswith("base/.venv/bin/python -m offline.pack_config")
    assert config["env"] == {"PYTHONPATH": "base"}
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}


def test_the_release_publishes_the_git_source_at_the_tag_not_a_bare_schema() -> None:
    """A schema alone tells a registry user no way to fetch the plugin; Pulumi publishes a component
    package from its git source at a tag, whose provider/ the user's `pulumi package add` then installs."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    publish = next(s for s in workflow["jobs"]["release"]["steps"] if "package publish" in s.get("run", ""))["run"]
    assert 'package publish "github.com/${GITHUB_REPOSITORY}/provider@${GITHUB_REF_NAME#v}"' in publish
    assert "schema.json" not in publish
