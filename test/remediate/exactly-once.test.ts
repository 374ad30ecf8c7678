// Exactly once across a leader crash (DESIGN §6a), on the real SqliteStore and the fake API server:
// leader A is frozen at a crash point — right after its intent committed (the call never went out) or
// right after the API answered (the call landed, nothing else recorded) — and stopped; leader B takes
// over at once (the 2-minute claim is still valid: no clock advance) and settles A's intent against the
// live object. For scale-up +1, restart-pod and rollback the effect happens exactly once either way,
// and A, released afterwards, writes nothing.
import assert from 'node:assert/strict';
import type { ClientNodeGateway } from '../../src/cluster/gateway.ts';
import { templateHash } from '../../src/remediate/intent.ts';
import { StaticLeadership } from '../../src/leader/elector.ts';
import { RemediationWorker } from '../../src/remediate/worker.ts';
import type { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { FakeKubeApi } from '../fakes/kube-api.ts';
import { seedDeployment } from '../fakes/kube-api-fixtures.ts';
import type { FakeClock } from './fake-clock.ts';
import { enqueue } from './requests.ts';
import { remediationWorld } from './world.ts';

type Point = 'afterIntent' | 'afterCall';

describe('remediate: exactly once across a leader crash between intent and done', () => {
  let clock: FakeClock;
  let api: FakeKubeApi;
  let kube: ClientNodeGateway;
  let store: SqliteStore;

  beforeEach(async () => {
    ({ clock, api, kube, store } = await remediationWorld());
  });
  afterEach(async () => {
    await store.close();
    await api.stop();
  });

  /**
   * A worker whose mutating calls (delete a pod, patch a workload) run `hook` just before the call
   * (afterIntent: the intent is committed, nothing sent) or just after the API answered (afterCall):
   * a hook that never resolves freezes a leader exactly there.
   */
  function worker(leader: StaticLeadership, freeze?: { point: Point; hook: () => Promise<void> }) {
    const frozen = freeze ? new Proxy(kube, {
      get(target, key) {
        const v = Reflect.get(target, key, target);
        if (key !== 'deletePod' && key !== 'patchWorkload') return typeof v === 'function' ? v.bind(target) : v;
        return async (...args: unknown[]) => {
          if (freeze.point === 'afterIntent') {
            await freeze.hook();
            // Frozen before the worker's guarded writer made its check (as a stopped process would be).
            leader.assertLeading();
          }
          const result = await v.apply(target, args);
          if (freeze.point === 'afterCall') await freeze.hook();
          return result;
        };
      },
    }) : kube;
    return new RemediationWorker({
      store, kube: frozen, leader, defaults: { enabled: true, dryRun: false, maxActionsPerHour: 100 },
      excludedNamespaces: ['kube-system'], maxAttempts: 3, clock, random: () => 0.5,
    });
  }

  /** Leader A runs until `point`, freezes there and is stopped; `thaw` lets its frozen call go on. */
  async function freezeLeaderA(point: Point): Promise<{ thaw: () => Promise<void> }> {
    const a = new StaticLeadership({ identity: 'leader-a_1' });
    a.start();
    let frozen!: () => void;
    const reached = new Promise<void>((r) => { frozen = r; });
    let thaw!: () => void;
    const ice = new Promise<void>((r) => { thaw = r; });
    const runA = worker(a, { point, hook: async () => { frozen(); await ice; } }).runOnce();
    await reached;
    await a.stop();
    return { thaw: async () => { thaw(); await runA; } };
  }

  /**
   * A freezes at `point` and is stopped (its term ends: a real crash or a lost Lease); leader B then
   * runs once. Returns a function that thaws A, for the stale-leader check.
   */
  async function crashAndTakeOver(point: Point): Promise<{ thaw: () => Promise<void> }> {
    const { thaw } = await freezeLeaderA(point);
    const b = new StaticLeadership({ identity: 'leader-b_2' });
    b.start();
    assert.equal(await store.claimRequest('anyone', clock.now(), 120_000), null, 'A\'s claim is still valid: only a takeover lets B in');
    assert.equal(await worker(b).runOnce(), 1, 'B took the request over at once, without waiting for the claim timeout');
    return { thaw };
  }

  const acted = async () => (await store.listHistory({ page: 1, pageSize: 100 })).entries.filter((e) => e.outcome === 'acted');
  const patches = () => api.mutations().filter((m) => m.verb === 'patch');
  const podDeletes = () => api.mutations().filter((m) => m.verb === 'delete' && m.resource === 'pods');

  for (const point of ['afterIntent', 'afterCall'] as const) {
    const variant = point === 'afterCall' ? 'landed' : 'not landed';

    it(`scale-up +1, ${variant}: the Deployment ends exactly one replica higher`, async () => {
      seedDeployment(api, 'shop', 'web', { replicas: 3 });
      const id = await enqueue(store, { owner: { kind: 'Deployment', name: 'web' }, action: 'scale-up', params: { replicas: '+1' }, at: clock.now() });
      const { thaw } = await crashAndTakeOver(point);
      assert.equal(api.objects.get('deployments', 'shop', 'web').spec.replicas, 4);
      assert.equal(patches().length, 1);
      const entries = await acted();
      assert.equal(entries.length, 1);
      assert.equal(entries[0].actor, 'leader-b_2', 'B recorded the action (A never did)');
      assert.match(entries[0].message, point === 'afterCall' ? /replicas 3→4 \(intent of leader-a_1\) confirmed/ : /scaled Deployment\/web from 3 to 4/);
      assert.deepEqual(await store.openIntents(id), []);
      await thaw();
      assert.equal(api.objects.get('deployments', 'shop', 'web').spec.replicas, 4, 'the thawed stale leader changed nothing');
      assert.equal(patches().length, 1);
      assert.equal((await acted()).length, 1);
    });

    it(`restart-pod, ${variant}: the pod is deleted exactly once`, async () => {
      const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
      await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
      const { thaw } = await crashAndTakeOver(point);
      assert.equal(podDeletes().length, 1);
      assert.equal(api.objects.find('pods', 'shop', pods[0].metadata.name), null);
      assert.equal((await acted()).length, 1);
      assert.equal((await acted())[0].target, 'Deployment/web');
      await thaw();
      assert.equal(podDeletes().length, 1);
    });

    it(`rollback, ${variant}: one revision back, exactly one patch`, async () => {
      const { replicaSets, pods } = seedDeployment(api, 'shop', 'web', { revisions: ['img:v1', 'img:v2'], podHealth: 'crashloop' });
      await enqueue(store, { pod: pods[0].metadata.name, action: 'rollback', at: clock.now() });
      const { thaw } = await crashAndTakeOver(point);
      const dep = api.objects.get('deployments', 'shop', 'web');
      const previous = structuredClone(replicaSets[0].spec.template);
      delete previous.metadata.labels['pod-template-hash'];
      assert.equal(templateHash(dep.spec.template), templateHash(previous), 'the template of revision 1');
      assert.equal(patches().length, 1);
      assert.equal((await acted()).length, 1);
      await thaw();
      assert.equal(patches().length, 1);
    });
  }

  it('a leader frozen mid-decision and thawed after its successor acted records nothing (no stale skipped, no intent)', async () => {
    const { pods } = seedDeployment(api, 'shop', 'web', { podHealth: 'crashloop' });
    const id = await enqueue(store, { pod: pods[0].metadata.name, at: clock.now() });
    const a = new StaticLeadership({ identity: 'leader-a_1' });
    a.start();
    let frozen!: () => void;
    const reached = new Promise<void>((r) => { frozen = r; });
    let thaw!: () => void;
    const ice = new Promise<void>((r) => { thaw = r; });
    // A freezes after resolving the target, while reading the suspension (before guards and plan).
    const freezing = new Proxy(store, {
      get(target, key) {
        if (key === 'activeSuspension') return async (...args: [string, string, string]) => { frozen(); await ice; return target.activeSuspension(...args); };
        const v = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const runA = new RemediationWorker({
      store: freezing, kube, leader: a, defaults: { enabled: true, dryRun: false, maxActionsPerHour: 100 }, excludedNamespaces: [],
      maxAttempts: 3, clock, random: () => 0.5,
    }).runOnce();
    await reached;
    await a.stop();
    const b = new StaticLeadership({ identity: 'leader-b_2' });
    b.start();
    assert.equal(await worker(b).runOnce(), 1);
    thaw();
    await runA;
    const entries = (await store.listHistory({ page: 1, pageSize: 10 })).entries;
    assert.deepEqual(entries.map((e) => `${e.outcome}:${e.actor}`), ['acted:leader-b_2'], 'nothing from the thawed leader');
    assert.equal(podDeletes().length, 1);
    assert.deepEqual(await store.openIntents(id), [], 'the thawed leader wrote no intent');
  });

  it('an intent settled as not landed stays open until the retry\'s own intent is committed', async () => {
    seedDeployment(api, 'shop', 'web', { replicas: 3 });
    const id = await enqueue(store, { owner: { kind: 'Deployment', name: 'web' }, action: 'scale-up', params: { replicas: '+1' }, at: clock.now() });
    await freezeLeaderA('afterIntent');
    const [aIntent] = await store.openIntents(id);

    // B settles A's intent (not landed), then cannot commit its own intent (the store fails once).
    const b = new StaticLeadership({ identity: 'leader-b_2' });
    b.start();
    let failOnce = true;
    const flaky = new Proxy(store, {
      get(target, key) {
        if (key === 'writeIntent' && failOnce) return async () => { failOnce = false; throw new Error('store unavailable'); };
        const v = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    await new RemediationWorker({
      store: flaky, kube, leader: b, defaults: { enabled: true, dryRun: false, maxActionsPerHour: 100 }, excludedNamespaces: [],
      maxAttempts: 3, clock, random: () => 0.5, backoffBaseMs: 1000,
    }).runOnce();
    assert.deepEqual((await store.openIntents(id)).map((i) => i.id), [aIntent.id], 'A\'s intent is still open for whoever comes next');
    assert.equal(patches().length, 0);

    clock.set(clock.now() + 10_000);
    await worker(b).runOnce();
    assert.equal(api.objects.get('deployments', 'shop', 'web').spec.replicas, 4);
    assert.equal(patches().length, 1);
    assert.deepEqual(await store.openIntents(id), []);
  });

  it('a predecessor\'s intent whose target was changed by someone else is skipped with the reason', async () => {
    seedDeployment(api, 'shop', 'web', { replicas: 3 });
    await enqueue(store, { owner: { kind: 'Deployment', name: 'web' }, action: 'scale-up', params: { replicas: '+1' }, at: clock.now() });
    await freezeLeaderA('afterIntent');
    api.objects.patch('deployments', 'shop', 'web', (d) => ({ ...d, spec: { ...d.spec, replicas: 7 } }));
    const b = new StaticLeadership({ identity: 'leader-b_2' });
    b.start();
    await worker(b).runOnce();
    const [e] = (await store.listHistory({ page: 1, pageSize: 10 })).entries;
    assert.deepEqual([e.outcome, e.reason], ['skipped', 'target-changed']);
    assert.match(e.message, /replicas are now 7, neither 3 nor 4/);
    assert.equal(patches().length, 0);
  });
});
