// SQLite's deferred search indexing (search-file.ts, search-indexer.ts): q= must answer the same
// whether the index is not built yet, a group's change is still queued, or it is in the FTS5 index,
// and no sequence of inserts, text changes, prunes and reused ids may leave the index out of step with
// the table (inStep() compares the index's rows with the groups).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DEFAULT_INDEX_POLICY, indexDecision } from '../../src/store/sqlite/search-indexer.ts';
import { migrateTo } from '../../src/store/sqlite/migrations.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { RecordItem, RecordResult } from '../../src/store/types.ts';
import { searchContract } from './contract-search.ts';
import { waitFor } from '../support/proc.ts';
import { indexed, inStep, queueRows } from './search-check.ts';
import { HOUR, makeItem, MINUTE, T0 } from './factory.ts';

/** Every write is indexed at once, so the contract runs against the FTS5 path alone. */
class IndexedAtOnce extends SqliteStore {
  override async record(items: RecordItem[]): Promise<RecordResult[]> {
    const results = await super.record(items);
    await this.flushSearchIndex();
    return results;
  }
}

/** `built`: the index is built once after migrate (empty), so every later change waits in the queue. */
function withStore(make: (path: string) => SqliteStore, built = true): { store: () => SqliteStore; path: () => string } {
  let dir = '';
  let store: SqliteStore | undefined;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ks-search-'));
    store = make(join(dir, 'ks.db'));
    await store.migrate();
    if (built) await store.flushSearchIndex();
  });
  afterEach(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store: () => store!, path: () => join(dir, 'ks.db') };
}

const item = (fp: string, at: number, message: string) =>
  makeItem({ fingerprint: fp, receivedAt: at, signal: { message, occurrenceKey: `k-${fp}-${at}` } });

