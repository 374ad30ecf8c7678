import assert from 'node:assert/strict';
import { pod, seedDeployment } from '../../fakes/kube-api-fixtures.ts';
import { NOW, expectAct, harness, type Harness } from '../action-harness.ts';

describe('remediate/actions/delete-stuck-pods (against the fake API)', () => {
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(() => h.close());

  /** deletionTimestamp is "requested + grace", as the apiserver sets it. */
  function markTerminating(name: string, deletionTimestamp: number, ns = 'shop') {
    const cur = h.api.objects.get('pods', ns, name);
    h.api.objects.delete('pods', ns, name, {});
    h.api.objects.seed({ ...cur, metadata: { ...cur.metadata, resourceVersion: undefined, finalizers: [], deletionTimestamp: new Date(deletionTimestamp).toISOString(), deletionGracePeriodSeconds: 45 } });
  }

  it('force-deletes (grace 0) only the workload pods Terminating past grace + threshold', async () => {
    const { pods } = seedDeployment(h.api, 'shop', 'web', { podCount: 3 });
    markTerminating(pods[0].metadata.name, NOW - 6 * 60_000); // stuck
    markTerminating(pods[1].metadata.name, NOW - 60_000); // still within the 5m threshold
    // A stuck pod of ANOTHER workload that shares the label must not be touched.
    seedDeployment(h.api, 'shop', 'web2', { podCount: 0 });
    h.api.objects.seed(pod('shop', 'intruder', { labels: { app: 'web' } }));
    markTerminating('intruder', NOW - 60 * 60_000);

    const p = expectAct(await h.plan('delete-stuck-pods', { owner: { kind: 'Deployment', name: 'web' } }));
    await p.run(h.kube);
    assert.deepEqual(h.api.objects.deletions.filter((d) => d.gracePeriodSeconds !== null).map((d) => [d.name, d.gracePeriodSeconds]), [[pods[0].metadata.name, 0]]);
    assert.ok(h.api.objects.find('pods', 'shop', 'intruder'));
  });

  it('honours the threshold param and skips when nothing is stuck', async () => {
    const { pods } = seedDeployment(h.api, 'shop', 'web', { podCount: 1 });
    markTerminating(pods[0].metadata.name, NOW - 2 * 60_000);
    const none = await h.plan('delete-stuck-pods', { pod: pods[0].metadata.name });
    assert.equal(none.kind === 'skip' && none.reason, 'no-stuck-pods');
    expectAct(await h.plan('delete-stuck-pods', { pod: pods[0].metadata.name, params: { threshold: '1m' } }));
    const bad = await h.plan('delete-stuck-pods', { pod: pods[0].metadata.name, params: { threshold: 'soon' } });
    assert.equal(bad.kind === 'skip' && bad.reason, 'invalid-params');
  });

  it('refuses a bare pod', async () => {
    h.api.objects.seed(pod('shop', 'bare', {}));
    markTerminating('bare', NOW - 60 * 60_000);
    const p = await h.plan('delete-stuck-pods', { pod: 'bare' });
    assert.equal(p.kind === 'skip' && p.reason, 'no-controller');
  });
});
