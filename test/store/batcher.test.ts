import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GroupCommitter } from '../../src/store/batcher.ts';
import type { BatchInfo } from '../../src/store/batcher.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { PackedItems, RecordItem, RecordResult } from '../../src/store/types.ts';
import { makeItem, T0 } from './factory.ts';

const items = (...ns: number[]): RecordItem[] => ns.map((n) => makeItem({ fingerprint: `fp-${n}`, signal: { occurrenceKey: `k${n}` } }));
const ids = (results: RecordResult[]): number[] => results.map((r) => r.groupId);

/** A store whose commits the test completes by hand; each result echoes the item's number. */
class ManualStore {
  calls: RecordItem[][] = [];
  #pending: Array<{ resolve: (r: RecordResult[]) => void; reject: (e: unknown) => void; items: RecordItem[] }> = [];

  record = (batch: RecordItem[]): Promise<RecordResult[]> => {
    this.calls.push(batch);
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject, items: batch }));
  };

  succeed(): void {
    const p = this.#pending.shift()!;
    p.resolve(p.items.map((i) => ({ groupId: Number(i.fingerprint.slice(3)), outcome: 'new-group', countDelta: 1, remediationRequestId: null })));
  }

  fail(err: unknown): void {
    this.#pending.shift()!.reject(err);
  }
}

/** A store that packs (like the threaded SQLite store): chunks of `chunk` items, recorded whole. */
class PackingStore extends ManualStore {
  packs = 0;
  readonly #chunk: number;
  constructor(chunk: number) {
    super();
    this.#chunk = chunk;
  }

