"""RDS and ElastiCache: encrypted, private, backed up; protected and multi-AZ in prod."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from policies.rules.common import resource_rule, setting, truthy

RDS = {"aws:rds/instance:Instance"}
CACHE = {"aws:elasticache/replicationGroup:ReplicationGroup"}

BACKUP_CONFIG = {
    "minBackupRetentionDays": {"type": "integer", "default": 7, "description": "Fewest days of automated backups."}
}


def rds_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("storageEncrypted")):
        report(f"RDS instance '{args.name}' is not encrypted; set storageEncrypted to true (with a KMS key)")


def rds_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("publiclyAccessible") is not False:
        state = "publicly accessible" if truthy(args.props.get("publiclyAccessible")) else "not explicitly private"
        report(f"RDS instance '{args.name}' is {state}; set publiclyAccessible to false")


def rds_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = setting(args, BACKUP_CONFIG, "minBackupRetentionDays")
    days = args.props.get("backupRetentionPeriod")
    if days is None or days < minimum:
        report(
            f"RDS instance '{args.name}' keeps backups {'unset' if days is None else f'{days:g} days'}; set backupRetentionPeriod to at least {minimum}"
        )


def rds_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("deletionProtection")):
        report(f"RDS instance '{args.name}' can be deleted; set deletionProtection to true")


def rds_final_snapshot(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if truthy(args.props.get("skipFinalSnapshot")) or not args.props.get("finalSnapshotIdentifier"):
        report(
            f"RDS instance '{args.name}' would be deleted without a final snapshot; set skipFinalSnapshot false and a finalSnapshotIdentifier"
        )


def rds_multi_az(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("multiAz")):
        report(f"RDS instance '{args.name}' runs in one AZ; set multiAz to true")


def cache_at_rest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("atRestEncryptionEnabled")):
        report(f"ElastiCache '{args.name}' is not encrypted at rest; set atRestEncryptionEnabled to true")


def cache_in_transit(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not truthy(args.props.get("transitEncryptionEnabled")):
        report(f"ElastiCache '{args.name}' accepts plaintext connections; set transitEncryptionEnabled to true")


def cache_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("authToken") and not args.props.get("userGroupIds"):
        report(f"ElastiCache '{args.name}' has no authentication; set an authToken (kept as a secret) or userGroupIds")


POLICIES = [
    resource_rule("rds-encrypted", "RDS storage is encrypted.", RDS, rds_encrypted),
    resource_rule("rds-not-public", "RDS instances are not publicly accessible.", RDS, rds_not_public),
    resource_rule("rds-backups", "RDS keeps automated backups long enough.", RDS, rds_backups, config=BACKUP_CONFIG),
    resource_rule(
        "rds-deletion-protection", "RDS instances are protected from deletion (prod).", RDS, rds_deletion_protection
    ),
    resource_rule(
        "rds-final-snapshot", "Deleting an RDS instance takes a final snapshot (prod).", RDS, rds_final_snapshot
    ),
    resource_rule("rds-multi-az", "RDS instances are multi-AZ (prod).", RDS, rds_multi_az),
    resource_rule("elasticache-encryption-at-rest", "ElastiCache encrypts data at rest.", CACHE, cache_at_rest),
    resource_rule("elasticache-encryption-in-transit", "ElastiCache requires TLS.", CACHE, cache_in_transit),
    resource_rule("elasticache-auth", "ElastiCache requires authentication.", CACHE, cache_auth),
]
