// The search file beside the database (search-file.ts, V11): kept only while it indexes this
// database up to a point the database has reached, rebuilt otherwise; kept up to date by the indexer
// thread of ThreadedSqliteStore without waiting for the database's writer.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { attachSearch, checkSearchFile, indexChunk, type Merging, mergeStep, openSearchFile } from '../../src/store/sqlite/search-file.ts';
import { Statements } from '../../src/store/sqlite/statements.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { ThreadedSqliteStore } from '../../src/store/sqlite/threaded.ts';
import { makeItem, MINUTE, T0 } from './factory.ts';
import { waitFor } from '../support/proc.ts';
import { indexed, inStep, queueRows } from './search-check.ts';

const item = (fp: string, message: string, at = T0) =>
  makeItem({ fingerprint: fp, receivedAt: at, signal: { message, occurrenceKey: `k-${fp}-${at}` } });

describe('SQLite search file', () => {
  let dir: string;
  let path: string;
  const stores: Array<{ close(): Promise<void> }> = [];
  /** An in-thread writer that indexes only when flushed. */
  const writer = async (p = path): Promise<SqliteStore> => {
    const s = new SqliteStore({ path: p, maxOccurrences: 10, searchIndexing: 'manual' });
    stores.push(s);
    await s.migrate();
    return s;
  };
  const found = async (s: { listGroups: SqliteStore['listGroups'] }, q: string): Promise<string[]> =>
    (await s.listGroups({ q, page: 1, pageSize: 50 })).groups.map((g) => g.fingerprint).sort();
  /** A second connection indexing `p`'s search file, opened with `merging`, with small pages so each chunk writes many. */
  const indexerOn = (p: string, merging: Merging): { side: DatabaseSync; stmts: Statements } => {
    const side = new DatabaseSync(p);
    attachSearch(side, p, true);
    const stmts = new Statements({ db: side });
    openSearchFile(stmts, merging);
    side.exec("INSERT INTO search.fts (fts, rank) VALUES ('pgsz', 64)");
    return { side, stmts };
  };
  /** Chunk `i`: 40 new groups with long, distinct text, recorded, then indexed. */
  const indexChunkNo = async (s: SqliteStore, stmts: Statements, i: number): Promise<void> => {
    await s.record(Array.from({ length: 40 }, (_, j) => item(`fp-${i}-${j}`, `chunk ${i} group ${j} ${String(i * 1000 + j).repeat(30)}`)));
    indexChunk(stmts, 100, false);
  };
  /** Pages of the index's segments in a connection's attached search file (FTS5 keeps its structure records at ids up to 10). */
  const segmentPages = (db: DatabaseSync): number =>
    (db.prepare('SELECT count(*) AS n FROM search.fts_data WHERE id > 10').get() as { n: number }).n;
  /** Merge steps until one finds no work (at most 100); returns how many did work. */
  const mergeAll = (stmts: Statements): number => {
    let steps = 0;
    while (mergeStep(stmts, 500) && steps < 100) steps++;
    return steps;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ks-search-file-'));
    path = join(dir, 'ks.db');
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('checkSearchFile keeps only a file of this database that is not ahead of it', () => {
    const db = { origin: 'a', lastSeq: 10 };
    assert.deepEqual(checkSearchFile(undefined, db), { keep: false, reason: 'new-file' });
    assert.deepEqual(checkSearchFile({ origin: 'b', through: 3 }, db), { keep: false, reason: 'other-database' });
    assert.deepEqual(checkSearchFile({ origin: 'a', through: 11 }, db), { keep: false, reason: 'ahead-of-database' });
    assert.deepEqual(checkSearchFile({ origin: 'a', through: 10 }, db), { keep: true });
    assert.deepEqual(checkSearchFile({ origin: 'a', through: 0 }, db), { keep: true });
  });

  it('a deleted search file is rebuilt from the groups', async () => {
    let s = await writer();
    await s.record([item('fp-a', 'kept in the database')]);
    await s.flushSearchIndex();
    await s.close();
    for (const suffix of ['.search', '.search-wal', '.search-shm']) rmSync(`${path}${suffix}`, { force: true });
    s = await writer();
    assert.deepEqual(await found(s, 'in the database'), ['fp-a'], 'found by the scan before the rebuild');
    assert.equal(await s.flushSearchIndex(), 1);
    assert.deepEqual(indexed(path, 'kept in the database').length, 1);
    inStep(path);
  });

  it("another database's search file is emptied, not trusted", async () => {
    const other = join(dir, 'other.db');
    const o = await writer(other);
    await o.record([item('fp-1', 'only in the other database'), item('fp-2', 'also the other one')]);
    await o.flushSearchIndex();
    await o.close();
    let s = await writer();
    await s.record([item('fp-mine', 'mine alone')]);
    await s.close();
    copyFileSync(`${other}.search`, `${path}.search`);
    s = await writer();
    await s.flushSearchIndex();
    inStep(path);
    assert.deepEqual(indexed(path, 'other database'), []);
    assert.deepEqual(await found(s, 'mine alone'), ['fp-mine']);
  });

  it('an older copy of the database restored beside a newer search file: the file is rebuilt and new groups are found', async () => {
    let s = await writer();
    await s.record([item('fp-a', 'before the backup')]);
    await s.flushSearchIndex();
    await s.close();
    copyFileSync(path, join(dir, 'backup.db'));
    s = await writer();
    await s.record(Array.from({ length: 5 }, (_, i) => item(`fp-later-${i}`, `after the backup ${i}`, T0 + MINUTE)));
    await s.flushSearchIndex();
    await s.close();
    copyFileSync(join(dir, 'backup.db'), path);
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    s = await writer();
    await s.record([item('fp-new', 'written after the restore', T0 + 2 * MINUTE)]);
    await s.flushSearchIndex();
    // Kept, the file's `through` would be past every seq the restored queue hands out: never indexed.
    assert.equal(indexed(path, 'written after the restore').length, 1);
    assert.deepEqual(await found(s, 'after the'), ['fp-new']);
    inStep(path);
  });

  it('merge steps fold the segments many small chunks left, then report no work; every group is still found', async () => {
    const s = await writer();
    for (let i = 0; i < 12; i++) {
      await s.record([item(`fp-${i}`, `segment number ${i} here`)]);
      await s.flushSearchIndex();
    }
    const side = new DatabaseSync(path);
    try {
      side.prepare('ATTACH DATABASE ? AS search').run(`${path}.search`);
      const stmts = new Statements({ db: side });
      const before = segmentPages(side);
      assert.ok(mergeAll(stmts) >= 1, 'there was something to merge');
      assert.ok(segmentPages(side) < before, `${segmentPages(side)} pages of segments after, ${before} before`);
      assert.equal(mergeStep(stmts, 500), false);
    } finally { side.close(); }
    inStep(path);
    assert.equal((await s.listGroups({ q: 'segment number', page: 1, pageSize: 50 })).total, 12);
  });

  it('merge steps after one new group rewrite a few pages, not the merged index', async () => {
    const s = await writer();
    const { side, stmts } = indexerOn(path, 'when-idle');
    try {
      for (let i = 0; i < 8; i++) await indexChunkNo(s, stmts, i);
      assert.ok(mergeAll(stmts) >= 1, 'the eight chunks left segments to merge');
      const pages = segmentPages(side);
      const changes = side.prepare('SELECT total_changes() AS n');
      const before = (changes.get() as { n: number }).n;
      await s.record([item('fp-late', 'one more group, indexed alone')]);
      indexChunk(stmts, 100, false);
      mergeAll(stmts);
      const written = (changes.get() as { n: number }).n - before;
      // The old step ('merge' with a negative count) merged every level into one: every page again.
      assert.ok(written < pages / 4, `${written} rows written for one group into an index of ${pages} pages`);
    } finally { side.close(); }
    inStep(path);
    assert.deepEqual(await found(s, 'indexed alone'), ['fp-late']);
    assert.equal((await s.listGroups({ q: 'chunk', page: 1, pageSize: 50 })).total, 8 * 40);
  });

  it("'when-idle' leaves the segments of each chunk to the merge steps; 'as-written' lets FTS5 merge them as it writes", async () => {
    /** Index 12 chunks on a connection that opened the file with `merging`; segments after each. */
    const segmentsPerChunk = async (merging: Merging): Promise<number[]> => {
      const p = join(dir, `${merging}.db`);
      const s = await writer(p);
      // Small pages (indexerOn): FTS5 merges as it writes in proportion to the pages.
      const { side, stmts } = indexerOn(p, merging);
      try {
        indexChunk(stmts, 100, false);
        // A page's id carries its segment's id above bit 37 (FTS5's layout of its data table).
        const segments = side.prepare('SELECT count(DISTINCT id >> 37) AS n FROM search.fts_data WHERE id > 10');
        const counts: number[] = [];
        for (let i = 0; i < 12; i++) {
          await indexChunkNo(s, stmts, i);
          counts.push((segments.get() as { n: number }).n);
        }
        return counts;
      } finally { side.close(); }
    };
    assert.deepEqual(await segmentsPerChunk('when-idle'), Array.from({ length: 12 }, (_, i) => i + 1));
    const written = await segmentsPerChunk('as-written');
    assert.ok(written.at(-1)! < 12, `FTS5 merged as it wrote: ${written.join(' ')}`);
    // The setting follows whoever opens the file now: the indexer thread, on a file an in-thread
    // writer kept before.
    const p = join(dir, 'as-written.db');
    const side = new DatabaseSync(p);
    try {
      attachSearch(side, p, true);
      openSearchFile(new Statements({ db: side }), 'when-idle');
      assert.deepEqual({ ...side.prepare("SELECT v FROM search.fts_config WHERE k = 'automerge'").get() }, { v: 0 });
    } finally { side.close(); }
  });

  describe('the indexer thread (ThreadedSqliteStore)', () => {
    const open = async (readOnly = false): Promise<ThreadedSqliteStore> => {
      const s = await ThreadedSqliteStore.open({ path, maxOccurrences: 10, readOnly });
      stores.push(s);
      await s.migrate();
      return s;
    };

    it('indexes what the writer records, the writer trims the queue, and a dashboard store searches the file', async () => {
      const s = await open();
      assert.ok(existsSync(`${path}.search`));
      await s.record(Array.from({ length: 300 }, (_, i) => item(`fp-${i}`, `thread indexed message ${i}`)));
      await waitFor('the index', async () => indexed(path, 'thread indexed').length === 300, 10_000, 20);
      await waitFor('the trim', async () => queueRows(path) <= 1, 10_000, 20);
      assert.equal((await s.listGroups({ q: 'indexed message 12', page: 1, pageSize: 50 })).total, 11);
      const dashboard = await open(true);
      assert.equal((await dashboard.listGroups({ q: 'indexed message 29', page: 1, pageSize: 50 })).total, 11);
      await s.record([item('fp-0', 'a changed text now', T0 + MINUTE)]);
      await waitFor('the change', async () => indexed(path, 'changed text').length === 1, 10_000, 20);
      assert.deepEqual(indexed(path, 'thread indexed message 0'), []);
      await s.close();
      inStep(path);
    });

    it('indexes while another connection holds the database write lock', async () => {
      const s = await open();
      await s.record([item('fp-a', 'indexed while locked')]);
      const side = new DatabaseSync(path, { timeout: 100 });
      side.exec('BEGIN IMMEDIATE');
      try {
        await waitFor('the index', async () => indexed(path, 'while locked').length === 1, 5000, 20);
      } finally {
        side.exec('ROLLBACK');
        side.close();
      }
    });
  });
});
