// The admission listener cannot authenticate the API server unless a client CA is configured, so
// anyone who reaches it can forge a review. Verify-before-act is what makes that harmless: a forged
// CrashLoop Event naming a healthy pod queues a request, and the worker re-reads the live pod and
// skips it without a single mutating call.
import assert from 'node:assert/strict';
import request from 'supertest';
import { ClientNodeGateway, kubeConfigForUrl } from '../../src/cluster/gateway.ts';
import { StaticLeadership } from '../../src/remediate/leader.ts';
import { RemediationWorker } from '../../src/remediate/worker.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { namespace, seedDeployment } from '../fakes/kube-api-fixtures.ts';
import { READ_TOKEN, makeApp, type TestApp } from '../support/app.ts';

describe('a forged admission review naming a healthy pod', () => {
  let api: FakeKubeApi;
  let store: SqliteStore;
  let t: TestApp;
  before(async () => {
    api = new FakeKubeApi({ now: Date.now });
    store = new SqliteStore({ path: ':memory:', maxOccurrences: 10 });
    t = await makeApp({ store, config: { web: { admission_listen: '127.0.0.1:0' } } });
    await store.putSettings({ enabled: true, dryRun: false, maxActionsPerHour: 100 });
  });
  after(async () => { await t.close(); await api.stop(); });

  it('is recorded as admission-sourced and leads to no action on the pod', async () => {
    const kube = new ClientNodeGateway({ kubeConfig: kubeConfigForUrl(await api.start()), timeoutMs: 2000 });
    api.objects.seed(namespace('shop'));
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'healthy' });
    const pod = pods[0].metadata.name;
    const review = {
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      request: { uid: 'forged-1', operation: 'CREATE', namespace: 'shop', object: {
        apiVersion: 'v1', kind: 'Event', metadata: { name: `${pod}.1`, namespace: 'shop', uid: 'ev-forged' },
        involvedObject: { kind: 'Pod', name: pod, namespace: 'shop' }, reason: 'BackOff', type: 'Warning',
        message: 'Back-off restarting failed container app', count: 1 } },
    };
    const r = await request(t.app.admissionHandler!).post('/webhooks/admission').send(review);
    assert.equal(r.status, 200);
    assert.equal(r.body.response.allowed, true);

    const list = await request(t.app.handler).get('/api/errors').set('authorization', `Bearer ${READ_TOKEN}`);
    assert.equal(list.body.total, 1);
    const [group] = list.body.errors;
    assert.equal(group.rule, 'crashloop-backoff');
    assert.equal(group.labels['kube-sentinel.io/via'], 'admission', 'visibly admission-sourced');

    const leader = new StaticLeadership({ identity: 'pod-a_x' });
    leader.start();
    const worker = new RemediationWorker({
      store, kube, leader, defaults: { enabled: true, dryRun: false, maxActionsPerHour: 10 },
      excludedNamespaces: ['kube-system'], maxAttempts: 3, now: Date.now, sleep: async () => {}, random: () => 0.5,
    });
    assert.equal(await worker.runOnce(), 1, 'the forged signal did queue a request');
    const { entries } = await store.listHistory({ page: 1, pageSize: 10 });
    assert.deepEqual(entries.map((e) => `${e.outcome}:${e.reason}`), ['skipped:pod-healthy']);
    assert.equal(api.mutations().length, 0, 'no mutating call reached the API');
    assert.notEqual(api.objects.find('pods', 'shop', pod), null, 'the pod is still there');
  });
});
