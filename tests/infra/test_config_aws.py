"""Config checks that need AWS facts, cross-field reasoning or the engine's own YAML semantics:
what real AWS (or Pulumi) would refuse never passes the plan, and unusual valid configs are not
refused. AWS facts come from AWS's own data shipped in moto (components/kit/aws_facts.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError, DictSecrets, parse_platform_config
from components.config.stack_file import StackFile
from components.kit import aws_facts
from components.kit.gpu import gpu_spec
from components.testing import ProgramFailed
from offline.pack_config import for_stack_file
from offline.plan import main as plan_main
from tests.infra.conftest import ROOT, run_platform, stack_config
from tests.infra.test_config import ADOPTED_DEFAULTS, DELETE, EXISTING_CLUSTER, EXISTING_VPC, changed


def problems(config: dict[str, Any], *, region: str = "us-east-1", secrets: dict[str, bool] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_platform_config(config, secrets=DictSecrets(secrets or {}), region=region)
    return [str(p) for p in caught.value.problems]


def accepted(config: dict[str, Any], region: str = "us-east-1") -> Any:
    return parse_platform_config(config, secrets=DictSecrets({"kubeconfig": True}), region=region)


CASES = [
    # ---------------------------------------------------------------- instance types (DescribeInstanceTypes)
    (
        "system node type typo",
        "dev",
        {"cluster.systemNodes.instanceTypes": ["m6i.xlarg"]},
        'platform.cluster.systemNodes.instanceTypes[0] = "m6i.xlarg": m6i.xlarg is not an EC2 instance type (did you mean m6i.xlarge?)',
    ),
    (
        "GPU pool type typo",
        "dev",
        {"gpuPools.0.instanceTypes": ["g4dn.xlarg"]},
        'platform.gpuPools[0].instanceTypes = ["g4dn.xlarg"]: g4dn.xlarg is not an EC2 instance type (did you mean g4dn.xlarge?). A GPU pool holds NVIDIA GPU instance types for x86_64 (families g4dn, g5, g6, g6e, g7, g7e, gr6, p3dn, p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300)',
    ),
    (
        "GPU pool of Arm GPUs",
        "dev",
        {"gpuPools.0.instanceTypes": ["g5g.xlarge"]},
        'platform.gpuPools[0].instanceTypes = ["g5g.xlarge"]: g5g.xlarge is arm64; the EKS NVIDIA AMI the pools use is x86_64. A GPU pool holds NVIDIA GPU instance types for x86_64 (families g4dn, g5, g6, g6e, g7, g7e, gr6, p3dn, p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300)',
    ),
    (
        "GPU pool of fractional GPUs",
        "dev",
        {"gpuPools.0.instanceTypes": ["g6f.xlarge"]},
        'platform.gpuPools[0].instanceTypes = ["g6f.xlarge"]: g6f.xlarge has a fractional GPU (L4), which the device plugin cannot allocate. A GPU pool holds NVIDIA GPU instance types for x86_64 (families g4dn, g5, g6, g6e, g7, g7e, gr6, p3dn, p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300)',
    ),
    (
        "A100 40 GB mixed with A100 80 GB",
        "dev",
        {
            "gpuPools.0.instanceTypes": ["p4d.24xlarge", "p4de.24xlarge"],
            "guardrails.maxGpusPerPool": 16,
            "guardrails.maxGpusTotal": 16,
        },
        'platform.gpuPools[0].instanceTypes = ["p4d.24xlarge", "p4de.24xlarge"]: mixes GPU kinds (8 x nvidia-a100 (40 GiB), 8 x nvidia-a100 (80 GiB)); a pool\'s nodes share one GPU model and count',
    ),
    (
        "RDS class typo",
        "prod",
        {"database.instanceClass": "db.m7g.larg"},
        'platform.database.instanceClass = "db.m7g.larg": no such db. class: m7g.larg is not an EC2 instance type, and db. classes mirror EC2\'s (did you mean db.m7g.large?)',
    ),
    (
        "ElastiCache class typo",
        "prod",
        {"featureStore.redis.nodeType": "cache.r7g.xlarg"},
        'platform.featureStore.redis.nodeType = "cache.r7g.xlarg": no such cache. class: r7g.xlarg is not an EC2 instance type, and cache. classes mirror EC2\'s (did you mean cache.r7g.xlarge?)',
    ),
    (
        "an RDS class written without db.",
        "prod",
        {"database.instanceClass": "m7g.large"},
        "platform.database.instanceClass = \"m7g.large\": must start with 'db.' (e.g. db.t4g.medium)",
    ),
    # ---------------------------------------------------------------- zones and offerings
    (
        "an availability zone of another region",
        "dev",
        {"network.availabilityZones": ["us-west-2a", "us-east-1b"]},
        'platform.network.availabilityZones[0] = "us-west-2a": is in us-west-2, not in aws:region us-east-1; the zones of us-east-1 are us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f',
    ),
    (
        "a zone the region does not have",
        "dev",
        {"network.availabilityZones": ["us-east-1a", "us-east-1g"]},
        'platform.network.availabilityZones[1] = "us-east-1g": is not a zone of us-east-1; the zones of us-east-1 are us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f',
    ),
    (
        "a GPU type none of the stack's zones offers",
        "dev",
        {
            "gpuPools.0.instanceTypes": ["p3dn.24xlarge"],
            "gpuPools.0.maxSize": 1,
            "guardrails.maxGpusPerPool": 8,
            "guardrails.maxGpusTotal": 8,
        },
        'platform.gpuPools[0].instanceTypes = ["p3dn.24xlarge"]: p3dn.24xlarge is offered in 0 of the stack\'s zones (us-east-1a, us-east-1b); needs any. us-east-1 offers it in us-east-1c, us-east-1d',
    ),
    (
        "system nodes offered in one of the zones only",
        "dev",
        {
            "cluster.systemNodes.instanceTypes": ["hpc7g.4xlarge"],
            "network.availabilityZones": ["us-east-1b", "us-east-1c"],
        },
        'platform.cluster.systemNodes.instanceTypes = ["hpc7g.4xlarge"]: hpc7g.4xlarge is offered in 1 of the stack\'s zones (us-east-1b, us-east-1c); needs 2. us-east-1 offers it in us-east-1c',
    ),
    # ---------------------------------------------------------------- across fields
    (
        "an endpoint asking more GPUs than its pool's nodes have",
        "dev",
        {"serving.endpoints.0.gpus": 4, "serving.endpoints.0.gpuPool": "t4-spot"},
        "platform.serving.endpoints[0].gpus = 4: more GPUs than a node of pool 't4-spot' has (GPUs on its smallest instance type: t4-spot: 1); ask for fewer or add a larger type",
    ),
    (
        "training asking more GPUs than any pool's smallest node has",
        "prod",
        {"training.gpus": 2, "training.gpuPool": DELETE},
        "platform.training.gpus = 2: more GPUs than a node of any pool has (GPUs on its smallest instance type: a10g-serving: 1, l4-training-spot: 1); ask for fewer or add a larger type",
    ),
    (
        "a VPC equal to the default service range",
        "dev",
        {"network.vpcCidr": "172.20.0.0/16"},
        'platform.network.serviceCidr = "172.20.0.0/16": overlaps vpcCidr (172.20.0.0/16); pick a range outside the VPC (the default: set serviceCidr)',
    ),
    (
        "a service range inside the adopted VPC",
        "dev",
        {"network.existingVpc": {**EXISTING_VPC, "cidrBlocks": ["10.40.0.0/16", "172.20.0.0/16"]}},
        'platform.network.serviceCidr = "172.20.0.0/16": overlaps existingVpc.cidrBlocks (172.20.0.0/16); pick a range outside the VPC (the default: set serviceCidr)',
    ),
    (
        "service range in shared address space",
        "dev",
        {"network.serviceCidr": "100.64.0.0/16"},
        'platform.network.serviceCidr = "100.64.0.0/16": must be in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16',
    ),
    # ---------------------------------------------------------------- cron, as Kubernetes reads it
    (
        "cron hour 25",
        "dev",
        {"training.schedule": "0 25 * * *"},
        "platform.training.schedule = \"0 25 * * *\": hour field '25' is out of range or malformed (allowed: 0-23)",
    ),
    (
        "cron with seconds",
        "dev",
        {"featureStore.materializeSchedule": "0 0 * * * *"},
        'platform.featureStore.materializeSchedule = "0 0 * * * *": has 6 fields; Kubernetes needs five (minute, hour, day of month, month, day of week) or a macro such as @hourly',
    ),
    (
        "cron Sunday as 7",
        "dev",
        {"training.schedule": "0 3 * * 7"},
        'platform.training.schedule = "0 3 * * 7": day of week 7 is not accepted by Kubernetes: Sunday is 0',
    ),
    (
        "cron that never fires",
        "dev",
        {"training.schedule": "0 3 30 2 *"},
        "platform.training.schedule = \"0 3 30 2 *\": never fires: no month in '2' has day 30",
    ),
    (
        "cron macro Kubernetes lacks",
        "dev",
        {"training.schedule": "@every 1h"},
        'platform.training.schedule = "@every 1h": unknown macro; Kubernetes knows @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
    ),
    (
        "cron last day of month",
        "dev",
        {"training.schedule": "0 3 L * *"},
        "platform.training.schedule = \"0 3 L * *\": day of month field 'L' uses L, W or #, which Kubernetes does not support",
    ),
    (
        "cron with a time zone",
        "dev",
        {"training.schedule": "CRON_TZ=Europe/Berlin 0 3 * * *"},
        'platform.training.schedule = "CRON_TZ=Europe/Berlin 0 3 * * *": Kubernetes refuses a TZ= prefix: set the schedule in UTC (or the CronJob\'s timeZone)',
    ),
    # ---------------------------------------------------------------- messages a person can act on
    (
        "a version written as a number",
        "dev",
        {"cluster.kubernetesVersion": 1.33},
        'platform.cluster.kubernetesVersion = 1.33: must be a string, and YAML read a number: write "1.33" in quotes',
    ),
    (
        "an image tag written as a number",
        "dev",
        {"images.tag": 2},
        'platform.images.tag = 2: must be a string, and YAML read a number: write "2" in quotes',
    ),
    (
        "a pool name with an underscore",
        "dev",
        {"gpuPools.0.name": "t4_spot"},
        "platform.gpuPools[0].name = \"t4_spot\": may hold only lower-case letters, digits and '-' (found '_')",
    ),
    (
        "a pool name starting with a digit",
        "dev",
        {"gpuPools.0.name": "4gpu"},
        "platform.gpuPools[0].name = \"4gpu\": must start with a lower-case letter (starts with '4')",
    ),
    (
        "an alias in capitals",
        "dev",
        {"serving.endpoints.0.alias": "Champion"},
        "platform.serving.endpoints[0].alias = \"Champion\": may hold only lower-case letters, digits, '_' and '-' (found 'C')",
    ),
    (
        "a registry with a scheme",
        "dev",
        {"images.registry": "https://ecr.example.com/mlops"},
        'platform.images.registry = "https://ecr.example.com/mlops": must be a registry host and path like 123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops (lower case, no scheme)',
    ),
]


@pytest.mark.parametrize(("stack", "changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_what_aws_or_kubernetes_would_refuse_is_refused_with_its_message(
    stack: str, changes: dict[str, Any], expected: str
) -> None:
    assert problems(changed(stack, changes)) == [expected]


# --------------------------------------------------------------------------- valid, if unusual


def test_three_gpu_pools_and_every_macro_are_accepted() -> None:
    config = changed(
        "prod",
        {
            "guardrails.maxGpusTotal": 24,
            "training.schedule": "@hourly",
            "featureStore.materializeSchedule": "*/15 * ? * MON-FRI",
        },
    )
    config["gpuPools"].append({"name": "h100-training", "instanceTypes": ["p5.48xlarge"], "maxSize": 1})
    parsed = accepted(config)
    assert [p.name for p in parsed.gpu_pools] == ["a10g-serving", "l4-training-spot", "h100-training"]
    assert parsed.training.schedule == "@hourly"
    for macro in ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight"):
        assert accepted(changed("dev", {"training.schedule": macro})).training.schedule == macro


def test_an_existing_vpc_and_cluster_are_accepted() -> None:
    config = changed(
        "dev",
        {
            "cluster.existing": EXISTING_CLUSTER,
            "network.existingVpc": EXISTING_VPC,
            "network.availabilityZones": DELETE,
            **ADOPTED_DEFAULTS,
        },
    )
    parsed = accepted(config)
    assert parsed.network.existing_vpc is not None and parsed.cluster.existing is not None


def test_managed_classes_of_every_kind_are_accepted() -> None:
    for database, cache in (
        ("db.serverless", "cache.t4g.micro"),
        ("db.r6gd.xlarge", "cache.m7g.large"),
        ("db.t3.micro", "cache.t3.small"),
    ):
        parsed = accepted(changed("prod", {"database.instanceClass": database, "featureStore.redis.nodeType": cache}))
        assert parsed.database.instance_class == database


def test_public_endpoints_for_a_few_public_ranges_are_accepted_in_prod() -> None:
    parsed = accepted(
        changed(
            "prod", {"cluster.endpointPublicAccess": True, "cluster.publicAccessCidrs": ["34.1.2.0/24", "52.0.0.0/9"]}
        )
    )
    assert parsed.cluster.public_access_cidrs == ["34.1.2.0/24", "52.0.0.0/9"]


# --------------------------------------------------------------------------- aws:region and the stack's keys


def write_stack(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text)
    return path


def plan_errors(tmp_path: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = plan_main(["--stack", path.stem.split(".", 1)[1], "--stack-file", str(path), "--out", str(tmp_path / "out")])
    return code, capsys.readouterr().err


def dev_text(**replace: str) -> str:
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (
            {"aws:region: us-east-1": "aws:region: us-east-1a"},
            'aws:region = "us-east-1a": is an availability zone; the region is us-east-1',
        ),
        (
            {"aws:region: us-east-1": "aws:region: us-east-7"},
            'aws:region = "us-east-7": not an AWS region (did you mean us-east-1 or us-east-2?)',
        ),
        (
            {"mlops-platform:platform:": "mlops_platform:platform:"},
            "mlops_platform:platform: unknown config namespace 'mlops_platform'; this project's is 'mlops-platform': write mlops-platform:platform",
        ),
        (
            {
                "aws:region: us-east-1": "aws:region: us-east-1\n  aws:secretKey: abcdEFGH1234\n  aws:accessKey: AKIAEXAMPLE"
            },
            "aws:accessKey: an AWS credential in plain text in the stack file; remove it and use OIDC or an AWS profile (or, if you must, `pulumi config set --secret aws:accessKey ...`)",
        ),
        (
            {"aws:region: us-east-1": "aws:region: us-east-1\n  mlops-platform:gpuPools: []"},
            "mlops-platform:gpuPools: unknown key; mlops-platform reads mlops-platform:platform",
        ),
    ],
    ids=["region-is-an-az", "unknown-region", "wrong-namespace", "plain-credentials", "stray-key"],
)
def test_region_and_keys_are_checked_before_anything_is_declared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], replace: dict[str, str], expected: str
) -> None:
    code, err = plan_errors(tmp_path, write_stack(tmp_path, "x", dev_text(**replace)), capsys)
    assert code == 2, err
    assert f"  - {expected}" in err.splitlines()
    assert not (tmp_path / "out").exists()


def test_a_secret_credential_is_not_refused(tmp_path: Path) -> None:
    text = dev_text(**{"aws:region: us-east-1": "aws:region: us-east-1\n  aws:secretKey:\n    secure: AAABAJ2Xbase64"})
    graph = run_platform(stack_config("dev"), extra={"aws:secretKey": "x"}, secret_keys=("aws:secretKey",))
    assert len(graph) > 100
    assert StackFile.load(write_stack(tmp_path, "x", text)).secret_keys == ["aws:secretKey"]


def test_plain_credentials_stop_the_program_too() -> None:
    with pytest.raises(ProgramFailed, match=r"aws:token: an AWS credential in plain text"):
        run_platform(stack_config("dev"), extra={"aws:token": "FwoGZXIvYXdz"})


# --------------------------------------------------------------------------- YAML as Pulumi reads it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "config:\n  aws:region: us-east-1\n  mlops-platform:platform:\n    environment: dev\n    gpuPools: []\n    tags: {owner: a, costCenter: b}\n    gpuPools:\n      - name: x\n",
            "Pulumi.x.yaml:7:5: key 'gpuPools' appears twice (first at line 5): Pulumi refuses duplicate keys (and PyYAML would silently keep only the last); keep one and merge what they hold",
        ),
        (
            "config:\n  aws:region: us-east-1\n\tmlops-platform:platform: {}\n",
            "Pulumi.x.yaml:3:1: a tab character: YAML indents with spaces only",
        ),
        (
            "config:\n  aws:region: us-east-1\n  mlops-platform:platform:\n    tags: *ownership\n",
            "Pulumi.x.yaml:4:11: found undefined alias 'ownership': define the anchor (&name) before the alias (*name) that uses it",
        ),
        (
            "config:\n  aws:region: us-east-1\n  note: a: b\n",
            "Pulumi.x.yaml:3:10: a ': ' inside a value: put the value in quotes",
        ),
    ],
    ids=["duplicate-key", "tab", "undefined-alias", "unquoted-colon"],
)
def test_yaml_pulumi_would_refuse_is_a_config_error_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    code, err = plan_errors(tmp_path, write_stack(tmp_path, "x", text), capsys)
    assert code == 2
    assert err.strip() == f"invalid stack config (1 problem):\n  - {expected}"
    assert "Traceback" not in err


def test_anchors_merge_keys_and_yes_no_strings_are_read_as_pulumi_reads_them(tmp_path: Path) -> None:
    text = dev_text(
        **{
            "    tags:\n      owner: ml-platform\n      costCenter: ml-dev-0001\n": "    tags: &ownership\n      owner: ml-platform\n      costCenter: ml-dev-0001\n      extra: {reviewed: yes, billable: no, on-call: on}\n",
            "    mlflow:\n      replicas: 1\n": "    mlflow:\n      <<: &small {cpu: 250m, memory: 512Mi}\n      replicas: 1\n",
            "    featureStore:\n": "    monitoring:\n      <<: *small\n      retention: 7d\n    featureStore:\n",
        }
    ).replace("    monitoring:\n      retention: 7d\n      storageGib: 20\n", "")
    loaded = StackFile.load(write_stack(tmp_path, "x", text))
    platform = loaded.config["mlops-platform:platform"]
    assert platform["tags"]["extra"] == {"reviewed": "yes", "billable": "no", "on-call": "on"}
    assert platform["mlflow"] == {"cpu": "250m", "memory": "512Mi", "replicas": 1}
    with pytest.raises(ConfigError, match=r"monitoring.cpu = \"250m\": unknown key"):
        parse_platform_config(platform)  # the merge key really merged: monitoring has no cpu setting
    platform["monitoring"] = {"retention": "7d"}
    graph = run_platform(platform)
    assert graph.one("aws:s3/bucket:Bucket", "mlops-artifacts-data").get("tags")["reviewed"] == "yes"


# --------------------------------------------------------------------------- one GPU budget, levels by environment


def test_the_pack_takes_the_gpu_budget_from_the_stack_and_levels_from_its_environment(tmp_path: Path) -> None:
    for stack in ("dev", "prod"):
        config = for_stack_file(ROOT / f"Pulumi.{stack}.yaml")
        guardrails = stack_config(stack)["guardrails"]
        assert config["gpu-pool-budget"]["maxGpusPerPool"] == guardrails["maxGpusPerPool"]
        assert config["gpu-stack-budget"]["maxGpusTotal"] == guardrails["maxGpusTotal"]
        assert config["gpu-spot-allowed"]["allowSpot"] == guardrails["allowSpot"]
    levels = [json.loads((ROOT / "policies" / "config" / f"{env}.json").read_text()) for env in ("dev", "prod")]
    for level in levels:
        assert not any("maxGpus" in json.dumps(v) for v in level.values()), "GPU numbers live in the stack file only"
    # A stack named "staging" with environment prod gets prod's levels.
    staging = write_stack(tmp_path, "staging", (ROOT / "Pulumi.prod.yaml").read_text())
    assert for_stack_file(staging)["all"] == "mandatory"
    renamed_dev = write_stack(tmp_path, "prod-like", (ROOT / "Pulumi.dev.yaml").read_text())
    assert for_stack_file(renamed_dev)["eks-public-endpoint-restricted"] == "advisory"


def test_ci_plans_every_stack_file_found() -> None:
    listed = subprocess.run(
        ["make", "--no-print-directory", "-pn", "plans"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    stacks = next(line for line in listed.splitlines() if line.startswith("STACKS :="))
    assert stacks.split(":=")[1].split() == sorted(p.name[7:-5] for p in ROOT.glob("Pulumi.*.yaml"))
    assert "make plans" in (ROOT / ".github" / "workflows" / "ci.yml").read_text()


# --------------------------------------------------------------------------- exit codes, and make's


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (None, 0),
        (("noncurrentVersionExpirationDays: 7\n", "noncurrentVersionExpirationDays: 400\n"), 1),
        (("maxSize: 2\n", "maxSize: 0\n"), 2),
    ],
    ids=["pass", "failed-check", "bad-config"],
)
def test_plan_exits_0_1_or_2_and_make_fails_quoting_it(
    tmp_path: Path, change: tuple[str, str] | None, expected: int
) -> None:
    """`python -m offline.plan` tells a failed check (1) from a bad config (2); `make plan` runs it as a
    plain recipe, so make fails with its own status 2 for either, its message quoting the plan's."""
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    if change is not None:
        text = text.replace(*change, 1)
        text = (
            text.replace("    artifacts:\n      noncurrentVersionExpirationDays: 7\n      forceDestroy: true\n", "")
            if expected == 1
            else text
        )
    path = write_stack(tmp_path, "m", text)
    plan = subprocess.run(
        [sys.executable, "-m", "offline.plan", "--stack", "m", "--stack-file", str(path), "--out", str(tmp_path / "p")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert plan.returncode == expected, plan.stderr[-3000:]
    if expected == 0:
        return  # make's side of a passing plan is the shipped stacks' plans (tests/conftest.py)
    made = subprocess.run(
        ["make", "--no-print-directory", "plan", "STACK=m", f"STACK_FILE={path}", f"OUT={tmp_path / 'out'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert made.returncode == 2, made.stderr[-3000:]
    assert "[Makefile:" in made.stderr and f"plan] Error {expected}" in made.stderr, made.stderr[-3000:]


# --------------------------------------------------------------------------- how long checking takes


def test_checking_a_stack_reads_aws_data_once_and_quickly() -> None:
    """The measured figure goes into the plan report; here only a generous bound (the machine is shared)."""
    aws_facts.instance_types.cache_clear()
    aws_facts.zone_offerings.cache_clear()
    started = time.perf_counter()
    parse_platform_config(stack_config("prod"), region="us-east-1")
    assert time.perf_counter() - started < 5
    assert gpu_spec("g5.xlarge") is not None
