"""Resource policies that grant the world. A bucket, queue, topic, key, repository, secret or function
whose own policy allows `Principal: "*"` (or `{"AWS": "*"}`) without a condition that narrows who
may act is open to every AWS account - however the program got that policy onto it: a policy
resource for a bucket the program does not create, the inline `policy` of the resource itself, or a
Lambda permission for `*`. Judged wherever the policy is written, whatever owns the target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from policies.rules.common import (
    EXCEPTIONS_CONFIG,
    as_list,
    excepted,
    json_document,
    resource_rule,
    statements,
    to_everyone,
)

POLICY_PROPERTY = {
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:s3/bucket:Bucket": "policy",
    "aws:s3/bucketV2:BucketV2": "policy",
    "aws:s3control/accessPointPolicy:AccessPointPolicy": "accessPointPolicy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sqs/queue:Queue": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:ecr/registryPolicy:RegistryPolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:lambda/permission:Permission": "",
}
"""Resource type -> the input holding its resource policy ("" for a Lambda permission: its fields)."""

NARROWING_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalservicename",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:userid",
        "aws:username",
        "kms:calleraccount",
        "kms:viaservice",
    }
)
"""Condition keys that limit who may act (an account, an organisation, a network, a service on the
principal's behalf). aws:SecureTransport and the like say how, not who: they do not narrow."""


def _narrowed(statement: Any) -> bool:
    """A condition that names who may act, with a value that is not itself a wildcard."""
    for operator, block in (statement.get("Condition") or {}).items():
        if str(operator).lower().startswith(("null", "bool")):
            continue
        for key, value in (block or {}).items():
            values = [str(v) for v in as_list(value)]
            if str(key).lower() in NARROWING_KEYS and values and not any(v.strip() in ("*", "") for v in values):
                return True
    return False


def public_statements(document: Any) -> list[list[str]]:
    """The actions of each Allow statement open to every principal with no narrowing condition
    (`NotPrincipal` with Allow is everyone but a few: open too)."""
    found = []
    for statement in statements(document):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        everyone = to_everyone(statement) or statement.get("NotPrincipal") is not None
        if everyone and not _narrowed(statement):
            if statement.get("NotAction") is not None:
                found.append([f"every action but {', '.join(str(a) for a in as_list(statement['NotAction']))}"])
            else:
                found.append([str(a) for a in as_list(statement.get("Action"))] or ["*"])
    return found


def resource_policy_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if excepted(args, args.name):
        return
    kind = args.resource_type.rsplit(":", 1)[-1]
    prop = POLICY_PROPERTY[args.resource_type]
    if not prop:  # aws.lambda.Permission: principal, and what narrows it
        principal = str(args.props.get("principal") or "")
        narrowed = any(args.props.get(k) for k in ("sourceAccount", "sourceArn", "principalOrgId"))
        if principal.strip() == "*" and not narrowed:
            report(
                f"{kind} '{args.name}' lets every AWS account call {args.props.get('action')}; set principal to an "
                "account or service and sourceArn/sourceAccount (or principalOrgId)"
            )
        return
    for actions in public_statements(json_document(args.props.get(prop))):
        report(
            f"{kind} '{args.name}' has a resource policy that allows everyone ({', '.join(actions)}) with no condition "
            "naming who (aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:SourceVpce...); name the account, "
            "organisation or endpoint, or list it under exceptions with the reason it is public"
        )


POLICIES = [
    resource_rule(
        "resource-policy-not-public",
        "Resource policies (S3, SQS, SNS, KMS, ECR, Secrets Manager, Lambda) never allow every principal without "
        "a condition naming who - on any resource, the program's own or not.",
        POLICY_PROPERTY,
        resource_policy_not_public,
        config=EXCEPTIONS_CONFIG,
    ),
]
