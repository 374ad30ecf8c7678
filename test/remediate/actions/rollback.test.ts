import assert from 'node:assert/strict';
import { seedDeployment, seedStatefulSet } from '../../fakes/kube-api-fixtures.ts';
import { expectAct, harness, type Harness } from '../action-harness.ts';

describe('remediate/actions/rollback (against the fake API)', () => {
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(() => h.close());

  it('restores the previous ReplicaSet template without pod-template-hash, like kubectl rollout undo', async () => {
    const { pods } = seedDeployment(h.api, 'shop', 'web', { revisions: ['img:v1', 'img:v2', 'img:v3'], podHealth: 'crashloop' });
    // An extra label only the current template has must disappear, not be merged into the old one.
    h.api.objects.patch('deployments', 'shop', 'web', (d) => {
      d.spec.template.metadata.labels.canary = 'true';
      return d;
    });
    const p = expectAct(await h.plan('rollback', { pod: pods[0].metadata.name }));
    assert.match(p.summary, /from revision 3 to revision 2/);
    assert.equal(p.eventType, 'Warning');
    await p.run(h.kube);
    const t = h.api.objects.get('deployments', 'shop', 'web').spec.template;
    assert.deepEqual(t, { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'img:v2' }], terminationGracePeriodSeconds: 45 } });
    const body = h.api.mutations()[0].body as { metadata: { resourceVersion: string } };
    assert.ok(body.metadata.resourceVersion, 'conditional on the version it verified');
  });

  it('skips with no-previous-revision when there is only one revision', async () => {
    const { pods } = seedDeployment(h.api, 'shop', 'web', { revisions: ['img:v1'], podHealth: 'crashloop' });
    const p = await h.plan('rollback', { pod: pods[0].metadata.name });
    assert.equal(p.kind === 'skip' && p.reason, 'no-previous-revision');
    assert.equal(h.api.mutations().length, 0);
  });

  it('does nothing when the current revision is healthy', async () => {
    seedDeployment(h.api, 'shop', 'web', { podHealth: 'healthy' });
    const p = await h.plan('rollback', { owner: { kind: 'Deployment', name: 'web' } });
    assert.equal(p.kind === 'skip' && p.reason, 'workload-healthy');
  });

  it('acts on a workload-level signal when a pod of the current revision fails', async () => {
    seedDeployment(h.api, 'shop', 'web', { podHealth: 'imagepull' });
    expectAct(await h.plan('rollback', { owner: { kind: 'Deployment', name: 'web' } }));
  });

  it('refuses paused Deployments and non-Deployments', async () => {
    seedDeployment(h.api, 'shop', 'web', { podHealth: 'crashloop', paused: true });
    const { pods } = seedStatefulSet(h.api, 'shop', 'db', { podHealth: 'crashloop' });
    const a = await h.plan('rollback', { owner: { kind: 'Deployment', name: 'web' } });
    const b = await h.plan('rollback', { pod: pods[0].metadata.name });
    assert.deepEqual([a.kind === 'skip' && a.reason, b.kind === 'skip' && b.reason], ['deployment-paused', 'unsupported-workload']);
  });

  it('skips when the Deployment already runs the previous template', async () => {
    const { pods } = seedDeployment(h.api, 'shop', 'web', { revisions: ['img:v1', 'img:v1'], podHealth: 'crashloop' });
    const p = await h.plan('rollback', { pod: pods[0].metadata.name });
    assert.equal(p.kind === 'skip' && p.reason, 'already-at-previous');
  });
});
