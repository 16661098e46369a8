"""EksCluster: the EKS control plane, its system node group, add-ons, workload identity (EKS Pod
Identity or IRSA) and a Kubernetes provider.
Or an existing cluster adopted from a kubeconfig."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Annotated

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..kit import guardrails
from ..kit.common import (
    ComponentArgsError,
    PlatformComponent,
    assume_role_policy,
    aws_managed_policy,
    child,
    documented,
    stateful,
    tagged,
)
from ..kit.identity import POD_IDENTITY_AGENT_ADDON, ClusterIdentity, IdentityMode, OidcIdentity
from ..kit.k8s import SYSTEM_NODE_LABEL
from ..kit.spec import (
    InstanceType,
    Issue,
    RetentionDays,
    Spec,
    environment,
    fail,
    matching,
    name_rule,
    section,
    settings_arg,
    size_range,
)
from ..kit.versions import EKS_ADDONS, KUBERNETES_VERSION, SUPPORTED_KUBERNETES_VERSIONS
from .node_group import NodeGroupSpec, managed_node_group

"""Label of the system node group; add-ons and platform services select it, so GPU pools can reach zero."""

CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


class SystemNodes(Spec):
    """The system node group: add-ons and platform services run here, so GPU pools can reach zero."""

    instance_types: Annotated[list[InstanceType], Field(min_length=1)] = Field(default_factory=lambda: ["m6i.large"])
    """Instance types of the system node group (add-ons, platform services); each must exist and be offered in at least two of the stack's zones (AWS data). Default: [m6i.large]."""
    min_size: Annotated[int, Field(ge=2, le=100)] = 2
    """Minimum nodes; at least 2 so add-ons survive a node loss. Default: 2."""
    max_size: Annotated[int, Field(ge=2, le=100)] = 4
    """Maximum nodes. Default: 4."""
    desired_size: Annotated[int, Field(ge=2, le=100)] | None = None
    """Initial nodes (the autoscaler owns it afterwards). Default: minSize."""
    disk_size_gib: Annotated[int, Field(ge=20, le=16384)] = 50
    """Root volume size, GiB (gp3, encrypted). Default: 50."""

    @model_validator(mode="after")
    def _sizes(self) -> SystemNodes:
        fail(size_range(self.min_size, self.max_size, self.desired_size))
        return self

    def node_group(self) -> NodeGroupSpec:
        return NodeGroupSpec(
            instance_types=self.instance_types,
            min_size=self.min_size,
            max_size=self.max_size,
            desired_size=self.desired_size,
            disk_size_gib=self.disk_size_gib,
        )


class ExistingCluster(Spec):
    """An EKS cluster adopted by name: its kubeconfig comes from a secret config key."""

    name: Annotated[
        str,
        name_rule(
            chars=r"[A-Za-z0-9_-]",
            allowed="letters, digits, '_' and '-'",
            first=r"[A-Za-z]",
            first_words="a letter",
            max_length=100,
        ),
    ]
    """Name of the EKS cluster to adopt."""
    kubeconfig_secret: str = Field(default="kubeconfig", validate_default=True)
    """Config key holding its kubeconfig, set with `pulumi config set --secret`. Default: kubeconfig."""
    oidc_provider_arn: Annotated[
        str,
        matching(
            r"arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+",
            "an IAM OIDC provider ARN like arn:aws:iam::123456789012:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>",
        ),
    ]
    """ARN of the cluster's IAM OIDC provider (for IRSA)."""
    oidc_issuer_url: Annotated[str, matching(r"https://.+", "an https:// URL (the cluster's OIDC issuer)")]
    """The cluster's OIDC issuer URL."""
    node_security_group_id: Annotated[
        str, matching(r"sg-[0-9a-f]{8,17}", "a security group id like sg-0123456789abcdef0")
    ]
    """Security group of its nodes (databases and caches admit it)."""

    @field_validator("kubeconfig_secret")
    @classmethod
    def _kubeconfig(cls, value: str, info: ValidationInfo) -> str:
        secrets = (info.context or {}).get("secrets")
        if secrets is None:
            return value
        status = secrets.status(value)
        if status == "missing":
            fail(
                [
                    Issue(
                        (),
                        value,
                        f"config key '{value}' is not set; cluster.existing needs it: pulumi config set --secret {value} ...",
                    )
                ]
            )
        if status == "plain":
            fail([Issue((), value, f"config key '{value}' is set in plain text; set it again with --secret")])
        return value


