"""Database: the platform's Postgres - RDS in production, a StatefulSet in dev - and its databases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from pydantic import Field, ValidationInfo, field_validator

from ..cluster.network import Hosting, PrivatePlacement, hosting_default
from ..kit import k8s as kube
from ..kit.common import ComponentArgsError, PlatformComponent, child, documented, stateful, tagged
from ..kit.spec import Issue, Spec, check_names, environment, fail, managed_class, settings_arg
from ..kit.versions import POSTGRES_ENGINE_VERSION, POSTGRES_IMAGE
from ..kit.workload import Workload

PORT = 5432
ADMIN_USER = "mlops_admin"
ADMIN_DIR = "/run/secrets/postgres-admin"
"""Where the admin credential is mounted (a file, never an env var): the server and the bootstrap Job only."""
ROLES_DIR = "/run/secrets/postgres-roles"
"""Where the bootstrap Job finds each database's role password (one file per database)."""


class DatabaseSettings(Spec):
    """Postgres for MLflow (tracking, registry, auth) and the Feast registry."""

    mode: Hosting | None = Field(default=None, validate_default=True)
    """`managed` (RDS Postgres) or `inCluster` (a Postgres StatefulSet). Default: managed in prod, inCluster in dev."""
    instance_class: Annotated[str, managed_class("db")] = "db.t4g.medium"
    """RDS instance class; must mirror an EC2 type that exists (AWS data). Default: db.t4g.medium."""
    storage_gib: Annotated[int, Field(ge=20, le=65536)] = 20
    """Storage (RDS allocated storage, or the in-cluster volume). Default: 20."""
    max_storage_gib: Annotated[int, Field(ge=20, le=65536)] = 100
    """RDS storage autoscaling ceiling. Default: 100."""
    backup_retention_days: Annotated[int, Field(ge=0, le=35)] = 7
    """Days of automated RDS backups; at least 7 in prod. Default: 7."""
    multi_az: bool | None = Field(default=None, validate_default=True)
    """Standby in a second AZ. Default: true in prod, false in dev."""

    _mode = field_validator("mode")(hosting_default)

    @field_validator("backup_retention_days")
    @classmethod
    def _backups(cls, value: int, info: ValidationInfo) -> int:
        if value < 7 and environment(info) == "prod":
            fail([Issue((), value, "must be >= 7 in prod")])
        return value

    @field_validator("multi_az")
    @classmethod
    def _multi_az(cls, value: bool | None, info: ValidationInfo) -> bool:
        prod = environment(info) == "prod"
        if value is False and prod:
            fail([Issue((), value, "must be true (or unset) in prod")])
        return prod if value is None else value


@documented
@dataclass
class DatabaseArgs:
    namespace: str
    """Namespace of the admin Secret, the init Job (and the in-cluster server)."""
    databases: Sequence[str]
    """Databases to create (e.g. mlflow, mlflow_auth, feast), each owned by a role of its own name with its
    own generated password: a consumer's URL (`Database.url`) reaches its database and no other."""
    settings: DatabaseSettings = field(default_factory=DatabaseSettings)
    """Where Postgres runs and how it is sized and backed up. Default: in the cluster."""
    placement: PrivatePlacement | None = None
    """VPC, private subnets and the clients' security group; required in managed mode."""
    protect: bool = False
    """Deletion protection, a final snapshot, and Pulumi protect (RDS). Default: false."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for AWS resources. Default: none."""
    service_name: str | None = None
    """Kubernetes name of the server's objects (`<name>`, `<name>-admin`). Default: the component's name."""


