"""How pods get AWS credentials: an IAM role per Kubernetes service account, bound to exactly that one.

Two mechanisms, one interface (`ClusterIdentity.role`):

- EKS Pod Identity (the default for clusters the platform creates): the role trusts
  `pods.eks.amazonaws.com` only for sessions Pod Identity tags with this namespace, service account
  and cluster (the EKS User Guide's form), and a PodIdentityAssociation binds it to them. The
  `eks-pod-identity-agent` add-on hands pods their credentials; no OIDC provider is involved.
- IRSA (for adopted clusters without the agent): the role trusts the cluster's OIDC provider for
  `system:serviceaccount:<namespace>:<name>` only, and the service account carries the role's ARN.

Either way the role's permissions are the same; only trust and binding differ.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .common import tagged
from .guardrails import pod_identity_trust_statement

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
"""Service-account annotation through which a pod assumes its IAM role (IRSA)."""
POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent"


class IdentityMode(enum.Enum):
    """How the platform's pods get their AWS credentials."""

    POD_IDENTITY = "podIdentity"
    IRSA = "irsa"


@dataclass(frozen=True)
class OidcIdentity:
    """The cluster's IAM OIDC provider, which IRSA trust policies name."""

    provider_arn: pulumi.Input[str]
    issuer_url: pulumi.Input[str]
    """`https://oidc.eks.<region>.amazonaws.com/id/<id>`."""


def irsa_trust_policy(oidc: OidcIdentity, namespace: str, service_account: str) -> pulumi.Output[str]:
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


def pod_identity_trust_policy(
    cluster_arn: pulumi.Input[str], namespace: str, service_account: str
) -> pulumi.Output[str]:
    """A trust policy EKS Pod Identity can use for one service account of one cluster only: the form the
    EKS User Guide documents, scoped by the session tags Pod Identity sets (guardrails holds it, and the
    pack's iam-trust-scoped requires it)."""
    return pulumi.Output.from_input(cluster_arn).apply(
        lambda arn: json.dumps(
            {"Version": "2012-10-17", "Statement": [pod_identity_trust_statement(namespace, service_account, arn)]}
        )
    )


@dataclass(frozen=True)
class WorkloadRole:
    """A role bound to one service account, and what that service account must carry for it."""

    role: aws.iam.Role
    annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Service-account annotations (IRSA: the role ARN; Pod Identity: none)."""
    credentials: Sequence[pulumi.Resource] = ()
    """What a pod running as the service account must wait for, or it starts without its credentials
    (IMDS hop limit 1 leaves no fallback): the association (Pod Identity) or the role (IRSA), and the
    role's policies. Every workload of the service account depends on them."""


@dataclass(frozen=True)
class ClusterIdentity:
    """The cluster's way of giving a pod an IAM role. Build it with `pod_identity(...)` or `irsa(...)`
    (EksCluster.identity is one)."""

    mode: IdentityMode
    cluster_name: pulumi.Input[str] | None = None
    """Pod Identity: the cluster its associations are made in."""
    cluster_arn: pulumi.Input[str] | None = None
    """Pod Identity: `arn:<partition>:eks:<region>:<account>:cluster/<name>`, the only cluster its roles trust (session tag eks-cluster-arn)."""
    oidc: OidcIdentity | None = None
    """IRSA: the cluster's OIDC provider."""

    @classmethod
    def pod_identity(cls, cluster_name: pulumi.Input[str], cluster_arn: pulumi.Input[str]) -> ClusterIdentity:
        return cls(IdentityMode.POD_IDENTITY, cluster_name=cluster_name, cluster_arn=cluster_arn)

    @classmethod
    def irsa(cls, oidc: OidcIdentity) -> ClusterIdentity:
        return cls(IdentityMode.IRSA, oidc=oidc)

    def trust_policy(self, namespace: str, service_account: str) -> pulumi.Output[str]:
        if self.mode is IdentityMode.POD_IDENTITY:
            if self.cluster_arn is None:
                raise ValueError("Pod Identity needs the cluster's ARN (ClusterIdentity.pod_identity)")
            return pod_identity_trust_policy(self.cluster_arn, namespace, service_account)
        if self.oidc is None:
            raise ValueError("IRSA needs the cluster's OIDC provider (ClusterIdentity.irsa)")
        return irsa_trust_policy(self.oidc, namespace, service_account)

    def role(
        self,
        name: str,
        *,
        namespace: str,
        service_account: str,
        tags: Mapping[str, str],
        policy: pulumi.Input[str] | None = None,
        managed_policy_arns: Sequence[str] = (),
        associate: bool = True,
        renamed_from: str | None = None,
        opts: pulumi.ResourceOptions,
    ) -> WorkloadRole:
        """A role for one service account, with an inline policy and/or AWS managed policies. Under Pod
        Identity, a PodIdentityAssociation binds it (`associate=False` leaves that to an EKS add-on's
        own association). `renamed_from`: the role's earlier resource name, so a rename keeps it."""

        def options(resource: str) -> pulumi.ResourceOptions:
            if renamed_from is None:
                return opts
            alias = pulumi.Alias(name=resource.replace(name, renamed_from, 1))
            return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[alias]))

        role = aws.iam.Role(
            name,
            assume_role_policy=self.trust_policy(namespace, service_account),
            description=f"{self.mode.value} role for {namespace}/{service_account}",
            tags=tagged(tags, name),
            opts=options(name),
        )
        grants: list[pulumi.Resource] = []
        if policy is not None:
            grants.append(aws.iam.RolePolicy(name, role=role.id, policy=policy, opts=options(name)))
        for arn in managed_policy_arns:
            attachment = f"{name}-{arn.rsplit('/', 1)[-1]}"
            grants.append(
                aws.iam.RolePolicyAttachment(attachment, role=role.name, policy_arn=arn, opts=options(attachment))
            )
        if self.mode is IdentityMode.IRSA:
            return WorkloadRole(role, {ROLE_ARN_ANNOTATION: role.arn}, [role, *grants])
        if not associate:
            return WorkloadRole(role, credentials=grants)  # the add-on's own association comes with the add-on
        assert self.cluster_name is not None
        association = aws.eks.PodIdentityAssociation(
            name,
            cluster_name=self.cluster_name,
            namespace=namespace,
            service_account=service_account,
            role_arn=role.arn,
            tags=tagged(tags, name),
            opts=opts,
        )
        return WorkloadRole(role, credentials=[association, *grants])
