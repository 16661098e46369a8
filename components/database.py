"""Database: the platform's Postgres - RDS in production, a StatefulSet in dev - and its databases."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import k8s as kube
from components._common import ComponentArgsError, PlatformComponent, child, stateful, tagged
from components.versions import POSTGRES_ENGINE_VERSION, POSTGRES_IMAGE

PORT = 5432
ADMIN_USER = "mlops_admin"


class DatabaseMode(enum.Enum):
    MANAGED = "managed"
    """RDS Postgres: encrypted, private, backed up, TLS enforced; multi-AZ and protected in prod."""
    IN_CLUSTER = "inCluster"
    """A single Postgres pod with a persistent volume: cheap, for dev only."""


@dataclass
class DatabaseArgs:
    namespace: str
    """Namespace of the admin Secret, the init Job (and the in-cluster server)."""
    databases: Sequence[str]
    """Databases to create (e.g. mlflow, mlflow_auth, feast)."""
    mode: DatabaseMode = DatabaseMode.IN_CLUSTER
    """Where Postgres runs. Default: in the cluster."""
    vpc_id: pulumi.Input[str] | None = None
    """VPC of the RDS instance (managed mode)."""
    subnet_ids: pulumi.Input[Sequence[str]] | None = None
    """Private subnets of the RDS instance (managed mode)."""
    client_security_group_id: pulumi.Input[str] | None = None
    """The only security group admitted on 5432 (the cluster's nodes; managed mode)."""
    instance_class: str = "db.t4g.medium"
    """RDS instance class. Default: db.t4g.medium."""
    storage_gib: int = 20
    """Allocated storage (RDS) or volume size (in cluster). Default: 20."""
    max_storage_gib: int = 100
    """RDS storage autoscaling ceiling. Default: 100."""
    backup_retention_days: int = 7
    """Days of automated backups (RDS). Default: 7."""
    multi_az: bool = False
    """Standby in a second AZ (RDS). Default: false."""
    protect: bool = False
    """Deletion protection, a final snapshot, and Pulumi protect (RDS). Default: false."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for AWS resources. Default: none."""


class Database(PlatformComponent):
    """Postgres with a generated admin password (a Pulumi secret, and a Kubernetes Secret for
    in-cluster clients), plus a Job that creates the listed databases if they are missing."""

    host: pulumi.Output[str]
    admin_secret_name: str = "postgres-admin"
    sslmode: str

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:Database", name, None, opts)
        self._password = random.RandomPassword(f"{name}-admin", length=32, special=False, opts=child(self))
        self.password = self._password.result
        labels = kube.labels("postgres", "database")
        admin = k8s.core.v1.Secret(
            f"{name}-admin",
            metadata=kube.metadata(self.admin_secret_name, args.namespace, labels),
            type="Opaque",
            string_data={"username": ADMIN_USER, "password": self.password},
            opts=child(self),
        )
        if args.mode is DatabaseMode.MANAGED:
            self.host = self._rds(name, args)
            self.sslmode = "require"
            ready: list[pulumi.Resource] = [admin]
        else:
            self.host = pulumi.Output.from_input(f"postgres.{args.namespace}.svc.cluster.local")
            self.sslmode = "disable"
            ready = [admin, self._in_cluster(name, args, labels)]
        self._init_job(name, args, ready)
        self.register_outputs({"host": self.host})

    def url(self, database: str, scheme: str = "postgresql") -> pulumi.Output[str]:
        """A connection URL for `database` (a secret: it embeds the password)."""
        return pulumi.Output.secret(
            pulumi.Output.format(
                "{0}://{1}:{2}@{3}:{4}/{5}?sslmode={6}",
                scheme,
                ADMIN_USER,
                self.password,
                self.host,
                PORT,
                database,
                self.sslmode,
            )
        )

    def _rds(self, name: str, args: DatabaseArgs) -> pulumi.Output[str]:
        missing = [f for f in ("vpc_id", "subnet_ids", "client_security_group_id") if getattr(args, f) is None]
        if missing:
            raise ComponentArgsError("Database", name, [f"{f} (None) is required in managed mode" for f in missing])
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=args.subnet_ids, tags=tagged(args.tags, f"{name}-subnets"), opts=child(self)
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Postgres: reachable only from the cluster's nodes",
            tags=tagged(args.tags, f"{name}-sg"),
            opts=child(self),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-nodes",
            security_group_id=group.id,
            referenced_security_group_id=args.client_security_group_id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            description="Postgres from EKS nodes",
            opts=child(self),
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{POSTGRES_ENGINE_VERSION.split('.')[0]}",
            parameters=[
                {"name": "rds.force_ssl", "value": "1"},
                {"name": "log_min_duration_statement", "value": "1000"},
            ],
            tags=tagged(args.tags, f"{name}-params"),
            opts=child(self),
        )
        final_snapshot: str | None = f"{name}-final" if args.protect else None
        instance = aws.rds.Instance(
            f"{name}-postgres",
            engine="postgres",
            engine_version=POSTGRES_ENGINE_VERSION,
            instance_class=args.instance_class,
            allocated_storage=args.storage_gib,
            max_allocated_storage=args.max_storage_gib,
            storage_type="gp3",
            storage_encrypted=True,
            db_name="postgres",
            username=ADMIN_USER,
            password=self.password,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            copy_tags_to_snapshot=True,
            deletion_protection=args.protect,
            skip_final_snapshot=not args.protect,
            final_snapshot_identifier=final_snapshot,
            auto_minor_version_upgrade=True,
            performance_insights_enabled=True,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            tags=tagged(args.tags, f"{name}-postgres"),
            opts=stateful(self, args.protect),
        )
        return instance.address

    def _in_cluster(self, name: str, args: DatabaseArgs, labels: Mapping[str, str]) -> pulumi.Resource:
        selector = kube.selector("postgres", "database")
        k8s.core.v1.Service(
            f"{name}-postgres",
            metadata=kube.metadata("postgres", args.namespace, labels),
            spec=kube.service_spec(selector, {"postgres": PORT}),
            opts=child(self),
        )
        user_env = [
            kube.secret_env("POSTGRES_USER", self.admin_secret_name, "username"),
            kube.secret_env("POSTGRES_PASSWORD", self.admin_secret_name, "password"),
        ]
        ready_probe: Any = {
            "exec": {"command": ["sh", "-c", 'pg_isready -U "$POSTGRES_USER" -h 127.0.0.1']},
            "periodSeconds": 10,
            "failureThreshold": 6,
        }
        spec: Any = {
            "serviceName": "postgres",
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": kube.pod_security(),
                    "nodeSelector": kube.SYSTEM_NODES,
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "postgres",
                            "image": POSTGRES_IMAGE,
                            "imagePullPolicy": "Always",
                            "ports": [{"name": "postgres", "containerPort": PORT}],
                            "env": [*user_env, *kube.env({"PGDATA": "/var/lib/postgresql/data/pgdata"})],
                            "securityContext": kube.RESTRICTED_CONTAINER,
                            "resources": kube.resources("250m", "512Mi"),
                            "readinessProbe": ready_probe,
                            "livenessProbe": {**ready_probe, "initialDelaySeconds": 30},
                            "volumeMounts": [
                                {"name": "data", "mountPath": "/var/lib/postgresql/data"},
                                {"name": "run", "mountPath": "/var/run/postgresql"},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }
                    ],
                    "volumes": [kube.tmp_volume("run", "16Mi"), kube.tmp_volume()],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": f"{args.storage_gib}Gi"}},
                    },
                }
            ],
        }
        kube.ingress_policy(self, f"{name}-postgres-netpol", "postgres", args.namespace, selector, PORT, [])
        return k8s.apps.v1.StatefulSet(
            f"{name}-postgres", metadata=kube.metadata("postgres", args.namespace, labels), spec=spec, opts=child(self)
        )

    def _init_job(self, name: str, args: DatabaseArgs, ready: list[pulumi.Resource]) -> None:
        create = " ".join(
            f"psql -d postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='{db}'\" | grep -q 1 || psql -d postgres -c 'CREATE DATABASE {db}';"
            for db in args.databases
        )
        labels = kube.labels("postgres", "database-init")
        spec: Any = {
            "backoffLimit": 10,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "securityContext": kube.pod_security(),
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "create-databases",
                            "image": POSTGRES_IMAGE,
                            "imagePullPolicy": "Always",
                            "command": ["sh", "-ec", f"until pg_isready -t 5; do sleep 5; done; {create}"],
                            "env": [
                                kube.secret_env("PGUSER", self.admin_secret_name, "username"),
                                kube.secret_env("PGPASSWORD", self.admin_secret_name, "password"),
                                {"name": "PGHOST", "value": self.host},
                                *kube.env({"PGPORT": str(PORT), "PGSSLMODE": self.sslmode}),
                            ],
                            "securityContext": kube.RESTRICTED_CONTAINER,
                            "resources": kube.resources("50m", "64Mi", "200m", "128Mi"),
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [kube.tmp_volume()],
                },
            },
        }
        k8s.batch.v1.Job(
            f"{name}-init",
            metadata=kube.metadata("postgres-create-databases", args.namespace, labels),
            spec=spec,
            opts=child(self, depends_on=ready),
        )