class Database(PlatformComponent):
    """Postgres with a generated admin password, and one role per database with its own generated
    password (Pulumi secrets). A bootstrap Job - the only holder of the admin credential besides the
    server - creates each role and its database, owned by it and closed to every other role."""

    host: pulumi.Output[str]
    admin_secret_name: str
    sslmode: str

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:Database", name, None, opts)
        settings = settings_arg(DatabaseSettings, args.settings, "settings", "Database", name)
        self._service = args.service_name or name
        check_names("Database", name, {"namespace": args.namespace, "service_name": self._service})
        self.admin_secret_name = f"{self._service}-admin"
        self._roles_secret_name = f"{self._service}-roles"
        self._password = random.RandomPassword(f"{name}-admin", length=32, special=False, opts=child(self))
        self.password = self._password.result
        self._role_passwords = {
            db: random.RandomPassword(
                f"{name}-{db.replace('_', '-')}", length=32, special=False, opts=child(self)
            ).result
            for db in args.databases
        }
        labels = kube.labels(self._service, "database")
        admin = k8s.core.v1.Secret(
            f"{name}-admin",
            metadata=kube.metadata(self.admin_secret_name, args.namespace, labels),
            type="Opaque",
            string_data={"username": ADMIN_USER, "password": self.password},
            opts=child(self),
        )
        roles = k8s.core.v1.Secret(
            f"{name}-roles",
            metadata=kube.metadata(self._roles_secret_name, args.namespace, labels),
            type="Opaque",
            string_data=dict(self._role_passwords),
            opts=child(self),
        )
        if settings.mode is Hosting.MANAGED:
            if args.placement is None:
                raise ComponentArgsError("Database", name, ["placement = None: required in managed mode"])
            self.host = self._rds(name, args, settings, args.placement)
            self.sslmode = "require"
            ready: list[pulumi.Resource] = [admin, roles]
        else:
            self.host = pulumi.Output.from_input(f"{self._service}.{args.namespace}.svc.cluster.local")
            self.sslmode = "disable"
            ready = [admin, roles, self._in_cluster(name, args, settings)]
        self._init_job(name, args, ready)
        self.register_outputs({"host": self.host})

    def url(self, database: str, scheme: str = "postgresql") -> pulumi.Output[str]:
        """A connection URL for `database` as its own role (a secret: it embeds the role's password)."""
        if database not in self._role_passwords:
            raise ComponentArgsError(
                "Database",
                self._service,
                [f"url({database!r}): not one of its databases {sorted(self._role_passwords)}"],
            )
        return pulumi.Output.secret(
            pulumi.Output.format(
                "{0}://{1}:{2}@{3}:{4}/{5}?sslmode={6}",
                scheme,
                database,
                self._role_passwords[database],
                self.host,
                PORT,
                database,
                self.sslmode,
            )
        )

    def _rds(
        self, name: str, args: DatabaseArgs, settings: DatabaseSettings, placement: PrivatePlacement
    ) -> pulumi.Output[str]:
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=placement.subnet_ids,
            tags=tagged(args.tags, f"{name}-subnets"),
            opts=child(self),
        )
        group = placement.security_group(
            self, f"{name}-sg", port=PORT, service="Postgres", protocol="Postgres", tags=args.tags
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
            instance_class=settings.instance_class,
            allocated_storage=settings.storage_gib,
            max_allocated_storage=settings.max_storage_gib,
            storage_type="gp3",
            storage_encrypted=True,
            db_name="postgres",
            username=ADMIN_USER,
            password=self.password,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=settings.multi_az,
            backup_retention_period=settings.backup_retention_days,
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

    def _in_cluster(self, name: str, args: DatabaseArgs, settings: DatabaseSettings) -> pulumi.Resource:
        store = Workload(self, f"{name}-postgres", self._service, args.namespace, "database")
        # The image reads the password from the mounted Secret (POSTGRES_PASSWORD_FILE): no secret in the env.
        user_env = kube.env({"POSTGRES_USER": ADMIN_USER, "POSTGRES_PASSWORD_FILE": f"{ADMIN_DIR}/password"})
        ready_probe: Any = {
            "exec": {"command": ["sh", "-c", 'pg_isready -U "$POSTGRES_USER" -h 127.0.0.1']},
            "periodSeconds": 10,
            "failureThreshold": 6,
        }
        container = {
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
                {"name": "admin", "mountPath": ADMIN_DIR, "readOnly": True},
            ],
        }
        return store.data_store(
            container,
            port=PORT,
            storage=f"{settings.storage_gib}Gi",
            volumes=[
                kube.tmp_volume("run", "16Mi"),
                kube.tmp_volume(),
                kube.secret_volume("admin", self.admin_secret_name),
            ],
        )

    def _init_job(self, name: str, args: DatabaseArgs, ready: list[pulumi.Resource]) -> None:
        labels = kube.labels(self._service, "database-init")
        spec = kube.run_once(
            labels,
            kube.pod(
                [
                    {
                        "name": "create-databases",
                        "image": POSTGRES_IMAGE,
                        "imagePullPolicy": "Always",
                        "command": ["sh", "-ec", bootstrap_script(args.databases)],
                        "env": [
                            {"name": "PGHOST", "value": self.host},
                            *kube.env(
                                {
                                    "PGPORT": str(PORT),
                                    "PGSSLMODE": self.sslmode,
                                    "PGUSER": ADMIN_USER,
                                    "PGDATABASE": "postgres",
                                    "ADMIN_DIR": ADMIN_DIR,
                                    "ROLES_DIR": ROLES_DIR,
                                }
                            ),
                        ],
                        "securityContext": kube.RESTRICTED_CONTAINER,
                        "resources": kube.resources("50m", "64Mi", "200m", "128Mi"),
                        "volumeMounts": [
                            {"name": "tmp", "mountPath": "/tmp"},
                            {"name": "admin", "mountPath": ADMIN_DIR, "readOnly": True},
                            {"name": "roles", "mountPath": ROLES_DIR, "readOnly": True},
                        ],
                    }
                ],
                [
                    kube.tmp_volume(),
                    kube.secret_volume("admin", self.admin_secret_name),
                    kube.secret_volume("roles", self._roles_secret_name),
                ],
            ),
            retries=10,
        )
        k8s.batch.v1.Job(
            f"{name}-init",
            metadata=kube.metadata(f"{self._service}-create-databases", args.namespace, labels),
            spec=spec,
            opts=child(self, depends_on=ready),
        )


