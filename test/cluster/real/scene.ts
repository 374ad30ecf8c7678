// Setting the scene on the real apiserver. With no kubelet and no scheduler, a pod only looks like it
// runs because the test says so through the API, exactly as a kubelet would: a real Node object, a
// `pods/binding`, and a `pods/status` patch (waiting reason, restartCount, lastState, conditions).
import { waitFor } from '../../support/proc.ts';
import type { KubeClient } from './kube-client.ts';

const NODE = 'node-1';
const IMAGE = 'registry.example/app:1';

export interface WorkloadOptions {
  replicas?: number;
  image?: string;
  annotations?: Record<string, string>;
  podAnnotations?: Record<string, string>;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function podTemplate(app: string, o: WorkloadOptions): Record<string, unknown> {
  return {
    metadata: { labels: { app }, annotations: o.podAnnotations ?? {} },
    spec: {
      terminationGracePeriodSeconds: 30,
      containers: [{ name: 'app', image: o.image ?? IMAGE }],
    },
  };
}

export class Scene {
  readonly k: KubeClient;
  constructor(k: KubeClient) {
    this.k = k;
  }

  async namespace(name: string, annotations: Record<string, string> = {}, labels: Record<string, string> = {}): Promise<void> {
    await this.k.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations, labels } });
    // The namespace's default ServiceAccount must exist before the controllers can create pods in it.
    await waitFor(`default ServiceAccount in ${name}`, () => this.k.find(`/api/v1/namespaces/${name}/serviceaccounts/default`), 30_000, 100);
  }

  /**
   * The one Node every pod is bound to, Ready. The apiserver taints a new Node not-ready (admission
   * plugin TaintNodesByCondition) and the node-lifecycle controller, which is off, would lift it once
   * the kubelet reports Ready: the test lifts it, or DaemonSets would never place a pod.
   */
  async node(): Promise<void> {
    if (await this.k.find(`/api/v1/nodes/${NODE}`)) return;
    await this.k.post('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } } });
    const now = iso(Date.now());
    await this.k.mergePatch(`/api/v1/nodes/${NODE}/status`, {
      status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test node', lastHeartbeatTime: now, lastTransitionTime: now }] },
    });
    await this.k.mergePatch(`/api/v1/nodes/${NODE}`, { spec: { taints: null } });
  }

  async deployment(ns: string, name: string, o: WorkloadOptions = {}): Promise<any> {
    return this.k.post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, annotations: o.annotations ?? {} },
      spec: { replicas: o.replicas ?? 1, selector: { matchLabels: { app: name } }, template: podTemplate(name, o) },
    });
  }

  async statefulSet(ns: string, name: string, o: WorkloadOptions = {}): Promise<any> {
    return this.k.post(`/apis/apps/v1/namespaces/${ns}/statefulsets`, {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace: ns, annotations: o.annotations ?? {} },
      spec: { replicas: o.replicas ?? 1, serviceName: name, selector: { matchLabels: { app: name } }, template: podTemplate(name, o) },
    });
  }

  async daemonSet(ns: string, name: string, o: WorkloadOptions = {}): Promise<any> {
    return this.k.post(`/apis/apps/v1/namespaces/${ns}/daemonsets`, {
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: ns, annotations: o.annotations ?? {} },
      spec: { selector: { matchLabels: { app: name } }, template: podTemplate(name, o) },
    });
  }

  /** A pod with no controller. */
  async barePod(ns: string, name: string, finalizers: string[] = []): Promise<any> {
    return this.k.post(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { app: name }, finalizers },
      spec: { terminationGracePeriodSeconds: 30, containers: [{ name: 'app', image: IMAGE }] },
    });
  }

  /** The pods of `app` that are not terminating, once there are `count` of them. */
  async livePods(ns: string, app: string, count: number, timeoutMs = 30_000): Promise<any[]> {
    return waitFor(`${count} live pod(s) of ${ns}/${app}`, async () => {
      const list = await this.k.get(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${encodeURIComponent(app)}`);
      const live = (list.items as any[]).filter((p) => !p.metadata.deletionTimestamp);
      return live.length === count ? live : null;
    }, timeoutMs, 100);
  }

  async pods(ns: string, app: string): Promise<any[]> {
    const list = await this.k.get(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${encodeURIComponent(app)}`);
    return list.items;
  }

  async bind(ns: string, pod: string): Promise<void> {
    await this.node();
    const p = await this.k.get(`/api/v1/namespaces/${ns}/pods/${pod}`);
    if (p.spec.nodeName) return;
    await this.k.post(`/api/v1/namespaces/${ns}/pods/${pod}/binding`, {
      apiVersion: 'v1', kind: 'Binding', metadata: { name: pod, namespace: ns }, target: { apiVersion: 'v1', kind: 'Node', name: NODE },
    });
  }

  /** What a kubelet reports for a container that keeps crashing: CrashLoopBackOff after `restarts` restarts. */
  async crashLoop(ns: string, pod: string, restarts = 5): Promise<void> {
    await this.bind(ns, pod);
    const now = Date.now();
    await this.k.mergePatch(`/api/v1/namespaces/${ns}/pods/${pod}/status`, {
      status: {
        phase: 'Running', startTime: iso(now - 600_000),
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: iso(now - 600_000) },
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: iso(now - 60_000) },
          { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: iso(now - 60_000) },
        ],
        containerStatuses: [{
          name: 'app', image: IMAGE, imageID: '', ready: false, started: false, restartCount: restarts,
          state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 2m40s restarting failed container=app pod=${pod}` } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: iso(now - 30_000), finishedAt: iso(now - 20_000) } },
        }],
      },
    });
  }

  /** What a kubelet reports for a healthy, ready pod. */
  async ready(ns: string, pod: string): Promise<void> {
    await this.bind(ns, pod);
    const now = iso(Date.now());
    await this.k.mergePatch(`/api/v1/namespaces/${ns}/pods/${pod}/status`, {
      status: {
        phase: 'Running', startTime: now,
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
          { type: 'Ready', status: 'True', lastTransitionTime: now },
          { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
        ],
        containerStatuses: [{
          name: 'app', image: IMAGE, imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } },
        }],
      },
    });
  }

  /** A TokenRequest token for a ServiceAccount (what a projected token volume gives a pod). */
  async token(ns: string, sa: string, seconds = 3600): Promise<string> {
    const r = await this.k.post(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: seconds },
    });
    return r.status.token;
  }

  /** Events in `ns` with this reason. */
  async events(ns: string, reason: string): Promise<any[]> {
    const list = await this.k.get(`/api/v1/namespaces/${ns}/events?fieldSelector=reason%3D${reason}`);
    return list.items;
  }

  /** Can `token`'s subject do `verb` on `resource`? (SelfSubjectAccessReview, answered by the real RBAC.) */
  async can(client: KubeClient, verb: string, group: string, resource: string, ns?: string): Promise<boolean> {
    const r = await client.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb, group, resource, namespace: ns } },
    });
    return r.status.allowed === true;
  }
}
