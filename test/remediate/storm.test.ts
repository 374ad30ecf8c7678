// A storm of queued requests (issue #12), on the real SqliteStore without a cluster (dry-run): the
// worker claims requests in batches and commits the decisions that end a request without acting
// together. Each request must still be decided exactly once, in queue order, also when the term ends
// in the middle of a batch or a claim runs out before its turn.
import assert from 'node:assert/strict';
import { NotLeaderError, StaticLeadership, type Leadership } from '../../src/leader/elector.ts';
import { RemediationWorker } from '../../src/remediate/worker.ts';
import type { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { Store } from '../../src/store/types.ts';
import type { FakeClock } from './fake-clock.ts';
import { enqueue } from './requests.ts';
import { remediationWorld } from './world.ts';

// A grace period each: requests alike for a cooldown skip, though ingest would not share one request
// between them (src/store/request-sharing.ts): the storm the shared skip is for.
const grace = (i: number) => ({ grace: String(i) });

describe('remediate/worker: a storm of requests for one workload', () => {
  let clock: FakeClock;
  let store: SqliteStore;
  let leader: StaticLeadership;
  let stopApi: () => Promise<void>;

  beforeEach(async () => {
    const w = await remediationWorld();
    ({ clock, store, leader } = w);
    stopApi = () => w.api.stop();
    await store.putSettings({ enabled: true, dryRun: true, maxActionsPerHour: 100 });
  });
  afterEach(async () => {
    await store.close();
    await stopApi();
  });

  const worker = (over: Partial<ConstructorParameters<typeof RemediationWorker>[0]> = {}) => new RemediationWorker({
    store, kube: null, leader, defaults: { enabled: true, dryRun: true, maxActionsPerHour: 100 },
    excludedNamespaces: [], maxAttempts: 3, clock, random: () => 0.5, ...over,
  });

  async function queue(n: number): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(await enqueue(store, { pod: `web-${i}`, owner: { kind: 'Deployment', name: 'web' }, at: clock.now() }));
    return ids;
  }

  /** Every audit entry, oldest first, as [request id, outcome:reason, actor]. */
  async function decisions(): Promise<Array<[number | null, string, string]>> {
    const { entries } = await store.listHistory({ page: 1, pageSize: 400 });
    return entries.reverse().map((e) => [e.requestId, `${e.outcome}:${e.reason}`, e.actor]);
  }

  /** The store, counting the calls made to the methods named. */
  function counting(names: Array<keyof Store>): { store: Store; calls: Map<string, number> } {
    const calls = new Map<string, number>(names.map((n) => [n, 0]));
    const proxy = new Proxy(store, {
      get(t, key) {
        const v = Reflect.get(t, key, t);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (calls.has(String(key))) calls.set(String(key), calls.get(String(key))! + 1);
          return v.apply(t, args);
        };
      },
    });
    return { store: proxy, calls };
  }

  /** The store with one method replaced; `impl` gets the real store. */
  function replacing<K extends keyof Store>(key: K, impl: (real: SqliteStore) => Store[K]): Store {
    return new Proxy(store, {
      get(t, k) {
        if (k === key) return impl(t);
        const v = Reflect.get(t, k, t);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  }

  it('70 requests for pods of one workload: one dry-run, then cooldown skips, each decided once in queue order, in a few commits', async () => {
    const ids = await queue(70);
    const { store: s, calls } = counting(['claimRequests', 'claimRequest', 'finishDecided', 'finishRequest', 'appendAudit', 'skipAlike']);
    assert.equal(await worker({ store: s }).runOnce(), 70);
    assert.deepEqual(await decisions(), ids.map((id, i) => [id, i === 0 ? 'dry-run:no-cluster' : 'skipped:cooldown', 'pod-a_x']));
    assert.equal((await store.listRequests({ state: 'done', page: 1, pageSize: 1 })).total, 70);
    // Batches of 32: claims of 32, 32 and 6, and the short one ends the pass (no fourth, empty claim).
    // The dry-run is committed at once (the cooldown counts it); each batch's skips commit together.
    // Each batch looks once for requests alike its first cooldown skip, and finds none: every pod differs.
    assert.deepEqual(Object.fromEntries(calls), { claimRequests: 3, claimRequest: 0, finishDecided: 4, finishRequest: 0, appendAudit: 0, skipAlike: 3 });
  });

  it('300 requests for one pod: the first cooldown skip decides the 268 not yet claimed, each once, in one commit', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 300; i++) ids.push(await enqueue(store, { pod: 'web-1', owner: { kind: 'Deployment', name: 'web' }, params: grace(i), at: clock.now() }));
    const { store: s, calls } = counting(['claimRequests', 'finishDecided', 'skipAlike']);
    assert.equal(await worker({ store: s }).runOnce(), 32, 'one claim batch was worked one by one');
    const d = await decisions();
    assert.deepEqual(d.map(([id]) => id).sort((a, b) => a! - b!), ids, 'every request decided, each once');
    assert.deepEqual(d[0], [ids[0], 'dry-run:no-cluster', 'pod-a_x']);
    assert.ok(d.slice(1).every(([, o]) => o === 'skipped:cooldown'));
    const { entries } = await store.listHistory({ page: 1, pageSize: 300 });
    assert.equal(entries.filter((e) => e.message.includes(`(decided with request #${ids[1]}, alike it)`)).length, 268);
    assert.deepEqual(Object.fromEntries(calls), { claimRequests: 2, finishDecided: 2, skipAlike: 1 });
    assert.equal((await store.listRequests({ state: 'done', page: 1, pageSize: 1 })).total, 300);
  });

  it('200 requests over 4 pods of one workload: a shared skip per pod while it pays, each request decided once', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) ids.push(await enqueue(store, { pod: `web-${i % 4}`, owner: { kind: 'Deployment', name: 'web' }, params: grace(i), at: clock.now() }));
    const { store: s, calls } = counting(['claimRequests', 'skipAlike']);
    assert.equal(await worker({ store: s }).runOnce(), 32, 'one claim batch was worked one by one');
    const d = await decisions();
    assert.deepEqual(d.map(([id]) => id).sort((a, b) => a! - b!), ids, 'every request decided, each once');
    assert.ok(d.slice(1).every(([, o]) => o === 'skipped:cooldown'));
    assert.deepEqual(Object.fromEntries(calls), { claimRequests: 2, skipAlike: 4 }, 'one shared skip per pod, each finding 42');
  });

  it('a shared skip that fails is not a decision: its request keeps its own, and the rest are decided one by one', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 40; i++) ids.push(await enqueue(store, { pod: 'web-1', owner: { kind: 'Deployment', name: 'web' }, params: grace(i), at: clock.now() }));
    const failing = replacing('skipAlike', () => async () => { throw new Error('disk I/O error'); });
    assert.equal(await worker({ store: failing }).runOnce(), 40);
    assert.deepEqual(await decisions(), ids.map((id, i) => [id, i === 0 ? 'dry-run:no-cluster' : 'skipped:cooldown', 'pod-a_x']));
  });

  it('a request queued by a human does not share its cooldown skip (it passed guards ingest\'s would not)', async () => {
    const owner = { kind: 'Deployment', name: 'web' };
    const first = await enqueue(store, { pod: 'web-1', owner, at: clock.now() });
    const manual = await store.queueRequest({ ...(await store.getRequest(first))!, at: clock.now(), force: false, requestedBy: 'admin' });
    for (let i = 0; i < 40; i++) await enqueue(store, { pod: 'web-1', owner, params: grace(i), at: clock.now() });
    const likes: number[] = [];
    const watching = replacing('skipAlike', (t) => (holder, q) => { likes.push(q.like); return t.skipAlike(holder, q); });
    await worker({ store: watching }).runOnce();
    assert.ok(likes.length > 0 && !likes.includes(manual), `shared skips came from ingest's requests only (${likes.join(', ')})`);
    const d = await decisions();
    assert.equal(new Set(d.map(([id]) => id)).size, 42, 'each decided once');
    assert.deepEqual(d.find(([id]) => id === manual)?.[1], 'skipped:cooldown');
  });

  it('a dry-run whose commit fails gets one decision (failed, retried later), not the dry-run as well', async () => {
    const ids = await queue(5);
    let failures = 1;
    const flaky = replacing('finishDecided', (t) => (...a) => (failures-- > 0 ? Promise.reject(new Error('disk I/O error')) : t.finishDecided(...a)));
    await worker({ store: flaky }).runOnce();
    const d = await decisions();
    assert.deepEqual(d.map(([id, o]) => [id, o]), [[ids[0], 'failed:internal'], [ids[1], 'dry-run:no-cluster'],
      ...ids.slice(2).map((id) => [id, 'skipped:cooldown'])]);
    assert.equal((await store.getRequest(ids[0]))?.state, 'pending', 'backing off, to be decided again');
  });

  it('the term ends in the middle of a batch: held decisions are not recorded, and the next leader decides each request once', async () => {
    const ids = await queue(10);
    let leading = true;
    const fading: Leadership = {
      identity: 'pod-a_x', isLeader: () => leading, signal: new AbortController().signal,
      assertLeading: () => { if (!leading) throw new NotLeaderError('lease lost'); },
      status: () => leader.status(), start() {}, stop: async () => {}, onStartedLeading() {},
    };
    // The lease ends while the sixth request's guards are read: four skips are held by then.
    let reads = 0;
    const ending = replacing('guardHistory', (t) => async (...args) => {
      const r = await t.guardHistory(...args);
      if (++reads === 6) leading = false;
      return r;
    });
    await worker({ store: ending, leader: fading }).runOnce();
    assert.deepEqual(await decisions(), [[ids[0], 'dry-run:no-cluster', 'pod-a_x']], 'only the dry-run, committed while leading');
    const pending = await store.listRequests({ state: 'pending', page: 1, pageSize: 50 });
    assert.deepEqual(pending.requests.map((r) => r.id).sort((a, b) => a - b), ids.slice(1), 'the rest handed back undecided');

    const next = new StaticLeadership({ identity: 'pod-b_y' });
    next.start();
    assert.equal(await worker({ leader: next }).runOnce(), 9);
    assert.deepEqual(await decisions(), [
      [ids[0], 'dry-run:no-cluster', 'pod-a_x'], ...ids.slice(1).map((id) => [id, 'skipped:cooldown', 'pod-b_y']),
    ]);
  });

  it('a pass ends with its short claim: a request queued meanwhile waits for the next pass', async () => {
    const [first] = await queue(1);
    let later: number | null = null;
    // While the pass decides the first request, ingest queues another.
    const busy = replacing('guardHistory', (t) => async (...args) => {
      later ??= await enqueue(t, { pod: 'web-late', owner: { kind: 'Deployment', name: 'web' }, at: clock.now() });
      return t.guardHistory(...args);
    });
    const w = worker({ store: busy });
    assert.equal(await w.runOnce(), 1);
    assert.deepEqual((await decisions()).map(([id]) => id), [first]);
    assert.equal((await store.getRequest(later!))?.state, 'pending', 'left for the next pass');
    assert.equal(await w.runOnce(), 1);
    assert.deepEqual((await decisions()).map(([id]) => id), [first, later]);
  });

  it('a claim that ran out before its turn is claimed afresh, and still decided once', async () => {
    const ids = await queue(6);
    // Every guard read takes 600 ms of a 1 s claim: the third request's claim has run out when it comes up.
    const slow = replacing('guardHistory', (t) => async (...args) => {
      clock.set(clock.now() + 600);
      return t.guardHistory(...args);
    });
    assert.equal(await worker({ store: slow, claimMs: 1000 }).runOnce(), 6);
    assert.deepEqual((await decisions()).map(([id]) => id), ids, 'each once, in queue order');
    const done = await Promise.all(ids.map((id) => store.getRequest(id)));
    assert.deepEqual(done.map((r) => [r?.state, r?.attempts]), ids.map(() => ['done', 1]), 'a claim handed back undecided is not an attempt');
  });
});
