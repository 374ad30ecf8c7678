// Exactly the Kubernetes API calls the gateway (src/cluster/gateway.ts) makes, as RBAC rules.
// The Helm chart's ClusterRole/Role and deploy/ manifests are tested against this list, and the
// gateway's own test checks that every call it makes is covered here — so chart and code agree.

export interface RbacRule {
  apiGroup: string; // '' = core
  resource: string;
  verbs: readonly string[];
}

/** Cluster-wide: what remediation touches in workload namespaces. */
export const CLUSTER_RULES: readonly RbacRule[] = [
  { apiGroup: '', resource: 'pods', verbs: ['get', 'list', 'delete'] },
  { apiGroup: '', resource: 'namespaces', verbs: ['get'] },
  { apiGroup: '', resource: 'events', verbs: ['create'] },
  { apiGroup: 'apps', resource: 'replicasets', verbs: ['get', 'list'] },
  { apiGroup: 'apps', resource: 'deployments', verbs: ['get', 'patch'] },
  { apiGroup: 'apps', resource: 'statefulsets', verbs: ['get', 'patch'] },
  { apiGroup: 'apps', resource: 'daemonsets', verbs: ['get'] },
];

/** In the release namespace only: leader election. */
export const LEASE_RULES: readonly RbacRule[] = [
  { apiGroup: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'create', 'update'] },
];

