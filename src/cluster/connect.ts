// Which cluster to talk to, decided before @kubernetes/client-node is loaded: that library costs about
// 85 MiB of resident memory and 32 MiB of heap, so a replica without a cluster (zero-config, dry-run
// without verification) and the dashboard role never load it. gateway.ts is imported only once a
// cluster is actually configured.
import { existsSync } from 'node:fs';
import type { KubeGateway } from '../remediate/kube.ts';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface ClusterChoice {
  /** kubernetes.in_cluster: true, false, or null (= in-cluster when a service account token is mounted). */
  inCluster: boolean | null;
  kubeconfigPath?: string;
  timeoutMs?: number;
  serviceAccountTokenExists?: () => boolean;
}

export type ClusterSource = { kind: 'in-cluster' } | { kind: 'kubeconfig'; path: string } | null;

/** In-cluster credentials, a kubeconfig, or no cluster at all. */
export function clusterSource(c: ClusterChoice): ClusterSource {
  const tokenExists = c.serviceAccountTokenExists ?? (() => existsSync(SERVICE_ACCOUNT_TOKEN));
  if (c.inCluster === true || (c.inCluster === null && !c.kubeconfigPath && tokenExists())) return { kind: 'in-cluster' };
  if (c.kubeconfigPath) return { kind: 'kubeconfig', path: c.kubeconfigPath };
  return null;
}

/** The gateway for the configured cluster, or null without one (client-node is then never loaded). */
export async function connectCluster(c: ClusterChoice): Promise<KubeGateway | null> {
  if (clusterSource(c) === null) return null;
  const { createKubeGateway } = await import('./gateway.ts');
  return createKubeGateway(c);
}
