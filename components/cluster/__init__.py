"""The cluster and its nodes: the network (`Network`), EKS (`EksCluster`), managed node groups, GPU
pools (`GpuNodePool`: a Karpenter NodePool or a managed node group), Karpenter, cluster-autoscaler,
and what GPU nodes need in the cluster (`GpuSupport`). Imports `kit/` only."""
