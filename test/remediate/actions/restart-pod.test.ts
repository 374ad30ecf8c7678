import assert from 'node:assert/strict';
import { KubeApiError } from '../../../src/remediate/kube.ts';
import { pod, seedDaemonSet, seedDeployment, seedStatefulSet } from '../../fakes/kube-api-fixtures.ts';
import { expectAct, harness, type Harness } from '../action-harness.ts';

describe('remediate/actions/restart-pod (against the fake API)', () => {
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(() => h.close());

  it('deletes a crash-looping Deployment pod with its own grace period, found through RS → Deployment', async () => {
    const { pods } = seedDeployment(h.api, 'shop', 'web', { podHealth: 'crashloop' });
    const p = expectAct(await h.plan('restart-pod', { pod: pods[0].metadata.name }));
    assert.match(p.summary, /CrashLoopBackOff/);
    assert.deepEqual([p.eventOn.kind, p.eventOn.name], ['Deployment', 'web']);
    const msg = await p.run(h.kube);
    assert.match(msg, /restarted pod web-/);
    assert.deepEqual(h.api.objects.deletions.map((d) => [d.name, d.gracePeriodSeconds]), [[pods[0].metadata.name, 45]]);
    const del = h.api.mutations()[0];
    assert.deepEqual((del.body as { preconditions: unknown }).preconditions, { uid: pods[0].metadata.uid, resourceVersion: pods[0].metadata.resourceVersion });
  });

  it('deletes only the pod as it was read: a pod that changed since the plan is a 409 and stays', async () => {
    const { pods } = seedDeployment(h.api, 'shop', 'web', { podHealth: 'crashloop' });
    const p = expectAct(await h.plan('restart-pod', { pod: pods[0].metadata.name }));
    h.api.objects.patch('pods', 'shop', pods[0].metadata.name, (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, touched: 'yes' } } }));
    await assert.rejects(p.run(h.kube), (e: unknown) => e instanceof KubeApiError && e.apiStatus === 409);
    assert.deepEqual(h.api.objects.deletions, []);
    assert.ok(h.api.objects.find('pods', 'shop', pods[0].metadata.name));
  });

  for (const health of ['imagepull', 'restarting'] as const) {
    it(`treats a ${health} pod as failing`, async () => {
      const { pods } = seedDeployment(h.api, 'shop', 'web', { podHealth: health });
      expectAct(await h.plan('restart-pod', { pod: pods[0].metadata.name }));
    });
  }

  it('refuses a healthy pod (a forged or stale signal) without any mutating call', async () => {
    const { pods } = seedDeployment(h.api, 'shop', 'web', { podHealth: 'healthy' });
    const p = await h.plan('restart-pod', { pod: pods[0].metadata.name });
    assert.deepEqual(p.kind === 'skip' && p.reason, 'pod-healthy');
    assert.equal(h.api.mutations().length, 0);
  });

  it('refuses a still-pending pod (ContainerCreating is not a failure)', async () => {
    const { pods } = seedDeployment(h.api, 'shop', 'web', { podHealth: 'pending' });
    const p = await h.plan('restart-pod', { pod: pods[0].metadata.name });
    assert.equal(p.kind === 'skip' && p.reason, 'pod-healthy');
  });

  it('refuses a bare pod: no controller would bring it back', async () => {
    h.api.objects.seed(pod('shop', 'standalone', { health: 'crashloop' }));
    const p = await h.plan('restart-pod', { pod: 'standalone' });
    assert.equal(p.kind === 'skip' && p.reason, 'no-controller');
    assert.equal(h.api.mutations().length, 0);
  });

  it('skips a pod that no longer exists', async () => {
    const p = await h.plan('restart-pod', { pod: 'gone-123' });
    assert.equal(p.kind === 'skip' && p.reason, 'pod-not-found');
  });

  it('does not follow an owner reference whose uid no longer matches (same-named replacement)', async () => {
    const { pods, replicaSets } = seedDeployment(h.api, 'shop', 'web', { podHealth: 'crashloop' });
    const rs = h.api.objects.get('replicasets', 'shop', replicaSets[1].metadata.name);
    h.api.objects.delete('replicasets', 'shop', rs.metadata.name, {});
    h.api.objects.seed({ ...rs, metadata: { ...rs.metadata, uid: 'impostor', resourceVersion: undefined } });
    const p = await h.plan('restart-pod', { pod: pods[0].metadata.name });
    assert.equal(p.kind === 'skip' && p.reason, 'owner-not-found');
  });

  it('refuses a pod already Terminating', async () => {
    const { pods } = seedDeployment(h.api, 'shop', 'web', { podHealth: 'crashloop' });
    const name = pods[0].metadata.name;
    const cur = h.api.objects.get('pods', 'shop', name);
    h.api.objects.delete('pods', 'shop', name, {});
    h.api.objects.seed({ ...cur, metadata: { ...cur.metadata, resourceVersion: undefined, deletionTimestamp: '2024-05-01T10:00:30Z' } });
    const p = await h.plan('restart-pod', { pod: name });
    assert.equal(p.kind === 'skip' && p.reason, 'pod-terminating');
  });

  it('restarts StatefulSet and DaemonSet pods, eventing on the workload', async () => {
    const { pods: sts } = seedStatefulSet(h.api, 'shop', 'db', { podHealth: 'crashloop' });
    const { pods: ds } = seedDaemonSet(h.api, 'shop', 'agent', { podHealth: 'crashloop' });
    const a = expectAct(await h.plan('restart-pod', { pod: sts[1].metadata.name }));
    const b = expectAct(await h.plan('restart-pod', { pod: ds[0].metadata.name }));
    assert.deepEqual([a.eventOn.kind, b.eventOn.kind], ['StatefulSet', 'DaemonSet']);
  });

  it('deletes only the verified pod: a StatefulSet pod recreated under the same name fails the uid precondition', async () => {
    const { pods } = seedStatefulSet(h.api, 'shop', 'db', { podHealth: 'crashloop' });
    const p = expectAct(await h.plan('restart-pod', { pod: pods[0].metadata.name }));
    const cur = h.api.objects.get('pods', 'shop', 'db-0');
    h.api.objects.delete('pods', 'shop', 'db-0', {});
    h.api.objects.seed({ ...cur, metadata: { ...cur.metadata, uid: 'new-db-0', resourceVersion: undefined } });
    await assert.rejects(p.run(h.kube), (e: unknown) => e instanceof KubeApiError && e.apiStatus === 409);
    assert.ok(h.api.objects.find('pods', 'shop', 'db-0'), 'the new pod survives');
  });
});
