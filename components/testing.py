"""Run a Pulumi program offline and record every resource it declares.

Pulumi's mocks stand in for the engine and the providers. A recording monitor keeps what
the engine would see for each resource: type, name, parent, inputs (camelCase, numbers as
floats: the names policies see) and options such as `protect`. Secret inputs stay wrapped
in `Secret`, so a test can tell them apart and a report can redact them.

Used by the test suite, by `make plan`, and by teams testing stacks built from these
components.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
SECRET_PLACEHOLDER = "offline-placeholder-for-an-encrypted-value"
"""Stands in for `secure:` stack values, which cannot be decrypted offline."""


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret."""

    value: Any

    def __repr__(self) -> str:
        return "Secret([redacted])"


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: str | None
    """URN of the parent resource (None for the stack itself)."""
    custom: bool
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    """protect, retainOnDelete, ignoreChanges, dependencies, provider, deleteBeforeReplace, aliases."""

    @property
    def protect(self) -> bool:
        return bool(self.options.get("protect"))

    def get(self, path: str, default: Any = None) -> Any:
        """Input at a dotted path (`vpcConfig.publicAccessCidrs`, `spec.template.spec`), secrets unwrapped."""
        node: Any = self.inputs
        for part in path.split("."):
            node = unwrap(node)
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return default
        return unwrap(node)


