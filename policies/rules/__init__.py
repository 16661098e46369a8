"""The pack's rules, by area. `ALL_POLICIES` is what `policies/__main__.py` serves."""

from __future__ import annotations

from pulumi_policy import Policy

from policies.rules import credentials, databases, eks, iam, kubernetes, network, rbac, resource_policies, s3, tags
from policies.rules.common import cannot_verify

ALL_POLICIES: list[Policy] = [
    *s3.POLICIES,
    *iam.POLICIES,
    *resource_policies.POLICIES,
    *eks.POLICIES,
    *credentials.POLICIES,
    *databases.POLICIES,
    *kubernetes.POLICIES,
    *rbac.POLICIES,
    *network.POLICIES,
    *tags.POLICIES,
]
ALL_POLICIES.append(cannot_verify())  # last: it re-runs every resource rule above for unknown values