describe('SQLite deferred search indexing', () => {
  describe('the index not built yet (q= scans)', () => {
    const s = withStore((path) => new SqliteStore({ path, maxOccurrences: 10, searchIndexing: 'manual' }), false);
    searchContract(s.store);
  });

  describe('every change queued (the index built, empty)', () => {
    const s = withStore((path) => new SqliteStore({ path, maxOccurrences: 10, searchIndexing: 'manual' }));
    searchContract(s.store);
  });

  describe('every group indexed at once', () => {
    const s = withStore((path) => new IndexedAtOnce({ path, maxOccurrences: 10, searchIndexing: 'manual' }));
    searchContract(s.store);
  });

  describe('queued and indexed together', () => {
    const s = withStore((path) => new SqliteStore({ path, maxOccurrences: 10, searchIndexing: 'manual' }));
    /** Queue rows past what the index covers, and rows in all (the queue keeps the row at `through`). */
    const pending = (): number => {
      const c = new DatabaseSync(s.path(), { readOnly: true });
      try {
        c.prepare('ATTACH DATABASE ? AS search').run(`${s.path()}.search`);
        return (c.prepare('SELECT count(*) AS n FROM search_queue WHERE seq > (SELECT through FROM search.indexed)').get() as { n: number }).n;
      } finally { c.close(); }
    };
    const intact = (): void => inStep(s.path());
    const found = async (q: string): Promise<string[]> =>
      (await s.store().listGroups({ q, page: 1, pageSize: 50 })).groups.map((g) => g.fingerprint).sort();

    it('finds a group before and after it is indexed, and the flush empties the backlog', async () => {
      await s.store().record([item('fp-a', T0, 'volume mount timed out'), item('fp-b', T0, 'image pull backoff')]);
      assert.equal(pending(), 2);
      assert.deepEqual(await found('mount timed'), ['fp-a']);
      assert.equal(await s.store().flushSearchIndex(), 2);
      assert.equal(pending(), 0);
      assert.equal(queueRows(s.path()), 1, 'trimmed to the row at `through`');
      await s.store().record([item('fp-c', T0 + MINUTE, 'volume mount refused')]);
      assert.deepEqual(await found('volume mount'), ['fp-a', 'fp-c'], 'one from the index, one pending');
      await s.store().flushSearchIndex();
      intact();
    });

    it('a pending group whose text changes is indexed with the text it has by then', async () => {
      await s.store().record([item('fp-a', T0, 'first words here')]);
      await s.store().record([item('fp-a', T0 + MINUTE, 'second words here')]);
      await s.store().flushSearchIndex();
      assert.deepEqual(await found('first words'), []);
      assert.deepEqual(await found('second words'), ['fp-a']);
      assert.deepEqual([indexed(s.path(), 'first words'), indexed(s.path(), 'second words').length], [[], 1], 'the index holds the text it found');
      await s.store().record([item('fp-a', T0 + 2 * MINUTE, 'third words here')]);
      assert.deepEqual([await found('second words'), await found('third words')], [[], ['fp-a']], 'indexed: re-indexed on change');
      intact();
    });

    it('pruning pending and indexed groups, and a pruned id used again, keep the index in step', async () => {
      await s.store().record([item('fp-old', T0, 'old indexed text')]);
      await s.store().flushSearchIndex();
      await s.store().record([item('fp-pend', T0, 'old pending text')]);
      await s.store().prune(T0 + HOUR);
      assert.deepEqual(await found('old'), []);
      await s.store().flushSearchIndex();
      intact();
      assert.deepEqual(indexed(s.path(), 'old indexed text'), [], 'the pruned group left the index');
      // The table's largest id is free again: SQLite may hand it to the next group.
      await s.store().record([item('fp-new', T0 + 2 * HOUR, 'new text after prune')]);
      await s.store().flushSearchIndex();
      intact();
      assert.deepEqual([await found('after prune'), await found('old')], [['fp-new'], []]);
    });
  });

  describe('auto mode', () => {
    const s = withStore((path) => new SqliteStore({ path, maxOccurrences: 10 }));

    it('indexes on its own once the writer is idle', async () => {
      await s.store().record([item('fp-a', T0, 'idle indexing works')]);
      await waitFor('the idle indexer', async () => indexed(s.path(), 'idle indexing').length > 0, 5000, 10);
      assert.equal(indexed(s.path(), 'idle indexing').length, 1);
      assert.equal((await s.store().listGroups({ q: 'indexing works', page: 1, pageSize: 5 })).total, 1);
      inStep(s.path());
    });
  });

  it('indexDecision: empty, busy (with the wait left), idle, and backlog under load', () => {
    const p = DEFAULT_INDEX_POLICY;
    assert.deepEqual(indexDecision(0, 1e9, p), { run: false, reason: 'empty' });
    assert.deepEqual(indexDecision(5, p.idleMs - 5, p), { run: false, reason: 'busy', retryMs: 5 });
    assert.deepEqual(indexDecision(5, p.idleMs, p), { run: true, reason: 'idle', chunk: p.chunk });
    assert.deepEqual(indexDecision(p.maxBacklog, 0, p), { run: true, reason: 'backlog', chunk: p.loadChunk });
    assert.deepEqual(indexDecision(p.maxBacklog, p.idleMs, p), { run: true, reason: 'idle', chunk: p.chunk }, 'idle: the large chunk, whatever the backlog');
    assert.ok(p.loadChunk < p.chunk && p.loadChunk <= p.maxBacklog);
  });

  it('upgrading a version-6 database: its groups are searchable before and after the search file is built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-search-'));
    const path = join(dir, 'ks.db');
    try {
      const db = new DatabaseSync(path);
      migrateTo(db, 6);
      db.prepare(`INSERT INTO error_groups (id, fingerprint, source, priority, rule, status, title, message, namespace,
        pod, container, workload, labels, count, first_seen, last_seen, why) VALUES (3, 'fp-v6', 'alert', 'P2', NULL,
        'firing', 't', 'written before the upgrade', 'shop', 'web', 'api', 'Deployment/web', '{}', 1, ?, ?, '{}')`).run(T0, T0);
      db.close();
      const store = new SqliteStore({ path, maxOccurrences: 10, searchIndexing: 'manual' });
      await store.migrate();
      assert.equal((await store.listGroups({ q: 'before the upgrade', page: 1, pageSize: 5 })).total, 1, 'scanned: not built yet');
      assert.equal(await store.flushSearchIndex(), 1, 'the build reads every group');
      assert.deepEqual(indexed(path, 'before the upgrade'), [3]);
      assert.equal((await store.listGroups({ q: 'before the upgrade', page: 1, pageSize: 5 })).total, 1);
      await store.prune(T0 + HOUR);
      await store.flushSearchIndex();
      await store.close();
      inStep(path);
      const check = new DatabaseSync(path, { readOnly: true });
      const left = check.prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'error_groups_search%' AND type = 'table'").all();
      check.close();
      assert.deepEqual(left, [], 'the database keeps no index of its own');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