  pack = (submission: RecordItem[]): Array<PackedItems & { items: RecordItem[] }> => {
    this.packs++;
    const out = [];
    for (let i = 0; i < submission.length; i += this.#chunk) {
      const part = submission.slice(i, i + this.#chunk);
      out.push({ count: part.length, items: part });
    }
    return out;
  };

  recordPacked = (chunks: PackedItems[]): Promise<RecordResult[]> =>
    this.record((chunks as Array<PackedItems & { items: RecordItem[] }>).flatMap((c) => c.items));
}

/** Deterministic scheduler: flushes run only when the test says so. */
function manualScheduler() {
  const queue: Array<() => void> = [];
  return { schedule: (fn: () => void) => { queue.push(fn); }, run: () => { while (queue.length) queue.shift()!(); }, queue };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('GroupCommitter', () => {
  it('commits everything submitted before the flush as one batch and hands each caller its own results', async () => {
    const store = new ManualStore();
    const sched = manualScheduler();
    const batches: BatchInfo[] = [];
    const gc = new GroupCommitter({ store, schedule: sched.schedule, now: () => 0, onBatch: (b) => batches.push(b) });
    const a = gc.submit(items(1, 2));
    const b = gc.submit(items(3));
    const c = gc.submit(items(4, 5, 6));
    assert.equal(sched.queue.length, 1, 'one flush scheduled for the whole burst');
    sched.run();
    assert.deepEqual(store.calls.map((c) => c.length), [6]);
    store.succeed();
    assert.deepEqual([ids(await a), ids(await b), ids(await c)], [[1, 2], [3], [4, 5, 6]]);
    assert.deepEqual(batches, [{ items: 6, callers: 3, ok: true, durationMs: 0 }]);
  });

  it('queues submits made while a batch commits for the next batch, which then grows', async () => {
    const store = new ManualStore();
    const sched = manualScheduler();
    const gc = new GroupCommitter({ store, schedule: sched.schedule });
    const first = gc.submit(items(1));
    sched.run();
    const later = [gc.submit(items(2)), gc.submit(items(3)), gc.submit(items(4))];
    assert.equal(sched.queue.length, 0, 'no flush scheduled while one is running');
    assert.equal(store.calls.length, 1);
    store.succeed();
    assert.deepEqual(ids(await first), [1]);
    await settle();
    assert.deepEqual(store.calls.map((c) => c.length), [1, 3]);
    store.succeed();
    assert.deepEqual((await Promise.all(later)).map(ids), [[2], [3], [4]]);
  });

  it('hands the next batch to the store before the callers of the finished one resume', async () => {
    // Those callers write their HTTP responses when they resume; the store should not sit idle meanwhile.
    const store = new ManualStore();
    const sched = manualScheduler();
    const gc = new GroupCommitter({ store, schedule: sched.schedule });
    const seenOnResume: number[] = [];
    const first = gc.submit(items(1)).then((r) => { seenOnResume.push(store.calls.length); return r; });
    sched.run();
    const second = gc.submit(items(2));
    store.succeed();
    assert.deepEqual(ids(await first), [1]);
    assert.deepEqual(seenOnResume, [2], 'the second batch was already with the store when the first caller resumed');
    assert.deepEqual(store.calls.map((c) => c.map((i) => i.fingerprint)), [['fp-1'], ['fp-2']]);
    store.succeed();
    assert.deepEqual(ids(await second), [2]);
  });

  it('splits loads above maxBatch, keeping arrival order and reassembling a split caller', async () => {
    const store = new ManualStore();
    const sched = manualScheduler();
    const gc = new GroupCommitter({ store, schedule: sched.schedule, maxBatch: 4 });
    const a = gc.submit(items(1, 2, 3));
    const b = gc.submit(items(4, 5, 6, 7, 8, 9));
    const c = gc.submit(items(10));
    sched.run();
    for (let i = 0; i < 3; i++) {
      store.succeed();
      await settle();
    }
    assert.deepEqual(store.calls.map((batch) => batch.map((i) => i.fingerprint)), [
      ['fp-1', 'fp-2', 'fp-3', 'fp-4'], ['fp-5', 'fp-6', 'fp-7', 'fp-8'], ['fp-9', 'fp-10'],
    ]);
    assert.deepEqual([ids(await a), ids(await b), ids(await c)], [[1, 2, 3], [4, 5, 6, 7, 8, 9], [10]]);
  });

  it('a failed batch rejects every caller in it and spares the next batch', async () => {
    const store = new ManualStore();
    const sched = manualScheduler();
    const gc = new GroupCommitter({ store, schedule: sched.schedule, maxBatch: 2 });
    const boom = new Error('disk full');
    const a = gc.submit(items(1));
    const b = gc.submit(items(2, 3)); // spans the failing batch and the next one
    const c = gc.submit(items(4));
    sched.run();
    store.fail(boom);
    await assert.rejects(a, boom);
    await assert.rejects(b, boom);
    await settle();
    // b's remaining item is dropped with it; only c goes on.
    assert.deepEqual(store.calls.map((batch) => batch.map((i) => i.fingerprint)), [['fp-1', 'fp-2'], ['fp-4']]);
    store.succeed();
    assert.deepEqual(ids(await c), [4]);
  });

  it('rejects callers when the store returns the wrong number of results', async () => {
    const gc = new GroupCommitter({ store: { record: async () => [] } });
    await assert.rejects(gc.submit(items(1)), /0 results for 1 items/);
  });

  it('drain waits for queued and running batches; idle drains at once', async () => {
    const store = new ManualStore();
    const sched = manualScheduler();
    const gc = new GroupCommitter({ store, schedule: sched.schedule });
    await gc.drain();
    const a = gc.submit(items(1));
    let drained = false;
    const d = gc.drain().then(() => { drained = true; });
    sched.run();
    await settle();
    assert.equal(drained, false);
    store.succeed();
    await a;
    await d;
    assert.equal(drained, true);
  });

  it('with maxInFlight 2 (or the store\'s recordConcurrency) a second batch commits while the first waits; drain waits for both', async () => {
    const store = Object.assign(new ManualStore(), { recordConcurrency: 2 });
    const sched = manualScheduler();
    const gc = new GroupCommitter({ store, schedule: sched.schedule });
    const a = gc.submit(items(1, 2));
    sched.run();
    await settle();
    const b = gc.submit(items(3));
    const c = gc.submit(items(4));
    sched.run();
    await settle();
    assert.deepEqual(store.calls.map((batch) => batch.length), [2, 2], 'b and c ride together in the second batch');
    const d = gc.submit(items(5));
    sched.run();
    await settle();
    assert.equal(store.calls.length, 2, 'no third batch while two are in flight');
    let drained = false;
    const idle = gc.drain().then(() => { drained = true; });
    store.succeed();
    assert.deepEqual(ids(await a), [1, 2]);
    await settle();
    assert.deepEqual(store.calls.map((batch) => batch.length), [2, 2, 1], 'the freed loop takes the queued item');
    store.succeed();
    assert.deepEqual([ids(await b), ids(await c)], [[3], [4]]);
    await settle();
    assert.equal(drained, false);
    store.succeed();
    assert.deepEqual(ids(await d), [5]);
    await idle;
  });

  it('with two batches in flight, callers resume before the freed loop takes the next batch, which then grows', async () => {
    // The other batch keeps the store busy; a larger next batch saves PostgreSQL round trips.
    const store = Object.assign(new ManualStore(), { recordConcurrency: 2 });
    const sched = manualScheduler();
    const gc = new GroupCommitter({ store, schedule: sched.schedule });
    let late: Promise<RecordResult[]> | undefined;
    const a = gc.submit(items(1)).then((r) => { late = gc.submit(items(9)); return r; });
    sched.run();
    await settle();
    const b = gc.submit(items(2));
    sched.run();
    await settle();
    const queued = gc.submit(items(3));
    store.succeed();
    assert.deepEqual(ids(await a), [1]);
    await settle();
    assert.deepEqual(store.calls.map((c) => c.map((i) => i.fingerprint)), [['fp-1'], ['fp-2'], ['fp-3', 'fp-9']],
      'what the resumed caller submitted rides with the queued item');
    store.succeed();
    store.succeed();
    assert.deepEqual([ids(await b), ids(await queued), ids(await late!)], [[2], [3], [9]]);
  });

  it('an empty submit resolves without touching the store', async () => {
    const store = new ManualStore();
    const gc = new GroupCommitter({ store });
    assert.deepEqual(await gc.submit([]), []);
    assert.equal(store.calls.length, 0);
  });

  it('with a packing store: packs each submission when it arrives and hands batches whole chunks in order', async () => {
    const store = new PackingStore(3);
    const sched = manualScheduler();
    const batches: BatchInfo[] = [];
    const gc = new GroupCommitter({ store, schedule: sched.schedule, maxBatch: 5, onBatch: (b) => batches.push(b) });
    const a = gc.submit(items(1, 2, 3, 4)); // chunks [1 2 3] [4]
    const b = gc.submit(items(5, 6)); //       chunk  [5 6]
    const c = gc.submit(items(7)); //          chunk  [7]
    assert.equal(store.packs, 3, 'packed on submit, before any batch was taken');
    sched.run();
    for (let i = 0; i < 3 && store.calls.length > i; i++) {
      store.succeed();
      await settle();
    }
    // [1 2 3] + [4] fill 4 of 5; [5 6] does not fit whole, so it opens the next batch.
    assert.deepEqual(store.calls.map((batch) => batch.map((i) => i.fingerprint)), [
      ['fp-1', 'fp-2', 'fp-3', 'fp-4'], ['fp-5', 'fp-6', 'fp-7'],
    ]);
    assert.deepEqual([ids(await a), ids(await b), ids(await c)], [[1, 2, 3, 4], [5, 6], [7]]);
    assert.deepEqual(batches.map((x) => [x.items, x.callers]), [[4, 1], [3, 2]]);
  });

  it('with a packing store: a chunk larger than maxBatch goes alone, and a failed batch drops the remaining chunks of its callers', async () => {
    const store = new PackingStore(4);
    const sched = manualScheduler();
    const gc = new GroupCommitter({ store, schedule: sched.schedule, maxBatch: 3 });
    const a = gc.submit(items(1, 2, 3, 4, 5)); // chunks [1 2 3 4] [5]
    const b = gc.submit(items(6));
    sched.run();
    assert.deepEqual(store.calls.map((batch) => batch.length), [4], 'an oversized chunk is never split');
    const boom = new Error('disk full');
    store.fail(boom);
    await assert.rejects(a, boom);
    await settle();
    // a's second chunk left the queue with it; b goes on.
    assert.deepEqual(store.calls.map((batch) => batch.map((i) => i.fingerprint)), [['fp-1', 'fp-2', 'fp-3', 'fp-4'], ['fp-6']]);
    store.succeed();
    assert.deepEqual(ids(await b), [6]);
  });

  it('with SQLite: 200 concurrent submits become a handful of transactions with correct results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-batch-'));
    const store = new SqliteStore({ path: join(dir, 'ks.db'), maxOccurrences: 5 });
    try {
      await store.migrate();
      let calls = 0;
      const gc = new GroupCommitter({ store: { record: (b) => { calls++; return store.record(b); } } });
      // Every caller re-sends the same alert plus one of its own: dedup must hold across the batch.
      const results = await Promise.all(Array.from({ length: 200 }, (_, n) => gc.submit([
        makeItem({ fingerprint: 'fp-shared', receivedAt: T0 + n, signal: { occurrenceKey: 'same' } }),
        makeItem({ fingerprint: `fp-own-${n}`, receivedAt: T0 + n, signal: { occurrenceKey: `own-${n}` } }),
      ])));
      assert.ok(calls <= 2, `expected group commit, got ${calls} transactions`);
      const shared = results.map((r) => r[0]);
      assert.equal(shared.filter((r) => r.outcome === 'new-group').length, 1);
      assert.equal(new Set(shared.map((r) => r.groupId)).size, 1);
      for (const [n, r] of results.entries()) {
        assert.equal((await store.getGroup(r[1].groupId))?.fingerprint, `fp-own-${n}`);
      }
      assert.equal((await store.getGroup(shared[0].groupId))?.count, 1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
