// Builders for the objects the fake API server is seeded with: a Deployment with its ReplicaSets and
// pods wired by ownerReferences and uids, the way the controllers would have left them.
import type { Obj } from './kube-api-objects.ts';
import type { FakeKubeApi } from './kube-api.ts';

export type PodHealth = 'healthy' | 'crashloop' | 'imagepull' | 'restarting' | 'pending';

const owner = (o: Obj) => ({
  apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true,
});

export const namespace = (name: string, annotations: Record<string, string> = {}): Obj =>
  ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations } });

function template(app: string, image: string, extraLabels: Record<string, string> = {}): Obj {
  return {
    metadata: { labels: { app, ...extraLabels } },
    spec: { containers: [{ name: 'main', image }], terminationGracePeriodSeconds: 45 },
  };
}

export function containerStatus(health: PodHealth, name = 'main'): Obj {
  switch (health) {
    case 'healthy': return { name, ready: true, restartCount: 0, image: 'x', imageID: '', state: { running: { startedAt: '2024-01-01T00:00:00Z' } } };
    case 'crashloop': return { name, ready: false, restartCount: 7, image: 'x', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'Error', exitCode: 1 } } };
    case 'imagepull': return { name, ready: false, restartCount: 0, image: 'x', imageID: '', state: { waiting: { reason: 'ImagePullBackOff' } } };
    case 'restarting': return { name, ready: false, restartCount: 3, image: 'x', imageID: '', state: { running: { startedAt: '2024-01-01T00:00:00Z' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } };
    case 'pending': return { name, ready: false, restartCount: 0, image: 'x', imageID: '', state: { waiting: { reason: 'ContainerCreating' } } };
  }
}

export function pod(ns: string, name: string, opts: { owner?: Obj | null; health?: PodHealth; labels?: Record<string, string>; grace?: number; extra?: Obj } = {}): Obj {
  const health = opts.health ?? 'healthy';
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: ns, labels: opts.labels ?? {}, ownerReferences: opts.owner ? [owner(opts.owner)] : [], ...(opts.extra ?? {}) },
    spec: { containers: [{ name: 'main', image: 'x' }], terminationGracePeriodSeconds: opts.grace ?? 45, nodeName: 'node-1' },
    status: {
      phase: health === 'pending' ? 'Pending' : 'Running',
      conditions: [{ type: 'Ready', status: health === 'healthy' ? 'True' : 'False' }],
      containerStatuses: [containerStatus(health)],
    },
  };
}

export interface DeploymentFixture {
  deployment: Obj;
  replicaSets: Obj[];
  pods: Obj[];
}

/**
 * Seeds a Deployment `app` in `ns` with one ReplicaSet per image in `revisions` (revision 1..n, the last
 * one current) and `podCount` pods of the current revision in the given health.
 */
export function seedDeployment(api: FakeKubeApi, ns: string, app: string, opts: {
  revisions?: string[]; replicas?: number; podHealth?: PodHealth; podCount?: number; annotations?: Record<string, string>; paused?: boolean;
} = {}): DeploymentFixture {
  const revisions = opts.revisions ?? ['img:v1', 'img:v2'];
  const replicas = opts.replicas ?? 2;
  const current = revisions[revisions.length - 1];
  const deployment = api.objects.seed({
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: app, namespace: ns, annotations: { 'deployment.kubernetes.io/revision': String(revisions.length), ...(opts.annotations ?? {}) } },
    spec: { replicas, selector: { matchLabels: { app } }, template: template(app, current), paused: opts.paused ?? false },
  });
  const replicaSets = revisions.map((image, i) => {
    const hash = `h${i + 1}x${app.length}`;
    const t = template(app, image, { 'pod-template-hash': hash });
    return api.objects.seed({
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: {
        name: `${app}-${hash}`, namespace: ns, labels: { app, 'pod-template-hash': hash },
        annotations: { 'deployment.kubernetes.io/revision': String(i + 1) }, ownerReferences: [owner(deployment)],
      },
      spec: { replicas: i === revisions.length - 1 ? replicas : 0, selector: { matchLabels: { app, 'pod-template-hash': hash } }, template: t },
    });
  });
  const rs = replicaSets[replicaSets.length - 1];
  const pods = Array.from({ length: opts.podCount ?? replicas }, (_, i) => api.objects.seed(pod(ns, `${rs.metadata.name}-p${i}`, {
    owner: rs, health: opts.podHealth ?? 'healthy', labels: rs.spec.template.metadata.labels,
  })));
  return { deployment, replicaSets, pods };
}

export function seedStatefulSet(api: FakeKubeApi, ns: string, app: string, opts: { replicas?: number; podHealth?: PodHealth } = {}): { statefulSet: Obj; pods: Obj[] } {
  const replicas = opts.replicas ?? 2;
  const statefulSet = api.objects.seed({
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: { name: app, namespace: ns },
    spec: { replicas, serviceName: app, selector: { matchLabels: { app } }, template: template(app, 'db:v1') },
  });
  const pods = Array.from({ length: replicas }, (_, i) => api.objects.seed(pod(ns, `${app}-${i}`, {
    owner: statefulSet, health: opts.podHealth ?? 'healthy', labels: { app },
  })));
  return { statefulSet, pods };
}

export function seedDaemonSet(api: FakeKubeApi, ns: string, app: string, opts: { podHealth?: PodHealth } = {}): { daemonSet: Obj; pods: Obj[] } {
  const daemonSet = api.objects.seed({
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: { name: app, namespace: ns },
    spec: { selector: { matchLabels: { app } }, template: template(app, 'agent:v1') },
  });
  const pods = [api.objects.seed(pod(ns, `${app}-abcde`, { owner: daemonSet, health: opts.podHealth ?? 'healthy', labels: { app } }))];
  return { daemonSet, pods };
}
