"""Run a Pulumi program offline and record every resource it declares.

Built only on Pulumi's public testing API: `pulumi.runtime.set_mocks` stands in for the engine
and the providers; a stack transformation (`pulumi.runtime.register_stack_transformation`) sees
each resource's options (parent, protect, depends_on, provider, ...); the mocks' `new_resource`
sees its inputs as the engine would (camelCase, numbers as floats: the names policies see).
Secret inputs stay wrapped in `Secret`, so a test can tell them apart and a report can redact
them.

    from components.testing import run_program

    graph = run_program(Path("__main__.py"), config={"aws:region": "us-east-1", ...})
    bucket = graph.one("aws:s3/bucket:Bucket", "vision-data")
    assert bucket.protect

Used by the test suite, by `make plan`, and by teams testing stacks built from these components.
"""

from __future__ import annotations

import json
import os
import runpy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc

from .config.stack_file import SECRET_PLACEHOLDER, StackFile, read_yaml

__all__ = [
    "SECRET_PLACEHOLDER",
    "Graph",
    "ProgramFailed",
    "Resource",
    "Secret",
    "StackFile",
    "run_program",
    "run_stack",
]

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


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
    """protect, retainOnDelete, ignoreChanges, dependencies, propertyDependencies (input -> URNs it refers to),
    provider, deleteBeforeReplace, aliases."""

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


@dataclass
class _Declared:
    """A resource as the program declared it: the object, and the options the engine receives."""

    resource: pulumi.Resource
    type: str
    name: str
    custom: bool
    opts: pulumi.ResourceOptions
    props: Any