class ClusterSettings(Spec):
    """The EKS control plane and system nodes."""

    name: (
        Annotated[
            str,
            name_rule(
                chars=r"[A-Za-z0-9-]",
                allowed="letters, digits and '-'",
                first=r"[A-Za-z]",
                first_words="a letter",
                max_length=100,
            ),
        ]
        | None
    ) = None
    """EKS cluster name. Default: mlops-<stack>."""
    kubernetes_version: str = KUBERNETES_VERSION
    """Kubernetes minor version; add-on versions are pinned per version. Default: the newest supported."""
    endpoint_public_access: bool = True
    """Expose the API server publicly (restricted to publicAccessCidrs). The private endpoint is always on. Default: true."""
    public_access_cidrs: list[str] = Field(default_factory=list)
    """CIDRs allowed to reach the public endpoint. Required when the public endpoint is on; never 0.0.0.0/0 in prod."""
    admin_principal_arns: list[
        Annotated[
            str,
            matching(
                r"arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+",
                "an IAM role or user ARN like arn:aws:iam::123456789012:role/platform-admins",
            ),
        ]
    ] = Field(default_factory=list)
    """IAM roles/users given cluster-admin through EKS access entries. Default: none (only the creator)."""
    log_retention_days: RetentionDays = 90
    """Days control-plane logs are kept in CloudWatch. Default: 90."""
    system_nodes: SystemNodes = section()
    """The system node group that runs add-ons and platform services."""
    existing: ExistingCluster | None = None
    """Adopt an existing cluster instead of creating one (requires network.existingVpc). Default: create one."""
    workload_identity: IdentityMode | None = None
    """How the platform's pods get their IAM roles: podIdentity (EKS Pod Identity; the platform installs the eks-pod-identity-agent add-on on a cluster it creates) or irsa (the cluster's OIDC provider). Default: podIdentity for a created cluster, irsa for an adopted one (whether it runs the agent is not in the config)."""

    @property
    def identity_mode(self) -> IdentityMode:
        if self.workload_identity is not None:
            return self.workload_identity
        return IdentityMode.IRSA if self.existing is not None else IdentityMode.POD_IDENTITY

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            fail(
                [
                    Issue(
                        (),
                        value,
                        f"must be one of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)} (versions with pinned add-ons)",
                    )
                ]
            )
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        issues = []
        for i, cidr in enumerate(value):
            try:
                IPv4Network(cidr)
            except ValueError as exc:
                issues.append(Issue((i,), cidr, f"not a valid IPv4 CIDR ({exc})"))
        if info.data.get("endpoint_public_access", True):
            if unreachable := guardrails.unreachable_cidrs(value):
                issues.append(Issue((), value, guardrails.unreachable_message(unreachable)))
            if environment(info) == "prod" and guardrails.too_wide_for_prod(value):
                issues.append(Issue((), value, guardrails.public_endpoint_message(value)))
        fail(issues)
        return value

    @model_validator(mode="after")
    def _public_endpoint_needs_cidrs(self) -> ClusterSettings:
        if self.endpoint_public_access and not self.public_access_cidrs and self.existing is None:
            fail(
                [
                    Issue(
                        ("public_access_cidrs",),
                        [],
                        "list the CIDRs allowed to reach the public endpoint, or set {endpoint_public_access}: false",
                    )
                ]
            )
        return self


@documented
@dataclass
class EksClusterArgs:
    cluster_name: str
    """EKS cluster name (of the cluster to create, or of the adopted one)."""
    region: str
    """AWS region (for the kubeconfig's token command)."""
    settings: ClusterSettings
    """The control plane, system nodes and access; or the cluster to adopt (`settings.existing`)."""
    private_subnet_ids: pulumi.Input[Sequence[str]] = ()
    """Subnets for the control plane's network interfaces and the system nodes."""
    service_cidr: str = "172.20.0.0/16"
    """Kubernetes Service range. Default: 172.20.0.0/16."""
    addon_versions: Mapping[str, str] | None = None
    """Managed add-on versions by name. Default: versions.EKS_ADDONS for the Kubernetes version."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every AWS resource. Default: none."""
    protect: bool = False
    """Protect the control plane and its key from deletion. Default: false."""
    kubeconfig: pulumi.Input[str] | None = None
    """Kubeconfig of the adopted cluster (a secret); required with `settings.existing`."""


