"""The skeleton every platform service shares, written once: a service account (with an IAM role,
Pod Identity or IRSA, when it reaches S3), a Deployment, a Service, a NetworkPolicy admitting only
its clients, a PodDisruptionBudget, and what Prometheus scrapes.

    server = Workload(self, name, "mlflow", namespace, "tracking-server")
    server.identity(access, grants)
    server.deployment(pod, replicas=2)
    server.service({"http": 5000})
    server.admit(5000, ["models", "monitoring"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from . import k8s as kube
from .common import child
from .identity import WorkloadRole
from .spec import check_names

GrantT_contra = TypeVar("GrantT_contra", contravariant=True)


class RoleIssuer(Protocol[GrantT_contra]):
    """What gives a service account its AWS role: `ArtifactAccess` (components/data/artifact_store.py)
    issues one reaching exactly the grants it is given on the platform's buckets."""

    def role(
        self,
        name: str,
        *,
        namespace: str,
        service_account: str,
        grants: Sequence[GrantT_contra],
        parent: pulumi.Resource,
    ) -> WorkloadRole: ...


@dataclass(frozen=True)
class Workload:
    parent: pulumi.Resource
    """The component the objects belong to."""
    resource_name: str
    """Prefix of the Pulumi resource names (the component's name)."""
    name: str
    """Kubernetes name of the objects (and app.kubernetes.io/name)."""
    namespace: str
    component: str
    """app.kubernetes.io/component: what this workload is within its app."""

    @classmethod
    def of(
        cls, parent: pulumi.Resource, name: str, service_name: str | None, namespace: str, component: str
    ) -> Workload:
        """The workload of component `parent` named `name`: its Kubernetes objects are named
        `service_name` or, by default, the component's name - two instances never collide."""
        service = service_name or name
        check_names(type(parent).__name__, name, {"namespace": namespace, "service_name": service})
        return cls(parent, name, service, namespace, component)

    @property
    def labels(self) -> dict[str, str]:
        return kube.labels(self.name, self.component)

    @property
    def selector(self) -> dict[str, str]:
        return kube.selector(self.name, self.component)

    def metadata(self, annotations: Mapping[str, Any] | None = None, *, name: str | None = None) -> Any:
        return kube.metadata(name or self.name, self.namespace, self.labels, annotations)

    def identity(
        self,
        access: RoleIssuer[GrantT_contra] | None = None,
        grants: Sequence[GrantT_contra] = (),
        *,
        account: str | None = None,
        automount: bool | None = False,
        secrets: Sequence[str] = (),
    ) -> k8s.core.v1.ServiceAccount:
        """The service account, with a role (Pod Identity or IRSA) reaching exactly `grants` when there are
        any, created after the role's credentials (association or role, and its policies): every workload
        running as it must depend on it (policy aws-credentials-before-workloads). `secrets` are listed on it
        (KServe's storage initializer reads credentials, such as a hub token, from its account's Secrets)."""
        account = account or self.name
        annotations: Mapping[str, pulumi.Input[str]] = {}
        credentials: Sequence[pulumi.Resource] = ()
        if access is not None and grants:
            bound = access.role(
                self.resource_name, namespace=self.namespace, service_account=account, grants=grants, parent=self.parent
            )
            annotations, credentials = bound.annotations, bound.credentials
        # The service account exists only once its credentials do; workloads depend on it.
        return k8s.core.v1.ServiceAccount(
            f"{self.resource_name}-sa",
            metadata=kube.metadata(account, self.namespace, self.labels, annotations),
            automount_service_account_token=automount,
            secrets=[{"name": secret} for secret in secrets] or None,
            opts=child(self.parent, depends_on=list(credentials)),
        )

    def deployment(
        self,
        pod: Mapping[str, Any],
        *,
        replicas: int,
        strategy: Mapping[str, Any] | None = None,
        suffix: str = "server",
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> k8s.apps.v1.Deployment:
        """A Deployment of `pod` (a PodSpec), rolled out without losing capacity unless told otherwise."""
        spec: Any = {
            "replicas": replicas,
            "selector": {"matchLabels": self.selector},
            "strategy": dict(strategy or ROLLING),
            "template": {"metadata": {"labels": self.labels}, "spec": dict(pod)},
        }
        return k8s.apps.v1.Deployment(
            f"{self.resource_name}-{suffix}",
            metadata=self.metadata(),
            spec=spec,
            opts=child(self.parent, depends_on=list(depends_on)),
        )

    def service(self, ports: Mapping[str, int]) -> k8s.core.v1.Service:
        return k8s.core.v1.Service(
            f"{self.resource_name}-service",
            metadata=self.metadata(),
            spec=kube.service_spec(self.selector, ports),
            opts=child(self.parent),
        )

    def disruption_budget(self, replicas: int) -> k8s.policy.v1.PodDisruptionBudget:
        return kube.disruption_budget(
            self.parent, f"{self.resource_name}-pdb", self.name, self.namespace, self.labels, self.selector, replicas
        )

    def admit(
        self, port: int, namespaces: Sequence[str], *, suffix: str = "netpol", open_to_all: bool = False
    ) -> k8s.networking.v1.NetworkPolicy:
        """Admit `port` only from this namespace and `namespaces` (or from anywhere, when published)."""
        name = self.name if suffix == "netpol" else f"{self.name}-{suffix.removesuffix('-netpol')}"
        return kube.ingress_policy(
            self.parent,
            f"{self.resource_name}-{suffix}",
            name,
            self.namespace,
            self.selector,
            port,
            namespaces,
            open_to_all=open_to_all,
        )

    def data_store(
        self, container: Mapping[str, Any], *, port: int, storage: str, volumes: Sequence[Any] = ()
    ) -> k8s.apps.v1.StatefulSet:
        """A single-replica StatefulSet whose container keeps its data on a volume claim `data`, the
        Service in front of it, and a NetworkPolicy admitting only its own namespace: the in-cluster
        counterpart of a managed store (RDS, ElastiCache) in dev."""
        port_name = str(container["ports"][0]["name"])
        k8s.core.v1.Service(
            self.resource_name,
            metadata=self.metadata(),
            spec=kube.service_spec(self.selector, {port_name: port}),
            opts=child(self.parent),
        )
        spec: Any = {
            "serviceName": self.name,
            "replicas": 1,
            "selector": {"matchLabels": self.selector},
            "template": {"metadata": {"labels": self.labels}, "spec": kube.pod([dict(container)], list(volumes))},
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}},
                }
            ],
        }
        kube.ingress_policy(
            self.parent, f"{self.resource_name}-netpol", self.name, self.namespace, self.selector, port, []
        )
        return k8s.apps.v1.StatefulSet(self.resource_name, metadata=self.metadata(), spec=spec, opts=child(self.parent))

    def scrape_target(self, port: str, *, pods: bool = False) -> kube.ScrapeTarget:
        return kube.ScrapeTarget(self.name, self.namespace, self.selector, port, pods=pods)


ROLLING: Any = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
"""Roll out one new pod before an old one goes: no capacity is lost."""
