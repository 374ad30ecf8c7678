// src/cluster/gateway.ts against the real apiserver, authenticated as the chart's webhook
// ServiceAccount: the calls it makes (from the apiserver's audit log) are exactly the RBAC rules in
// src/cluster/rbac.ts, and the wire details the real server insists on (merge-patch content type,
// MicroTime, resourceVersion and uid preconditions) hold. Faults the real server cannot produce on
// demand (5xx, hangs) stay in test/cluster/gateway.test.ts against the fake.
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { ClientNodeGateway } from '../../../src/cluster/gateway.ts';
import { CLUSTER_RULES, LEASE_RULES } from '../../../src/cluster/rbac.ts';
import { KubeApiError } from '../../../src/remediate/kube.ts';
import { waitFor } from '../../support/proc.ts';
import { clusterEnv, type ClusterEnv } from './env.ts';
import { KS_NAMESPACE, serviceAccountCredentials, type Credentials } from './sentinel.ts';

const OPT_OUT = { 'kube-sentinel.io/remediation': 'disabled' };

describe('cluster: the gateway on the real apiserver, as the webhook ServiceAccount', function () {
  this.timeout(60_000);
  let env: ClusterEnv;
  let cred: Credentials;
  let gw: ClientNodeGateway;
  let ns: string;
  let seq = 0;

  before(async () => {
    env = clusterEnv();
    cred = await serviceAccountCredentials(env, 'webhook');
    const kc = new KubeConfig();
    kc.loadFromFile(cred.kubeconfig);
    gw = new ClientNodeGateway({ kubeConfig: kc, timeoutMs: 5_000 });
  });
  beforeEach(async () => {
    ns = `gw-${++seq}-${Date.now() % 100_000}`;
    await env.scene.namespace(ns, OPT_OUT);
  });

  async function deploymentWithPod(name: string) {
    await env.scene.deployment(ns, name);
    const [pod] = await env.scene.livePods(ns, name, 1);
    return pod;
  }

  it('makes exactly the (verb, group, resource) calls that rbac.ts grants, every one allowed', async () => {
    const since = Date.now() - 1;
    const pod = await deploymentWithPod('web');
    await env.scene.statefulSet(ns, 'db');
    await env.scene.daemonSet(ns, 'agent');
    const rs = (await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/replicasets`)).items[0];
    await gw.getNamespace(ns);
    const live = await gw.getPod(ns, pod.metadata.name);
    await gw.listPods(ns, { app: 'web' });
    await gw.getReplicaSet(ns, rs.metadata.name);
    await gw.listReplicaSets(ns, { app: 'web' });
    await gw.getWorkload('Deployment', ns, 'web');
    await gw.getWorkload('StatefulSet', ns, 'db');
    await gw.getWorkload('DaemonSet', ns, 'agent');
    await gw.patchWorkload('Deployment', ns, 'web', { spec: { replicas: 3 } });
    await gw.patchWorkload('StatefulSet', ns, 'db', { spec: { replicas: 2 } });
    await gw.deletePod(ns, pod.metadata.name, { uid: pod.metadata.uid, resourceVersion: live!.meta.resourceVersion, gracePeriodSeconds: 45 });
    await gw.createEvent(ns, {
      involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: ns, uid: rs.metadata.ownerReferences[0].uid },
      reason: 'KubeSentinelRemediation', message: 'm', type: 'Normal', at: Date.now(), reportingInstance: 'me',
    });
    const lease = `gw-lease-${seq}`;
    const spec = { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: Date.now(), renewTime: Date.now(), leaseTransitions: 0 };
    assert.equal(await gw.getLease(KS_NAMESPACE, lease), null);
    const created = await gw.createLease(KS_NAMESPACE, lease, spec);
    await gw.updateLease(KS_NAMESPACE, lease, { ...spec, renewTime: Date.now() + 1 }, created.resourceVersion);

    const mine = await waitFor('the audit records of these calls', async () => {
      const c = env.cp.calls().filter((r) => r.credentialId === cred.credentialId && r.at >= since);
      // The Lease update is the last call made.
      return c.some((r) => r.verb === 'update' && r.objectRef.resource === 'leases') ? c : null;
    });
    const group = (uri: string) => (uri.startsWith('/apis/') ? uri.split('/')[2] : '');
    const made = new Set(mine.map((r) => `${r.verb} ${group(r.requestURI)}/${r.objectRef.resource}`));
    const granted = new Set([...CLUSTER_RULES, ...LEASE_RULES].flatMap((r) => r.verbs.map((v) => `${v} ${r.apiGroup}/${r.resource}`)));
    assert.deepEqual([...made].sort(), [...granted].sort());
    const refused = mine.filter((r) => r.code === 403);
    assert.deepEqual(refused.map((r) => `${r.verb} ${r.requestURI}`), [], 'the chart grants every call');
  });

  it('maps live objects to plain data: owners, revision, failing containers, grace period', async () => {
    const pod = await deploymentWithPod('web');
    await env.scene.crashLoop(ns, pod.metadata.name);
    const p = await gw.getPod(ns, pod.metadata.name);
    assert.ok(p);
    const owner = pod.metadata.ownerReferences[0];
    assert.deepEqual(p.meta.ownerReferences.map((o) => [o.kind, o.name, o.uid, o.controller]), [['ReplicaSet', owner.name, owner.uid, true]]);
    assert.equal(p.containers[0].waiting, 'CrashLoopBackOff');
    assert.equal(p.containers[0].restartCount, 5);
    assert.equal(p.ready, false);
    assert.equal(p.terminationGracePeriodSeconds, 30);
    assert.equal((await gw.getReplicaSet(ns, owner.name))?.revision, 1);
    assert.deepEqual((await gw.getNamespace(ns))?.meta.annotations, OPT_OUT);
    assert.equal(await gw.getPod(ns, 'nope'), null);
  });

  it('a merge patch carrying a stale resourceVersion is a transient 409 and changes nothing', async () => {
    await deploymentWithPod('web');
    const before = await gw.getWorkload('Deployment', ns, 'web');
    const w = await gw.patchWorkload('Deployment', ns, 'web', { spec: { replicas: 4 } });
    assert.equal(w.replicas, 4, 'the answer is the live object');
    await assert.rejects(
      gw.patchWorkload('Deployment', ns, 'web', { metadata: { resourceVersion: before!.meta.resourceVersion }, spec: { replicas: 9 } }),
      (e: unknown) => e instanceof KubeApiError && e.apiStatus === 409 && e.apiReason === 'Conflict' && e.transient);
    assert.equal((await env.cp.admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/web`)).spec.replicas, 4);
  });

  it('writes Lease times as MicroTime and reads them back to the millisecond; updates are conditional', async () => {
    const name = `gw-micro-${seq}`;
    const spec = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: 1_700_000_000_123, renewTime: 1_700_000_000_456, leaseTransitions: 2 };
    const l = await gw.createLease(KS_NAMESPACE, name, spec);
    assert.deepEqual(l.spec, spec);
    const raw = await env.cp.admin.get(`/apis/coordination.k8s.io/v1/namespaces/${KS_NAMESPACE}/leases/${name}`);
    assert.equal(raw.spec.renewTime, '2023-11-14T22:13:20.456000Z');
    await gw.updateLease(KS_NAMESPACE, name, { ...spec, holderIdentity: 'b' }, l.resourceVersion);
    await assert.rejects(gw.updateLease(KS_NAMESPACE, name, { ...spec, holderIdentity: 'c' }, l.resourceVersion),
      (e: unknown) => e instanceof KubeApiError && e.apiStatus === 409);
    assert.equal((await gw.getLease(KS_NAMESPACE, name))?.spec.holderIdentity, 'b');
  });

  it('deletes a pod with its grace period, only when the uid and the resourceVersion read still match', async () => {
    const pod = await deploymentWithPod('web');
    await env.scene.bind(ns, pod.metadata.name);
    const path = `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}`;
    const read = (await env.cp.admin.get(path)).metadata;
    const conflict = (e: unknown) => e instanceof KubeApiError && e.apiStatus === 409;
    await assert.rejects(gw.deletePod(ns, pod.metadata.name, { uid: 'someone-else', resourceVersion: read.resourceVersion, gracePeriodSeconds: 45 }), conflict);
    await gw.deletePod(ns, pod.metadata.name, { uid: read.uid, resourceVersion: read.resourceVersion, gracePeriodSeconds: 45 });
    const terminating = (await env.cp.admin.get(path)).metadata;
    assert.equal(terminating.deletionGracePeriodSeconds, 45);
    // A late duplicate of the same delete (a frozen leader resuming) finds the version moved on.
    await assert.rejects(gw.deletePod(ns, pod.metadata.name, { uid: read.uid, resourceVersion: read.resourceVersion, gracePeriodSeconds: 45 }), conflict);
    assert.equal((await env.cp.admin.get(path)).metadata.resourceVersion, terminating.resourceVersion, 'the duplicate changed nothing');
  });

  it('a guard that refuses as the request is sent keeps the delete off the wire (TLS, client-node\'s own dispatcher)', async () => {
    const pod = await deploymentWithPod('web');
    const name = pod.metadata.name;
    const path = `/api/v1/namespaces/${ns}/pods/${name}`;
    const read = (await env.cp.admin.get(path)).metadata;
    const since = Date.now() - 1;
    let leading = true;
    const deposed = new Error('deposed');
    const pending = gw.deletePod(ns, name, { uid: read.uid, resourceVersion: read.resourceVersion, gracePeriodSeconds: 45 },
      { guard: () => { if (!leading) throw deposed; } });
    leading = false; // the caller checked and called while leading; the lease ended before the send
    await assert.rejects(pending, (e: unknown) => e === deposed);
    await gw.getPod(ns, name); // a later call, to know the audit log has caught up
    const mine = await waitFor('the later read in the audit log', async () => {
      const c = env.cp.calls().filter((r) => r.credentialId === cred.credentialId && r.at >= since && r.objectRef.name === name);
      return c.some((r) => r.verb === 'get') ? c : null;
    });
    assert.deepEqual(mine.filter((r) => r.verb === 'delete').map((r) => r.requestURI), [], 'no delete reached the apiserver');
    assert.equal((await env.cp.admin.get(path)).metadata.deletionTimestamp, undefined);
  });

  it('a call RBAC does not allow is a permanent 403', async () => {
    await assert.rejects(gw.getLease('kube-system', 'anything'),
      (e: unknown) => e instanceof KubeApiError && e.apiStatus === 403 && !e.transient);
  });
});
