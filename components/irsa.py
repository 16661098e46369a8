"""IAM roles for Kubernetes service accounts (IRSA), each bound to exactly one service account."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ._common import tagged

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
"""Service-account annotation through which a pod assumes its IAM role."""


@dataclass(frozen=True)
class OidcIdentity:
    """The cluster's IAM OIDC provider, which IRSA trust policies name."""

    provider_arn: pulumi.Input[str]
    issuer_url: pulumi.Input[str]
    """`https://oidc.eks.<region>.amazonaws.com/id/<id>`."""


def trust_policy(oidc: OidcIdentity, namespace: str, service_account: str) -> pulumi.Output[str]:
    """A trust policy only `system:serviceaccount:<namespace>:<service_account>` can use (and only for STS)."""

    def document(provider_arn: str, issuer_url: str) -> str:
        issuer = issuer_url.removeprefix("https://")
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider_arn},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                f"{issuer}:aud": "sts.amazonaws.com",
                            }
                        },
                    }
                ],
            }
        )

    return pulumi.Output.all(oidc.provider_arn, oidc.issuer_url).apply(lambda v: document(v[0], v[1]))


def workload_role(
    name: str,
    *,
    oidc: OidcIdentity,
    namespace: str,
    service_account: str,
    tags: Mapping[str, str],
    policy: pulumi.Input[str] | None = None,
    managed_policy_arns: Sequence[str] = (),
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """An IRSA role for one service account, with an inline policy and/or AWS managed policies."""
    role = aws.iam.Role(
        name,
        assume_role_policy=trust_policy(oidc, namespace, service_account),
        description=f"IRSA role for {namespace}/{service_account}",
        tags=tagged(tags, name),
        opts=opts,
    )
    if policy is not None:
        aws.iam.RolePolicy(name, role=role.id, policy=policy, opts=opts)
    for arn in managed_policy_arns:
        aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=opts)
    return role
