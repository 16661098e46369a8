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
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
BUCKET_TYPES = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}


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


StackEntry = tuple[str, str, dict[str, Any]] | tuple[str, str, dict[str, Any], dict[str, str]]


def run_stack_rule(policy_name: str, resources: list[StackEntry], config: dict[str, Any] | None = None) -> list[str]:
    """Resources as (type, name, props[, {input: name of the resource it refers to}])."""
    policy = POLICIES[policy_name]
    _, settings = settings_for(policy, {policy_name: config} if config else {})
    found: list[str] = []
    stack = {
        entry[1] + entry[0]: PolicyResource(
            entry[0], entry[2], f"urn:{entry[0]}::{entry[1]}", entry[1], OPTIONS, None, None, [], {}
        )
        for entry in resources
    }
    by_name = {
        entry[1]: stack[entry[1] + entry[0]] for entry in resources if entry[0] in BUCKET_TYPES | {LAUNCH_TEMPLATE}
    }
    for entry in resources:
        refers = entry[3] if len(entry) == 4 else {}  # type: ignore[misc]
        stack[entry[1] + entry[0]].property_dependencies = {prop: [by_name[target]] for prop, target in refers.items()}
    policy.validate(
        StackValidationArgs(list(stack.values()), settings), lambda message, urn=None: found.append(message)
    )
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
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
GPU_NODE_POOL = {
    "spec": {
        "template": {
            "metadata": {"labels": {"mlops.platform/gpu-pool": "res"}},
            "spec": {
                "requirements": [
                    {
                        "key": "node.kubernetes.io/instance-type",
                        "operator": "In",
                        "values": ["g5.xlarge", "g5.2xlarge"],
                    },
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                ],
                "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
            },
        },
        "limits": {"nvidia.com/gpu": "4"},
    }
}


def node_pool(
    *, limits: Any = "keep", capacity: list[str] | None = None, types: list[str] | None = None, taints: Any = "keep"
) -> dict[str, Any]:
    """GPU_NODE_POOL with one thing changed (None removes it)."""
    import copy

    pool = copy.deepcopy(GPU_NODE_POOL)
    spec = pool["spec"]
    template = spec["template"]["spec"]
    if limits != "keep":
        spec.pop("limits") if limits is None else spec.update(limits=limits)
    if taints != "keep":
        template.pop("taints") if taints is None else template.update(taints=taints)
    if capacity is not None:
        template["requirements"][1]["values"] = capacity
    if types is not None:
        template["requirements"][0]["values"] = types
    return pool


