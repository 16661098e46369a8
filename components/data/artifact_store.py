"""ArtifactStore: S3 buckets for ML artifacts and datasets, and least-privilege access to them."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated

import pulumi
import pulumi_aws as aws
from pydantic import Field, ValidationInfo, field_validator

from ..kit.common import ComponentArgsError, PlatformComponent, child, documented, policy_document, stateful, tagged
from ..kit.identity import ClusterIdentity, WorkloadRole
from ..kit.spec import Issue, Spec, environment, fail, settings_arg


class Bucket(enum.Enum):
    ARTIFACTS = "artifacts"
    """MLflow runs, models and reference profiles."""
    DATA = "data"
    """Versioned datasets (Delta tables) and the Feast offline store."""


class Access(enum.Enum):
    READ = "read"
    READ_WRITE = "read-write"


READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"]
WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]


@dataclass(frozen=True)
class Grant:
    """Access to the objects under one prefix of one bucket."""

    bucket: Bucket
    prefix: str
    """Key prefix without leading or trailing slash, e.g. "mlflow"."""
    access: Access = Access.READ


class ArtifactSettings(Spec):
    """S3 storage for artifacts, models and datasets."""

    noncurrent_version_expiration_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """Days a replaced or deleted object version is kept before S3 expires it. Default: 30."""
    access_log_retention_days: Annotated[int, Field(ge=1, le=3650)] = 365
    """Days S3 access logs are kept. Default: 365."""
    force_destroy: bool = False
    """Let `pulumi destroy` delete non-empty buckets (never in prod). Default: false."""

    @field_validator("force_destroy")
    @classmethod
    def _not_in_prod(cls, value: bool, info: ValidationInfo) -> bool:
        if value and environment(info) == "prod":
            fail([Issue((), value, "must be false in prod: a destroy must never delete artifacts")])
        return value


@documented
@dataclass
class ArtifactStoreArgs:
    settings: ArtifactSettings = field(default_factory=ArtifactSettings)
    """Version expiry, access-log retention and whether a destroy may empty the buckets. Default: the defaults."""
    protect: bool = False
    """Protect buckets and the key from deletion (and retain them if removed from the program). Default: false."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default: none."""


class ArtifactStore(PlatformComponent):
    """Two private buckets (artifacts, data) and an access-log bucket.

    Each data bucket: versioning on, SSE-KMS with a rotating customer key (S3 bucket keys
    on), all four public-access blocks, bucket-owner-enforced ownership (no ACLs), a policy
    that refuses any request not made over TLS, noncurrent versions expired after N days,
    and server access logs to the log bucket (which, as S3 requires, uses SSE-S3).
    `ref.workload_role` (or ArtifactAccess) gives one workload access to its prefixes only.
    """

    buckets: dict[Bucket, aws.s3.Bucket]
    bucket_names: dict[Bucket, pulumi.Output[str]]
    kms_key_arn: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:ArtifactStore", name, None, opts)
        settings = settings_arg(ArtifactSettings, args.settings, "settings", "ArtifactStore", name)
        self._settings = settings
        self._name = name
        self._tags = args.tags
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{name}: encryption of artifacts and datasets",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tagged(args.tags, f"{name}-key"),
            opts=stateful(self, args.protect),
        )
        aws.kms.Alias(f"{name}-key", name=f"alias/{name}", target_key_id=key.key_id, opts=child(self))
        self.kms_key_arn = key.arn

        logs = self._bucket(
            f"{name}-logs", args, encryption={"sse_algorithm": "AES256"}, expire_days=settings.access_log_retention_days
        )
        self.buckets = {
            kind: self._bucket(
                f"{name}-{kind.value}",
                args,
                encryption={"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
                log_bucket=logs,
            )
            for kind in Bucket
        }
        self.bucket_names = {kind: bucket.bucket for kind, bucket in self.buckets.items()}
        self.log_bucket_name = logs.bucket
        self._policy(
            f"{name}-logs",
            logs,
            extra=[
                {
                    "Sid": "S3ServerAccessLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": pulumi.Output.concat(logs.arn, "/*"),
                    "Condition": {"ArnLike": {"aws:SourceArn": [b.arn for b in self.buckets.values()]}},
                }
            ],
        )
        self.register_outputs(
            {
                "artifactBucket": self.bucket_names[Bucket.ARTIFACTS],
                "dataBucket": self.bucket_names[Bucket.DATA],
                "logBucket": self.log_bucket_name,
                "kmsKeyArn": self.kms_key_arn,
            }
        )

    def _bucket(
        self,
        name: str,
        args: ArtifactStoreArgs,
        *,
        encryption: aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgsDict,
        expire_days: int | None = None,
        log_bucket: aws.s3.Bucket | None = None,
    ) -> aws.s3.Bucket:
        bucket = aws.s3.Bucket(
            name,
            force_destroy=self._settings.force_destroy,
            tags=tagged(self._tags, name),
            opts=stateful(self, args.protect),
        )
        aws.s3.BucketOwnershipControls(
            name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child(self)
        )
        aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child(self),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": encryption, "bucket_key_enabled": True}],
            opts=child(self),
        )
        aws.s3.BucketVersioning(
            name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child(self)
        )
        rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
            {
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": self._settings.noncurrent_version_expiration_days},
            },
            {
                "id": "abort-incomplete-uploads",
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            },
        ]
        if expire_days is not None:
            rules.append(
                {"id": "expire-objects", "status": "Enabled", "filter": {}, "expiration": {"days": expire_days}}
            )
        aws.s3.BucketLifecycleConfiguration(name, bucket=bucket.id, rules=rules, opts=child(self))
        if log_bucket is not None:
            aws.s3.BucketLogging(
                name,
                bucket=bucket.id,
                target_bucket=log_bucket.id,
                target_prefix=pulumi.Output.concat(bucket.bucket, "/"),
                opts=child(self),
            )
            self._policy(name, bucket)
        return bucket

    def _policy(self, name: str, bucket: aws.s3.Bucket, extra: Sequence[Mapping[str, object]] = ()) -> None:
        aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=policy_document(
                [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                    *extra,
                ]
            ),
            opts=child(self),
        )

    @property
    def ref(self) -> StoreRef:
        """The store as workloads reach it (bucket names and ARNs, the key)."""
        return StoreRef(
            bucket_names=dict(self.bucket_names),
            kms_key_arn=self.kms_key_arn,
            tags=dict(self._tags),
            bucket_arns={bucket: resource.arn for bucket, resource in self.buckets.items()},
        )


