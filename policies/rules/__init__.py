"""The pack's rules, by area. `ALL_POLICIES` is what `policies/__main__.py` serves."""

from __future__ import annotations

from pulumi_policy import Policy

from policies.rules import databases, eks, iam, kubernetes, s3, tags

ALL_POLICIES: list[Policy] = [
    *s3.POLICIES,
    *iam.POLICIES,
    *eks.POLICIES,
    *databases.POLICIES,
    *kubernetes.POLICIES,
    *tags.POLICIES,
]
