"""S3: encrypted with KMS, versioned, never public, TLS only, expiring old versions, logged."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from policies.rules.common import as_list, dig, json_document, resource_rule, setting, stack_rule, statements, truthy

BUCKET = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}
ENCRYPTION = {
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
}
VERSIONING = {"aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"}
PUBLIC_ACCESS_BLOCK = {"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"}
OWNERSHIP = {"aws:s3/bucketOwnershipControls:BucketOwnershipControls"}
POLICY = {"aws:s3/bucketPolicy:BucketPolicy"}
LIFECYCLE = {
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
}
LOGGING = {"aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2"}
ACL = {"aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"}

PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

LOG_BUCKETS_CONFIG = {
    "accessLogBuckets": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["*-logs"],
        "description": "Names (globs) of access-log buckets: S3 requires SSE-S3 there and they are not logged themselves.",
    }
}


def _is_log_bucket(args: ResourceValidationArgs | StackValidationArgs, name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in setting(args, LOG_BUCKETS_CONFIG, "accessLogBuckets"))


def s3_kms_encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    defaults = [dig(rule, "applyServerSideEncryptionByDefault") for rule in as_list(args.props.get("rules"))]
    defaults = [d for d in defaults if d is not None]
    if not defaults:
        report(
            f"S3 bucket '{args.name}' has no default encryption; set applyServerSideEncryptionByDefault with sseAlgorithm aws:kms and a customer-managed key"
        )
        return
    for default in defaults:
        algorithm = default.get("sseAlgorithm")
        if algorithm == "AES256" and _is_log_bucket(args, args.name):
            continue
        if algorithm not in ("aws:kms", "aws:kms:dsse"):
            report(
                f"S3 bucket '{args.name}' encrypts with {algorithm}; use sseAlgorithm aws:kms with a customer-managed KMS key"
            )
        elif not default.get("kmsMasterKeyId"):
            report(
                f"S3 bucket '{args.name}' uses the AWS-managed S3 key; set kmsMasterKeyId to a customer-managed key with rotation"
            )


def s3_versioning(args: ResourceValidationArgs, report: ReportViolation) -> None:
    status = dig(args.props, "versioningConfiguration", "status")
    if status != "Enabled":
        report(
            f"S3 bucket '{args.name}' has versioning {status or 'unset'}; set versioningConfiguration.status to Enabled"
        )


def s3_public_access_block(args: ResourceValidationArgs, report: ReportViolation) -> None:
    missing = [flag for flag in PUBLIC_ACCESS_FLAGS if not truthy(args.props.get(flag))]
    if missing:
        report(f"S3 bucket '{args.name}' does not block all public access: set {', '.join(missing)} to true")


def _denies_insecure_transport(statement: Any) -> bool:
    actions = [str(a) for a in as_list(statement.get("Action"))]
    secure = dig(statement, "Condition", "Bool", "aws:SecureTransport")
    return (
        statement.get("Effect") == "Deny"
        and any(a in ("s3:*", "*") for a in actions)
        and str(secure).lower() == "false"
    )


def s3_tls_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    document = json_document(args.props.get("policy"))
    if not any(_denies_insecure_transport(s) for s in statements(document)):
        report(
            f"S3 bucket policy '{args.name}' does not refuse plain HTTP; add a Deny of s3:* when aws:SecureTransport is false"
        )


def s3_no_public_acl(args: ResourceValidationArgs, report: ReportViolation) -> None:
    acl = args.props.get("acl")
    if acl in PUBLIC_ACLS:
        report(f"S3 bucket '{args.name}' has the public canned ACL {acl}; remove it (ownership is BucketOwnerEnforced)")
    for grant in as_list(dig(args.props, "accessControlPolicy", "grants")):
        uri = dig(grant, "grantee", "uri")
        if uri in PUBLIC_GRANTEES:
            report(
                f"S3 bucket '{args.name}' grants {dig(grant, 'permission')} to {uri.rsplit('/', 1)[-1]}; remove the grant"
            )


def s3_ownership_enforced(args: ResourceValidationArgs, report: ReportViolation) -> None:
    ownership = dig(args.props, "rule", "objectOwnership")
    if ownership != "BucketOwnerEnforced":
        report(
            f"S3 bucket '{args.name}' has object ownership {ownership or 'unset'}; set rule.objectOwnership to BucketOwnerEnforced (disables ACLs)"
        )


NONCURRENT_CONFIG = {
    "maxNoncurrentDays": {
        "type": "integer",
        "default": 365,
        "description": "Most days a noncurrent version may be kept.",
    }
}


def s3_noncurrent_expiration(args: ResourceValidationArgs, report: ReportViolation) -> None:
    limit = setting(args, NONCURRENT_CONFIG, "maxNoncurrentDays")
    days = [
        dig(rule, "noncurrentVersionExpiration", "noncurrentDays")
        for rule in as_list(args.props.get("rules"))
        if rule.get("status") == "Enabled"
    ]
    days = [d for d in days if d is not None]
    if not days:
        report(
            f"S3 lifecycle '{args.name}' never expires noncurrent versions; add an Enabled rule with noncurrentVersionExpiration"
        )
    elif min(days) > limit:
        report(f"S3 lifecycle '{args.name}' keeps noncurrent versions {min(days):g} days; at most {limit} allowed")


def s3_access_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("targetBucket"):
        report(f"S3 bucket logging '{args.name}' has no targetBucket; send access logs to the log bucket")


COMPANIONS = {
    "encryption": ENCRYPTION,
    "versioning": VERSIONING,
    "public access block": PUBLIC_ACCESS_BLOCK,
    "ownership controls": OWNERSHIP,
    "TLS-only policy": POLICY,
    "lifecycle": LIFECYCLE,
    "access logging": LOGGING,
}
INLINE = ("versioning", "serverSideEncryptionConfiguration", "lifecycleRules", "logging", "policy", "grants")
"""The bucket's deprecated inline arguments: configured there, a bucket escapes its companions' rules."""


def configured_bucket(companion: Any, buckets: Mapping[str, Any]) -> str | None:
    """The URN of the bucket a companion configures: the bucket its `bucket` input refers to (a property
    dependency on the bucket's id), or whose explicit name it gives - never a bucket it is named after."""
    for dependency in (companion.property_dependencies or {}).get("bucket", []):
        if dependency.urn in buckets:
            return str(dependency.urn)
    value = companion.props.get("bucket")
    for urn, bucket in buckets.items():
        if isinstance(value, str) and value and value == bucket.props.get("bucket"):
            return str(urn)
    return None


def s3_bucket_complete(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket is configured by each companion resource - tied to it by reference, not by name."""
    buckets = {r.urn: r for r in args.resources if r.resource_type in BUCKET}
    configured: dict[str, set[str]] = {urn: set() for urn in buckets}
    for resource in args.resources:
        for label, types in COMPANIONS.items():
            if resource.resource_type in types and (urn := configured_bucket(resource, buckets)) is not None:
                configured[urn].add(label)
    for urn, bucket in buckets.items():
        inline = [key for key in INLINE if bucket.props.get(key) not in (None, [], {})]
        if inline:
            report(
                f"S3 bucket '{bucket.name}' is configured inline ({', '.join(inline)}); use the companion "
                "resources (the inline arguments are deprecated and escape these checks)",
                urn,
            )
        for label in COMPANIONS:
            if label == "access logging" and _is_log_bucket(args, bucket.name):
                continue
            if label not in configured[urn]:
                report(
                    f"S3 bucket '{bucket.name}' has no {label} resource configuring it; declare one whose bucket "
                    f"is this bucket's id (a resource named after it that configures another bucket does not count)",
                    urn,
                )


POLICIES = [
    resource_rule(
        "s3-kms-encryption",
        "S3 buckets are encrypted with a customer-managed KMS key.",
        ENCRYPTION,
        s3_kms_encryption,
        config=LOG_BUCKETS_CONFIG,
    ),
    resource_rule("s3-versioning", "S3 buckets keep object versions.", VERSIONING, s3_versioning),
    resource_rule(
        "s3-public-access-block",
        "S3 buckets block all four kinds of public access.",
        PUBLIC_ACCESS_BLOCK,
        s3_public_access_block,
    ),
    resource_rule("s3-tls-only", "S3 bucket policies refuse requests not made over TLS.", POLICY, s3_tls_only),
    resource_rule("s3-no-public-acl", "S3 buckets have no public ACL.", BUCKET | ACL, s3_no_public_acl),
    resource_rule(
        "s3-ownership-enforced", "S3 buckets disable ACLs (BucketOwnerEnforced).", OWNERSHIP, s3_ownership_enforced
    ),
    resource_rule(
        "s3-noncurrent-expiration",
        "S3 lifecycles expire noncurrent versions.",
        LIFECYCLE,
        s3_noncurrent_expiration,
        config=NONCURRENT_CONFIG,
    ),
    resource_rule("s3-access-logging", "S3 access logs go to a log bucket.", LOGGING, s3_access_logging),
    stack_rule(
        "s3-bucket-complete",
        "Every S3 bucket has encryption, versioning, public-access block, ownership, TLS policy, lifecycle and logging.",
        s3_bucket_complete,
        config=LOG_BUCKETS_CONFIG,
    ),
]