class RecordingMocks(pulumi.runtime.Mocks):
    """Providers stand-in: echoes inputs and fills the computed outputs programs read. Outputs the
    resource declares secret (`additional_secret_outputs`, e.g. a RandomPassword's result) come
    back secret, as the engine would return them."""

    def __init__(self) -> None:
        self.declared: dict[tuple[str, str], _Declared] = {}
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}

    def observe(self, args: pulumi.ResourceTransformationArgs) -> None:
        """The stack transformation: remember each resource with its options (it changes nothing)."""
        key = (args.type_, args.name)
        parent = args.opts.parent if args.opts is not None else None
        if key in self.declared and parent is self.declared[key].resource:
            # A component wrapping one of its own type and name (the package's shells, provider/package.py):
            # distinct URNs for the engine (the parent's type is part of the child's); kept apart here too.
            key = (args.type_, f"{args.name} (inner)")
        if key in self.declared:
            raise ValueError(
                f"two resources of type {args.type_} are named {args.name!r}: the harness needs unique names"
            )
        custom = isinstance(args.resource, pulumi.CustomResource)
        self.declared[key] = _Declared(args.resource, args.type_, args.name, custom, args.opts, args.props)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.inputs[(args.typ, args.name)] = args.inputs
        outputs = dict(args.inputs)
        outputs.update(_computed_outputs(args.typ, args.name, args.inputs))
        resource_id = outputs.pop("__id", f"{args.name}-id")
        declared = self.declared.get((args.typ, args.name))
        secret = set(declared.opts.additional_secret_outputs or []) if declared else set()
        for key in secret & set(outputs):
            outputs[key] = rpc.wrap_rpc_secret(outputs[key])
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline",
                "userId": "offline",
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            region = pulumi.Config("aws").get("region") or REGION
            return {"name": region, "region": region, "id": region}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, []
        return {}, []


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
    Python values. Raises ProgramFailed (with what was recorded so far) if the program raises.
    """
    pulumi.runtime.reset_options(project=project, stack=stack, preview=False)
    encoded = {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}
    pulumi.runtime.set_all_config(encoded, list(secret_keys))
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    pulumi.runtime.register_stack_transformation(mocks.observe)
    recorded: dict[str, Any] = {}

    def body() -> Any:
        if callable(program):
            program()
        else:
            runpy.run_path(str(program), run_name="__main__")
        return _collect(mocks, recorded)

    # The engine hands a program its whole config in the environment, as here.
    engine_env = {"PULUMI_CONFIG": json.dumps(encoded), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(secret_keys))}
    saved = {key: os.environ.get(key) for key in engine_env}
    os.environ.update(engine_env)
    try:
        pulumi.runtime.test(body)()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated
    except Exception as error:
        raise ProgramFailed(error, Graph(_partial(mocks), {})) from error
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Graph(recorded["resources"], recorded["outputs"])


async def _collect(mocks: RecordingMocks, into: dict[str, Any]) -> None:
    """Once every resource is registered: URNs, parents, dependencies, providers, stack outputs."""
    urns = {key: str(await d.resource.urn.future()) for key, d in mocks.declared.items()}
    by_resource = {id(d.resource): urns[key] for key, d in mocks.declared.items()}
    children: dict[str, list[_Declared]] = {}
    for declared in mocks.declared.values():
        owner = declared.opts.parent
        if owner is not None and id(owner) in by_resource:
            children.setdefault(by_resource[id(owner)], []).append(declared)

    def expand(resource: pulumi.Resource) -> set[str]:
        """A component stands for its custom descendants (as the engine expands depends_on)."""
        urn = by_resource.get(id(resource))
        if urn is None:
            return set()
        if isinstance(resource, pulumi.CustomResource):
            return {urn}
        return {u for d in children.get(urn, []) for u in expand(d.resource)}

    root = pulumi.runtime.get_root_resource()
    root_urn = str(await root.urn.future()) if root is not None else None
    resources = []
    for key, declared in mocks.declared.items():
        opts = declared.opts
        explicit = opts.depends_on if isinstance(opts.depends_on, Sequence) else [opts.depends_on]
        implicit = [r for output in _outputs_in(declared.props) for r in await output.resources()]
        dependencies = sorted({u for r in [*explicit, *implicit] if r is not None for u in expand(r)} - {urns[key]})
        provider = await _provider_reference(declared, mocks) if declared.custom else None
        by_property: dict[str, list[str]] = {}
        for prop, value in (declared.props or {}).items() if isinstance(declared.props, Mapping) else ():
            found = {u for output in _outputs_in(value) for r in await output.resources() for u in expand(r)}
            if found - {urns[key]}:
                by_property[_camel(str(prop))] = sorted(found - {urns[key]})
        parent = by_resource.get(id(opts.parent)) if opts.parent is not None else root_urn
        resources.append(
            Resource(
                urn=urns[key],
                type=declared.type,
                name=declared.name,
                parent=parent,
                custom=declared.custom,
                inputs=wrap_secrets(mocks.inputs.get(key, {})),
                options={
                    "protect": bool(opts.protect),
                    "retainOnDelete": bool(opts.retain_on_delete),
                    "deleteBeforeReplace": bool(opts.delete_before_replace),
                    "ignoreChanges": [_camel(p) for p in opts.ignore_changes or []],
                    "dependencies": dependencies,
                    "propertyDependencies": by_property,
                    "provider": provider,
                    "additionalSecretOutputs": list(opts.additional_secret_outputs or []),
                    "aliases": [_alias_urn(a, declared, urns[key], by_resource) for a in opts.aliases or []],
                },
            )
        )
    exported: dict[str, Any] = {}
    for name, value in dict(getattr(root, "outputs", {}) or {}).items():
        output = pulumi.Output.from_input(value)
        plain = _plain(await output.future(with_unknowns=True))
        exported[name] = Secret(plain) if await output.is_secret() else plain
    into["resources"] = resources
    into["outputs"] = exported


def _partial(mocks: RecordingMocks) -> list[Resource]:
    """What was registered before a failure (without the details only a finished run has)."""
    return [
        Resource(urn="", type=t, name=n, parent=None, custom=True, inputs=wrap_secrets(inputs))
        for (t, n), inputs in mocks.inputs.items()
    ]


def _outputs_in(value: Any) -> Iterator[pulumi.Output[Any]]:
    if isinstance(value, pulumi.Output):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _outputs_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _outputs_in(item)
    elif hasattr(value, "__dict__") and not isinstance(value, pulumi.Resource | type):
        yield from _outputs_in(vars(value))


async def _provider_reference(declared: _Declared, mocks: RecordingMocks) -> str | None:
    """`<urn>::<id>` of the explicit provider the resource (or its nearest ancestor) names for its
    package; None for the default provider."""
    package = declared.type.split(":", 1)[0]
    parents = {id(d.resource): d for d in mocks.declared.values()}
    current: _Declared | None = declared
    while current is not None:
        provider = current.opts.provider
        if provider is None and current.opts.providers:
            providers = current.opts.providers
            candidates = providers.values() if isinstance(providers, Mapping) else providers
            provider = next((p for p in candidates if p.package == package), None)
        if provider is not None and provider.package == package:
            return f"{await provider.urn.future()}::{await provider.id.future()}"
        parent = current.opts.parent
        current = parents.get(id(parent)) if parent is not None else None
    return None


def _alias_urn(alias: Any, declared: _Declared, urn: str, by_resource: Mapping[int, str]) -> str:
    """The URN an alias names; what it leaves unsaid (Ellipsis or None) is the resource's own."""
    if isinstance(alias, str):
        return alias
    if isinstance(getattr(alias, "urn", None), str):
        return str(alias.urn)
    stack_project = urn.split("::", 2)[:2]
    name = alias.name if isinstance(alias.name, str) else declared.name
    type_ = alias.type_ if isinstance(alias.type_, str) else declared.type
    parent: Any = alias.parent
    if isinstance(parent, pulumi.Resource):
        parent = by_resource.get(id(parent))
    elif not isinstance(parent, str):
        parent = by_resource.get(id(declared.opts.parent)) if declared.opts.parent is not None else None
    # As the mocks build URNs (pulumi.runtime.mocks.make_urn): the parent's own type, then this one's.
    qualified = (
        f"{parent.split('::')[2].split('$')[-1]}${type_}"
        if isinstance(parent, str) and parent.count("::") >= 3
        else type_
    )
    return "::".join([*stack_project, qualified, name])


def _camel(path: str) -> str:
    head, *rest = path.split("_")
    return head + "".join(part.title() for part in rest)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


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
    project = (read_yaml((root / "Pulumi.yaml").read_text(), "Pulumi.yaml") or {})["name"]
    return run_program(
        root / "__main__.py",
        config=stack_file.config,
        secret_keys=[*stack_file.secret_keys, *secret_keys],
        project=project,
        stack=stack,
    )
