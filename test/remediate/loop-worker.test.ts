// The worker's closed loop (DESIGN §6a) on the real SqliteStore and the fake API server: approval
// (wait with the plan in words, approve → acts once, reject → never, expiry, approval re-verifies live
// state), outcome verification (effective / ineffective), suspension after max_ineffective and its
// lifting, and `force` skipping only the cooldown and budget.
import assert from 'node:assert/strict';
import type { ClientNodeGateway } from '../../src/cluster/gateway.ts';
import type { StaticLeadership } from '../../src/leader/elector.ts';
import { RemediationWorker, type RuleLookup } from '../../src/remediate/worker.ts';
import type { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { AuditEntry } from '../../src/store/types.ts';
import type { FakeKubeApi } from '../fakes/kube-api.ts';
import { containerStatus, namespace, seedDeployment } from '../fakes/kube-api-fixtures.ts';
import type { FakeClock } from './fake-clock.ts';
import { enqueue } from './requests.ts';
import { remediationWorld } from './world.ts';

describe('remediate/worker: approval, outcome, suspension', () => {
  let clock: FakeClock;
  let api: FakeKubeApi;
  let kube: ClientNodeGateway;
  let store: SqliteStore;
  let leader: StaticLeadership;
  let rule: { approval: 'required' | 'auto'; verifyMs: number };
  const outcomes: string[] = [];

  beforeEach(async () => {
    ({ clock, api, kube, store, leader } = await remediationWorld({ identity: 'leader_1' }));
    rule = { approval: 'auto', verifyMs: 0 };
    outcomes.length = 0;
  });
  afterEach(async () => {
    await store.close();
    await api.stop();
  });

  const ruleOf: RuleLookup = () => rule;
  const worker = () => new RemediationWorker({
    store, kube, leader, defaults: { enabled: true, dryRun: false, maxActionsPerHour: 100 }, excludedNamespaces: [], maxAttempts: 3,
    clock, random: () => 0.5, ruleOf, approvalTtlMs: 3_600_000, maxIneffective: 2,
    metrics: { onDecision() {}, onOutcome: (action, outcome) => outcomes.push(`${action}:${outcome}`) },
  });
  const history = async (): Promise<AuditEntry[]> => (await store.listHistory({ page: 1, pageSize: 100 })).entries.reverse();
  const trail = async () => (await history()).map((e) => `${e.outcome}:${e.reason}`);
  const deletes = () => api.mutations().filter((m) => m.verb === 'delete' && m.resource === 'pods');
  const setReady = (name: string, ready: number) =>
    api.objects.patch('deployments', 'shop', name, (d) => ({ ...d, status: { ...(d.status ?? {}), readyReplicas: ready, availableReplicas: ready } }));

  describe('approval', () => {
    it('waits with the plan in words and no call; approved, it acts exactly once', async () => {
      rule.approval = 'required';
      const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
      const id = await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
      await worker().runOnce();
      assert.deepEqual(await trail(), ['awaiting-approval:approval-required']);
      const waiting = await store.getRequest(id);
      assert.equal(waiting?.state, 'awaiting-approval');
      assert.match(waiting!.plan!, /^would delete pod shop\/web-h2x3-p0 \(container main: CrashLoopBackOff\), grace 45s, so Deployment\/web replaces it$/);
      assert.equal(waiting?.approvalExpiresAt, clock.now() + 3_600_000);
      assert.equal(api.mutations().length, 0);
      assert.equal(await worker().runOnce(), 0, 'nothing to claim while it waits');

      await store.decideApproval(id, { approve: true, by: 'admin:0123abcd', comment: '', now: clock.now() });
      await worker().runOnce();
      await worker().runOnce();
      assert.deepEqual(await trail(), ['awaiting-approval:approval-required', 'acted:']);
      assert.equal(deletes().length, 1);
    });

    it('one question per error group: a later occurrence while one waits is skipped as approval-pending', async () => {
      rule.approval = 'required';
      const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop', podCount: 2 });
      const first = await enqueue(store, { pod: pods[0].metadata.name, at: clock.now(), fingerprint: 'fp-web' });
      await worker().runOnce();
      const second = await enqueue(store, { pod: pods[1].metadata.name, at: clock.now(), fingerprint: 'fp-web' });
      assert.notEqual(second, first);
      await worker().runOnce();
      assert.deepEqual(await trail(), ['awaiting-approval:approval-required', 'skipped:approval-pending']);
      assert.match((await history()).at(-1)!.message, new RegExp(`request #${first} of this error already waits for approval`));
      assert.equal((await store.listRequests({ state: 'awaiting-approval', page: 1, pageSize: 10 })).total, 1);
    });

    it('rejected, it never acts', async () => {
      rule.approval = 'required';
      const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
      const id = await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
      await worker().runOnce();
      await store.decideApproval(id, { approve: false, by: 'admin:0123abcd', comment: 'no', now: clock.now() });
      clock.set(clock.now() + 10 * 3_600_000);
      await worker().runOnce();
      assert.equal(api.mutations().length, 0);
      assert.equal((await store.getRequest(id))?.state, 'rejected');
    });

    it('unanswered, it expires after the approval window', async () => {
      await store.putSettings({ enabled: true, dryRun: false, maxActionsPerHour: 100, requireApproval: true });
      const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
      const id = await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
      await worker().runOnce();
      clock.set(clock.now() + 3_600_000);
      await worker().runOnce();
      assert.equal((await store.getRequest(id))?.state, 'awaiting-approval', 'not before the deadline');
      clock.set(clock.now() + 1);
      await worker().runOnce();
      assert.equal((await store.getRequest(id))?.state, 'expired');
      assert.deepEqual(await trail(), ['awaiting-approval:approval-required', 'expired:approval-ttl']);
      assert.equal(await store.decideApproval(id, { approve: true, by: 'a', comment: '', now: clock.now() }), null);
      assert.equal(api.mutations().length, 0);
    });

    it('approved after the pod became healthy: verify-before-act runs again and skips', async () => {
      rule.approval = 'required';
      const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
      const id = await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
      await worker().runOnce();
      api.objects.patch('pods', 'shop', pods[0].metadata.name, (p) => ({
        ...p, status: { ...p.status, containerStatuses: [containerStatus('healthy')], conditions: [{ type: 'Ready', status: 'True' }] },
      }));
      await store.decideApproval(id, { approve: true, by: 'admin:0123abcd', comment: '', now: clock.now() });
      await worker().runOnce();
      assert.deepEqual(await trail(), ['awaiting-approval:approval-required', 'skipped:pod-healthy']);
      assert.equal(api.mutations().length, 0);
    });
  });

  describe('outcome and suspension', () => {
    it('a restart whose workload is back at its ready replicas with no recurrence → effective (audit, group, metric)', async () => {
      rule.verifyMs = 60_000;
      const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop', replicas: 2 });
      await enqueue(store, { pod: pods[0].metadata.name, at: clock.now(), fingerprint: 'fp-web' });
      await worker().runOnce();
      setReady('web', 2);
      clock.set(clock.now() + 30_000);
      await worker().runOnce();
      assert.deepEqual(await trail(), ['acted:'], 'undecided inside the window');
      clock.set(clock.now() + 30_000);
      await worker().runOnce();
      assert.deepEqual(await trail(), ['acted:', 'effective:recovered']);
      assert.deepEqual(outcomes, ['restart-pod:effective']);
      const [g] = (await store.listGroups({ page: 1, pageSize: 10 })).groups;
      assert.equal(g.remediation?.lastOutcome, 'effective');
    });

    it('a restart two groups share: the problem coming back in the group that did not queue it → ineffective', async () => {
      rule.verifyMs = 60_000;
      const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop', replicas: 2, podCount: 2 });
      const pod = pods[0].metadata.name;
      const id = await enqueue(store, { pod, at: clock.now(), fingerprint: 'fp-alert' });
      assert.equal(await enqueue(store, { pod, at: clock.now(), fingerprint: 'fp-logs' }), id, 'the second group shares the request');
      await worker().runOnce();
      setReady('web', 2);
      clock.set(clock.now() + 30_000);
      // The error line comes back in the group that shares the request; the alert's group stays quiet.
      await enqueue(store, { pod: pods[1].metadata.name, at: clock.now(), fingerprint: 'fp-logs' });
      await store.claimRequest('drain', clock.now(), 1).then((r) => r && store.finishRequest(r.id, 'drain', { state: 'done' }));
      clock.set(clock.now() + 30_000);
      await worker().runOnce();
      assert.deepEqual(await trail(), ['acted:', 'ineffective:recurred']);
      assert.match((await history()).at(-1)!.message, /1 new occurrence\(s\) after the restart/);
      assert.deepEqual(outcomes, ['restart-pod:ineffective']);
    });

    it('two restarts whose problem comes back → ineffective twice → suspended and escalated; lifting lets the next signal act', async () => {
      rule.verifyMs = 60_000;
      const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop', podCount: 4, replicas: 4 });
      for (const p of pods.slice(0, 2)) {
        await enqueue(store, { pod: p.metadata.name, at: clock.now(), fingerprint: 'fp-web' });
        await worker().runOnce();
        clock.set(clock.now() + 10 * 60_000); // past the cooldown
        // The crash loop comes back: a new occurrence in the same group (it also queues the next request).
        await enqueue(store, { pod: pods[2].metadata.name, at: clock.now(), fingerprint: 'fp-web' });
        await store.claimRequest('drain', clock.now(), 1).then((r) => r && store.finishRequest(r.id, 'drain', { state: 'done' }));
        await worker().runOnce();
      }
      assert.deepEqual((await trail()).filter((t) => !t.startsWith('acted')), ['ineffective:recurred', 'ineffective:recurred', 'escalated:ineffective']);
      assert.match((await history()).find((e) => e.outcome === 'ineffective')!.message, /: 1 new occurrence\(s\) after the restart/,
        'the group\'s own occurrence counted once');
      const [s] = await store.listSuspensions({ active: true });
      assert.equal(s.target, 'Deployment/web');
      const warning = api.objects.list('events', 'shop').find((e) => e.type === 'Warning');
      assert.match(warning?.message ?? '', /auto-remediation suspended/);

      const id = await enqueue(store, { pod: pods[3].metadata.name, at: clock.now(), fingerprint: 'fp-web' });
      await worker().runOnce();
      assert.equal((await store.getRequest(id))?.state, 'suspended');
      assert.equal((await history()).at(-1)?.reason, 'suspended');
      const before = deletes().length;

      await store.liftSuspension(s.id, 'admin:0123abcd', clock.now());
      clock.set(clock.now() + 10 * 60_000);
      await enqueue(store, { pod: pods[3].metadata.name, at: clock.now(), fingerprint: 'fp-web' });
      await worker().runOnce();
      assert.equal(deletes().length, before + 1, 'the next signal acts once the suspension is lifted');
    });

    it('scale-up: available replicas reaching the new count → effective; not within the window → ineffective', async () => {
      rule.verifyMs = 60_000;
      seedDeployment(api, 'shop', 'web', { replicas: 2 });
      seedDeployment(api, 'shop', 'api', { replicas: 2 });
      await enqueue(store, { owner: { kind: 'Deployment', name: 'web' }, action: 'scale-up', at: clock.now() });
      await enqueue(store, { owner: { kind: 'Deployment', name: 'api' }, action: 'scale-up', at: clock.now() });
      await worker().runOnce();
      setReady('web', 3);
      await worker().runOnce();
      clock.set(clock.now() + 60_000);
      await worker().runOnce();
      const byTarget = (await history()).filter((e) => e.outcome === 'effective' || e.outcome === 'ineffective').map((e) => `${e.target}:${e.outcome}:${e.reason}`);
      assert.deepEqual(byTarget, ['Deployment/web:effective:reached', 'Deployment/api:ineffective:not-reached']);
    });
  });

  it('force skips the cooldown (and only that family of guards): a manual request acts inside the cooldown', async () => {
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop', podCount: 2 });
    const first = await enqueue(store, { pod: pods[0].metadata.name, at: clock.now(), fingerprint: 'fp-web' });
    await worker().runOnce();
    const req = (await store.getRequest(first))!;
    const manual = (force: boolean) => store.queueRequest({
      groupId: req.groupId, fingerprint: 'fp-web', rule: req.rule, action: 'restart-pod', params: {}, cooldownMs: req.cooldownMs,
      namespace: 'shop', pod: pods[1].metadata.name, container: '', owner: null, at: clock.now(), force, requestedBy: 'admin:0123abcd',
    });
    await manual(false);
    await worker().runOnce();
    await manual(true);
    await worker().runOnce();
    assert.deepEqual(await trail(), ['acted:', 'skipped:cooldown', 'acted:']);
    api.objects.seed(namespace('quiet', { 'kube-sentinel.io/remediation': 'disabled' }));
    const q = seedDeployment(api, 'quiet', 'db', { podHealth: 'crashloop' });
    await store.queueRequest({
      groupId: req.groupId, fingerprint: 'fp-web', rule: req.rule, action: 'restart-pod', params: {}, cooldownMs: 0,
      namespace: 'quiet', pod: q.pods[0].metadata.name, container: '', owner: null, at: clock.now(), force: true, requestedBy: 'admin:0123abcd',
    });
    await worker().runOnce();
    assert.equal((await trail()).at(-1), 'skipped:opted-out', 'force never skips the opt-out');
  });
});
