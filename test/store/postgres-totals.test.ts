// PostgreSQL's kept group totals (V8, src/store/postgres/totals-schema.ts) against the groups
// themselves, and the per-connection shards that let one replica's batches commit side by side.
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { SCHEMA_VERSION } from '../../src/store/postgres/migrations.ts';
import { PRIORITIES, type Priority } from '../../src/domain/types.ts';
import type { RecordItem } from '../../src/store/types.ts';
import { migratedDatabasePerTest } from '../ha/pg.ts';
import { makeItem, MINUTE, T0 } from './factory.ts';

type Key = { priority: string; status: string; source: string; n: number };
const byKey = (rows: Key[]) => Object.fromEntries(rows.map((r) => [`${r.priority}/${r.status}/${r.source}`, Number(r.n)]));

describe('PostgresStore kept totals', function () {
  const opened: PostgresStore[] = [];
  const t = migratedDatabasePerTest(async () => { await Promise.all(opened.splice(0).map((s) => s.close())); });
  const open = (o: { maxOccurrences?: number } = {}) => {
    const s = new PostgresStore({ url: t.db.url, maxOccurrences: o.maxOccurrences ?? 10, poolMax: 4 });
    opened.push(s);
    return s;
  };
  /** What the totals say next to what counting the groups says, by (priority, status, source). */
  const compare = async () => {
    const kept = byKey((await t.sql.query<Key>(`SELECT priority, status, source, sum(n) AS n FROM error_group_totals
      GROUP BY 1, 2, 3 HAVING sum(n) <> 0`)).rows);
    const counted = byKey((await t.sql.query<Key>('SELECT priority, status, source, count(*) AS n FROM error_groups GROUP BY 1, 2, 3')).rows);
    return { kept, counted };
  };

  it('follow new groups, re-classification, resolution, expiry and retention, from concurrent writers', async function () {
    this.timeout(30_000);
    const writers = [open(), open(), open()];
    await writers[0].migrate();
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
    const item = (f: number, minute: number): RecordItem => makeItem({
      fingerprint: `fp-${f}`,
      receivedAt: T0 + minute * MINUTE,
      signal: {
        occurrenceKey: `fp-${f}/m-${minute}`, source: f % 3 === 0 ? 'event' : 'alert',
        // Some alerts arrive resolved, which resolves their group.
        state: random() < 0.15 ? 'resolved' : 'firing', endsAt: null,
      },
      classification: { priority: pick<Priority>(PRIORITIES) },
    });
    for (let minute = 0; minute < 12; minute++) {
      // Three writers at once, overlapping fingerprints, each item re-classified at random.
      await Promise.all(writers.map((w) => w.record(Array.from({ length: 15 }, () => item(Math.floor(random() * 60), minute)))));
      const { kept, counted } = await compare();
      assert.deepEqual(kept, counted, `minute ${minute}`);
    }
    assert.ok((await writers[1].expire(T0 + 10 * MINUTE)) > 0, 'some groups expire');
    assert.ok((await writers[2].prune(T0 + 6 * MINUTE)) > 0, 'some groups are pruned');
    const { kept, counted } = await compare();
    assert.deepEqual(kept, counted, 'after expire and prune');

    // What the API answers comes from the totals and agrees with the groups.
    const total = Object.values(counted).reduce((a, b) => a + b, 0);
    assert.equal((await writers[0].listGroups({ page: 1, pageSize: 5 })).total, total);
    const p2Resolved = Object.entries(counted).filter(([k]) => k.startsWith('P2/resolved/')).reduce((a, [, n]) => a + n, 0);
    assert.equal((await writers[0].listGroups({ page: 1, pageSize: 5, priority: ['P2'], status: 'resolved' })).total, p2Resolved);
    const stats = await writers[0].stats(T0 + 12 * MINUTE);
    assert.equal(stats.total, total);
    assert.equal(stats.bySource.event, Object.entries(counted).filter(([k]) => k.endsWith('/event')).reduce((a, [, n]) => a + n, 0));
  });

  it('retention folds the shards nobody holds into one, never waits for a batch, and keeps the sums', async function () {
    this.timeout(30_000);
    const s = open();
    // At once: the batches run on several connections, so several shards.
    await Promise.all(Array.from({ length: 8 }, (_, i) => s.record([makeItem({ fingerprint: `fp-${i}`, classification: { priority: i % 2 ? 'P1' : 'P3' } })])));
    // A transaction of another connection holds its shard row, as a batch in flight does.
    const holder = new Client({ connectionString: t.db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO error_groups (fingerprint, source, priority, status, title, message, namespace, pod,
        container, workload, labels, count, first_seen, last_seen, why) VALUES ('held', 'alert', 'P4', 'firing', 't', 'm',
        'ns', 'p', 'c', 'w', '{}', 1, ${T0}, ${T0}, '{}')`);
      const before = (await t.sql.query<{ shards: number }>('SELECT count(DISTINCT shard) AS shards FROM error_group_totals')).rows[0];
      assert.ok(Number(before.shards) >= 2, 'several connections wrote their own shards');
      await s.prune(T0 - MINUTE); // deletes nothing; compacts, and returns while the holder still holds
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await holder.query('COMMIT');
      const after = (await t.sql.query<{ shard: number }>('SELECT DISTINCT shard FROM error_group_totals ORDER BY 1')).rows.map((r) => r.shard);
      assert.deepEqual(after, [0, holderPid], 'everything but the held row folded into shard 0');
    } finally {
      await holder.end();
    }
    const { kept, counted } = await compare();
    assert.deepEqual(kept, counted);
    assert.deepEqual(counted, { 'P1/firing/alert': 4, 'P3/firing/alert': 4, 'P4/firing/alert': 1 });
  });

  it('one replica\'s batches do not wait for each other\'s commit (per-connection minute and total rows)', async function () {
    this.timeout(20_000);
    const s = open({ maxOccurrences: 2 });
    const a = (m: number) => makeItem({ fingerprint: 'fp-a', receivedAt: T0 + m * 1000, signal: { occurrenceKey: `a-${m}` } });
    await s.record([a(1), a(2)]);
    // Hold a's oldest occurrence: the next batch of a stops in its trim, after all its other writes.
    const holder = new Client({ connectionString: t.db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT id FROM occurrences WHERE group_id = (SELECT id FROM error_groups WHERE fingerprint = 'fp-a') FOR UPDATE");
      const stuck = s.record([a(3)]);
      let stuckDone = false;
      void stuck.then(() => { stuckDone = true; });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(stuckDone, false, 'the first batch waits in its trim');
      // Same minute, same priority/status/source, another group: it must commit while the first waits.
      const started = Date.now();
      const [other] = await s.record([makeItem({ fingerprint: 'fp-b', receivedAt: T0 + 4000, signal: { occurrenceKey: 'b-1' } })]);
      assert.equal(other.outcome, 'new-group');
      assert.ok(Date.now() - started < 3000, 'the second batch committed without waiting');
      assert.equal(stuckDone, false);
      await holder.query('COMMIT');
      assert.equal((await stuck)[0].countDelta, 1);
    } finally {
      await holder.end();
    }
    assert.equal((await s.stats(T0 + 5000)).occurrencesLastHour, 4);
    assert.equal((await s.listGroups({ page: 1, pageSize: 5 })).total, 2);
  });

  it('the upgrade to V8 fills the totals from the groups already there; V11 makes the search text trigger per statement', async () => {
    const s = open();
    for (let i = 0; i < 6; i++) await s.record([makeItem({ fingerprint: `fp-${i}`, classification: { priority: i < 4 ? 'P2' : 'P4' } })]);
    // Back to V7: the totals as they were before this migration existed (and V9, V10 and V11 undone after
    // the last write, which this release makes with V9's column, so that the upgrade runs them again).
    await t.sql.query('DROP TABLE error_group_totals; DROP FUNCTION error_group_totals_add() CASCADE');
    await s.record([makeItem({ fingerprint: 'fp-late', classification: { priority: 'P1' } })]);
    await t.sql.query(`DROP INDEX remediation_requests_shareable; ALTER TABLE remediation_requests DROP COLUMN shared;
      ALTER TABLE remediation_verifications DROP COLUMN other_groups; DROP FUNCTION error_group_search_add() CASCADE;
      CREATE TRIGGER error_group_search_insert AFTER INSERT ON error_groups FOR EACH ROW EXECUTE FUNCTION error_group_search_sync();
      DELETE FROM kube_sentinel_schema WHERE version >= 8`);
    assert.equal(SCHEMA_VERSION, 11);
    await s.migrate();
    const { kept, counted } = await compare();
    assert.deepEqual(kept, { 'P1/firing/alert': 1, 'P2/firing/alert': 4, 'P4/firing/alert': 2 });
    assert.deepEqual(kept, counted);
    // V11 (run again here) writes new groups' search text per batch; groups from before stay found.
    const trigger = await t.sql.query<{ per_row: boolean }>("SELECT (tgtype & 1) = 1 AS per_row FROM pg_trigger WHERE tgname = 'error_group_search_insert'");
    assert.deepEqual(trigger.rows, [{ per_row: false }]);
    await s.record([makeItem({ fingerprint: 'fp-after', signal: { message: 'written after the upgrade' } })]);
    const found = async (q: string) => (await s.listGroups({ q, page: 1, pageSize: 10 })).groups.map((g) => g.fingerprint).sort();
    assert.deepEqual(await found('after the upgrade'), ['fp-after']);
    assert.equal((await found(makeItem().signal.message)).length, 7, 'the six groups before the upgrade and fp-late');
  });
});