class EksCluster(PlatformComponent):
    """An EKS cluster ready for the platform.

    Secrets are envelope-encrypted with a rotating KMS key; all five control-plane log types
    go to CloudWatch; the API has a private endpoint and, if asked, a public one limited to
    listed CIDRs; authentication uses access entries; IRSA has its OIDC provider; a system
    node group (at least two nodes) hosts add-ons so GPU pools can scale to zero; the EBS
    CSI driver and an encrypted gp3 default StorageClass back persistent volumes.
    """

    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """Kubeconfig using `aws eks get-token` (secret)."""
    oidc: OidcIdentity
    identity: ClusterIdentity
    """How the platform's pods get IAM roles (Pod Identity or IRSA, per settings.workload_identity)."""
    node_role_arn: pulumi.Output[str]
    """Role for managed node groups (the GPU pools use it too)."""
    node_security_group_id: pulumi.Output[str]
    provider: k8s.Provider
    """Kubernetes provider for everything deployed into the cluster."""

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:EksCluster", name, None, opts)
        settings = settings_arg(ClusterSettings, args.settings, "settings", "EksCluster", name)
        self.node_role_arn = self._node_role(name, args).arn
        if settings.existing is not None:
            if args.kubeconfig is None:
                raise ComponentArgsError(
                    "EksCluster", name, ["kubeconfig = null: required to adopt an existing cluster (settings.existing)"]
                )
            self._adopt(name, settings.existing, args.kubeconfig)
            partition, account = settings.existing.oidc_provider_arn.split(":")[1:5:3]
            cluster_arn: pulumi.Input[str] = (
                f"arn:{partition}:eks:{args.region}:{account}:cluster/{settings.existing.name}"
            )
            self.identity = ClusterIdentity(settings.identity_mode, self.cluster_name, cluster_arn, self.oidc)
        else:
            self._create(name, args, settings)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "oidcProviderArn": self.oidc.provider_arn,
                "nodeRoleArn": self.node_role_arn,
                "nodeSecurityGroupId": self.node_security_group_id,
            }
        )

    def _adopt(self, name: str, existing: ExistingCluster, kubeconfig: pulumi.Input[str]) -> None:
        self.cluster_name = pulumi.Output.from_input(existing.name)
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.oidc = OidcIdentity(existing.oidc_provider_arn, existing.oidc_issuer_url)
        self.node_security_group_id = pulumi.Output.from_input(existing.node_security_group_id)
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.kubeconfig, opts=child(self))

    def _node_role(self, name: str, args: EksClusterArgs) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-node",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            description="EKS managed node groups (pods get their own IAM roles through IRSA)",
            tags=tagged(args.tags, f"{name}-node"),
            opts=child(self),
        )
        for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly"):
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}", role=role.name, policy_arn=aws_managed_policy(policy), opts=child(self)
            )
        return role

    def _create(self, name: str, args: EksClusterArgs, settings: ClusterSettings) -> None:
        tags = args.tags
        key = aws.kms.Key(
            f"{name}-secrets",
            description=f"EKS {args.cluster_name}: envelope encryption of Kubernetes secrets",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tagged(tags, f"{name}-secrets"),
            opts=stateful(self, args.protect),
        )
        aws.kms.Alias(
            f"{name}-secrets", name=f"alias/{args.cluster_name}-eks-secrets", target_key_id=key.key_id, opts=child(self)
        )
        role = aws.iam.Role(
            f"{name}-control-plane",
            assume_role_policy=assume_role_policy("eks.amazonaws.com", tag_session=True),
            tags=tagged(tags, f"{name}-control-plane"),
            opts=child(self),
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-control-plane",
            role=role.name,
            policy_arn=aws_managed_policy("AmazonEKSClusterPolicy"),
            opts=child(self),
        )
        # Created before the cluster so that its retention applies (EKS would create it without one).
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=settings.log_retention_days,
            tags=tagged(tags, f"{name}-control-plane-logs"),
            opts=child(self),
        )
        vpc_config: aws.eks.ClusterVpcConfigArgsDict = {
            "subnet_ids": args.private_subnet_ids,
            "endpoint_private_access": True,
            "endpoint_public_access": settings.endpoint_public_access,
        }
        if settings.endpoint_public_access:
            vpc_config["public_access_cidrs"] = list(settings.public_access_cidrs)
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=args.cluster_name,
            version=settings.kubernetes_version,
            role_arn=role.arn,
            vpc_config=vpc_config,
            kubernetes_network_config={"service_ipv4_cidr": args.service_cidr},
            encryption_config={"resources": ["secrets"], "provider": {"key_arn": key.arn}},
            enabled_cluster_log_types=list(guardrails.EKS_LOG_TYPES),
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            deletion_protection=args.protect,
            tags=tagged(tags, args.cluster_name),
            opts=stateful(self, args.protect, depends_on=[attachment, log_group]),
        )
        self.cluster_name = cluster.name
        mode = settings.identity_mode
        issuer = cluster.identities.apply(_oidc_issuer)
        oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=tagged(tags, f"{name}-oidc"),
            opts=child(self),
        )
        self.oidc = OidcIdentity(oidc_provider.arn, issuer)
        self.identity = ClusterIdentity(mode, cluster.name, cluster.arn, self.oidc)
        self.node_security_group_id = cluster.vpc_config.apply(lambda c: str(c.cluster_security_group_id))

        for index, principal in enumerate(settings.admin_principal_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{index}",
                cluster_name=cluster.name,
                principal_arn=principal,
                type="STANDARD",
                tags=tagged(tags, f"{name}-admin-{index}"),
                opts=child(self),
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}",
                cluster_name=cluster.name,
                principal_arn=principal,
                policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope={"type": "cluster"},
                opts=child(self, depends_on=[entry]),
            )

        versions = dict(args.addon_versions or EKS_ADDONS[settings.kubernetes_version])
        networking = [
            self._addon(
                name,
                cluster,
                "vpc-cni",
                versions,
                tags,
                role_for=("aws-node", "AmazonEKS_CNI_Policy"),
                # Enforce NetworkPolicies (the platform's namespaces admit only their known clients).
                configuration='{"enableNetworkPolicy": "true"}',
            ),
            self._addon(name, cluster, "kube-proxy", versions, tags),
        ]
        if mode is IdentityMode.POD_IDENTITY:
            # A host-network DaemonSet: it must run before aws-node, which gets its role through it.
            networking.insert(0, self._addon(name, cluster, POD_IDENTITY_AGENT_ADDON, versions, tags))
        system_nodes = managed_node_group(
            f"{name}-system",
            cluster_name=cluster.name,
            node_role_arn=self.node_role_arn,
            subnet_ids=args.private_subnet_ids,
            spec=dataclasses.replace(settings.system_nodes.node_group(), labels=SYSTEM_NODE_LABEL),
            tags=tags,
            opts=child(self, depends_on=networking),
        )
        # These run as pods: create them once there are nodes to run on.
        workloads = [
            self._addon(name, cluster, "coredns", versions, tags, depends_on=[system_nodes]),
            self._addon(
                name,
                cluster,
                "aws-ebs-csi-driver",
                versions,
                tags,
                role_for=("ebs-csi-controller-sa", "service-role/AmazonEBSCSIDriverPolicy"),
                depends_on=[system_nodes],
            ),
        ]

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                cluster.name, cluster.endpoint, cluster.certificate_authority.apply(lambda ca: ca.data)
            ).apply(lambda v: kubeconfig_json(v[0], v[1], v[2], args.region))
        )
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=child(self, depends_on=[system_nodes, *workloads])
        )
        reclaim = "Retain" if args.protect else "Delete"
        k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata={"name": "gp3-encrypted", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy=reclaim,
            opts=child(self, provider=self.provider),
        )

    def _addon(
        self,
        name: str,
        cluster: aws.eks.Cluster,
        addon: str,
        versions: Mapping[str, str],
        tags: Mapping[str, str],
        *,
        role_for: tuple[str, str] | None = None,
        configuration: str | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> aws.eks.Addon:
        role_arn = None
        associations: list[aws.eks.AddonPodIdentityAssociationArgsDict] | None = None
        credentials: Sequence[pulumi.Resource] = ()
        if role_for is not None:
            service_account, policy = role_for
            bound = self.identity.role(
                f"{name}-{addon}",
                namespace="kube-system",
                service_account=service_account,
                managed_policy_arns=[aws_managed_policy(policy)],
                associate=False,  # the add-on makes its own association
                tags=tags,
                opts=child(self),
            )
            credentials = bound.credentials  # the role's policies: its pods start with the add-on
            if self.identity.mode is IdentityMode.POD_IDENTITY:
                associations = [{"role_arn": bound.role.arn, "service_account": service_account}]
            else:
                role_arn = bound.role.arn
        return aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            addon_version=versions[addon],
            service_account_role_arn=role_arn,
            pod_identity_associations=associations,
            configuration_values=configuration,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tagged(tags, f"{name}-{addon}"),
            opts=child(self, depends_on=[*depends_on, *credentials]),
        )


def _oidc_issuer(identities: Sequence[aws.eks.outputs.ClusterIdentity]) -> str:
    oidcs = identities[0].oidcs or []
    return str(oidcs[0].issuer)


def kubeconfig_json(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` (the caller's AWS credentials)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                        }
                    },
                }
            ],
        }
    )