class Graph:
    """Everything a program declared, with queries tests read like sentences."""

    def __init__(self, resources: Sequence[Resource], outputs: Mapping[str, Any]) -> None:
        self.resources = sorted(resources, key=lambda r: r.urn)  # registration order varies from run to run
        self.outputs = dict(outputs)
        self._by_urn = {r.urn: r for r in self.resources}

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Resource:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise KeyError(f"expected one resource named {name!r}, found {len(found)}")
        return found[0]

    def one(self, type_: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise KeyError(f"expected one {type_} named {name!r}, found {len(found)} (have: {names})")
        return found[0]

    def parent_of(self, resource: Resource) -> Resource | None:
        return self._by_urn.get(resource.parent or "")

    def children(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, parent: Resource) -> list[Resource]:
        found = []
        for child in self.children(parent):
            found.append(child)
            found.extend(self.descendants(child))
        return found

    def ancestors(self, resource: Resource) -> list[Resource]:
        chain = []
        parent = self.parent_of(resource)
        while parent is not None:
            chain.append(parent)
            parent = self.parent_of(parent)
        return chain

    def kubernetes_objects(self) -> list[Resource]:
        """Every Kubernetes object (not providers, not Helm releases)."""
        return [
            r
            for r in self.resources
            if r.type.startswith("kubernetes:") and r.custom and "apiVersion" in r.inputs and "kind" in r.inputs
        ]


# --------------------------------------------------------------------------- values


def wrap_secrets(value: Any) -> Any:
    """RPC-deserialized inputs -> plain values with `Secret` where the program marked secrets."""
    if rpc.is_rpc_secret(value):
        return Secret(wrap_secrets(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {k: wrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wrap_secrets(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return f"<resource {type(value).__name__}>"
    return value


def unwrap(value: Any) -> Any:
    """Secrets unwrapped (for checks that must see through them)."""
    if isinstance(value, Secret):
        return unwrap(value.value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def redact(value: Any) -> Any:
    """Secrets replaced by a marker (for anything written to disk or shown); a secret mapping or
    list keeps its shape, so what is written still has the structure its schema expects."""
    if isinstance(value, Secret):
        inner = value.value
        if isinstance(inner, dict | list):
            return _mark_leaves(inner)
        return "[secret]"
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _mark_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mark_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark_leaves(v) for v in value]
    return "[secret]"


def contains_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


# --------------------------------------------------------------------------- mocks


class RecordingMocks(pulumi.runtime.Mocks):
    """Providers stand-in: echoes inputs and fills the computed outputs programs read. Outputs the
    resource declares secret (`additional_secret_outputs`, e.g. a RandomPassword's result) come
    back secret, as the engine would return them."""

    def __init__(self) -> None:
        self.secret_outputs: set[str] = set()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        outputs.update(_computed_outputs(args.typ, args.name, args.inputs))
        resource_id = outputs.pop("__id", f"{args.name}-id")
        for key in self.secret_outputs & set(outputs):
            outputs[key] = rpc.wrap_rpc_secret(outputs[key])
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline",
                "userId": "offline",
            }, None
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}, None
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, None
        return {}, None


def _arn(service: str, resource: str, *, region: bool = True) -> str:
    return f"arn:aws:{service}:{REGION if region else ''}:{ACCOUNT_ID}:{resource}"


def _computed_outputs(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs a provider would compute that programs in this repo read."""
    module = typ.split(":")[1].split("/", maxsplit=1)[0] if typ.count(":") == 2 else ""
    if typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or f"{name}-0a1b2c3d"
        return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "__id": bucket}
    if typ == "aws:eks/cluster:Cluster":
        cluster = inputs.get("name", name)
        return {
            "arn": _arn("eks", f"cluster/{cluster}"),
            "endpoint": f"https://{cluster}.gr7.{REGION}.eks.amazonaws.com",
            "certificateAuthority": {"data": "bW9jay1jYQ=="},
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{REGION}.amazonaws.com/id/MOCK{len(cluster)}"}]}],
            "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": "sg-0123456789abcdef0"},
            "__id": cluster,
        }
    if typ == "aws:eks/nodeGroup:NodeGroup":
        return {
            "arn": _arn("eks", f"nodegroup/{name}"),
            "nodeGroupName": name,
            "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-asg"}]}],
        }
    if typ == "aws:ec2/launchTemplate:LaunchTemplate":
        return {"arn": _arn("ec2", f"launch-template/{name}"), "latestVersion": 1}
    if typ == "aws:iam/role:Role":
        return {"arn": _arn("iam", f"role/{name}", region=False), "name": name}
    if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        issuer = str(inputs.get("url", "")).removeprefix("https://")
        return {"arn": _arn("iam", f"oidc-provider/{issuer}", region=False)}
    if typ == "aws:kms/key:Key":
        return {"arn": _arn("kms", f"key/{name}"), "keyId": f"{name}-key-id"}
    if typ == "aws:rds/instance:Instance":
        return {
            "address": f"{name}.rds.local",
            "endpoint": f"{name}.rds.local:5432",
            "port": 5432,
            "arn": _arn("rds", f"db:{name}"),
        }
    if typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        return {"primaryEndpointAddress": f"{name}.cache.local", "arn": _arn("elasticache", f"replicationgroup:{name}")}
    if typ.startswith("random:"):
        return {"result": f"offline-{name}"}
    if typ.startswith("aws:"):
        return {"arn": _arn(module, f"{typ.rsplit(':', 1)[-1].lower()}/{name}")}
    return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, keeping each registration as the engine would receive it."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.mocks: RecordingMocks = mocks
        self.records: list[Resource] = []

    def RegisterResource(self, request: Any) -> Any:
        self.mocks.secret_outputs = set(request.additionalSecretOutputs)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.records.append(
                Resource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    inputs=wrap_secrets(rpc.deserialize_properties(request.object)),
                    options={
                        "protect": bool(request.protect),
                        "retainOnDelete": bool(request.retainOnDelete),
                        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                        "ignoreChanges": list(request.ignoreChanges),
                        "dependencies": sorted(request.dependencies),  # Pulumi sends them in set order
                        "provider": request.provider or None,
                        "additionalSecretOutputs": list(request.additionalSecretOutputs),
                    },
                )
            )
        return response


# --------------------------------------------------------------------------- running


class ProgramFailed(Exception):
    """The program raised; `graph` holds what it had declared before (tests check it is nothing)."""

    def __init__(self, error: BaseException, graph: Graph) -> None:
        super().__init__(str(error))
        self.error = error
        self.graph = graph


def run_program(
    program: Path | Callable[[], None],
    *,
    config: Mapping[str, Any],
    secret_keys: Sequence[str] = (),
    project: str = "mlops-platform",
    stack: str = "test",
) -> Graph:
    """Run a program (a file such as `__main__.py`, or a function) under recording mocks.

    `config` uses full keys (`aws:region`, `mlops-platform:platform`); objects are given as
    Python values. Raises ProgramFailed (with the partial graph) if the program raises.
    """
    pulumi.runtime.set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()},
        list(secret_keys),
    )
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    settings = pulumi.runtime.settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()

    def body() -> None:
        if callable(program):
            program()
        else:
            runpy.run_path(str(program), run_name="__main__")

    try:
        _sync_await(run_pulumi_func(body))
    except Exception as error:
        raise ProgramFailed(error, Graph(monitor.records, {})) from error
    return Graph(monitor.records, _stack_outputs())


def _stack_outputs() -> dict[str, Any]:
    root = pulumi.runtime.settings.get_root_resource()
    exported = dict(getattr(root, "outputs", {}) or {})

    async def resolve(value: Any) -> Any:
        output = pulumi.Output.from_input(value)
        resolved = await output.future(with_unknowns=True)
        plain = _plain(resolved)
        return Secret(plain) if await output.is_secret() else plain

    return {key: _sync_await(resolve(value)) for key, value in exported.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class StackFile:
    """A `Pulumi.<stack>.yaml`, as the harness feeds it to a program."""

    config: dict[str, Any]
    secret_keys: list[str]

    @classmethod
    def load(cls, path: Path, overrides: Mapping[str, Any] | None = None) -> StackFile:
        document = yaml.safe_load(path.read_text()) or {}
        config: dict[str, Any] = {}
        secret_keys: list[str] = []
        for key, value in (document.get("config") or {}).items():
            secure = isinstance(value, dict) and set(value) == {"secure"}
            config[key] = SECRET_PLACEHOLDER if secure else value
            if secure:
                secret_keys.append(key)
        config.update(overrides or {})
        return cls(config, secret_keys)


def run_stack(
    stack: str,
    *,
    root: Path = Path("."),
    overrides: Mapping[str, Any] | None = None,
    secret_keys: Sequence[str] = (),
) -> Graph:
    """Run the project's `__main__.py` with `Pulumi.<stack>.yaml` (plus overrides) under recording mocks."""
    root = root.resolve()
    stack_file = StackFile.load(root / f"Pulumi.{stack}.yaml", overrides)
    project = (yaml.safe_load((root / "Pulumi.yaml").read_text()) or {})["name"]
    return run_program(
        root / "__main__.py",
        config=stack_file.config,
        secret_keys=[*stack_file.secret_keys, *secret_keys],
        project=project,
        stack=stack,
    )
