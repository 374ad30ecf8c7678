// The threaded SQLite store must be indistinguishable from the in-thread one: same contract suite,
// plus the thread-specific parts (errors crossing threads, the lock held by the worker, a dead worker).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AppError, LoadError } from '../../src/domain/errors.ts';
import { ThreadedSqliteStore } from '../../src/store/sqlite/threaded.ts';
import { describeStoreContract } from './contract.ts';
import { makeItem } from './factory.ts';
import { assertPackedItemsMove } from './packed.ts';
import { threadNames } from '../support/proc.ts';

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'ks-threaded-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describeStoreContract('sqlite (worker thread)', async (opts) => {
  const { dir, cleanup } = tempDir();
  const store = await ThreadedSqliteStore.open({ path: join(dir, 'ks.db'), ...opts });
  return { store, cleanup: async () => { await store.close(); cleanup(); } };
});

// The ingest path records through pack() and recordPacked() (the group committer): the same contract.
describeStoreContract('sqlite (worker thread, packed items)', async (opts) => {
  const { dir, cleanup } = tempDir();
  const store = await ThreadedSqliteStore.open({ path: join(dir, 'ks.db'), ...opts });
  store.record = (items) => store.recordPacked(store.pack(items));
  return { store, cleanup: async () => { await store.close(); cleanup(); } };
});

describe('ThreadedSqliteStore', () => {
  it('moves packed items to its thread without copying them and records them as record() does', async () => {
    const { dir, cleanup } = tempDir();
    const store = await ThreadedSqliteStore.open({ path: join(dir, 'ks.db'), maxOccurrences: 5 });
    try {
      await store.migrate();
      await assertPackedItemsMove(store);
    } finally {
      await store.close();
      cleanup();
    }
  });


  it('reports the lock of a second writer as the same LoadError', async () => {
    const { dir, cleanup } = tempDir();
    const first = await ThreadedSqliteStore.open({ path: join(dir, 'ks.db'), maxOccurrences: 5 });
    try {
      await assert.rejects(ThreadedSqliteStore.open({ path: join(dir, 'ks.db'), maxOccurrences: 5 }), (err: unknown) => {
        assert.ok(err instanceof LoadError, String(err));
        assert.match(err.message, /process \d+/);
        return true;
      });
    } finally {
      await first.close();
      cleanup();
    }
  });

  it('carries AppError codes across the thread and answers store_unavailable after close', async () => {
    const { dir, cleanup } = tempDir();
    const ro = join(dir, 'ks.db');
    const writer = await ThreadedSqliteStore.open({ path: ro, maxOccurrences: 5 });
    await writer.migrate();
    await writer.record([makeItem()]);
    await writer.close();
    const reader = await ThreadedSqliteStore.open({ path: ro, maxOccurrences: 5, readOnly: true });
    try {
      await assert.rejects(reader.record([makeItem()]), (err: unknown) => err instanceof AppError && err.code === 'read_only_role');
      assert.equal((await reader.listGroups({ page: 1, pageSize: 10 })).total, 1);
    } finally {
      await reader.close();
    }
    await assert.rejects(reader.ping(), (err: unknown) => err instanceof AppError && err.code === 'store_unavailable');
    assert.equal(reader.failure(), null, 'a closed store is not a failed one (liveness)');
    cleanup();
  });

  it('names its threads, so their CPU can be told apart (top -H, npm run bench)', async () => {
    const { dir, cleanup } = tempDir();
    const store = await ThreadedSqliteStore.open({ path: join(dir, 'ks.db'), maxOccurrences: 5 });
    try {
      await store.migrate();
      await store.record([makeItem()]);
      const want = ['sqlite-store', 'sqlite-checkpt', 'sqlite-reader', 'sqlite-indexer'];
      const deadline = Date.now() + 5000;
      while (!want.every((n) => threadNames().includes(n)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(want.filter((n) => !threadNames().includes(n)), [], `threads: ${threadNames().join(', ')}`);
    } finally {
      await store.close();
      cleanup();
    }
  });

  it('checkpoints the WAL on its own thread: committed pages reach the database file without a writer checkpoint', async () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, 'ks.db');
    const store = await ThreadedSqliteStore.open({ path, maxOccurrences: 5 });
    try {
      await store.migrate();
      const before = statSync(path).size;
      const text = 'x'.repeat(2000);
      for (let b = 0; b < 4; b++) {
        await store.record(Array.from({ length: 500 }, (_, i) => makeItem({ fingerprint: `fp-${b}-${i}`, signal: { message: text, occurrenceKey: `k-${b}-${i}` } })));
      }
      // ~4 MB committed: far below the writer's 64 MiB safety net, so only the checkpointer moves it.
      const deadline = Date.now() + 5000;
      while (statSync(path).size < before + 2_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(statSync(path).size >= before + 2_000_000, `database file grew from ${before} to ${statSync(path).size} bytes`);
      assert.equal((await store.listGroups({ page: 1, pageSize: 1 })).total, 2000);
    } finally {
      await store.close();
      cleanup();
    }
  });
  it('answers dashboard reads on its reader thread while the writer waits on a commit', async () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, 'ks.db');
    const store = await ThreadedSqliteStore.open({ path, maxOccurrences: 5 });
    const other = new DatabaseSync(path, { timeout: 100 });
    try {
      await store.migrate();
      await store.record([makeItem({ fingerprint: 'fp-1', signal: { occurrenceKey: 'k1' } })]);
      // Another connection holds the write lock: the writer thread blocks inside the next commit.
      other.exec('BEGIN IMMEDIATE');
      let recorded = false;
      const pending = store.record([makeItem({ fingerprint: 'fp-2', signal: { occurrenceKey: 'k2' } })]).then(() => { recorded = true; });
      await new Promise((r) => setTimeout(r, 200));
      const t0 = performance.now();
      const [listing, detail, stats] = await Promise.all([
        store.listGroups({ page: 1, pageSize: 10 }), store.getGroup(1), store.stats(Date.now()),
      ]);
      assert.equal(recorded, false, 'the write is still blocked');
      assert.ok(performance.now() - t0 < 2000, 'reads did not wait for the writer');
      assert.deepEqual(listing.groups.map((g) => g.fingerprint), ['fp-1'], 'the reads see what was committed, not the pending batch');
      assert.equal(detail?.fingerprint, 'fp-1');
      assert.equal(stats.total, 1);
      other.exec('COMMIT');
      await pending;
      // Read after write: an acknowledged batch is visible to the next read on the reader thread.
      assert.deepEqual((await store.listGroups({ page: 1, pageSize: 10, sort: 'firstSeen', order: 'asc' })).groups.map((g) => g.fingerprint), ['fp-1', 'fp-2']);
    } finally {
      if (other.isTransaction) other.exec('ROLLBACK');
      other.close();
      await store.close();
      cleanup();
    }
  });
});
