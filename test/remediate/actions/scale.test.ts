import assert from 'node:assert/strict';
import { desiredReplicas, parseScaleParams } from '../../../src/remediate/actions/scale.ts';
import { KubeApiError } from '../../../src/remediate/kube.ts';
import { pod, seedDaemonSet, seedDeployment, seedStatefulSet } from '../../fakes/kube-api-fixtures.ts';
import { expectAct, harness, type Harness } from '../action-harness.ts';

describe('remediate/actions/scale (against the fake API)', () => {
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(() => h.close());

  it('scales a Deployment up by a merge patch carrying the resourceVersion it read', async () => {
    const { pods, deployment } = seedDeployment(h.api, 'shop', 'web', { replicas: 2 });
    const p = expectAct(await h.plan('scale-up', { pod: pods[0].metadata.name, params: { replicas: '+2', max_replicas: '10' } }));
    assert.match(await p.run(h.kube), /from 2 to 4/);
    assert.equal(h.api.objects.get('deployments', 'shop', 'web').spec.replicas, 4);
    const patch = h.api.mutations()[0];
    assert.equal(patch.contentType, 'application/merge-patch+json');
    assert.deepEqual(patch.body, { metadata: { resourceVersion: deployment.metadata.resourceVersion }, spec: { replicas: 4 } });
  });

  it('a concurrent change between verify and act gives a 409 and nothing is overwritten', async () => {
    seedDeployment(h.api, 'shop', 'web', { replicas: 2 });
    const p = expectAct(await h.plan('scale-up', { owner: { kind: 'Deployment', name: 'web' } }));
    h.api.objects.patch('deployments', 'shop', 'web', (d) => ({ ...d, spec: { ...d.spec, replicas: 7 } }));
    await assert.rejects(p.run(h.kube), (e: unknown) => e instanceof KubeApiError && e.apiStatus === 409 && e.transient);
    assert.equal(h.api.objects.get('deployments', 'shop', 'web').spec.replicas, 7);
  });

  it('caps at max_replicas and skips when already there', async () => {
    seedDeployment(h.api, 'shop', 'web', { replicas: 9 });
    const p = expectAct(await h.plan('scale-up', { owner: { kind: 'Deployment', name: 'web' }, params: { replicas: '+5', max_replicas: '10' } }));
    assert.match(p.summary, /from 9 to 10/);
    await p.run(h.kube);
    const again = await h.plan('scale-up', { owner: { kind: 'Deployment', name: 'web' }, params: { replicas: '+5', max_replicas: '10' } });
    assert.equal(again.kind === 'skip' && again.reason, 'at-max-replicas');
  });

  it('scales a StatefulSet down to an absolute count, never below min_replicas', async () => {
    const { pods } = seedStatefulSet(h.api, 'shop', 'db', { replicas: 3 });
    const p = expectAct(await h.plan('scale-down', { pod: pods[0].metadata.name, params: { replicas: '0', min_replicas: '2' } }));
    await p.run(h.kube);
    assert.equal(h.api.objects.get('statefulsets', 'shop', 'db').spec.replicas, 2);
    const again = await h.plan('scale-down', { pod: pods[0].metadata.name, params: { replicas: '-1', min_replicas: '2' } });
    assert.equal(again.kind === 'skip' && again.reason, 'at-min-replicas');
  });

  it('refuses DaemonSets, bare pods, missing workloads and bad params', async () => {
    seedDaemonSet(h.api, 'shop', 'agent');
    seedDeployment(h.api, 'shop', 'web');
    h.api.objects.seed(pod('shop', 'lonely', {}));
    const reasons = await Promise.all([
      h.plan('scale-up', { owner: { kind: 'DaemonSet', name: 'agent' } }),
      h.plan('scale-up', { pod: 'lonely' }),
      h.plan('scale-up', { owner: { kind: 'Deployment', name: 'nope' } }),
      h.plan('scale-up', { owner: { kind: 'Deployment', name: 'web' }, params: { replicas: 'lots' } }),
      h.plan('scale-up', { owner: { kind: 'Deployment', name: 'web' }, params: { replicas: '-1' } }),
    ]);
    assert.deepEqual(reasons.map((p) => p.kind === 'skip' && p.reason),
      ['unsupported-workload', 'no-controller', 'workload-not-found', 'invalid-params', 'no-change']);
    assert.equal(h.api.mutations().length, 0);
  });
});

describe('remediate/actions/scale (pure arithmetic)', () => {
  const p = (params: Record<string, string>, action: 'scale-up' | 'scale-down' = 'scale-up') => {
    const r = parseScaleParams(action, params);
    if (typeof r === 'string') throw new Error(r);
    return r;
  };
  it('parses +N, -N, N and defaults', () => {
    assert.deepEqual(p({}), { delta: 1, absolute: null, min: 1, max: 10 });
    assert.deepEqual(p({}, 'scale-down'), { delta: -1, absolute: null, min: 1, max: 10 });
    assert.deepEqual(p({ replicas: '5', min_replicas: '2', max_replicas: '8' }), { delta: null, absolute: 5, min: 2, max: 8 });
    assert.match(String(parseScaleParams('scale-up', { min_replicas: '5', max_replicas: '2' })), /greater than/);
    assert.match(String(parseScaleParams('scale-up', { max_replicas: '-3' })), /non-negative/);
  });
  it('bounds and direction', () => {
    assert.deepEqual(desiredReplicas('scale-up', 3, p({ replicas: '+1' })), { ok: true, replicas: 4 });
    assert.equal(desiredReplicas('scale-up', 10, p({ replicas: '+1' })).ok, false);
    assert.deepEqual(desiredReplicas('scale-down', 3, p({ replicas: '0' }, 'scale-down')), { ok: true, replicas: 1 });
    const d = desiredReplicas('scale-down', 1, p({}, 'scale-down'));
    assert.equal(!d.ok && d.reason, 'at-min-replicas');
  });
});
