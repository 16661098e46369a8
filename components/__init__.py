"""The platform's Pulumi components, grouped by what they build. Imports run one way, down this list:

- `kit/` - the shared kit: the settings `Spec`, Kubernetes building blocks, the workload skeleton,
  workload identity (IRSA / Pod Identity roles), quantities, schedules, AWS facts, GPU facts, pinned
  versions, guardrails shared with the policy pack, and the monitoring hooks;
- `cluster/` - the cluster and its nodes: network, EKS, node groups, GPU pools, Karpenter,
  cluster-autoscaler, GPU support;
- `data/` - the data stores: the artifact store (S3) and the database (Postgres);
- `services/` - the ML services: MLflow, the feature store, monitoring and dashboards, KServe and its
  endpoints, training, the drift monitor;
- `config/` - the stack file's model: one section per component's settings, validated at once;
- `platform.py` - `MlPlatform`, the whole platform composed from a validated config;
- `testing.py` - run a Pulumi program offline under the mocks and record what it declares.

The contracts with the apps come from `mlops_platform.contracts` (contracts/). Nothing here imports
the multi-language package (provider/) or the offline plan (offline/).
"""