def spot_by_exclusion() -> dict[str, Any]:
    """Spot written as "not on-demand, not reserved" (NotIn), the capacity-type key stated twice."""
    pool = node_pool()
    requirements = pool["spec"]["template"]["spec"]["requirements"]
    requirements[1] = {"key": "karpenter.sh/capacity-type", "operator": "NotIn", "values": ["on-demand"]}
    requirements.append({"key": "karpenter.sh/capacity-type", "operator": "NotIn", "values": ["reserved"]})
    return pool


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
        "gpu-pool-budget",
        NODE_POOL,
        GPU_NODE_POOL,
        [
            (
                node_pool(limits=None),
                [
                    "Karpenter NodePool 'res' can launch GPU instances but has no nvidia.com/gpu limit, so nothing caps "
                    "its GPUs; set spec.limits[nvidia.com/gpu] within the budget (or list only non-GPU instance types)"
                ],
            ),
            (
                node_pool(limits={"nvidia.com/gpu": 16.0}),
                ["GPU pool 'res' can reach 16 GPUs (its nvidia.com/gpu limit); the budget allows 8 per pool"],
            ),
            (
                node_pool(limits={"cpu": "64", "nvidia.com/gpu": "2k"}),
                [
                    "Karpenter NodePool 'res' can launch GPU instances but has no nvidia.com/gpu limit, so nothing caps "
                    "its GPUs; set spec.limits[nvidia.com/gpu] within the budget (or list only non-GPU instance types)"
                ],
            ),
        ],
        None,
    ),
    (
        "gpu-pool-tainted",
        NODE_POOL,
        GPU_NODE_POOL,
        [
            (
                node_pool(taints=None),
                [
                    "GPU NodePool 'res' has no nvidia.com/gpu NoSchedule taint; add it so only GPU pods land (and pay) there"
                ],
            ),
            (
                node_pool(taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]),
                [
                    "GPU NodePool 'res' has no nvidia.com/gpu NoSchedule taint; add it so only GPU pods land (and pay) there"
                ],
            ),
        ],
        None,
    ),
    (
        "gpu-spot-allowed",
        NODE_POOL,
        GPU_NODE_POOL,
        [
            (
                node_pool(capacity=["spot"]),
                ["GPU pool 'res' uses SPOT capacity, which this environment does not allow; use ON_DEMAND"],
            ),
            (
                node_pool(capacity=["on-demand", "spot"]),
                ["GPU pool 'res' uses SPOT capacity, which this environment does not allow; use ON_DEMAND"],
            ),
            (
                spot_by_exclusion(),
                ["GPU pool 'res' uses SPOT capacity, which this environment does not allow; use ON_DEMAND"],
            ),
        ],
        {"allowSpot": False},
    ),
    (
        "gpu-pool-gpu-types-only",
        NODE_POOL,
        GPU_NODE_POOL,
        [
            (
                node_pool(types=["g5.xlarge", "m7i.large"]),
                [
                    "GPU NodePool 'res': m7i.large has no GPU. A GPU pool holds NVIDIA GPU instance types for x86_64 "
                    "(families g4dn, g5, g6, g6e, g7, g7e, gr6, p3dn, p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300)"
                ],
            ),
            (
                node_pool(types=["g5g.xlarge"]),
                [
                    "GPU NodePool 'res': g5g.xlarge is arm64; the EKS NVIDIA AMI the pools use is x86_64. A GPU pool "
                    "holds NVIDIA GPU instance types for x86_64 (families g4dn, g5, g6, g6e, g7, g7e, gr6, p3dn, p4d, "
                    "p4de, p5, p5e, p5en, p6-b200, p6-b300)"
                ],
            ),
        ],
        None,
    ),
    (
        "nodes-imdsv2-required",
        NODE_CLASS,
        {"spec": {"role": "node"}},  # Karpenter's default is httpTokens required
        [
            (
                {"spec": {"metadataOptions": {"httpTokens": "optional"}}},
                [
                    "EC2NodeClass 'res' allows IMDSv1 (httpTokens optional); set spec.metadataOptions.httpTokens to required"
                ],
            ),
            (
                {"spec": {"metadataOptions": {"httpTokens": "Optional"}}},
                [
                    "EC2NodeClass 'res' allows IMDSv1 (httpTokens Optional); set spec.metadataOptions.httpTokens to required"
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
            (
                deployment(container(image="ghcr.io/acme/app@sha256:abc")),
                [
                    "Container 'app' in mlops/app has a malformed digest ('ghcr.io/acme/app@sha256:abc': sha256 is 64 hex characters); pin a release tag or digest"
                ],
            ),
        ],
        None,
    ),
    (
        "llm-image-digest",
        DEPLOYMENT,
        deployment(
            container(
                image="vllm/vllm-openai@sha256:" + "b" * 64,
                command=["python3", "-m", "vllm.entrypoints.openai.api_server"],
            )
        ),
        [
            (
                deployment(container(image="vllm/vllm-openai:v0.30.0")),
                [
                    "LLM server container 'app' in mlops/app uses image 'vllm/vllm-openai:v0.30.0'; pin it by digest (<image>@sha256:<64 hex>)"
                ],
            ),
            (
                deployment(
                    container(image="registry/team/chat:1.0", args=["-m", "vllm.entrypoints.openai.api_server"])
                ),
                [
                    "LLM server container 'app' in mlops/app uses image 'registry/team/chat:1.0'; pin it by digest (<image>@sha256:<64 hex>)"
                ],
            ),
            (
                deployment(container(image="ghcr.io/huggingface/text-generation-inference@sha256:abc")),
                [
                    "LLM server container 'app' in mlops/app uses image 'ghcr.io/huggingface/text-generation-inference@sha256:abc'; pin it by digest (<image>@sha256:<64 hex>)"
                ],
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
    # ---- threats written in every form (policies/rules/network.py, iam.py, eks.py, kubernetes.py, rbac.py)
    (
        "network-no-open-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"cidrIpv4": "10.0.0.0/16", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22},
        [
            (
                {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22},
                [
                    "Security group ingress 'res' admits 3,702,258,432 public IPv4 addresses (0.0.0.0/0) on port 22; admit the clients' security group or their CIDRs instead (an internet-facing load balancer is listed in the pack config and opens 80/443 only)"
                ],
            ),
            (
                {"cidrIpv6": "2000::/3", "ipProtocol": "-1"},
                [
                    "Security group ingress 'res' admits the IPv6 internet (2000::/3) on all ports; admit the clients' security group or their CIDRs instead (an internet-facing load balancer is listed in the pack config and opens 80/443 only)"
                ],
            ),
            (
                {"cidrIpv4": "0.0.0.0/4", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443},
                [
                    "Security group ingress 'res' admits 234,881,024 public IPv4 addresses (0.0.0.0/4) on port 443; admit the clients' security group or their CIDRs instead (an internet-facing load balancer is listed in the pack config and opens 80/443 only)"
                ],
            ),
        ],
        None,
    ),
    (
        "network-no-open-ingress",
        "aws:ec2/securityGroup:SecurityGroup",
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["203.0.113.0/24", "198.51.100.7/32"]}
            ]
        },
        [
            (
                {"ingress": [{"protocol": "tcp", "fromPort": 0, "toPort": 65535, "cidrBlocks": ["0.0.0.0/0"]}]},
                [
                    "Security group ingress 'res' admits 3,702,258,432 public IPv4 addresses (0.0.0.0/0) on ports 0-65535; admit the clients' security group or their CIDRs instead (an internet-facing load balancer is listed in the pack config and opens 80/443 only)"
                ],
            ),
            (
                {"ingress": [{"protocol": "-1", "ipv6CidrBlocks": ["::/0"]}]},
                [
                    "Security group ingress 'res' admits the IPv6 internet (::/0) on all ports; admit the clients' security group or their CIDRs instead (an internet-facing load balancer is listed in the pack config and opens 80/443 only)"
                ],
            ),
        ],
        None,
    ),
    (
        "network-no-open-ingress",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        {"type": "egress", "cidrBlocks": ["0.0.0.0/0"], "protocol": "-1", "fromPort": 0, "toPort": 0},
        [
            (
                {"type": "ingress", "cidrBlocks": ["0.0.0.0/0"], "protocol": "tcp", "fromPort": 80, "toPort": 80},
                [
                    "Security group ingress 'res' admits 3,702,258,432 public IPv4 addresses (0.0.0.0/0) on port 80; admit the clients' security group or their CIDRs instead (an internet-facing load balancer is listed in the pack config and opens 80/443 only)"
                ],
            ),
            (
                {
                    "type": "ingress",
                    "cidrBlocks": ["0.0.0.0/1", "128.0.0.0/1"],
                    "protocol": "udp",
                    "fromPort": 53,
                    "toPort": 53,
                },
                [
                    "Security group ingress 'res' admits 3,702,258,432 public IPv4 addresses (0.0.0.0/1, 128.0.0.0/1) on port 53; admit the clients' security group or their CIDRs instead (an internet-facing load balancer is listed in the pack config and opens 80/443 only)"
                ],
            ),
        ],
        None,
    ),
    (
        "k8s-no-unrequested-exposure",
        "kubernetes:core/v1:Service",
        {
            "metadata": {
                "name": "s",
                "namespace": "mlops",
                "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
            },
            "spec": {"type": "LoadBalancer"},
        },
        [
            (
                {"metadata": {"name": "s", "namespace": "mlops"}, "spec": {"type": "LoadBalancer"}},
                [
                    "Service mlops/s is a LoadBalancer with no internal scheme: AWS gives it an internet-facing load balancer; annotate it service.beta.kubernetes.io/aws-load-balancer-scheme: internal, or publish it through the config (an ingress with internal: false)"
                ],
            ),
            (
                {
                    "metadata": {
                        "name": "s",
                        "namespace": "mlops",
                        "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"},
                    },
                    "spec": {"type": "LoadBalancer"},
                },
                [
                    "Service mlops/s is a LoadBalancer with no internal scheme: AWS gives it an internet-facing load balancer; annotate it service.beta.kubernetes.io/aws-load-balancer-scheme: internal, or publish it through the config (an ingress with internal: false)"
                ],
            ),
        ],
        None,
    ),
    (
        "k8s-no-unrequested-exposure",
        "kubernetes:networking.k8s.io/v1:Ingress",
        {
            "metadata": {
                "name": "i",
                "namespace": "mlops",
                "annotations": {"alb.ingress.kubernetes.io/scheme": "internal"},
            }
        },
        [
            (
                {
                    "metadata": {
                        "name": "i",
                        "namespace": "mlops",
                        "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"},
                    }
                },
                [
                    "Ingress mlops/i asks for an internet-facing load balancer the stack's config does not publish; set alb.ingress.kubernetes.io/scheme: internal, or publish it through the config (internal: false)"
                ],
            ),
            (
                {
                    "metadata": {
                        "name": "j",
                        "namespace": "monitoring",
                        "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"},
                    }
                },
                [
                    "Ingress monitoring/j asks for an internet-facing load balancer the stack's config does not publish; set alb.ingress.kubernetes.io/scheme: internal, or publish it through the config (internal: false)"
                ],
            ),
        ],
        None,
    ),
    (
        "iam-no-admin-power",
        "aws:iam/rolePolicy:RolePolicy",
        {"policy": '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'},
        [
            (
                {"policy": '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'},
                [
                    "IAM 'res' policy allows every action on every resource; list the actions and resources the workload needs"
                ],
            ),
            (
                {"policy": {"Statement": {"Effect": "Allow", "Action": ["s3:*", "*"], "Resource": ["*"]}}},
                [
                    "IAM 'res' policy allows every action on every resource; list the actions and resources the workload needs"
                ],
            ),
            (
                {
                    "policy": '{"Statement": [{"Effect": "Allow", "Action": ["IAM:*"], "Resource": "arn:aws:iam::1:role/x"}]}'
                },
                [
                    "IAM 'res' policy allows iam:* (it can grant itself anything); list the actions and resources the workload needs"
                ],
            ),
            (
                {"policy": '{"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}'},
                [
                    "IAM 'res' policy allows iam:PassRole on every role (it can run code as any of them); list the actions and resources the workload needs"
                ],
            ),
        ],
        None,
    ),
    (
        "iam-no-admin-power",
        "aws:iam/role:Role",
        {
            "inlinePolicies": [
                {
                    "name": "read",
                    "policy": '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}',
                }
            ],
            "managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        },
        [
            (
                {
                    "inlinePolicies": [
                        {
                            "name": "all",
                            "policy": '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
                        }
                    ]
                },
                [
                    "IAM 'res' inlinePolicies[0] (all) allows every action on every resource; list the actions and resources the workload needs"
                ],
            ),
            (
                {"managedPolicyArns": ["arn:aws-us-gov:iam::aws:policy/AdministratorAccess"]},
                [
                    "IAM 'res' attaches the AWS-managed AdministratorAccess (administrator power); attach a policy scoped to what the workload does"
                ],
            ),
        ],
        None,
    ),
    (
        "iam-no-admin-power",
        "aws:iam/policyAttachment:PolicyAttachment",
        {"policyArn": "arn:aws:iam::123456789012:policy/AdministratorAccess"},
        [
            (
                {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
                [
                    "IAM 'res' attaches the AWS-managed AdministratorAccess (administrator power); attach a policy scoped to what the workload does"
                ],
            ),
            (
                {"policyArn": "arn:aws-cn:iam::aws:policy/IAMFullAccess"},
                [
                    "IAM 'res' attaches the AWS-managed IAMFullAccess (administrator power); attach a policy scoped to what the workload does"
                ],
            ),
        ],
        None,
    ),
    (
        "iam-trust-scoped",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]}'
        },
        [
            (
                {
                    "assumeRolePolicy": '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
                },
                [
                    "IAM role 'res' trusts vpc-flow-logs.amazonaws.com without aws:SourceAccount or aws:SourceArn; add the condition so the service can assume it only on this account's behalf (confused deputy)"
                ],
            ),
            (
                {
                    "assumeRolePolicy": '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}'
                },
                [
                    "IAM role 'res' can be assumed by any AWS principal (Principal *) without a condition; name the account or role that assumes it"
                ],
            ),
            (
                {
                    "assumeRolePolicy": '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "sts:AssumeRole"}]}'
                },
                [
                    "IAM role 'res' can be assumed by any AWS principal (Principal *) without a condition; name the account or role that assumes it"
                ],
            ),
        ],
        None,
    ),
    (
        "iam-trust-scoped",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "mlops", "aws:RequestTag/kubernetes-service-account": "mlflow", "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:123456789012:cluster/c"}}}]}'
        },
        [
            (
                {
                    "assumeRolePolicy": '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "mlops", "aws:RequestTag/kubernetes-service-account": "mlflow"}}}]}'
                },
                [
                    "IAM role 'res' trusts pods.eks.amazonaws.com for any cluster (no StringEquals on aws:RequestTag/eks-cluster-arn): any Pod Identity association in the account can hand it out; pin it to one cluster"
                ],
            ),
            (
                {
                    "assumeRolePolicy": '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "mlops", "aws:RequestTag/kubernetes-service-account": "*", "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:123456789012:cluster/c"}}}]}'
                },
                [
                    "IAM role 'res' trusts pods.eks.amazonaws.com for service accounts matching StringEquals aws:RequestTag/kubernetes-service-account = *; pin it with StringEquals to exactly one service account"
                ],
            ),
        ],
        None,
    ),
    (
        "resource-policy-not-public",
        "aws:s3/bucketPolicy:BucketPolicy",
        {
            "bucket": "other",
            "policy": '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b"}}}, {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}',
        },
        [
            (
                {
                    "bucket": "other",
                    "policy": '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "*"}}}]}',
                },
                [
                    "BucketPolicy 'res' has a resource policy that allows everyone (s3:GetObject) with no condition naming who (aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:SourceVpce...); name the account, organisation or endpoint, or list it under exceptions with the reason it is public"
                ],
            ),
            (
                {
                    "bucket": "other",
                    "policy": '{"Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "NotAction": "s3:DeleteObject", "Resource": "*"}}',
                },
                [
                    "BucketPolicy 'res' has a resource policy that allows everyone (every action but s3:DeleteObject) with no condition naming who (aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:SourceVpce...); name the account, organisation or endpoint, or list it under exceptions with the reason it is public"
                ],
            ),
        ],
        None,
    ),
    (
        "gpu-pool-gpu-types-only",
        "aws:eks/nodeGroup:NodeGroup",
        {"instanceTypes": ["g5.xlarge", "g6.xlarge"], "amiType": "AL2023_x86_64_NVIDIA"},
        [
            (
                {"instanceTypes": ["g5.xlarge", "m7i.large"], "amiType": "AL2023_x86_64_NVIDIA"},
                [
                    "GPU node group 'res': m7i.large has no GPU. A GPU pool holds NVIDIA GPU instance types for x86_64 (families g4dn, g5, g6, g6e, g7, g7e, gr6, p3dn, p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300)"
                ],
            ),
            (
                {"instanceTypes": ["c7i.large"], "taints": [{"key": "nvidia.com/gpu", "effect": "NO_SCHEDULE"}]},
                [
                    "GPU node group 'res': c7i.large has no GPU. A GPU pool holds NVIDIA GPU instance types for x86_64 (families g4dn, g5, g6, g6e, g7, g7e, gr6, p3dn, p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300)"
                ],
            ),
            (
                {"instanceTypes": ["g5g.xlarge"], "labels": {"mlops.platform/gpu-pool": "x"}},
                [
                    "GPU node group 'res': g5g.xlarge is arm64; the EKS NVIDIA AMI the pools use is x86_64. A GPU pool holds NVIDIA GPU instance types for x86_64 (families g4dn, g5, g6, g6e, g7, g7e, gr6, p3dn, p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300)"
                ],
            ),
        ],
        None,
    ),
    (
        "eks-cluster-admin-principals",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        {
            "principalArn": "arn:aws:iam::123456789012:role/admin",
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        },
        [
            (
                {
                    "principalArn": "arn:aws:iam::999999999999:role/vendor",
                    "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                },
                [
                    "EKS access 'res' gives AmazonEKSClusterAdminPolicy to arn:aws:iam::999999999999:role/vendor, which is not in cluster.adminPrincipalArns; add the principal there (it is reviewed) or grant a scoped policy"
                ],
            ),
            (
                {
                    "principalArn": "arn:aws:iam::123456789012:role/ci",
                    "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy",
                },
                [
                    "EKS access 'res' gives AmazonEKSAdminPolicy to arn:aws:iam::123456789012:role/ci, which is not in cluster.adminPrincipalArns; add the principal there (it is reviewed) or grant a scoped policy"
                ],
            ),
        ],
        {"adminPrincipalArns": ["arn:aws:iam::123456789012:role/admin"]},
    ),
    (
        "eks-cluster-admin-principals",
        "aws:eks/accessEntry:AccessEntry",
        {"principalArn": "arn:aws:iam::123456789012:role/ci", "kubernetesGroups": ["ci-deployers"]},
        [
            (
                {"principalArn": "arn:aws:iam::123456789012:role/ci", "kubernetesGroups": ["system:masters"]},
                [
                    "EKS access entry 'res' puts arn:aws:iam::123456789012:role/ci in system:masters (cluster admin, beyond any RBAC); list admins in cluster.adminPrincipalArns instead"
                ],
            ),
            (
                {"principalArn": "arn:aws:iam::123456789012:role/admin", "kubernetesGroups": ["x", "system:masters"]},
                [
                    "EKS access entry 'res' puts arn:aws:iam::123456789012:role/admin in system:masters (cluster admin, beyond any RBAC); list admins in cluster.adminPrincipalArns instead"
                ],
            ),
        ],
        None,
    ),
    (
        "k8s-host-namespaces",
        "kubernetes:apps/v1:Deployment",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "app", "namespace": "mlops"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "r/app:1",
                                "resources": {
                                    "requests": {"cpu": "1", "memory": "1Gi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"},
                                },
                                "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                                "readinessProbe": {"x": 1},
                                "livenessProbe": {"x": 1},
                            }
                        ],
                        "hostNetwork": False,
                    }
                }
            },
        },
        [
            (
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "app", "namespace": "mlops"},
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "app",
                                        "image": "r/app:1",
                                        "resources": {
                                            "requests": {"cpu": "1", "memory": "1Gi"},
                                            "limits": {"cpu": "1", "memory": "1Gi"},
                                        },
                                        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                                        "readinessProbe": {"x": 1},
                                        "livenessProbe": {"x": 1},
                                    }
                                ],
                                "hostNetwork": True,
                            }
                        }
                    },
                },
                [
                    "mlops/app shares the node's hostNetwork; remove it (or list the workload in the pack config's exceptions, with the reason)"
                ],
            ),
            (
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "app", "namespace": "mlops"},
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "app",
                                        "image": "r/app:1",
                                        "resources": {
                                            "requests": {"cpu": "1", "memory": "1Gi"},
                                            "limits": {"cpu": "1", "memory": "1Gi"},
                                        },
                                        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                                        "readinessProbe": {"x": 1},
                                        "livenessProbe": {"x": 1},
                                    }
                                ],
                                "hostPID": True,
                                "hostIPC": "true",
                            }
                        }
                    },
                },
                [
                    "mlops/app shares the node's hostPID, hostIPC; remove it (or list the workload in the pack config's exceptions, with the reason)"
                ],
            ),
        ],
        None,
    ),
    (
        "k8s-no-host-path",
        "kubernetes:apps/v1:DaemonSet",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "app", "namespace": "mlops"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "r/app:1",
                                "resources": {
                                    "requests": {"cpu": "1", "memory": "1Gi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"},
                                },
                                "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                                "readinessProbe": {"x": 1},
                                "livenessProbe": {"x": 1},
                            }
                        ],
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                    }
                }
            },
        },
        [
            (
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "app", "namespace": "mlops"},
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "app",
                                        "image": "r/app:1",
                                        "resources": {
                                            "requests": {"cpu": "1", "memory": "1Gi"},
                                            "limits": {"cpu": "1", "memory": "1Gi"},
                                        },
                                        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                                        "readinessProbe": {"x": 1},
                                        "livenessProbe": {"x": 1},
                                    }
                                ],
                                "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
                            }
                        }
                    },
                },
                ["mlops/app mounts the node's / (volume 'root'); use a volume that is not the host's filesystem"],
            ),
            (
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "app", "namespace": "mlops"},
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "app",
                                        "image": "r/app:1",
                                        "resources": {
                                            "requests": {"cpu": "1", "memory": "1Gi"},
                                            "limits": {"cpu": "1", "memory": "1Gi"},
                                        },
                                        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                                        "readinessProbe": {"x": 1},
                                        "livenessProbe": {"x": 1},
                                    }
                                ],
                                "volumes": [{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}],
                            }
                        }
                    },
                },
                [
                    "mlops/app mounts the node's /var/run/docker.sock (volume 'sock'); use a volume that is not the host's filesystem"
                ],
            ),
        ],
        None,
    ),
    (
        "k8s-no-added-capabilities",
        "kubernetes:core/v1:Pod",
        {
            "metadata": {"name": "p", "namespace": "mlops"},
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "r/app:1",
                        "resources": {
                            "requests": {"cpu": "1", "memory": "1Gi"},
                            "limits": {"cpu": "1", "memory": "1Gi"},
                        },
                        "securityContext": {
                            "runAsNonRoot": True,
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                        },
                        "readinessProbe": {"x": 1},
                        "livenessProbe": {"x": 1},
                    }
                ]
            },
        },
        [
            (
                {
                    "metadata": {"name": "p", "namespace": "mlops"},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "r/app:1",
                                "resources": {
                                    "requests": {"cpu": "1", "memory": "1Gi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"},
                                },
                                "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}},
                                "readinessProbe": {"x": 1},
                                "livenessProbe": {"x": 1},
                            }
                        ]
                    },
                },
                ["Container 'app' in mlops/p adds SYS_ADMIN; drop ALL and add nothing (NET_BIND_SERVICE at most)"],
            ),
            (
                {
                    "metadata": {"name": "p", "namespace": "mlops"},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "r/app:1",
                                "resources": {
                                    "requests": {"cpu": "1", "memory": "1Gi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"},
                                },
                                "securityContext": {"capabilities": {"add": ["CAP_NET_RAW", "NET_BIND_SERVICE"]}},
                                "readinessProbe": {"x": 1},
                                "livenessProbe": {"x": 1},
                            }
                        ]
                    },
                },
                ["Container 'app' in mlops/p adds CAP_NET_RAW; drop ALL and add nothing (NET_BIND_SERVICE at most)"],
            ),
        ],
        None,
    ),
    (
        "k8s-rbac-no-admin-binding",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        {
            "metadata": {"name": "view"},
            "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "Group", "name": "devs"}],
        },
        [
            (
                {
                    "metadata": {"name": "b"},
                    "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
                    "subjects": [{"kind": "User", "name": "bob"}],
                },
                [
                    "Binding b gives User bob the built-in cluster-admin role; bind a role listing the verbs and resources they need (or list the binding in the pack config's exceptions, with the reason)"
                ],
            ),
            (
                {
                    "metadata": {"name": "b", "namespace": "mlops"},
                    "roleRef": {"kind": "ClusterRole", "name": "edit"},
                    "subjects": [{"kind": "ServiceAccount", "name": "ci"}],
                },
                [
                    "Binding mlops/b gives ServiceAccount ci the built-in edit role; bind a role listing the verbs and resources they need (or list the binding in the pack config's exceptions, with the reason)"
                ],
            ),
        ],
        None,
    ),
    (
        "k8s-rbac-no-admin-equivalent",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        {
            "metadata": {"name": "r"},
            "rules": [{"apiGroups": ["monitoring.coreos.com"], "resources": ["*"], "verbs": ["*"]}],
        },
        [
            (
                {"metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]},
                [
                    "ClusterRole r allows every verb on every resource in the core API group; list the verbs and resources it needs"
                ],
            ),
            (
                {
                    "metadata": {"name": "r"},
                    "rules": [
                        {
                            "apiGroups": ["rbac.authorization.k8s.io"],
                            "resources": ["clusterroles"],
                            "verbs": ["bind", "escalate"],
                        }
                    ],
                },
                [
                    "ClusterRole r allows bind, escalate (a path to more privilege than it holds); list the verbs and resources it needs"
                ],
            ),
            (
                {
                    "metadata": {"name": "r"},
                    "rules": [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["*"]}],
                },
                [
                    "ClusterRole r allows every verb on serviceaccounts (escalate, bind or impersonate among them); list the verbs and resources it needs"
                ],
            ),
        ],
        None,
    ),
    (
        "k8s-namespace-restricted",
        "kubernetes:core/v1:Namespace",
        {"metadata": {"name": "mlops", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
        [
            (
                {"metadata": {"name": "mlops"}},
                [
                    "Namespace mlops enforces the unset (privileged) Pod Security Standard; label it pod-security.kubernetes.io/enforce: restricted (or list it in the pack config's exceptions, with the reason)"
                ],
            ),
            (
                {"metadata": {"name": "mlops", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}},
                [
                    "Namespace mlops enforces the baseline Pod Security Standard; label it pod-security.kubernetes.io/enforce: restricted (or list it in the pack config's exceptions, with the reason)"
                ],
            ),
        ],
        None,
    ),
    (
        "cannot-verify",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"cidrIpv4": "10.0.0.0/16", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22},
        [
            (
                {"cidrIpv4": UNKNOWN_STRING_VALUE, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22},
                [
                    "network-no-open-ingress cannot verify 'res' before deployment: the string value at .cidrIpv4 "
                    "can't be known during preview; make it known at preview (a config value, not a computed one) or "
                    "check it after `pulumi up`"
                ],
            ),
            (
                {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": UNKNOWN_STRING_VALUE, "toPort": 22},
                [
                    "network-no-open-ingress cannot verify 'res' before deployment: the string value at .fromPort "
                    "can't be known during preview; make it known at preview (a config value, not a computed one) or "
                    "check it after `pulumi up`"
                ],
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


def test_exceptions_name_one_object_and_give_a_reason() -> None:
    agent = deployment(container(securityContext={"allowPrivilegeEscalation": False}))
    agent["metadata"] = {"name": "dcgm-exporter", "namespace": "kube-system"}
    reason = "DCGM opens the GPU device files, which only root may read."
    config = {"exceptions": [{"name": "kube-system/dcgm-exporter", "reason": reason}]}
    assert run_rule("k8s-run-as-non-root", "kubernetes:apps/v1:DaemonSet", agent, config=config) == []
    assert run_rule("k8s-run-as-non-root", "kubernetes:apps/v1:DaemonSet", agent) == [
        "Container 'app' in kube-system/dcgm-exporter may run as root; set securityContext.runAsNonRoot to true"
    ], "no exception unless the pack config names it"
    for other in ("dcgm-exporter-2", "dcgm"):
        agent["metadata"]["name"] = other
        assert run_rule("k8s-run-as-non-root", "kubernetes:apps/v1:DaemonSet", agent, config=config) != [], other
    glob = {"exceptions": [{"name": "kube-system/*", "reason": reason}]}
    assert run_rule("k8s-run-as-non-root", "kubernetes:apps/v1:DaemonSet", agent, config=glob) != [], "not a pattern"
    with pytest.raises(ValueError, match="'reason' is a required property"):
        run_rule("k8s-run-as-non-root", "kubernetes:apps/v1:DaemonSet", agent, config={"exceptions": [{"name": "x/y"}]})
    with pytest.raises(ValueError, match="is too short"):
        run_rule(
            "k8s-run-as-non-root",
            "kubernetes:apps/v1:DaemonSet",
            agent,
            config={"exceptions": [{"name": "x/y", "reason": "ok"}]},
        )


def test_an_internet_facing_load_balancer_in_the_pack_config_opens_80_and_443_only() -> None:
    config = {"exceptions": [{"name": "public-alb", "reason": "the stack publishes MLflow to the internet"}]}
    rule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    https = {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443}
    assert run_rule("network-no-open-ingress", rule, https, name="public-alb", config=config) == []
    assert run_rule("network-no-open-ingress", rule, https, name="other-alb", config=config) != []
    ssh = {**https, "fromPort": 22, "toPort": 22}
    assert run_rule("network-no-open-ingress", rule, ssh, name="public-alb", config=config) != []
    every = {**https, "fromPort": 0, "toPort": 65535}
    assert run_rule("network-no-open-ingress", rule, every, name="public-alb", config=config) != []


def test_a_value_unknown_at_preview_is_reported_never_passed() -> None:
    template = {"metadataOptions": {"httpTokens": UNKNOWN_STRING_VALUE}}
    assert run_rule("nodes-imdsv2-required", "aws:ec2/launchTemplate:LaunchTemplate", template) == []
    assert run_rule("cannot-verify", "aws:ec2/launchTemplate:LaunchTemplate", template) == [
        "nodes-imdsv2-required cannot verify 'res' before deployment: the string value at .metadataOptions.httpTokens "
        "can't be known during preview; make it known at preview (a config value, not a computed one) or check it "
        "after `pulumi up`"
    ]
    assert (
        run_rule(
            "cannot-verify", "aws:ec2/launchTemplate:LaunchTemplate", {"metadataOptions": {"httpTokens": "required"}}
        )
        == []
    )


# --------------------------------------------------------------------------- stack rules

GPU_BIG = {**GPU_GROUP, "scalingConfig": {"minSize": 0, "maxSize": 8}}
COMPANION_TYPES = [
    S3_SSE,
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLogging:BucketLogging",
]
BUCKET_SET: list[StackEntry] = [
    ("aws:s3/bucket:Bucket", "b", {}),
    *[(t, "b", {"bucket": "b-id"}, {"bucket": "b"}) for t in COMPANION_TYPES],
]
LABELS = (
    "encryption",
    "versioning",
    "public access block",
    "ownership controls",
    "TLS-only policy",
    "lifecycle",
    "access logging",
)
COMPANION_FIX = "declare one whose bucket is this bucket's id (a resource named after it that configures another bucket does not count)"
SECRET = "kubernetes:core/v1:Secret"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
VAP_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
JOBS_RULE = {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get"]}
RUNNER_BINDING = {
    "metadata": {"name": "runner", "namespace": "mlops"},
    "roleRef": {"kind": "Role", "name": "runner"},
    "subjects": [{"kind": "ServiceAccount", "name": "runner", "namespace": "mlops"}],
}
RUNNER_UNLIMITED = (
    "mlops/runner lets system:serviceaccount:mlops:runner create batch/jobs where Secrets live (mlops: db): it could "
    "start a pod that mounts them. Limit what it may create with a ValidatingAdmissionPolicy (a matchCondition on its "
    "username) bound with validationActions [Deny]"
)


def vap(username: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "limit"},
        "spec": {
            "matchConstraints": {
                "resourceRules": [{"apiGroups": ["batch"], "operations": ["CREATE"], "resources": ["jobs"]}]
            },
            "matchConditions": [{"name": "who", "expression": f'request.userInfo.username == "{username}"'}],
            "validations": [{"expression": "true"}],
        },
    }


STACK_VIOLATIONS = [
    (
        "gpu-stack-budget",
        [
            (NODE_POOL, "a", node_pool(limits={"nvidia.com/gpu": "8"})),
            (NODE_GROUP, "b", {**GPU_GROUP, "scalingConfig": {"maxSize": 9}}),
        ],
        ["GPU pools can reach 17 GPUs in total; the budget allows 16"],
    ),
    (
        "gpu-serving-not-spot-only",
        [
            (NODE_POOL, "excluded", spot_by_exclusion()),
            (NODE_POOL, "steady", {**node_pool(), "spec": {**node_pool()["spec"], "limits": {"nvidia.com/gpu": "1"}}}),
            (
                "kubernetes:serving.kserve.io/v1beta1:InferenceService",
                "isvc",
                {"spec": {"predictor": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}},
            ),
        ],
        [
            "endpoint 'isvc' can be served from spot-only GPU pool(s) excluded: one spot reclaim can take every "
            "replica at once, which prod does not allow; serve it from an ON_DEMAND or SPOT_OR_ON_DEMAND pool"
        ],
    ),
    (
        "gpu-serving-not-spot-only",
        [
            (NODE_POOL, "spot", node_pool(capacity=["spot"])),
            (
                "kubernetes:serving.kserve.io/v1beta1:InferenceService",
                "isvc",
                {"spec": {"predictor": {"model": {"resources": {"requests": {"nvidia.com/gpu": 1}}}}}},
            ),
        ],
        [
            "endpoint 'isvc' can be served from spot-only GPU pool(s) spot: one spot reclaim can take every replica at "
            "once, which prod does not allow; serve it from an ON_DEMAND or SPOT_OR_ON_DEMAND pool"
        ],
    ),
    (
        "gpu-serving-not-spot-only",
        [
            (
                NODE_GROUP,
                "spot-group",
                {**GPU_GROUP, "capacityType": "SPOT", "labels": {"mlops.platform/gpu-pool": "batch"}},
            ),
            (
                "kubernetes:serving.kserve.io/v1beta1:InferenceService",
                "isvc",
                {
                    "spec": {
                        "predictor": {
                            "nodeSelector": {"mlops.platform/gpu-pool": "batch"},
                            "containers": [{"resources": {"limits": {"nvidia.com/gpu": "1"}}}],
                        }
                    }
                },
            ),
        ],
        [
            "endpoint 'isvc' can be served from spot-only GPU pool(s) spot-group: one spot reclaim can take every "
            "replica at once, which prod does not allow; serve it from an ON_DEMAND or SPOT_OR_ON_DEMAND pool"
        ],
    ),
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
        [f"S3 bucket 'lonely' has no {label} resource configuring it; {COMPANION_FIX}" for label in LABELS],
    ),
    (
        "s3-bucket-complete",
        [r for r in BUCKET_SET if "Versioning" not in r[0] and "Logging" not in r[0]],
        [
            f"S3 bucket 'b' has no {label} resource configuring it; {COMPANION_FIX}"
            for label in ("versioning", "access logging")
        ],
    ),
    (
        "s3-bucket-complete",
        # Named after bucket 'b', configuring bucket 'other': 'b' has none of them.
        [("aws:s3/bucket:Bucket", "b", {}), ("aws:s3/bucket:Bucket", "other-logs", {})]
        + [(t, "b", {"bucket": "other-id"}, {"bucket": "other-logs"}) for t in COMPANION_TYPES],
        [f"S3 bucket 'b' has no {label} resource configuring it; {COMPANION_FIX}" for label in LABELS],
    ),
    (
        "s3-bucket-complete",
        [("aws:s3/bucket:Bucket", "b", {"versioning": {"enabled": False}}), *BUCKET_SET[1:]],
        [
            "S3 bucket 'b' is configured inline (versioning); use the companion resources (the inline arguments are "
            "deprecated and escape these checks)"
        ],
    ),
    (
        "nodes-launch-template-imdsv2",
        [(NODE_GROUP, "ng", {"instanceTypes": ["m7i.large"]})],
        [
            "Node group 'ng' has no launch template of this stack (EKS's default leaves IMDSv1 on); launch it from a "
            "template with metadataOptions.httpTokens required"
        ],
    ),
    (
        "nodes-launch-template-imdsv2",
        [
            (LAUNCH_TEMPLATE, "lt", {"metadataOptions": {"httpTokens": "optional"}}),
            (NODE_GROUP, "ng", {"launchTemplate": {"id": "lt-id"}}, {"launchTemplate": "lt"}),
        ],
        ["Node group 'ng' launches from 'lt', which allows IMDSv1; set its metadataOptions.httpTokens to required"],
    ),
    (
        "nodes-launch-template-imdsv2",
        # A template named in the node group by a name that is not this stack's template's name.
        [
            (LAUNCH_TEMPLATE, "lt", {"name": "lt-good", "metadataOptions": {"httpTokens": "required"}}),
            (NODE_GROUP, "ng", {"launchTemplate": {"name": "someone-elses"}}),
        ],
        [
            "Node group 'ng' has no launch template of this stack (EKS's default leaves IMDSv1 on); launch it from a "
            "template with metadataOptions.httpTokens required"
        ],
    ),
    (
        "k8s-rbac-pod-starters-limited",
        [
            (SECRET, "s", {"metadata": {"name": "db", "namespace": "mlops"}}),
            (ROLE, "r", {"metadata": {"name": "runner", "namespace": "mlops"}, "rules": [JOBS_RULE]}),
            (ROLE_BINDING, "rb", RUNNER_BINDING),
        ],
        [RUNNER_UNLIMITED],
    ),
    (
        "k8s-rbac-pod-starters-limited",
        # An admission policy that names another user, or only warns, limits nothing.
        [
            (SECRET, "s", {"metadata": {"name": "db", "namespace": "mlops"}}),
            (ROLE, "r", {"metadata": {"name": "runner", "namespace": "mlops"}, "rules": [JOBS_RULE]}),
            (ROLE_BINDING, "rb", RUNNER_BINDING),
            (VAP, "p", vap("system:serviceaccount:mlops:someone-else")),
            (VAP_BINDING, "pb", {"spec": {"policyName": "limit", "validationActions": ["Deny"]}}),
            (VAP, "p2", {**vap("system:serviceaccount:mlops:runner"), "metadata": {"name": "warn-only"}}),
            (VAP_BINDING, "pb2", {"spec": {"policyName": "warn-only", "validationActions": ["Warn"]}}),
        ],
        [RUNNER_UNLIMITED],
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
    by_name = [("aws:s3/bucket:Bucket", "b", {"bucket": "data-bucket"})] + [
        (t, f"other-name-{i}", {"bucket": "data-bucket"}) for i, t in enumerate(COMPANION_TYPES)
    ]
    assert run_stack_rule("s3-bucket-complete", by_name) == [], (
        "a companion giving the bucket's explicit name ties to it"
    )
    logs = [("aws:s3/bucket:Bucket", "x-logs", {})] + [
        (t, "x-logs", {"bucket": "x"}, {"bucket": "x-logs"}) for t in COMPANION_TYPES if "Logging" not in t
    ]
    assert run_stack_rule("s3-bucket-complete", logs) == [], "log buckets are not logged themselves"
    template = (LAUNCH_TEMPLATE, "lt", {"metadataOptions": {"httpTokens": "required"}})
    assert (
        run_stack_rule("nodes-launch-template-imdsv2", [template, (NODE_GROUP, "ng", {}, {"launchTemplate": "lt"})])
        == []
    )
    limited = [
        (SECRET, "s", {"metadata": {"name": "db", "namespace": "mlops"}}),
        (ROLE, "r", {"metadata": {"name": "runner", "namespace": "mlops"}, "rules": [JOBS_RULE]}),
        (ROLE_BINDING, "rb", RUNNER_BINDING),
        (VAP, "p", vap("system:serviceaccount:mlops:runner")),
        (VAP_BINDING, "pb", {"spec": {"policyName": "limit", "validationActions": ["Deny"]}}),
    ]
    assert run_stack_rule("k8s-rbac-pod-starters-limited", limited) == []
    no_secrets = [entry for entry in limited[1:3]]
    assert run_stack_rule("k8s-rbac-pod-starters-limited", no_secrets) == [], (
        "no Secret in the namespace, nothing to mount"
    )


# A controller as the upstream charts write one (KServe's, KEDA's, prometheus-operator's, cert-manager's): a
# ClusterRole that creates what makes pods and writes the status of the custom resources it reconciles, bound
# to the service account its Deployment runs as.
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
CONTROLLER_RULES = [
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "get", "list", "watch", "update"]},
    {"apiGroups": ["serving.example.io"], "resources": ["models"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["serving.example.io"], "resources": ["models/status"], "verbs": ["get", "update", "patch"]},
]


def cluster_binding(name: str, role: str, subject: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "roleRef": {"kind": "ClusterRole", "name": role}, "subjects": [subject]}


def controller_stack(
    rules: list[dict[str, Any]] = CONTROLLER_RULES,
    subject: dict[str, Any] | None = None,
    runs_as: str | None = "manager",
    defines_models: bool = True,
) -> list[StackEntry]:
    subject = subject or {"kind": "ServiceAccount", "name": "manager", "namespace": "serving"}
    stack: list[StackEntry] = [
        (SECRET, "s", {"metadata": {"name": "db", "namespace": "mlops"}}),
        (CLUSTER_ROLE, "cr", {"metadata": {"name": "manager"}, "rules": rules}),
        (CLUSTER_ROLE_BINDING, "crb", cluster_binding("manager", "manager", subject)),
    ]
    if defines_models:
        crd = {
            "metadata": {"name": "models.serving.example.io"},
            "spec": {"group": "serving.example.io", "names": {"plural": "models", "kind": "Model"}},
        }
        stack.append((CRD, "models", crd))
    if runs_as is not None:
        pod = {"serviceAccountName": runs_as, "containers": [{"name": "manager", "image": "x"}]}
        stack.append(
            (
                DEPLOYMENT,
                "d",
                {"metadata": {"name": "manager", "namespace": "serving"}, "spec": {"template": {"spec": pod}}},
            )
        )
    return stack


def manager_unlimited(who: str = "system:serviceaccount:serving:manager", kinds: str = "apps/deployments") -> str:
    return (
        f"manager lets {who} create {kinds} where Secrets live (mlops: db): it could start a pod that mounts them. "
        "Limit what it may create with a ValidatingAdmissionPolicy (a matchCondition on its username) bound with "
        "validationActions [Deny]"
    )


def test_a_controller_that_starts_pods_for_its_custom_resources_is_judged_by_who_creates_them() -> None:
    assert run_stack_rule("k8s-rbac-pod-starters-limited", controller_stack()) == []
    status_by_wildcard_verb = [CONTROLLER_RULES[0], {**CONTROLLER_RULES[2], "verbs": ["*"]}]  # KEDA's, the operator's
    assert run_stack_rule("k8s-rbac-pod-starters-limited", controller_stack(rules=status_by_wildcard_verb)) == []
    # Whoever may create what a controller runs as written (an InferenceService's containers) starts pods.
    team_rules = [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["create"]}]
    team = [
        (CLUSTER_ROLE, "team", {"metadata": {"name": "team"}, "rules": team_rules}),
        (CLUSTER_ROLE_BINDING, "teamb", cluster_binding("team", "team", {"kind": "Group", "name": "ml-team"})),
    ]
    flagged = [
        manager_unlimited("Group ml-team", "serving.kserve.io/inferenceservices").replace("manager lets", "team lets")
    ]
    assert run_stack_rule("k8s-rbac-pod-starters-limited", controller_stack() + team) == flagged
    alone = [entry for entry in controller_stack() + team if entry[1] not in ("cr", "crb", "d", "models")]
    assert run_stack_rule("k8s-rbac-pod-starters-limited", alone) == flagged, "with or without the controller"
    # Custom resources without containers (a Certificate, a ScaledObject) start nothing of their creator's.
    inert = [
        {
            "apiGroups": ["cert-manager.io", "keda.sh"],
            "resources": ["certificates", "scaledobjects"],
            "verbs": ["create"],
        }
    ]
    team[0] = (CLUSTER_ROLE, "team", {"metadata": {"name": "team"}, "rules": inert})
    assert run_stack_rule("k8s-rbac-pod-starters-limited", controller_stack() + team) == []


def test_the_custom_resources_that_carry_containers_are_the_pinned_schemas_that_do() -> None:
    """Oracle: the CRD schemas pinned in offline/crd_schemas (copied from upstream, with provenance): a kind
    whose schema has a `containers` property is in the rule's list, and one without is not."""
    from offline import custom_resources
    from policies.rules.rbac import POD_CARRYING_CUSTOM

    def carries(node: Any) -> bool:
        if isinstance(node, dict):
            return "containers" in (node.get("properties") or {}) or any(carries(v) for v in node.values())
        return isinstance(node, list) and any(carries(v) for v in node)

    listed = {(group, kind) for (group, _), kind in POD_CARRYING_CUSTOM.items()}
    pinned = custom_resources.pinned().values()
    judged = {(s.group, s.kind): carries(s.schema) for s in pinned}
    assert {k for k, c in judged.items() if c} >= {
        ("serving.kserve.io", "InferenceService"),
        ("serving.kserve.io", "ServingRuntime"),
        ("keda.sh", "ScaledJob"),
    }
    assert {k for k, c in judged.items() if c} == listed & set(judged)
    # Plural resource names as RBAC rules write them.
    assert all(
        plural == kind.lower() + ("es" if kind.endswith("s") else "s")
        for (_, plural), kind in POD_CARRYING_CUSTOM.items()
    )


@pytest.mark.parametrize(
    ("stack", "who"),
    [
        # No workload of the stack runs as the account: nothing shows it is a controller.
        (controller_stack(runs_as=None), "system:serviceaccount:serving:manager"),
        # The status it writes is of no custom resource the stack defines (no CRD for models).
        (controller_stack(defines_models=False), "system:serviceaccount:serving:manager"),
        # A workload runs as another account of that name, in another namespace.
        (
            [
                e if e[1] != "d" else (e[0], e[1], {**e[2], "metadata": {"name": "manager", "namespace": "other"}})
                for e in controller_stack()
            ],
            "system:serviceaccount:serving:manager",
        ),
        # A person or a group is never a controller, whatever status it may write.
        (controller_stack(subject={"kind": "User", "name": "alice"}), "User alice"),
        # Status of a built-in kind (pods/status, deployments/status) is the kubelet's and Kubernetes' own.
        (
            controller_stack(
                rules=[
                    CONTROLLER_RULES[0],
                    {
                        "apiGroups": ["", "apps"],
                        "resources": ["pods/status", "deployments/status"],
                        "verbs": ["update"],
                    },
                ]
            ),
            "system:serviceaccount:serving:manager",
        ),
        # A wildcard is a broad grant, not the mark of a controller.
        (
            controller_stack(
                rules=[CONTROLLER_RULES[0], {"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["update"]}]
            ),
            "system:serviceaccount:serving:manager",
        ),
        # Reading the status is not reconciling.
        (
            controller_stack(
                rules=[
                    CONTROLLER_RULES[0],
                    {"apiGroups": ["serving.example.io"], "resources": ["models/status"], "verbs": ["get", "watch"]},
                ]
            ),
            "system:serviceaccount:serving:manager",
        ),
    ],
    ids=["no-workload", "no-crd", "other-namespace", "a-user", "built-in-status", "wildcard-status", "reads-status"],
)
def test_what_does_not_make_a_pod_starter_a_controller(stack: list[StackEntry], who: str) -> None:
    assert run_stack_rule("k8s-rbac-pod-starters-limited", stack) == [manager_unlimited(who)]


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


# --------------------------------------------------------------------------- types the rules name


def sdk_type_tokens() -> set[str]:
    """Every resource type the providers' SDKs register (pulumi-aws, pulumi-kubernetes), read from their source."""
    import re
    from pathlib import Path

    import pulumi_aws
    import pulumi_kubernetes

    token = re.compile(r"'((?:aws|kubernetes):[A-Za-z0-9./]+:[A-Za-z0-9]+)'")
    found: set[str] = set()
    for package in (pulumi_aws, pulumi_kubernetes):
        for path in Path(package.__file__).parent.rglob("*.py"):
            found.update(token.findall(path.read_text(errors="replace")))
    return found


def test_every_type_a_rule_names_is_a_real_resource_type() -> None:
    """A typo in a type token would make a rule silently look at nothing. Each type must be one the
    provider SDKs register, or a custom resource whose CRD schema the project pins."""
    from offline import custom_resources
    from policies.rules import common, eks, rbac, s3

    known = sdk_type_tokens() | {f"kubernetes:{api}:{kind}" for api, kind in custom_resources.pinned()}
    named = {t for types, _ in common.RESOURCE_CHECKS.values() for t in types}
    named |= set(s3.BUCKET) | {t for types in s3.COMPANIONS.values() for t in types}
    named |= eks.NODE_GROUP | eks.LAUNCH_TEMPLATE
    named |= {rbac.ROLE, rbac.CLUSTER_ROLE, rbac.ROLE_BINDING, rbac.CLUSTER_ROLE_BINDING, rbac.SECRET, rbac.POLICY}
    named |= {rbac.POLICY_BINDING}
    assert len(named) > 60
    assert sorted(named - known) == []


def test_policy_documents_given_as_objects_are_judged_like_json_strings() -> None:
    """TypeScript and YAML programs may pass a policy document as an object instead of a JSON string; the
    engine then hands the rule read-only proxies (not lists and dicts): the same verdicts either way."""
    pod_identity = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["pods.eks.amazonaws.com"]},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/kubernetes-namespace": "mlops",
                        "aws:RequestTag/kubernetes-service-account": ["reader", "writer"],
                        "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:123456789012:cluster/c",
                    }
                },
            }
        ]
    }
    expected = [
        "IAM role 'res' trusts pods.eks.amazonaws.com for service accounts matching StringEquals "
        "aws:RequestTag/kubernetes-service-account = reader, writer; pin it with StringEquals to exactly one service account"
    ]
    assert run_rule("iam-trust-scoped", "aws:iam/role:Role", {"assumeRolePolicy": pod_identity}) == expected
    assert run_rule("iam-trust-scoped", "aws:iam/role:Role", {"assumeRolePolicy": json.dumps(pod_identity)}) == expected
    anyone = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "sts:AssumeRole"}]}
    assert run_rule("iam-trust-scoped", "aws:iam/role:Role", {"assumeRolePolicy": anyone}) == [
        "IAM role 'res' can be assumed by any AWS principal (Principal *) without a condition; name the account or role that assumes it"
    ]
    world = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:GetObject"], "Resource": "*"}]}
    found = run_rule("resource-policy-not-public", "aws:s3/bucketPolicy:BucketPolicy", {"bucket": "b", "policy": world})
    assert found == [
        "BucketPolicy 'res' has a resource policy that allows everyone (s3:GetObject) with no condition naming who "
        "(aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:SourceVpce...); name the account, organisation "
        "or endpoint, or list it under exceptions with the reason it is public"
    ]


