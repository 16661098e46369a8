"""Every rule: a compliant input passes; the property unset and the property set wrong each give
the exact violation; unknown values (a preview before creation) never crash a rule."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from offline.policy_run import settings_for
from policies.rules import ALL_POLICIES

POLICIES = {p.name: p for p in ALL_POLICIES}
OPTIONS = PolicyResourceOptions(False, [], False, [], PolicyCustomTimeouts(0, 0, 0), [])

S3_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
RDS = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def run_rule(
    policy_name: str, type_: str, props: dict[str, Any], *, name: str = "res", config: dict[str, Any] | None = None
) -> list[str]:
    policy = POLICIES[policy_name]
    assert isinstance(policy, ResourceValidationPolicy)
    _, settings = settings_for(policy, {policy_name: config} if config else {})
    found: list[str] = []
    args = ResourceValidationArgs(
        type_,
        unknown_checking_proxy(copy.deepcopy(props)),
        f"urn:pulumi:t::p::{type_}::{name}",
        name,
        OPTIONS,
        None,
        settings,
    )
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def run_stack_rule(
    policy_name: str, resources: list[tuple[str, str, dict[str, Any]]], config: dict[str, Any] | None = None
) -> list[str]:
    policy = POLICIES[policy_name]
    _, settings = settings_for(policy, {policy_name: config} if config else {})
    found: list[str] = []
    stack = [PolicyResource(t, p, f"urn:{n}", n, OPTIONS, None, None, [], {}) for t, n, p in resources]
    policy.validate(StackValidationArgs(stack, settings), lambda message, urn=None: found.append(message))
    return found


def container(**overrides: Any) -> dict[str, Any]:
    base = {
        "name": "app",
        "image": "ghcr.io/acme/app:1.2.3",
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "privileged": False},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def deployment(*containers: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "mlops", "labels": labels or {}},
        "spec": {"template": {"spec": {"containers": list(containers)}}},
    }


def isvc(**predictor: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "m"},
        "spec": {"predictor": predictor},
    }


GOOD_MODEL = {"modelFormat": {"name": "mlflow"}, "resources": container()["resources"]}
GPU_MODEL = {
    "modelFormat": {"name": "mlflow"},
    "resources": {
        "requests": {"cpu": "1", "memory": "4Gi"},
        "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": 1},
    },
}
GPU_TOLERATION = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/oidc.eks/id/X"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "oidc.eks/id/X:sub": "system:serviceaccount:mlops:mlflow",
                    "oidc.eks/id/X:aud": "sts.amazonaws.com",
                }
            },
        }
    ],
}
TLS_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
RDS_OK = {
    "storageEncrypted": True,
    "publiclyAccessible": False,
    "backupRetentionPeriod": 7,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "db-final",
    "multiAz": True,
}
CACHE_OK = {"atRestEncryptionEnabled": True, "transitEncryptionEnabled": True, "authToken": "s3cr3t"}
GPU_GROUP = {
    "instanceTypes": ["g5.xlarge"],
    "amiType": "AL2023_x86_64_NVIDIA",
    "capacityType": "ON_DEMAND",
    "scalingConfig": {"minSize": 0, "maxSize": 4},
    "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
}
TAGS = {"owner": "team", "environment": "dev", "cost-center": "cc1"}


def without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


# (policy, resource type, compliant props, [(unset or wrong props, expected messages)], config)
RULES: list[tuple[str, str, dict[str, Any], list[tuple[dict[str, Any], list[str]]], dict[str, Any] | None]] = [
    (
        "s3-kms-encryption",
        S3_SSE,
        {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "arn:key"}}]},
        [
            (
                {},
                [
                    "S3 bucket 'res' has no default encryption; set applyServerSideEncryptionByDefault with sseAlgorithm aws:kms and a customer-managed key"
                ],
            ),
            (
                {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
                ["S3 bucket 'res' encrypts with AES256; use sseAlgorithm aws:kms with a customer-managed KMS key"],
            ),
            (
                {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
                [
                    "S3 bucket 'res' uses the AWS-managed S3 key; set kmsMasterKeyId to a customer-managed key with rotation"
                ],
            ),
        ],
        None,
    ),
    (
        "s3-versioning",
        "aws:s3/bucketVersioning:BucketVersioning",
        {"versioningConfiguration": {"status": "Enabled"}},
        [
            ({}, ["S3 bucket 'res' has versioning unset; set versioningConfiguration.status to Enabled"]),
            (
                {"versioningConfiguration": {"status": "Suspended"}},
                ["S3 bucket 'res' has versioning Suspended; set versioningConfiguration.status to Enabled"],
            ),
        ],
        None,
    ),
    (
        "s3-public-access-block",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True},
        [
            (
                {},
                [
                    "S3 bucket 'res' does not block all public access: set blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets to true"
                ],
            ),
            (
                {
                    "blockPublicAcls": True,
                    "blockPublicPolicy": False,
                    "ignorePublicAcls": True,
                    "restrictPublicBuckets": True,
                },
                ["S3 bucket 'res' does not block all public access: set blockPublicPolicy to true"],
            ),
        ],
        None,
    ),
    (
        "s3-tls-only",
        "aws:s3/bucketPolicy:BucketPolicy",
        {"policy": json.dumps({"Statement": [TLS_DENY]})},
        [
            (
                {},
                [
                    "S3 bucket policy 'res' does not refuse plain HTTP; add a Deny of s3:* when aws:SecureTransport is false"
                ],
            ),
            (
                {
                    "policy": json.dumps(
                        {"Statement": [{**TLS_DENY, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}
                    )
                },
                [
                    "S3 bucket policy 'res' does not refuse plain HTTP; add a Deny of s3:* when aws:SecureTransport is false"
                ],
            ),
            (
                {"policy": json.dumps({"Statement": [{**TLS_DENY, "Effect": "Allow"}]})},
                [
                    "S3 bucket policy 'res' does not refuse plain HTTP; add a Deny of s3:* when aws:SecureTransport is false"
                ],
            ),
        ],
        None,
    ),
    (
        "s3-no-public-acl",
        "aws:s3/bucket:Bucket",
        {"tags": TAGS},
        [
            (
                {"acl": "public-read"},
                ["S3 bucket 'res' has the public canned ACL public-read; remove it (ownership is BucketOwnerEnforced)"],
            ),
            (
                {"acl": "public-read-write"},
                [
                    "S3 bucket 'res' has the public canned ACL public-read-write; remove it (ownership is BucketOwnerEnforced)"
                ],
            ),
        ],
        None,
    ),
    (
        "s3-ownership-enforced",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        {"rule": {"objectOwnership": "BucketOwnerEnforced"}},
        [
            (
                {},
                [
                    "S3 bucket 'res' has object ownership unset; set rule.objectOwnership to BucketOwnerEnforced (disables ACLs)"
                ],
            ),
            (
                {"rule": {"objectOwnership": "ObjectWriter"}},
                [
                    "S3 bucket 'res' has object ownership ObjectWriter; set rule.objectOwnership to BucketOwnerEnforced (disables ACLs)"
                ],
            ),
        ],
        None,
    ),
    (
        "s3-noncurrent-expiration",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        {"rules": [{"id": "x", "status": "Enabled", "noncurrentVersionExpiration": {"noncurrentDays": 30}}]},
        [
            (
                {"rules": [{"id": "x", "status": "Enabled", "expiration": {"days": 30}}]},
                [
                    "S3 lifecycle 'res' never expires noncurrent versions; add an Enabled rule with noncurrentVersionExpiration"
                ],
            ),
            (
                {"rules": [{"id": "x", "status": "Disabled", "noncurrentVersionExpiration": {"noncurrentDays": 30}}]},
                [
                    "S3 lifecycle 'res' never expires noncurrent versions; add an Enabled rule with noncurrentVersionExpiration"
                ],
            ),
            (
                {"rules": [{"id": "x", "status": "Enabled", "noncurrentVersionExpiration": {"noncurrentDays": 400}}]},
                ["S3 lifecycle 'res' keeps noncurrent versions 400 days; at most 365 allowed"],
            ),
        ],
        None,
    ),
    (
        "s3-access-logging",
        "aws:s3/bucketLogging:BucketLogging",
        {"bucket": "b", "targetBucket": "logs"},
        [
            ({"bucket": "b"}, ["S3 bucket logging 'res' has no targetBucket; send access logs to the log bucket"]),
            (
                {"bucket": "b", "targetBucket": ""},
                ["S3 bucket logging 'res' has no targetBucket; send access logs to the log bucket"],
            ),
        ],
        None,
    ),
    (
        "kms-key-rotation",
        "aws:kms/key:Key",
        {"enableKeyRotation": True},
        [
            ({}, ["KMS key 'res' does not rotate; set enableKeyRotation to true"]),
            ({"enableKeyRotation": False}, ["KMS key 'res' does not rotate; set enableKeyRotation to true"]),
        ],
        None,
    ),
    (
        "iam-no-wildcard-admin",
        "aws:iam/rolePolicy:RolePolicy",
        {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})},
        [
            (
                {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})},
                ["IAM policy 'res' allows action '*' on resource '*'; list the actions and resources it needs"],
            ),
            (
                {"policy": {"Statement": {"Effect": "Allow", "Action": ["s3:*", "*"], "Resource": ["*"]}}},
                ["IAM policy 'res' allows action '*' on resource '*'; list the actions and resources it needs"],
            ),
        ],
        None,
    ),
    (
        "irsa-single-service-account",
        "aws:iam/role:Role",
        {"assumeRolePolicy": json.dumps(TRUST)},
        [
            (
                {"assumeRolePolicy": json.dumps({"Statement": [{**TRUST["Statement"][0], "Condition": {}}]})},
                [
                    "IAM role 'res' must trust exactly one service account (StringEquals <issuer>:sub = system:serviceaccount:<ns>:<name>); found none",
                    "IAM role 'res' must require audience sts.amazonaws.com (StringEquals <issuer>:aud)",
                ],
            ),
            (
                {
                    "assumeRolePolicy": json.dumps(
                        {
                            "Statement": [
                                {
                                    **TRUST["Statement"][0],
                                    "Condition": {
                                        "StringLike": {"oidc.eks/id/X:sub": "system:serviceaccount:mlops:*"},
                                        "StringEquals": {"oidc.eks/id/X:aud": "sts.amazonaws.com"},
                                    },
                                }
                            ]
                        }
                    )
                },
                [
                    "IAM role 'res' trusts service accounts by pattern (StringLike); bind it with StringEquals to one namespace:serviceaccount",
                    "IAM role 'res' must trust exactly one service account (StringEquals <issuer>:sub = system:serviceaccount:<ns>:<name>); found none",
                ],
            ),
            (
                {
                    "assumeRolePolicy": json.dumps(
                        {
                            "Statement": [
                                {
                                    **TRUST["Statement"][0],
                                    "Condition": {
                                        "StringEquals": {
                                            "oidc.eks/id/X:sub": [
                                                "system:serviceaccount:a:x",
                                                "system:serviceaccount:b:y",
                                            ],
                                            "oidc.eks/id/X:aud": "sts.amazonaws.com",
                                        }
                                    },
                                }
                            ]
                        }
                    )
                },
                [
                    "IAM role 'res' must trust exactly one service account (StringEquals <issuer>:sub = system:serviceaccount:<ns>:<name>); found system:serviceaccount:a:x, system:serviceaccount:b:y"
                ],
            ),
        ],
        None,
    ),
    (
        "eks-secrets-encryption",
        "aws:eks/cluster:Cluster",
        {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:key"}}},
        [
            (
                {},
                [
                    "EKS cluster 'res' does not encrypt Kubernetes secrets; set encryptionConfig with resources [secrets] and a KMS keyArn"
                ],
            ),
            (
                {"encryptionConfig": {"resources": ["secrets"], "provider": {}}},
                [
                    "EKS cluster 'res' does not encrypt Kubernetes secrets; set encryptionConfig with resources [secrets] and a KMS keyArn"
                ],
            ),
        ],
        None,
    ),
    (
        "eks-control-plane-logging",
        "aws:eks/cluster:Cluster",
        {"enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"]},
        [
            (
                {},
                [
                    "EKS cluster 'res' does not log api, audit, authenticator, controllerManager, scheduler; enable all five control-plane log types"
                ],
            ),
            (
                {"enabledClusterLogTypes": ["api", "audit"]},
                [
                    "EKS cluster 'res' does not log authenticator, controllerManager, scheduler; enable all five control-plane log types"
                ],
            ),
        ],
        None,
    ),
    (
        "eks-public-endpoint-restricted",
        "aws:eks/cluster:Cluster",
        {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["34.1.2.0/24", "52.95.110.0/24"]}},
        [
            (
                {"vpcConfig": {}},
                [
                    "EKS cluster 'res' has a public endpoint without publicAccessCidrs (AWS opens it to 0.0.0.0/0); list the CIDRs that must reach it, or set endpointPublicAccess to false"
                ],
            ),
            (
                {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["34.1.2.0/24", "0.0.0.0/0"]}},
                [
                    "EKS cluster 'res': public API endpoint open to 3,702,258,432 public addresses through 34.1.2.0/24, 0.0.0.0/0 (more than a /8); list only the CIDRs that must reach it (VPN or office egress), or turn the public endpoint off"
                ],
            ),
            (
                {"vpcConfig": {"publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]}},
                [
                    "EKS cluster 'res': public API endpoint open to 3,702,258,432 public addresses through 0.0.0.0/1, 128.0.0.0/1 (more than a /8); list only the CIDRs that must reach it (VPN or office egress), or turn the public endpoint off"
                ],
            ),
            (
                {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["192.168.0.0/16"]}},
                [
                    "EKS cluster 'res': 192.168.0.0/16 is private or reserved address space: no client on the internet has such an address, so it can never reach a public endpoint (EKS refuses it too); list your public egress CIDRs, or turn the public endpoint off and reach the API from the VPC"
                ],
            ),
        ],
        None,
    ),
    (
        "nodes-imdsv2-required",
        "aws:ec2/launchTemplate:LaunchTemplate",
        {"metadataOptions": {"httpTokens": "required"}},
        [
            (
                {},
                ["Launch template 'res' allows IMDSv1 (httpTokens unset); set metadataOptions.httpTokens to required"],
            ),
            (
                {"metadataOptions": {"httpTokens": "optional"}},
                [
                    "Launch template 'res' allows IMDSv1 (httpTokens optional); set metadataOptions.httpTokens to required"
                ],
            ),
        ],
        None,
    ),
    (
        "gpu-pool-tainted",
        NODE_GROUP,
        GPU_GROUP,
        [
            (
                without(GPU_GROUP, "taints"),
                [
                    "GPU node group 'res' has no nvidia.com/gpu NO_SCHEDULE taint; add it so only GPU pods land (and pay) there"
                ],
            ),
            (
                {**GPU_GROUP, "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "PREFER_NO_SCHEDULE"}]},
                [
                    "GPU node group 'res' has no nvidia.com/gpu NO_SCHEDULE taint; add it so only GPU pods land (and pay) there"
                ],
            ),
        ],
        None,
    ),
    (
        "gpu-pool-budget",
        NODE_GROUP,
        GPU_GROUP,
        [
            (
                {**GPU_GROUP, "scalingConfig": {"minSize": 0}},
                ["GPU node group 'res' has no scalingConfig.maxSize; set one within the GPU budget"],
            ),
            (
                {**GPU_GROUP, "scalingConfig": {"minSize": 0, "maxSize": 9}},
                ["GPU pool 'res' can reach 9 GPUs (9 x g5.xlarge); the budget allows 8 per pool"],
            ),
            (
                {**GPU_GROUP, "instanceTypes": ["p4d.24xlarge"], "scalingConfig": {"maxSize": 2}},
                ["GPU pool 'res' can reach 16 GPUs (2 x p4d.24xlarge); the budget allows 8 per pool"],
            ),
        ],
        None,
    ),
    (
        "gpu-spot-allowed",
        NODE_GROUP,
        GPU_GROUP,
        [
            (
                {**GPU_GROUP, "capacityType": "SPOT"},
                ["GPU pool 'res' uses SPOT capacity, which this environment does not allow; use ON_DEMAND"],
            ),
            (
                {**without(GPU_GROUP, "instanceTypes"), "capacityType": "SPOT"},
                ["GPU pool 'res' uses SPOT capacity, which this environment does not allow; use ON_DEMAND"],
            ),
        ],
        {"allowSpot": False},
    ),
    *[
        (
            policy,
            RDS,
            RDS_OK,
            [(without(RDS_OK, key), [message_unset]), ({**RDS_OK, key: wrong}, [message_wrong])],
            None,
        )
        for policy, key, wrong, message_unset, message_wrong in [
            (
                "rds-encrypted",
                "storageEncrypted",
                False,
                "RDS instance 'res' is not encrypted; set storageEncrypted to true (with a KMS key)",
                "RDS instance 'res' is not encrypted; set storageEncrypted to true (with a KMS key)",
            ),
            (
                "rds-not-public",
                "publiclyAccessible",
                True,
                "RDS instance 'res' is not explicitly private; set publiclyAccessible to false",
                "RDS instance 'res' is publicly accessible; set publiclyAccessible to false",
            ),
            (
                "rds-backups",
                "backupRetentionPeriod",
                1,
                "RDS instance 'res' keeps backups unset; set backupRetentionPeriod to at least 7",
                "RDS instance 'res' keeps backups 1 days; set backupRetentionPeriod to at least 7",
            ),
            (
                "rds-deletion-protection",
                "deletionProtection",
                False,
                "RDS instance 'res' can be deleted; set deletionProtection to true",
                "RDS instance 'res' can be deleted; set deletionProtection to true",
            ),
            (
                "rds-final-snapshot",
                "finalSnapshotIdentifier",
                "",
                "RDS instance 'res' would be deleted without a final snapshot; set skipFinalSnapshot false and a finalSnapshotIdentifier",
                "RDS instance 'res' would be deleted without a final snapshot; set skipFinalSnapshot false and a finalSnapshotIdentifier",
            ),
            (
                "rds-multi-az",
                "multiAz",
                False,
                "RDS instance 'res' runs in one AZ; set multiAz to true",
                "RDS instance 'res' runs in one AZ; set multiAz to true",
            ),
        ]
    ],
    *[
        (policy, CACHE, CACHE_OK, [(without(CACHE_OK, key), [message]), ({**CACHE_OK, key: wrong}, [message])], None)
        for policy, key, wrong, message in [
            (
                "elasticache-encryption-at-rest",
                "atRestEncryptionEnabled",
                False,
                "ElastiCache 'res' is not encrypted at rest; set atRestEncryptionEnabled to true",
            ),
            (
                "elasticache-encryption-in-transit",
                "transitEncryptionEnabled",
                False,
                "ElastiCache 'res' accepts plaintext connections; set transitEncryptionEnabled to true",
            ),
            (
                "elasticache-auth",
                "authToken",
                "",
                "ElastiCache 'res' has no authentication; set an authToken (kept as a secret) or userGroupIds",
            ),
        ]
    ],
    (
        "k8s-resources",
        DEPLOYMENT,
        deployment(container()),
        [
            (
                deployment(container(resources=None)),
                [
                    "Container 'app' in mlops/app has no requests.cpu, requests.memory, limits.cpu, limits.memory; set requests and limits"
                ],
            ),
            (
                deployment(container(resources={"requests": {"cpu": "1", "memory": "1Gi"}})),
                ["Container 'app' in mlops/app has no limits.cpu, limits.memory; set requests and limits"],
            ),
        ],
        None,
    ),
    (
        "k8s-run-as-non-root",
        DEPLOYMENT,
        deployment(container()),
        [
            (
                deployment(container(securityContext={"allowPrivilegeEscalation": False})),
                ["Container 'app' in mlops/app may run as root; set securityContext.runAsNonRoot to true"],
            ),
            (
                deployment(container(securityContext={"runAsNonRoot": False, "allowPrivilegeEscalation": False})),
                ["Container 'app' in mlops/app may run as root; set securityContext.runAsNonRoot to true"],
            ),
        ],
        None,
    ),
    (
        "k8s-no-privilege-escalation",
        DEPLOYMENT,
        deployment(container()),
        [
            (
                deployment(container(securityContext={"runAsNonRoot": True})),
                [
                    "Container 'app' in mlops/app may escalate privileges; set securityContext.allowPrivilegeEscalation to false"
                ],
            ),
            (
                deployment(container(securityContext={"runAsNonRoot": True, "allowPrivilegeEscalation": True})),
                [
                    "Container 'app' in mlops/app may escalate privileges; set securityContext.allowPrivilegeEscalation to false"
                ],
            ),
        ],
        None,
    ),
    (
        "k8s-not-privileged",
        DEPLOYMENT,
        deployment(container()),
        [
            (
                deployment(container(securityContext={"privileged": True})),
                ["Container 'app' in mlops/app is privileged; remove securityContext.privileged"],
            ),
            (
                deployment(container(securityContext={"privileged": "true"})),
                ["Container 'app' in mlops/app is privileged; remove securityContext.privileged"],
            ),
        ],
        None,
    ),
    (
        "k8s-image-pinned",
        DEPLOYMENT,
        deployment(container(image="registry:5000/team/app@sha256:" + "a" * 64)),
        [
            (
                deployment(container(image="registry:5000/team/app")),
                [
                    "Container 'app' in mlops/app uses image 'registry:5000/team/app' without a tag; pin a release tag or digest"
                ],
            ),
            (
                deployment(container(image="nginx:latest")),
                ["Container 'app' in mlops/app uses image 'nginx:latest' (latest); pin a release tag or digest"],
            ),
            (
                deployment(container(image=None)),
                ["Container 'app' in mlops/app has no image; pin a release tag or digest"],
            ),
        ],
        None,
    ),
    (
        "k8s-probes",
        DEPLOYMENT,
        deployment(container()),
        [
            (
                deployment(container(readinessProbe=None, livenessProbe=None)),
                ["Container 'app' in mlops/app has no readinessProbe or livenessProbe; add them"],
            ),
            (deployment(container(livenessProbe={})), ["Container 'app' in mlops/app has no livenessProbe; add them"]),
        ],
        None,
    ),
    (
        "k8s-no-plaintext-secrets",
        DEPLOYMENT,
        deployment(
            container(
                env=[
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                    {"name": "LOG_LEVEL", "value": "info"},
                ]
            )
        ),
        [
            (
                deployment(container(env=[{"name": "DB_PASSWORD", "value": "hunter2"}])),
                [
                    "Env var 'DB_PASSWORD' of container 'app' in mlops/app holds a secret in plain text; use valueFrom.secretKeyRef"
                ],
            ),
            (
                deployment(container(env=[{"name": "AWS_SECRET_ACCESS_KEY", "value": "abc"}])),
                [
                    "Env var 'AWS_SECRET_ACCESS_KEY' of container 'app' in mlops/app holds a secret in plain text; use valueFrom.secretKeyRef"
                ],
            ),
        ],
        None,
    ),
    (
        "kserve-resources",
        ISVC,
        isvc(model=GOOD_MODEL, minReplicas=1),
        [
            (
                isvc(model={"modelFormat": {"name": "mlflow"}}),
                [
                    "InferenceService 'res' predictor model has no requests.cpu, requests.memory, limits.cpu, limits.memory; set requests and limits"
                ],
            ),
            (isvc(), ["InferenceService 'res' declares no predictor model or container; resources cannot be bounded"]),
            (
                isvc(containers=[{"name": "kserve-container", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]),
                [
                    "InferenceService 'res' predictor kserve-container has no requests.cpu, requests.memory; set requests and limits"
                ],
            ),
        ],
        None,
    ),
    (
        "kserve-gpu-toleration",
        ISVC,
        isvc(model=GPU_MODEL, tolerations=GPU_TOLERATION),
        [
            (
                isvc(model=GPU_MODEL),
                [
                    "InferenceService 'res' asks for nvidia.com/gpu without tolerating the GPU taint; add a toleration for nvidia.com/gpu"
                ],
            ),
            (
                isvc(model=GOOD_MODEL, tolerations=GPU_TOLERATION),
                [
                    "InferenceService 'res' tolerates the GPU taint without asking for a GPU; remove the toleration or set limits.nvidia.com/gpu"
                ],
            ),
        ],
        None,
    ),
    (
        "kserve-min-replicas",
        ISVC,
        isvc(model=GOOD_MODEL, minReplicas=2),
        [
            (isvc(model=GOOD_MODEL), ["InferenceService 'res' has minReplicas unset; at least 1 required"]),
            (isvc(model=GOOD_MODEL, minReplicas=0), ["InferenceService 'res' has minReplicas 0; at least 1 required"]),
        ],
        None,
    ),
    (
        "mlflow-authenticated",
        DEPLOYMENT,
        deployment(
            container(command=["mlflow"], args=["server", "--app-name", "basic-auth"]),
            labels={"app.kubernetes.io/name": "mlflow"},
        ),
        [
            (
                deployment(container(command=["mlflow", "server"]), labels={"app.kubernetes.io/name": "mlflow"}),
                ["MLflow server 'res' runs without authentication; start it with --app-name basic-auth"],
            ),
            (
                deployment(
                    container(command=["mlflow"], args=["server", "--app-name", "none"]),
                    labels={"app.kubernetes.io/name": "mlflow"},
                ),
                ["MLflow server 'res' runs without authentication; start it with --app-name basic-auth"],
            ),
        ],
        None,
    ),
    (
        "aws-required-tags",
        "aws:ec2/vpc:Vpc",
        {"tags": TAGS},
        [
            (
                {},
                [
                    "'res' (Vpc) lacks the owner, environment, cost-center tags; tag every AWS resource with owner, environment, cost-center"
                ],
            ),
            (
                {"tags": {**TAGS, "cost-center": ""}},
                ["'res' (Vpc) lacks the cost-center tag; tag every AWS resource with owner, environment, cost-center"],
            ),
        ],
        None,
    ),
]

COMPLIANT = [(r[0], r[1], r[2], r[4]) for r in RULES]
VIOLATIONS = [(r[0], r[1], props, expected, r[4]) for r in RULES for props, expected in r[3]]


@pytest.mark.parametrize(("policy", "type_", "props", "config"), COMPLIANT, ids=[c[0] for c in COMPLIANT])
def test_compliant_input_passes(policy: str, type_: str, props: dict[str, Any], config: dict[str, Any] | None) -> None:
    assert run_rule(policy, type_, props, config=config) == []


@pytest.mark.parametrize(
    ("policy", "type_", "props", "expected", "config"),
    VIOLATIONS,
    ids=[f"{v[0]}-{i}" for i, v in enumerate(VIOLATIONS)],
)
def test_violation_is_reported_with_its_exact_message(
    policy: str, type_: str, props: dict[str, Any], expected: list[str], config: dict[str, Any] | None
) -> None:
    assert run_rule(policy, type_, props, config=config) == expected


def test_every_resource_rule_has_a_compliant_and_two_violating_inputs() -> None:
    covered = {r[0]: len(r[3]) for r in RULES}
    resource_rules = {p.name for p in ALL_POLICIES if isinstance(p, ResourceValidationPolicy)}
    assert set(covered) == resource_rules
    assert all(n >= 2 for n in covered.values()), {k: n for k, n in covered.items() if n < 2}
    assert len(ALL_POLICIES) >= 30 and len(VIOLATIONS) + len(STACK_VIOLATIONS) >= 60


def test_rules_only_look_at_their_resource_types() -> None:
    assert run_rule("kms-key-rotation", "aws:s3/bucket:Bucket", {}) == []
    assert (
        run_rule(
            "k8s-probes", "kubernetes:batch/v1:Job", deployment(container(readinessProbe=None, livenessProbe=None))
        )
        == []
    )


def test_limits_come_from_the_pack_config() -> None:
    big = {**GPU_GROUP, "scalingConfig": {"minSize": 0, "maxSize": 6}}
    assert run_rule("gpu-pool-budget", NODE_GROUP, big) == []
    assert run_rule("gpu-pool-budget", NODE_GROUP, big, config={"maxGpusPerPool": 4}) == [
        "GPU pool 'res' can reach 6 GPUs (6 x g5.xlarge); the budget allows 4 per pool"
    ]
    assert run_rule("rds-backups", RDS, RDS_OK, config={"minBackupRetentionDays": 14}) == [
        "RDS instance 'res' keeps backups 7 days; set backupRetentionPeriod to at least 14"
    ]
    log_sse = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
    assert run_rule("s3-kms-encryption", S3_SSE, log_sse, name="mlops-artifacts-logs") == []
    assert (
        run_rule("s3-kms-encryption", S3_SSE, log_sse, name="mlops-artifacts-logs", config={"accessLogBuckets": []})
        != []
    )


def test_root_agents_are_exempt_only_by_name() -> None:
    agent = deployment(container(securityContext={"allowPrivilegeEscalation": False}))
    agent["metadata"] = {"name": "dcgm-exporter", "namespace": "kube-system"}
    assert run_rule("k8s-run-as-non-root", "kubernetes:apps/v1:DaemonSet", agent) == []
    agent["metadata"]["name"] = "something-else"
    assert run_rule("k8s-run-as-non-root", "kubernetes:apps/v1:DaemonSet", agent) == [
        "Container 'app' in kube-system/something-else may run as root; set securityContext.runAsNonRoot to true"
    ]


# --------------------------------------------------------------------------- stack rules

GPU_BIG = {**GPU_GROUP, "scalingConfig": {"minSize": 0, "maxSize": 8}}
BUCKET_SET = [
    ("aws:s3/bucket:Bucket", "b", {}),
    (S3_SSE, "b", {}),
    ("aws:s3/bucketVersioning:BucketVersioning", "b", {}),
    ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "b", {}),
    ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "b", {}),
    ("aws:s3/bucketPolicy:BucketPolicy", "b", {}),
    ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "b", {}),
    ("aws:s3/bucketLogging:BucketLogging", "b", {}),
]
STACK_VIOLATIONS = [
    (
        "gpu-stack-budget",
        [
            (NODE_GROUP, "a", GPU_BIG),
            (NODE_GROUP, "b", GPU_BIG),
            (NODE_GROUP, "c", {**GPU_GROUP, "scalingConfig": {"maxSize": 1}}),
        ],
        ["GPU pools can reach 17 GPUs in total; the budget allows 16"],
    ),
    (
        "gpu-stack-budget",
        [(NODE_GROUP, "a", {**GPU_GROUP, "instanceTypes": ["p5.48xlarge"], "scalingConfig": {"maxSize": 3}})],
        ["GPU pools can reach 24 GPUs in total; the budget allows 16"],
    ),
    (
        "s3-bucket-complete",
        [("aws:s3/bucket:Bucket", "lonely", {})],
        [
            f"S3 bucket 'lonely' has no {c} resource; declare one named 'lonely'"
            for c in (
                "encryption",
                "versioning",
                "public access block",
                "ownership controls",
                "TLS-only policy",
                "lifecycle",
                "access logging",
            )
        ],
    ),
    (
        "s3-bucket-complete",
        [r for r in BUCKET_SET if "Versioning" not in r[0] and "Logging" not in r[0]],
        [
            "S3 bucket 'b' has no versioning resource; declare one named 'b'",
            "S3 bucket 'b' has no access logging resource; declare one named 'b'",
        ],
    ),
]


def test_stack_rules_pass_compliant_stacks() -> None:
    assert run_stack_rule("gpu-stack-budget", [(NODE_GROUP, "a", GPU_BIG), (NODE_GROUP, "b", GPU_BIG)]) == []
    assert (
        run_stack_rule(
            "gpu-stack-budget", [(NODE_GROUP, "a", GPU_BIG), (NODE_GROUP, "b", GPU_BIG)], {"maxGpusTotal": 15}
        )
        != []
    )
    assert run_stack_rule("s3-bucket-complete", BUCKET_SET) == []
    logs = [(t, "x-logs", p) for t, _, p in BUCKET_SET if "Logging" not in t]
    assert run_stack_rule("s3-bucket-complete", logs) == [], "log buckets are not logged themselves"


@pytest.mark.parametrize(
    ("policy", "resources", "expected"), STACK_VIOLATIONS, ids=[f"{v[0]}-{i}" for i, v in enumerate(STACK_VIOLATIONS)]
)
def test_stack_violation_is_reported_with_its_exact_message(
    policy: str, resources: list[tuple[str, str, dict[str, Any]]], expected: list[str]
) -> None:
    assert run_stack_rule(policy, resources) == expected


# --------------------------------------------------------------------------- preview


def unknown_variants(props: dict[str, Any]) -> list[dict[str, Any]]:
    """The props with one value at a time made unknown, at every depth."""
    variants: list[dict[str, Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in items:
            variant = copy.deepcopy(props)
            target = variant
            for part in path:
                target = target[part]
            target[key] = UNKNOWN_STRING_VALUE
            variants.append(variant)
            walk(value, [*path, key])

    walk(props, [])
    return variants


@pytest.mark.parametrize(("policy", "type_", "props", "config"), COMPLIANT, ids=[c[0] for c in COMPLIANT])
def test_unknown_values_never_crash_a_rule(
    policy: str, type_: str, props: dict[str, Any], config: dict[str, Any] | None
) -> None:
    """During a preview, values computed by the cloud are unknown. A rule may stop at one (the engine
    reports "can't run during preview" for UnknownValueError), but must never fail any other way."""
    variants = unknown_variants(props) + unknown_variants({k: UNKNOWN_STRING_VALUE for k in props})
    assert variants
    for variant in variants:
        with contextlib.suppress(UnknownValueError):
            run_rule(policy, type_, variant, config=config)
