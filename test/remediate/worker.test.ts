import assert from 'node:assert/strict';
import type { ClientNodeGateway } from '../../src/cluster/gateway.ts';
import { NotLeaderError, StaticLeadership, type Leadership } from '../../src/leader/elector.ts';
import { RemediationWorker, backoffMs, cooldownKey } from '../../src/remediate/worker.ts';
import { passGapMs } from '../../src/remediate/worker-support.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { AuditEntry } from '../../src/store/types.ts';
import type { FakeKubeApi } from '../fakes/kube-api.ts';
import { namespace, seedDeployment } from '../fakes/kube-api-fixtures.ts';
import type { FakeClock } from './fake-clock.ts';
import { enqueue } from './requests.ts';
import { remediationWorld } from './world.ts';

describe('remediate/worker (real SqliteStore, fake API server)', () => {
  let clock: FakeClock;
  let api: FakeKubeApi;
  let kube: ClientNodeGateway;
  let store: SqliteStore;
  let leader: StaticLeadership;

  beforeEach(async () => {
    ({ clock, api, kube, store, leader } = await remediationWorld({ identity: 'pod-a_x' }));
  });
  afterEach(async () => {
    await store.close();
    await api.stop();
  });

  function worker(over: Partial<ConstructorParameters<typeof RemediationWorker>[0]> = {}): RemediationWorker {
    return new RemediationWorker({
      store, kube, leader, defaults: { enabled: true, dryRun: true, maxActionsPerHour: 10 },
      excludedNamespaces: ['kube-system', 'kube-public', 'kube-node-lease', 'kube-sentinel'], maxAttempts: 3,
      clock, random: () => 0.5, backoffBaseMs: 10_000, ...over,
    });
  }

  const history = async (): Promise<AuditEntry[]> => (await store.listHistory({ page: 1, pageSize: 100 })).entries.reverse();
  const outcomes = async () => (await history()).map((e) => `${e.outcome}:${e.reason}`);

  it('acts on a failing pod: deletes it, audits "acted", records a Kubernetes Event on the workload', async () => {
    const { pods, deployment } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    assert.equal(await worker().runOnce(), 1);
    assert.deepEqual(await outcomes(), ['acted:']);
    const [e] = await history();
    assert.equal(e.target, 'Deployment/web');
    assert.equal(e.actor, 'pod-a_x');
    assert.equal(api.objects.find('pods', 'shop', pods[0].metadata.name), null);
    const [ev] = api.objects.list('events', 'shop');
    assert.equal(ev.reason, 'KubeSentinelRemediation');
    assert.equal(ev.type, 'Normal');
    assert.deepEqual([ev.involvedObject.kind, ev.involvedObject.name, ev.involvedObject.uid], ['Deployment', 'web', deployment.metadata.uid]);
    assert.equal(await store.claimRequest('other', clock.now() + 1e9, 1000), null, 'request is done');
  });

  it('skips a healthy pod with the named reason and makes no mutating call', async () => {
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'healthy' });
    await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    await worker().runOnce();
    assert.deepEqual(await outcomes(), ['skipped:pod-healthy']);
    assert.equal(api.mutations().length, 0);
  });

  it('dry-run walks every guard, records "would act" and makes zero mutating calls', async () => {
    await store.putSettings({ enabled: true, dryRun: true, maxActionsPerHour: 100 });
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop', podCount: 2 });
    await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    await enqueue(store, { pod: pods[1].metadata.name, at: clock.now() });
    await worker().runOnce();
    const h = await history();
    assert.deepEqual(h.map((e) => `${e.outcome}:${e.reason}`), ['dry-run:dry-run', 'skipped:cooldown'],
      'a would-act starts the cooldown in dry-run too, so the second one is reported as cooldown');
    assert.match(h[0].message, /^would delete pod shop\/web-/);
    assert.equal(api.mutations().length, 0);
  });

  it('never reads the cluster for an excluded namespace (incl. its own)', async () => {
    await enqueue(store, { namespace: 'kube-system', pod: 'coredns-1', at: clock.now() });
    await enqueue(store, { namespace: 'kube-sentinel', pod: 'kube-sentinel-0', at: clock.now() });
    await worker().runOnce();
    assert.deepEqual(await outcomes(), ['skipped:excluded-namespace', 'skipped:excluded-namespace']);
    assert.equal(api.requests.length, 0);
  });

  it('honours the opt-out annotation on the namespace, the workload and the pod (template)', async () => {
    api.objects.seed(namespace('quiet', { 'kube-sentinel.io/remediation': 'disabled' }));
    const a = seedDeployment(api, 'quiet', 'web', { podHealth: 'crashloop' });
    const b = seedDeployment(api, 'shop', 'api', { podHealth: 'crashloop', annotations: { 'kube-sentinel.io/remediation': 'disabled' } });
    const c = seedDeployment(api, 'shop', 'db', { podHealth: 'crashloop' });
    api.objects.patch('pods', 'shop', c.pods[0].metadata.name, (p) => ({ ...p, metadata: { ...p.metadata, annotations: { 'kube-sentinel.io/remediation': 'disabled' } } }));
    await enqueue(store, { namespace: 'quiet', pod: a.pods[0].metadata.name, at: clock.now() });
    await enqueue(store, { pod: b.pods[0].metadata.name, at: clock.now() });
    await enqueue(store, { pod: c.pods[0].metadata.name, at: clock.now() });
    await worker().runOnce();
    assert.deepEqual(await outcomes(), ['skipped:opted-out', 'skipped:opted-out', 'skipped:opted-out']);
    assert.equal(api.mutations().length, 0);
  });

  it('enforces the hourly budget as a sliding window across workloads', async () => {
    await store.putSettings({ enabled: true, dryRun: false, maxActionsPerHour: 1 });
    const a = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    const b = seedDeployment(api, 'shop', 'api', { podHealth: 'crashloop' });
    await enqueue(store, { pod: a.pods[0].metadata.name, at: clock.now() });
    await enqueue(store, { pod: b.pods[0].metadata.name, at: clock.now() });
    await worker().runOnce();
    clock.set(clock.now() + 3_600_001);
    await enqueue(store, { pod: b.pods[1].metadata.name, at: clock.now() });
    await worker().runOnce();
    assert.deepEqual(await outcomes(), ['acted:', 'skipped:budget-exhausted', 'acted:']);
  });

  it('retries a transient API error with exponential backoff on the injected clock', async () => {
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    api.fail({ verb: 'delete', resource: 'pods', status: 500, times: 1 });
    const w = worker();
    await w.runOnce();
    assert.deepEqual(await outcomes(), ['failed:api-500']);
    assert.equal(await w.runOnce(), 0, 'not due yet');
    clock.set(clock.now() + 9_999);
    assert.equal(await w.runOnce(), 0, 'backoff is 10s for the first retry');
    clock.set(clock.now() + 1);
    assert.equal(await w.runOnce(), 1);
    assert.deepEqual(await outcomes(), ['failed:api-500', 'acted:']);
    assert.equal(api.objects.deletions.length, 1);
  });

  // DESIGN §6a: the 409 leaves the intent (replicas 2→3) open, because a conflict may be a stale
  // leader's identical write landing first. The retry settles it against the live object: 5 is
  // neither 2 nor 3, so someone else decided the replica count, and the request is skipped.
  it('a 409 on a stale scale patch: the retry settles the open intent; replicas changed by someone else → skipped', async () => {
    seedDeployment(api, 'shop', 'web', { replicas: 2 });
    await enqueue(store, { owner: { kind: 'Deployment', name: 'web' }, action: 'scale-up', params: { replicas: '+1' }, at: clock.now() });
    let raced = false;
    api.beforeHandle = (r) => {
      if (r.verb === 'patch' && !raced) {
        raced = true; // someone else scales between our read and our write
        api.objects.patch('deployments', 'shop', 'web', (d) => ({ ...d, spec: { ...d.spec, replicas: 5 } }));
      }
    };
    const w = worker();
    await w.runOnce();
    assert.deepEqual(await outcomes(), ['failed:conflict']);
    clock.set(clock.now() + 10_000);
    await w.runOnce();
    assert.deepEqual(await outcomes(), ['failed:conflict', 'skipped:target-changed']);
    assert.equal(api.objects.get('deployments', 'shop', 'web').spec.replicas, 5, 'the other writer\'s 5 stands');
  });

  it('a target that vanished between verification and the write is skipped, not retried', async () => {
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    api.beforeHandle = (r) => { if (r.verb === 'delete') api.objects.delete('pods', 'shop', r.name, { gracePeriodSeconds: 0 }); };
    await worker().runOnce();
    assert.deepEqual(await outcomes(), ['skipped:target-gone']);
    assert.equal(await store.claimRequest('x', clock.now() + 1e9, 1000), null);
  });

  it('escalates after max_attempts transient failures, with a message for a human', async () => {
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    const id = await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    api.fail({ verb: 'delete', resource: 'pods', status: 503 });
    const w = worker();
    for (let i = 0; i < 3; i++) {
      await w.runOnce();
      clock.set(clock.now() + backoffMs(i + 1, 10_000, 600_000, () => 0.5));
    }
    assert.deepEqual(await outcomes(), ['failed:api-503', 'failed:api-503', 'escalated:max-attempts']);
    const last = (await history())[2];
    assert.match(last.message, /needs a human: gave up after 3 attempt\(s\)/);
    assert.equal(last.requestId, id);
    clock.set(clock.now() + 1e9);
    assert.equal(await w.runOnce(), 0, 'an escalated request is never retried');
  });

  it('escalates instead of acting when the workload was already remediated max_attempts times', async () => {
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    const key = cooldownKey('crashloop', 'restart-pod', 'shop', 'Deployment/web');
    for (let i = 0; i < 3; i++) {
      await store.appendAudit({ requestId: null, groupId: null, at: clock.now() - 50 * 60_000, rule: 'crashloop', action: 'restart-pod',
        namespace: 'shop', target: 'Deployment/web', outcome: 'acted', reason: '', message: 'm', actor: 'x', cooldownKey: key });
    }
    await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    await worker().runOnce();
    assert.deepEqual((await outcomes()).slice(3), ['escalated:max-attempts']);
    assert.equal(api.objects.deletions.length, 0);
    const ev = api.objects.list('events', 'shop');
    assert.deepEqual(ev.map((e) => e.type), ['Warning'], 'a Warning Event tells the humans on the workload');
  });

  it('two competing workers execute every request exactly once', async () => {
    // Separate workloads, so per-workload attempt limits and cooldowns do not interfere. More requests
    // than one claim takes (32), so the second worker gets the rest while the first works.
    const pods = Array.from({ length: 40 }, (_, i) => seedDeployment(api, 'shop', `app${i}`, { podHealth: 'crashloop', podCount: 1 }).pods[0]);
    for (const p of pods) await enqueue(store, { pod: p.metadata.name, at: clock.now() });
    const other = new StaticLeadership({ identity: 'pod-b_y' });
    other.start();
    const [a, b] = await Promise.all([worker().runOnce(), worker({ leader: other }).runOnce()]);
    assert.equal(a + b, 40);
    assert.ok(a > 0 && b > 0, `both workers took part (${a}/${b})`);
    const names = api.objects.deletions.map((d) => d.name);
    assert.equal(names.length, 40);
    assert.equal(new Set(names).size, 40);
    assert.equal(api.mutations().filter((r) => r.verb === 'delete').length, 40, 'no pod was deleted twice');
    const h = await history();
    assert.deepEqual(h.map((e) => e.outcome), Array(40).fill('acted'), 'no request was decided twice');
    assert.equal(new Set(h.map((e) => e.requestId)).size, 40);
  });

  it('does nothing while not leading, and hands a request back when leadership is lost mid-action', async () => {
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    const follower = new StaticLeadership({ identity: 'f' });
    assert.equal(await worker({ leader: follower }).runOnce(), 0);
    // Leads when the pass starts, but the lease is gone by the time it would mutate.
    const deposed: Leadership = {
      identity: 'pod-a_x', isLeader: () => true, signal: new AbortController().signal,
      assertLeading: () => { throw new NotLeaderError('lease lost'); },
      status: () => leader.status(), start() {}, stop: async () => {}, onStartedLeading() {},
    };
    await worker({ leader: deposed }).runOnce();
    assert.equal(api.mutations().length, 0);
    assert.deepEqual(await outcomes(), [], 'losing leadership is not a decision');
    const again = await store.claimRequest('next-leader', clock.now(), 1000);
    assert.ok(again, 'the request is immediately claimable by the next leader');
  });

  it('a leader deposed after its last check but before the delete is sent: the request never leaves, nothing is decided', async () => {
    await store.putSettings({ enabled: true, dryRun: false, maxActionsPerHour: 100 });
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    let leading = true;
    const fading: Leadership = {
      identity: 'pod-a_x', isLeader: () => leading, signal: new AbortController().signal,
      assertLeading: () => { if (!leading) throw new NotLeaderError('lease lost'); },
      status: () => leader.status(), start() {}, stop: async () => {}, onStartedLeading() {},
    };
    // The lease ends the moment the delete call is made: every local check has passed, the request is not yet sent.
    const losing = new Proxy(kube, {
      get: (t, k) => k === 'deletePod'
        ? (...a: Parameters<ClientNodeGateway['deletePod']>) => { const p = t.deletePod(...a); leading = false; return p; }
        : Reflect.get(t, k, t),
    });
    await worker({ leader: fading, kube: losing }).runOnce();
    assert.deepEqual(api.mutations(), [], 'the delete never reached the API server');
    assert.ok(api.objects.find('pods', 'shop', pods[0].metadata.name), 'the pod is still there');
    assert.deepEqual(await outcomes(), [], 'losing leadership is not a decision');
    assert.ok(await store.claimRequest('next-leader', clock.now(), 1000), 'the next leader can take the request');
  });

  it('without a cluster: dry-run records an unverified "would act", a real run skips', async () => {
    await store.putSettings({ enabled: true, dryRun: true, maxActionsPerHour: 100 });
    await enqueue(store, { pod: 'web-1', owner: { kind: 'Deployment', name: 'web' }, at: clock.now() });
    await worker({ kube: null }).runOnce();
    await store.putSettings({ enabled: true, dryRun: false, maxActionsPerHour: 100 });
    await enqueue(store, { pod: 'api-1', owner: { kind: 'Deployment', name: 'api' }, at: clock.now() });
    await worker({ kube: null }).runOnce();
    assert.deepEqual(await outcomes(), ['dry-run:no-cluster', 'skipped:no-cluster']);
  });

  it('falls back to config defaults when the store has no settings, and honours "disabled"', async () => {
    const fresh = new SqliteStore({ path: ':memory:', maxOccurrences: 10, now: clock.now });
    await fresh.migrate();
    try {
      await enqueue(fresh, { pod: 'web-1', at: clock.now() });
      await worker({ store: fresh, defaults: { enabled: false, dryRun: false, maxActionsPerHour: 10 } }).runOnce();
      const { entries } = await fresh.listHistory({ page: 1, pageSize: 10 });
      assert.deepEqual(entries.map((e) => `${e.outcome}:${e.reason}`), ['skipped:disabled']);
      assert.equal(api.requests.length, 0);
    } finally {
      await fresh.close();
    }
  });

  /** A started worker, woken for a request about the first of `podCount` crash-looping pods, which it acted on at once. */
  async function wokenOnce(podCount: number, over: Partial<ConstructorParameters<typeof RemediationWorker>[0]>) {
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop', podCount });
    const w = worker({ pollIntervalMs: 60_000, ...over });
    clock.busy = () => api.inflight > 0;
    w.start();
    await clock.settle();
    await enqueue(store, { pod: pods[0].metadata.name, cooldownMs: 0, at: clock.now() });
    w.wake();
    await clock.settle();
    assert.equal(api.objects.deletions.length, 1, 'woken without the clock moving, after a pass that found nothing');
    return { pods, w };
  }

  it('wake() processes new work at once; otherwise the poll interval does', async () => {
    const { pods, w } = await wokenOnce(2, {});
    await enqueue(store, { pod: pods[1].metadata.name, cooldownMs: 0, at: clock.now() });
    await clock.advance(59_000);
    assert.equal(api.objects.deletions.length, 1);
    await clock.advance(1_000);
    assert.equal(api.objects.deletions.length, 2, 'picked up by the poll');
    await w.stop();
  });

  it('after a pass that decided requests, a wake waits out the gap; after a quiet spell it does not', async () => {
    const { pods, w } = await wokenOnce(3, { passGapMs: 1_000 });
    await enqueue(store, { pod: pods[1].metadata.name, cooldownMs: 0, at: clock.now() });
    w.wake();
    await clock.settle();
    assert.equal(api.objects.deletions.length, 1, 'woken right after a pass that acted: not before the gap');
    await clock.advance(999);
    assert.equal(api.objects.deletions.length, 1);
    await clock.advance(1);
    assert.equal(api.objects.deletions.length, 2, 'the wake was kept: the pass starts when the gap ends, not at the poll');
    await clock.advance(1_000);
    await enqueue(store, { pod: pods[2].metadata.name, cooldownMs: 0, at: clock.now() });
    w.wake();
    await clock.settle();
    assert.equal(api.objects.deletions.length, 3, 'the gap has passed: woken at once');
    // The worker now sleeps in a gap on the fake clock, which does not move: stop() must end it.
    await Promise.race([w.stop(), new Promise((_, reject) => setTimeout(() => reject(new Error('stop() waited for the gap')), 2000).unref())]);
  });

  it('passGapMs: a gap only after a pass that decided something, never beyond the poll interval', () => {
    assert.equal(passGapMs(0, 1_000, 5_000), 0);
    assert.equal(passGapMs(1, 1_000, 5_000), 1_000);
    assert.equal(passGapMs(32, 1_000, 100), 100);
    assert.equal(passGapMs(3, -5, 5_000), 0);
  });
});
