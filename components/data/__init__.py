"""The data stores: S3 buckets for artifacts and datasets with least-privilege access to them
(`ArtifactStore`, `ArtifactAccess`), and the platform's Postgres (`Database`: RDS or a StatefulSet).
Imports `kit/` and `cluster/`."""
