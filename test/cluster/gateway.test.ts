import assert from 'node:assert/strict';
import { ClientNodeGateway, createKubeGateway, kubeConfigForUrl } from '../../src/cluster/gateway.ts';
import { CLUSTER_RULES, LEASE_RULES } from '../../src/cluster/rbac.ts';
import { LoadError } from '../../src/domain/errors.ts';
import { KubeApiError, type KubeGateway } from '../../src/remediate/kube.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { namespace, seedDaemonSet, seedDeployment, seedStatefulSet } from '../fakes/kube-api-fixtures.ts';

describe('cluster/gateway (client-node against the fake API server)', () => {
  let api: FakeKubeApi;
  let gw: KubeGateway;

  beforeEach(async () => {
    api = new FakeKubeApi();
    gw = new ClientNodeGateway({ kubeConfig: kubeConfigForUrl(await api.start()), timeoutMs: 2000 });
  });
  afterEach(() => api.stop());

  async function driveEveryMethod(): Promise<void> {
    api.objects.seed(namespace('shop', { 'kube-sentinel.io/remediation': 'disabled' }));
    const { pods, replicaSets } = seedDeployment(api, 'shop', 'web');
    seedStatefulSet(api, 'shop', 'db');
    seedDaemonSet(api, 'shop', 'agent');
    await gw.getNamespace('shop');
    await gw.getPod('shop', pods[0].metadata.name);
    await gw.listPods('shop', { app: 'web' });
    await gw.getReplicaSet('shop', replicaSets[0].metadata.name);
    await gw.listReplicaSets('shop', { app: 'web' });
    await gw.getWorkload('Deployment', 'shop', 'web');
    await gw.getWorkload('StatefulSet', 'shop', 'db');
    await gw.getWorkload('DaemonSet', 'shop', 'agent');
    await gw.patchWorkload('Deployment', 'shop', 'web', { spec: { replicas: 3 } });
    await gw.patchWorkload('StatefulSet', 'shop', 'db', { spec: { replicas: 3 } });
    await gw.deletePod('shop', pods[0].metadata.name, { uid: pods[0].metadata.uid, gracePeriodSeconds: 45 });
    await gw.createEvent('shop', {
      involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop', uid: 'u' },
      reason: 'KubeSentinelRemediation', message: 'm', type: 'Normal', at: 1_700_000_000_000, reportingInstance: 'me',
    });
    const spec = { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: 1_700_000_000_123, renewTime: 1_700_000_000_123, leaseTransitions: 0 };
    assert.equal(await gw.getLease('ops', 'leader'), null);
    const created = await gw.createLease('ops', 'leader', spec);
    await gw.updateLease('ops', 'leader', { ...spec, renewTime: 1_700_000_002_000 }, created.resourceVersion);
  }

  it('makes exactly the (verb, group, resource) calls that rbac.ts grants', async () => {
    await driveEveryMethod();
    const made = new Set(api.requests.map((r) => `${r.verb} ${r.group}/${r.resource}`));
    const granted = new Set([...CLUSTER_RULES, ...LEASE_RULES].flatMap((r) => r.verbs.map((v) => `${v} ${r.apiGroup}/${r.resource}`)));
    assert.deepEqual([...made].sort(), [...granted].sort());
    assert.ok(api.requests.every((r) => r.status < 300 || (r.verb === 'get' && r.resource === 'leases')), 'every call succeeded');
  });

  it('sends merge patches as application/merge-patch+json', async () => {
    seedDeployment(api, 'shop', 'web');
    const w = await gw.patchWorkload('Deployment', 'shop', 'web', { spec: { replicas: 5 } });
    assert.equal(w.replicas, 5);
    const patch = api.requests.find((r) => r.verb === 'patch');
    assert.equal(patch?.contentType, 'application/merge-patch+json');
    assert.deepEqual(patch?.body, { spec: { replicas: 5 } });
  });

  it('a merge patch carrying a stale resourceVersion fails with a transient 409', async () => {
    const { deployment } = seedDeployment(api, 'shop', 'web');
    await gw.patchWorkload('Deployment', 'shop', 'web', { spec: { replicas: 4 } });
    await assert.rejects(
      gw.patchWorkload('Deployment', 'shop', 'web', { metadata: { resourceVersion: deployment.metadata.resourceVersion }, spec: { replicas: 9 } }),
      (e: unknown) => e instanceof KubeApiError && e.apiStatus === 409 && e.apiReason === 'Conflict' && e.transient);
    assert.equal(api.objects.get('deployments', 'shop', 'web').spec.replicas, 4);
  });

  it('writes Lease times as MicroTime and reads them back to the millisecond', async () => {
    const spec = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: 1_700_000_000_123, renewTime: 1_700_000_000_456, leaseTransitions: 2 };
    const l = await gw.createLease('ops', 'leader', spec);
    assert.deepEqual(l.spec, spec);
    const body = api.requests.find((r) => r.verb === 'create')?.body as { spec: { renewTime: string } };
    assert.equal(body.spec.renewTime, '2023-11-14T22:13:20.456000Z');
  });

  it('conditions lease updates on resourceVersion', async () => {
    const spec = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: 1, renewTime: 1, leaseTransitions: 0 };
    const l = await gw.createLease('ops', 'leader', spec);
    await gw.updateLease('ops', 'leader', { ...spec, holderIdentity: 'b' }, l.resourceVersion);
    await assert.rejects(gw.updateLease('ops', 'leader', { ...spec, holderIdentity: 'c' }, l.resourceVersion),
      (e: unknown) => e instanceof KubeApiError && e.apiStatus === 409);
    assert.equal((await gw.getLease('ops', 'leader'))?.spec.holderIdentity, 'b');
  });

  it('maps objects to plain data: owners, revision, failing containers, deletion time', async () => {
    const { pods, replicaSets } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    const p = await gw.getPod('shop', pods[0].metadata.name);
    assert.ok(p);
    assert.deepEqual(p.meta.ownerReferences.map((o) => [o.kind, o.name, o.uid, o.controller]),
      [['ReplicaSet', replicaSets[1].metadata.name, replicaSets[1].metadata.uid, true]]);
    assert.equal(p.containers[0].waiting, 'CrashLoopBackOff');
    assert.equal(p.ready, false);
    assert.equal(p.terminationGracePeriodSeconds, 45);
    assert.equal((await gw.getReplicaSet('shop', replicaSets[0].metadata.name))?.revision, 1);
    assert.equal(await gw.getPod('shop', 'nope'), null);
  });

  it('deletes a pod with its grace period and a uid precondition', async () => {
    const { pods } = seedDeployment(api, 'shop', 'web');
    await assert.rejects(gw.deletePod('shop', pods[0].metadata.name, { uid: 'someone-else', gracePeriodSeconds: 45 }),
      (e: unknown) => e instanceof KubeApiError && e.apiStatus === 409);
    await gw.deletePod('shop', pods[0].metadata.name, { uid: pods[0].metadata.uid, gracePeriodSeconds: 45 });
    assert.deepEqual(api.objects.deletions.map((d) => [d.name, d.gracePeriodSeconds]), [[pods[0].metadata.name, 45]]);
  });

  it('turns server errors and silence into KubeApiError (5xx / status 0, both transient)', async () => {
    api.fail({ verb: 'get', resource: 'pods', status: 503, times: 1 });
    await assert.rejects(gw.getPod('shop', 'x'), (e: unknown) => e instanceof KubeApiError && e.apiStatus === 503 && e.transient);
    const quick = new ClientNodeGateway({ kubeConfig: kubeConfigForUrl(api.url), timeoutMs: 150 });
    api.fail({ verb: 'get', resource: 'pods', hang: true, times: 1 });
    await assert.rejects(quick.getPod('shop', 'x'), (e: unknown) => e instanceof KubeApiError && e.apiStatus === 0 && e.transient);
    api.fail({ verb: 'delete', resource: 'pods', status: 403, times: 1 });
    await assert.rejects(gw.deletePod('shop', 'x', { uid: 'u', gracePeriodSeconds: 1 }),
      (e: unknown) => e instanceof KubeApiError && e.apiStatus === 403 && !e.transient);
  });

  it('createKubeGateway returns null when there is no cluster', () => {
    assert.equal(createKubeGateway({ inCluster: null, serviceAccountTokenExists: () => false }), null);
    assert.equal(createKubeGateway({ inCluster: false }), null);
    assert.ok(createKubeGateway({ kubeConfig: kubeConfigForUrl('http://127.0.0.1:1') }));
  });

  it('a broken kubeconfig is a load error naming the file', () => {
    assert.throws(() => createKubeGateway({ inCluster: false, kubeconfigPath: '/nonexistent/kubeconfig' }),
      (e: unknown) => e instanceof LoadError && e.file === '/nonexistent/kubeconfig');
  });
});
