"""A namespace with no Pod Security label at all."""

import pulumi_kubernetes as k8s

k8s.core.v1.Namespace("scratch", metadata={"name": "scratch"})