@dataclass(frozen=True)
class StoreRef:
    """An artifact store as workloads reach it: its bucket names (and ARNs), its KMS key. What
    ArtifactStore.ref gives - or what a stack that did not create the store knows of it (the
    multi-language package takes these as plain inputs)."""

    bucket_names: Mapping[Bucket, pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for the roles it makes."""
    bucket_arns: Mapping[Bucket, pulumi.Input[str]] = field(default_factory=dict)
    """Default: arn:aws:s3:::<name>."""

    def bucket_arn(self, bucket: Bucket) -> pulumi.Output[str]:
        if bucket in self.bucket_arns:
            return pulumi.Output.from_input(self.bucket_arns[bucket])
        return pulumi.Output.concat("arn:aws:s3:::", self.bucket_names[bucket])

    def access_policy(self, grants: Sequence[Grant]) -> pulumi.Output[str]:
        """An IAM policy allowing exactly `grants`: objects under each prefix, listing of those
        prefixes, and use of the bucket key for the matching direction."""
        statements: list[dict[str, object]] = []
        for grant in grants:
            arn = self.bucket_arn(grant.bucket)
            actions = READ_ACTIONS + (WRITE_ACTIONS if grant.access is Access.READ_WRITE else [])
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": pulumi.Output.concat(arn, f"/{grant.prefix}/*"),
                }
            )
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": arn,
                    "Condition": {"StringLike": {"s3:prefix": [grant.prefix, f"{grant.prefix}/*"]}},
                }
            )
        writes = any(g.access is Access.READ_WRITE for g in grants)
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"] if writes else ["kms:Decrypt"],
                "Resource": self.kms_key_arn,
            }
        )
        return policy_document(statements)

    def workload_role(
        self,
        name: str,
        *,
        identity: ClusterIdentity,
        namespace: str,
        service_account: str,
        grants: Sequence[Grant],
        parent: pulumi.Resource,
    ) -> WorkloadRole:
        """`<name>-identity`: a role for one service account (Pod Identity or IRSA) that can reach only `grants`."""
        problems = [] if grants else ["grants ([]) must give at least one bucket prefix"]
        problems += [
            f"prefix ({grant.prefix!r}) must be a non-empty key prefix without '*' or leading/trailing '/'"
            for grant in grants
            if not grant.prefix or grant.prefix.startswith("/") or grant.prefix.endswith("/") or "*" in grant.prefix
        ]
        if problems:
            raise ComponentArgsError("ArtifactStore.workload_role", name, problems)
        return identity.role(
            f"{name}-identity",
            renamed_from=f"{name}-irsa",  # its name before Pod Identity
            namespace=namespace,
            service_account=service_account,
            policy=self.access_policy(grants),
            tags=self.tags,
            opts=child(parent),
        )


@dataclass(frozen=True)
class ArtifactAccess:
    """How a workload reaches the artifact store: the store, and the cluster identity (Pod Identity
    or IRSA) its service account's role trusts. Each workload asks for the grants it needs (`role`)."""

    store: ArtifactStore | StoreRef
    identity: ClusterIdentity

    def role(
        self, name: str, *, namespace: str, service_account: str, grants: Sequence[Grant], parent: pulumi.Resource
    ) -> WorkloadRole:
        store = self.store.ref if isinstance(self.store, ArtifactStore) else self.store
        return store.workload_role(
            name,
            identity=self.identity,
            namespace=namespace,
            service_account=service_account,
            grants=grants,
            parent=parent,
        )
