"""Small helpers every component uses: child options, tags, IAM policy documents."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws

ASSETS = Path(__file__).resolve().parents[1] / "assets"
"""The files components deploy as they are: alert rules, dashboards, MLflow's auth config."""


class PlatformComponent(pulumi.ComponentResource):
    """Base of this package's components: `depends_on` given to the component also holds back every
    child it creates through `child()` (Pulumi applies a component's depends_on to the component
    alone - pulumi/pulumi#8721 - so e.g. objects would race their namespace)."""

    def __init__(self, type_: str, name: str, props: Any = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_, name, props, opts)
        deps = opts.depends_on if opts is not None else None
        self._inherited_depends_on: list[Any] = [deps] if isinstance(deps, pulumi.Resource) else list(deps or [])  # type: ignore[arg-type]


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a child resource: always parented (named, shown and deleted with its component),
    and waiting for whatever the component was told to wait for."""
    inherited = getattr(parent, "_inherited_depends_on", [])
    if inherited:
        own = kwargs.pop("depends_on", None)
        kwargs["depends_on"] = [*inherited, *([own] if isinstance(own, pulumi.Resource) else list(own or []))]
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def stateful(parent: pulumi.Resource, protect: bool, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a resource that holds state (data, keys, databases): in protected stacks it cannot
    be deleted by Pulumi and is retained if it leaves the program."""
    return child(parent, protect=protect, retain_on_delete=protect, **kwargs)


def tagged(tags: Mapping[str, str], name: str, **extra: str) -> dict[str, str]:
    """The stack's tags plus a Name tag (and any resource-specific ones)."""
    return {**tags, "Name": name, **extra}


def policy_document(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    """An IAM policy document as JSON; statements may hold Outputs (ARNs)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str, *, tag_session: bool = False) -> str:
    """Trust policy letting one AWS service assume a role (EKS also tags the session)."""
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else ["sts:AssumeRole"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}],
        }
    )


def account_scoped_trust(service: str, source_arn: str) -> pulumi.Output[str]:
    """Trust policy letting `service` assume a role only on this account's behalf, for `source_arn`
    (`{partition}`, `{account}` and `{region}` filled in): the confused-deputy guard AWS documents for it."""
    found = aws.get_caller_identity_output(), aws.get_region_output(), aws.get_partition_output()
    return pulumi.Output.all(found[0].account_id, found[1].region, found[2].partition).apply(
        lambda values: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": values[0]},
                            "ArnLike": {
                                "aws:SourceArn": source_arn.format(
                                    account=values[0], region=values[1], partition=values[2]
                                )
                            },
                        },
                    }
                ],
            }
        )
    )


class ComponentArgsError(pulumi.RunError):
    """A component was given arguments it cannot build; says which, with the values found."""

    def __init__(self, component: str, name: str, problems: Sequence[str]) -> None:
        super().__init__(f"{component} {name}: " + "; ".join(problems))
        self.problems = list(problems)


def aws_managed_policy(name: str) -> str:
    return f"arn:aws:iam::aws:policy/{name}"


T = TypeVar("T", bound=type)


def documented(cls: T) -> T:
    """Add each field's documentation (the string under it) to the class docstring, so `help()` on
    an Args class shows what every argument means and its default."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    lines = []
    for node, following in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            doc = " ".join(following.value.value.split())
            lines.append(f"    {node.target.id}: {doc}")
    cls.__doc__ = f"{cls.__doc__ or cls.__name__}\n\nArguments:\n" + "\n".join(lines)
    return cls
