"""KMS and IAM: rotating keys, no admin wildcards, IRSA roles bound to one service account."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from policies.rules.common import as_list, dig, json_document, resource_rule, statements, truthy

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
}
ADMIN_POLICIES = ("arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/PowerUserAccess")
SERVICE_ACCOUNT = re.compile(r"^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$")


def kms_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("enableKeyRotation")):
        report(f"KMS key '{args.name}' does not rotate; set enableKeyRotation to true")


def _wildcard_admin(statement: Any) -> bool:
    actions = [str(a) for a in as_list(statement.get("Action"))]
    resources = [str(r) for r in as_list(statement.get("Resource"))]
    return statement.get("Effect") == "Allow" and "*" in actions and "*" in resources


def iam_no_wildcard_admin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in ATTACHMENTS:
        if args.props.get("policyArn") in ADMIN_POLICIES:
            report(
                f"IAM attachment '{args.name}' grants {args.props.get('policyArn').rsplit('/', 1)[-1]}; attach a policy scoped to what the workload does"
            )
        return
    document = json_document(args.props.get("policy"))
    if any(_wildcard_admin(s) for s in statements(document)):
        report(f"IAM policy '{args.name}' allows action '*' on resource '*'; list the actions and resources it needs")


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
        "iam-no-wildcard-admin",
        "No IAM policy allows every action on every resource.",
        POLICY_DOCUMENTS | ATTACHMENTS,
        iam_no_wildcard_admin,
    ),
    resource_rule(
        "irsa-single-service-account",
        "IRSA roles trust exactly one Kubernetes service account.",
        ROLE,
        irsa_single_service_account,
    ),
]
