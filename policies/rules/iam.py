"""KMS and IAM: rotating keys; no administrator power in any form a policy reaches a principal
(inline on a role, user or group, `Role.inlinePolicies`, a managed policy and every kind of
attachment, `Role.managedPolicyArns`, the exclusive attachment sets); trust policies never open to
everyone, service trusts scoped to the account; IRSA roles bound to one service account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from components.kit.guardrails import POD_IDENTITY_SERVICE, pod_identity_trust_problems
from policies.rules.common import (
    as_list,
    dig,
    json_document,
    principals,
    resource_rule,
    setting,
    statements,
    to_everyone,
    truthy,
)

KMS_KEY = {"aws:kms/key:Key"}
ROLE = {"aws:iam/role:Role"}
POLICY_DOCUMENTS = {
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
}
ATTACHMENTS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
}
EXCLUSIVE_ATTACHMENTS = {
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
}
ADMIN_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
"""AWS-managed policies that amount to administrator power (IAMFullAccess: a principal can grant itself anything)."""
MANAGED_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)$")
SERVICE_ACCOUNT = re.compile(r"^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$")

SOURCE_ACCOUNT_CONFIG = {
    "servicesRequiringSourceAccount": {
        "type": "array",
        "items": {"type": "string"},
        "default": [
            "vpc-flow-logs.amazonaws.com",
            "delivery.logs.amazonaws.com",
            "logs.amazonaws.com",
            "cloudtrail.amazonaws.com",
            "config.amazonaws.com",
            "sns.amazonaws.com",
            "monitoring.rds.amazonaws.com",
        ],
        "description": "Service principals whose AWS documentation scopes the trust with aws:SourceAccount or "
        "aws:SourceArn (the confused-deputy guard).",
    }
}


def kms_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("enableKeyRotation")):
        report(f"KMS key '{args.name}' does not rotate; set enableKeyRotation to true")


def admin_power(statement: Any) -> str | None:
    """What makes an Allow statement administrator power, or None."""
    if statement.get("Effect") != "Allow":
        return None
    if statement.get("NotAction") is not None:
        return "allows every action but the ones NotAction lists"
    actions = [str(a).lower() for a in as_list(statement.get("Action"))]
    resources = [str(r) for r in as_list(statement.get("Resource"))]
    everything = "*" in resources or statement.get("NotResource") is not None
    if "*" in actions or "*:*" in actions:
        return "allows every action" + (" on every resource" if everything else "")
    if "iam:*" in actions:
        return "allows iam:* (it can grant itself anything)"
    if "iam:passrole" in actions and everything:
        return "allows iam:PassRole on every role (it can run code as any of them)"
    return None


def _documents(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    """(where, policy document) of every policy the resource states inline."""
    if args.resource_type in POLICY_DOCUMENTS:
        yield "policy", json_document(args.props.get("policy"))
    elif args.resource_type in ROLE:
        for index, inline in enumerate(as_list(args.props.get("inlinePolicies"))):
            yield f"inlinePolicies[{index}] ({inline.get('name') or 'unnamed'})", json_document(inline.get("policy"))


def _managed_arns(args: ResourceValidationArgs) -> Iterator[str]:
    if args.resource_type in ATTACHMENTS:
        yield str(args.props.get("policyArn") or "")
    elif args.resource_type in EXCLUSIVE_ATTACHMENTS:
        yield from (str(a) for a in as_list(args.props.get("policyArns")))
    elif args.resource_type in ROLE:
        yield from (str(a) for a in as_list(args.props.get("managedPolicyArns")))


def iam_no_admin_power(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, document in _documents(args):
        for statement in statements(document):
            if problem := admin_power(statement):
                report(f"IAM '{args.name}' {where} {problem}; list the actions and resources the workload needs")
    for arn in _managed_arns(args):
        match = MANAGED_POLICY_ARN.match(arn)
        if match and match["name"] in ADMIN_MANAGED_POLICIES:
            report(
                f"IAM '{args.name}' attaches the AWS-managed {match['name']} (administrator power); attach a policy "
                "scoped to what the workload does"
            )


def _conditions(statement: Any) -> list[str]:
    """Condition keys of a statement, lower-cased (`aws:sourceaccount`, `<issuer>:sub`)."""
    return [str(key).lower() for block in (statement.get("Condition") or {}).values() for key in (block or {})]


def iam_trust_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    document = json_document(args.props.get("assumeRolePolicy"))
    scoped_services = set(setting(args, SOURCE_ACCOUNT_CONFIG, "servicesRequiringSourceAccount"))
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            continue
        named = principals(statement)
        conditions = _conditions(statement)
        if to_everyone(statement) and not conditions:
            report(
                f"IAM role '{args.name}' can be assumed by any AWS principal (Principal *) without a condition; "
                "name the account or role that assumes it"
            )
        for service in named.get("Service", []):
            if service == POD_IDENTITY_SERVICE:
                for problem in pod_identity_trust_problems(statement):
                    report(f"IAM role '{args.name}' trusts {service} {problem}")
            elif service in scoped_services and not {"aws:sourceaccount", "aws:sourcearn"} & set(conditions):
                report(
                    f"IAM role '{args.name}' trusts {service} without aws:SourceAccount or aws:SourceArn; add the "
                    "condition so the service can assume it only on this account's behalf (confused deputy)"
                )


def irsa_single_service_account(args: ResourceValidationArgs, report: ReportViolation) -> None:
    document = json_document(args.props.get("assumeRolePolicy"))
    for statement in statements(document):
        if "sts:AssumeRoleWithWebIdentity" not in [str(a) for a in as_list(statement.get("Action"))]:
            continue
        if statement.get("Effect") != "Allow":
            continue
        if dig(statement, "Condition", "StringLike") is not None:
            report(
                f"IAM role '{args.name}' trusts service accounts by pattern (StringLike); bind it with StringEquals to one namespace:serviceaccount"
            )
        equals = dig(statement, "Condition", "StringEquals") or {}
        subjects = [v for key, value in equals.items() if str(key).endswith(":sub") for v in as_list(value)]
        audiences = [v for key, value in equals.items() if str(key).endswith(":aud") for v in as_list(value)]
        if len(subjects) != 1 or not SERVICE_ACCOUNT.match(str(subjects[0])):
            found = ", ".join(map(str, subjects)) or "none"
            report(
                f"IAM role '{args.name}' must trust exactly one service account (StringEquals <issuer>:sub = system:serviceaccount:<ns>:<name>); found {found}"
            )
        if audiences != ["sts.amazonaws.com"]:
            report(f"IAM role '{args.name}' must require audience sts.amazonaws.com (StringEquals <issuer>:aud)")


POLICIES = [
    resource_rule("kms-key-rotation", "KMS keys rotate yearly.", KMS_KEY, kms_rotation),
    resource_rule(
        "iam-no-admin-power",
        "No principal gets administrator power: no *, iam:* or PassRole on *, no AdministratorAccess, "
        "PowerUserAccess or IAMFullAccess - in any form a policy reaches it.",
        POLICY_DOCUMENTS | ATTACHMENTS | EXCLUSIVE_ATTACHMENTS | ROLE,
        iam_no_admin_power,
    ),
    resource_rule(
        "iam-trust-scoped",
        "Trust policies are never open to every principal; service trusts name the account; EKS Pod Identity "
        "trusts pin one namespace, service account and cluster by the session tags it sets.",
        ROLE,
        iam_trust_scoped,
        config=SOURCE_ACCOUNT_CONFIG,
    ),
    resource_rule(
        "irsa-single-service-account",
        "IRSA roles trust exactly one Kubernetes service account.",
        ROLE,
        irsa_single_service_account,
    ),
]
