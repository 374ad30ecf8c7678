// The PostgreSQL store on its own thread (issue #12): the contract suite through the ingest path
// (packed items), then the parts only a thread has — packed items moved by transfer, changes and
// warnings crossing back to the caller, errors keeping their code, a named thread, a closed thread.
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { AppError } from '../../src/domain/errors.ts';
import { ThreadedPostgresStore, type ThreadedPostgresOptions } from '../../src/store/postgres/threaded.ts';
import type { StoreChange } from '../../src/store/types.ts';
import { postgresAvailable, TestDatabases, type TestDatabase } from '../ha/pg.ts';
import { requireComponent, threadNames, waitFor } from '../support/proc.ts';
import { describeStoreContract } from './contract.ts';
import { makeItem } from './factory.ts';
import { assertPackedItemsMove } from './packed.ts';

const dbs = new TestDatabases();
const hasCode = (code: string) => (err: unknown) => err instanceof AppError && err.code === code;

describe('ThreadedPostgresStore', function () {
  before(async function () {
    requireComponent(this, 'PostgreSQL at 127.0.0.1:5432 (KS_TEST_PG_URL)', await postgresAvailable());
  });
  after(() => dbs.dispose());

  // The ingest path: items packed on arrival, recorded by recordPacked() (the group committer's).
  describeStoreContract('postgres (worker thread, packed items)', async (opts) => {
    const db = await dbs.create({ migrated: true });
    const store = await ThreadedPostgresStore.open({ url: db.url, ...opts, poolMax: 4 });
    store.record = (items) => store.recordPacked(store.pack(items));
    return { store, cleanup: async () => { await store.close(); await db.drop(); } };
  });

  describe('on its thread', () => {
    let db: TestDatabase;
    const opened: ThreadedPostgresStore[] = [];
    const open = async (o: Partial<ThreadedPostgresOptions> = {}) => {
      const s = await ThreadedPostgresStore.open({ url: db.url, maxOccurrences: 5, poolMax: 3, ...o });
      opened.push(s);
      return s;
    };

    beforeEach(async () => { db = await dbs.create({ migrated: true }); });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
      await db.drop();
    });

    it('moves packed items to its thread without copying them and records them as record() does', async () => {
      await assertPackedItemsMove(await open());
    });

    it("passes other processes' commits to every subscriber, never its own", async () => {
      const a = await open();
      const b = await open({ readOnly: true });
      const seenByA: StoreChange[] = [];
      const seenByB: StoreChange[][] = [[], []];
      a.subscribe((c) => seenByA.push(c));
      b.subscribe((c) => seenByB[0].push(c));
      const stop = b.subscribe((c) => seenByB[1].push(c));
      await waitFor('LISTEN connections', async () => (await a.listening()) && (await b.listening()), 5000, 20);
      const [r] = await a.record([makeItem({ fingerprint: 'fp-1' })]);
      await waitFor('the change on b', async () => seenByB[0].length >= 1, 5000, 10);
      assert.deepEqual(seenByB[0][0].groupIds, [r.groupId]);
      assert.deepEqual(seenByB[1], seenByB[0]);
      stop();
      await a.putSettings({ enabled: false, dryRun: true, maxActionsPerHour: 3 });
      await waitFor('the settings on b', async () => seenByB[0].some((c) => c.settings), 5000, 10);
      assert.equal(seenByB[1].some((c) => c.settings), false, 'an unsubscribed listener hears nothing more');
      assert.deepEqual(seenByA, [], 'a store never hears its own announcements');
    });

    it("hands the thread's warnings to the caller's logger (a lost LISTEN connection, then back)", async () => {
      const warnings: Array<{ obj: object; msg: string }> = [];
      const logger = { info: () => {}, warn: (obj: object, msg: string) => warnings.push({ obj, msg }) };
      const store = await open({ logger: logger as never, notifier: { backoff: { initialMs: 10, maxMs: 50 } } });
      store.subscribe(() => {});
      await waitFor('LISTEN', () => store.listening(), 5000, 20);
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        const killed = await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE '%(listen)' AND datname = $1", [db.name]);
        assert.equal(killed.rowCount, 1);
      } finally {
        await c.end();
      }
      await waitFor('the warning', async () => warnings.some((w) => /LISTEN connection lost/.test(w.msg)), 5000, 10);
      await waitFor('LISTEN again', () => store.listening(), 5000, 20);
    });

    it('carries AppError codes across the thread, names it, and answers store_unavailable after close', async () => {
      const reader = await open({ readOnly: true });
      await assert.rejects(reader.record([makeItem()]), hasCode('read_only_role'));
      await assert.rejects(reader.putSettings({ enabled: true, dryRun: true, maxActionsPerHour: 1 }), hasCode('read_only_role'));
      assert.ok(threadNames().includes('pg-store'), `threads: ${threadNames().join(', ')}`);
      await reader.close();
      await assert.rejects(reader.ping(), hasCode('store_unavailable'));
      assert.equal(reader.failure(), null, 'a closed store is not a failed one (liveness)');
      const gone = await ThreadedPostgresStore.open({ url: 'postgres://postgres@127.0.0.1:1/none', maxOccurrences: 5, connectTimeoutMs: 1000 });
      try {
        await assert.rejects(gone.ping(), hasCode('store_unavailable'));
      } finally {
        await gone.close();
      }
    });
  });
});
