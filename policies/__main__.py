"""The CrossGuard pack: `pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`."""

import sys
from pathlib import Path

# The pack runs from policies/; its rules share validators with components/ in the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.rules import ALL_POLICIES

PolicyPack(name="mlops-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=ALL_POLICIES)