def test_a_probe_exception_names_exactly_what_it_excuses() -> None:
    """An upstream controller offering a liveness probe and no readiness probe is excepted for that one probe
    of that one container: its other containers, and its liveness probe, are still required."""
    controller = deployment(
        container(name="controller", readinessProbe=None),
        container(name="sidecar", readinessProbe=None, livenessProbe=None),
    )

    def found(*names: str) -> list[str]:
        entries = [{"name": n, "reason": "the chart offers no such probe"} for n in names]
        return run_rule("k8s-probes", DEPLOYMENT, controller, config={"exceptions": entries})

    sidecar = "Container 'sidecar' in mlops/app has no readinessProbe or livenessProbe; add them"
    assert found() == ["Container 'controller' in mlops/app has no readinessProbe; add them", sidecar]
    assert found("mlops/app/controller:readinessProbe") == [sidecar]
    assert found("mlops/app/controller:readinessProbe", "mlops/app/sidecar") == []
    assert found("mlops/app") == []
    # A liveness exception does not excuse the missing readiness probe; a near name excuses nothing.
    assert found("mlops/app/controller:livenessProbe", "mlops/app/sidecar") == [
        "Container 'controller' in mlops/app has no readinessProbe; add them"
    ]
    assert len(found("mlops/app/controlle", "mlops/ap/sidecar", "mlops/app/sidecar:readiness")) == 2
    # Without its liveness probe, the excepted container is found again.
    controller["spec"]["template"]["spec"]["containers"][0].pop("livenessProbe")
    assert found("mlops/app/controller:readinessProbe", "mlops/app/sidecar") == [
        "Container 'controller' in mlops/app has no livenessProbe; add them"
    ]
