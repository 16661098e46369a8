"""Karpenter nodes launched with IMDSv1 allowed: every pod could read the node role's credentials."""

import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource(
    "gpu",
    api_version="karpenter.k8s.aws/v1",
    kind="EC2NodeClass",
    metadata={"name": "gpu"},
    spec={
        "amiSelectorTerms": [{"alias": "al2023@v20250915"}],
        "role": "node",
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "c"}}],
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "c"}}],
        "metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 2},
    },
)