def bootstrap_script(databases: Sequence[str]) -> str:
    """The bootstrap Job's shell script: as the admin (its password read from $ADMIN_DIR/password), for each
    database create - if missing - a login role of the same name with the password in $ROLES_DIR/<db>
    (set again on every run, so a rotated secret takes effect) and the database, owned by that role
    and closed to every other role. Idempotent; tests run it against a real PostgreSQL."""
    for db in databases:
        if not db.isidentifier() or db != db.lower():
            raise ValueError(
                f"database name {db!r}: lower-case letters, digits and _ only (it is also its role's name)"
            )
    lines = [
        'export PGPASSWORD="$(cat "$ADMIN_DIR/password")"',
        "until pg_isready -t 5; do sleep 5; done",
        # The maintenance database too: a consumer's role reaches its own database and no other.
        "psql -v ON_ERROR_STOP=1 -qAtc 'REVOKE CONNECT ON DATABASE postgres FROM PUBLIC'",
    ]
    for db in databases:
        lines += [
            "psql -v ON_ERROR_STOP=1 -qAt <<'SQL'",
            f'\\set password `cat "$ROLES_DIR/{db}"`',
            f"SELECT format('CREATE ROLE %I LOGIN', '{db}') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{db}')\\gexec",
            f"ALTER ROLE {db} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';",
            f"GRANT {db} TO CURRENT_USER;",
            f"SELECT format('CREATE DATABASE %I OWNER %I', '{db}', '{db}')"
            f" WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{db}')\\gexec",
            f"ALTER DATABASE {db} OWNER TO {db};",
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC;",
            "SQL",
        ]
    return "\n".join(lines) + "\n"
