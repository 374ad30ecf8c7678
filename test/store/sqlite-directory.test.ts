// Migration V10 and the writer's fingerprint directory (src/store/sqlite/group-directory.ts): error_groups
// has no fingerprint index, so whether a signal joins an existing group rests on the directory alone.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { migrateTo } from '../../src/store/sqlite/migrations.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { HOUR, makeItem, MINUTE, T0 } from './factory.ts';

const count = (db: DatabaseSync, sql: string): number => (db.prepare(sql).get() as { n: number }).n;

/** Index and trigger names on error_groups, and whether any index covers the fingerprint column. */
function groupSchema(db: DatabaseSync): { objects: string[]; fingerprintIndexed: boolean } {
  const objects = (db.prepare(`SELECT type || ' ' || name AS o FROM sqlite_schema WHERE tbl_name = 'error_groups'
    AND type IN ('index', 'trigger') ORDER BY o`).all() as Array<{ o: string }>).map((r) => r.o);
  const indexes = db.prepare("SELECT name FROM pragma_index_list('error_groups')").all() as Array<{ name: string }>;
  const fingerprintIndexed = indexes.some(({ name }) =>
    (db.prepare('SELECT name FROM pragma_index_info(?)').all(name) as Array<{ name: string }>).some((c) => c.name === 'fingerprint'));
  return { objects, fingerprintIndexed };
}

describe('SqliteStore without a fingerprint index (migration V10)', () => {
  let dir: string;
  let path: string;
  let store: SqliteStore | null = null;
  const open = async (): Promise<SqliteStore> => {
    store = new SqliteStore({ path, maxOccurrences: 10, now: () => T0 });
    await store.migrate();
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ks-dir-'));
    path = join(dir, 'ks.db');
  });
  afterEach(async () => {
    await store?.close();
    store = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('upgrades a version-9 database: same rows, indexes and triggers, no fingerprint index, children still cascade', async () => {
    const db = new DatabaseSync(path);
    migrateTo(db, 9);
    const before = groupSchema(db);
    assert.ok(before.fingerprintIndexed, 'version 9 has the unique index');
    db.prepare(`INSERT INTO error_groups (id, fingerprint, source, priority, rule, status, title, message, namespace,
      pod, container, workload, labels, count, first_seen, last_seen, why) VALUES (7, 'fp-old', 'alert', 'P1',
      'crashloop-backoff', 'firing', 't', 'kept across the upgrade', 'shop', 'web', 'api', 'Deployment/web', '{}', 1, ?, ?, '{}')`).run(T0, T0);
    db.prepare(`INSERT INTO occurrences (group_id, at, channel, message, count, labels) VALUES (7, ?, 'alertmanager', '', 1, '')`).run(T0);
    db.prepare(`INSERT INTO occurrence_keys (group_id, key, seen_count, state, last_seen) VALUES (7, 'k1', 1, 'firing', ?)`).run(T0);
    // Version 9 indexed it in the database's own FTS5 table (V7's deferred indexing, as it ran then).
    db.exec(`INSERT INTO error_groups_search (rowid, title, message, pod, workload, namespace)
      SELECT id, title, message, pod, workload, namespace FROM error_groups; DELETE FROM search_pending`);
    migrateTo(db, 10);
    const after = groupSchema(db);
    db.close();
    assert.equal(after.fingerprintIndexed, false);
    assert.deepEqual(after.objects, before.objects.filter((o) => !o.startsWith('index sqlite_autoindex_error_groups')));

    const s = await open();
    const check = new DatabaseSync(path, { readOnly: true });
    const [group] = (await s.listGroups({ page: 1, pageSize: 5 })).groups;
    assert.deepEqual([group.id, group.count], [7, 1]);
    await s.flushSearchIndex();
    assert.equal((await s.listGroups({ q: 'kept across', page: 1, pageSize: 5 })).total, 1, 'the search index maps to the copied ids');

    // The same fingerprint joins the copied group, by id; nothing is duplicated.
    const [res] = await s.record([makeItem({ fingerprint: 'fp-old', receivedAt: T0 + MINUTE, signal: { occurrenceKey: 'k2' } })]);
    assert.deepEqual([res.groupId, res.outcome], [group.id, 'new-occurrence']);
    assert.equal(count(check, 'SELECT count(*) AS n FROM error_groups'), 1);
    assert.equal((await s.getGroup(group.id))?.count, 2);
    // Foreign keys are back on: retention's delete still cascades to the group's rows.
    assert.equal(await s.prune(T0 + HOUR), 1);
    assert.equal(count(check, 'SELECT count(*) AS n FROM occurrences') + count(check, 'SELECT count(*) AS n FROM occurrence_keys'), 0);
    check.close();
  });

  it('a reopened writer finds every group it wrote before', async () => {
    let s = await open();
    const fps = Array.from({ length: 40 }, (_, i) => `fp-${i}`);
    const first = await s.record(fps.map((fp) => makeItem({ fingerprint: fp })));
    await s.close();
    s = await open();
    const again = await s.record(fps.map((fp) => makeItem({ fingerprint: fp, receivedAt: T0 + MINUTE, signal: { occurrenceKey: `${fp}-2` } })));
    assert.deepEqual(again.map((r) => [r.groupId, r.outcome]), first.map((r) => [r.groupId, 'new-occurrence']));
    assert.equal((await s.listGroups({ page: 1, pageSize: 100 })).total, 40);
  });

  it('a batch that failed leaves no group behind for the next one to join', async () => {
    const s = await open();
    const side = new DatabaseSync(path);
    // Fails after the group rows were written (the dedup keys come next), so the batch had learnt ids.
    side.exec(`CREATE TRIGGER refuse AFTER INSERT ON occurrence_keys WHEN new.key = 'refused'
      BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    await assert.rejects(s.record([makeItem({ fingerprint: 'fp-x' }), makeItem({ fingerprint: 'fp-y', signal: { occurrenceKey: 'refused' } })]));
    side.exec('DROP TRIGGER refuse');
    side.close();
    const [x] = await s.record([makeItem({ fingerprint: 'fp-x', receivedAt: T0 + MINUTE })]);
    assert.equal(x.outcome, 'new-group');
    const { groups } = await s.listGroups({ page: 1, pageSize: 5 });
    assert.deepEqual(groups.map((g) => [g.id, g.count]), [[x.groupId, 1]]);
  });

  it('a pruned group\'s id taken by another group: the pruned fingerprint starts over, the other is untouched', async () => {
    const s = await open();
    await s.record([makeItem({ fingerprint: 'fp-keep', receivedAt: T0 + 2 * HOUR })]);
    const [gone] = await s.record([makeItem({ fingerprint: 'fp-gone' })]);
    assert.equal(await s.prune(T0 + HOUR), 1);
    // SQLite hands the highest rowid out again once its row is deleted.
    const [taker] = await s.record([makeItem({ fingerprint: 'fp-taker', receivedAt: T0 + 2 * HOUR })]);
    assert.equal(taker.groupId, gone.groupId, 'the rowid was reused (the case under test)');
    const [back] = await s.record([makeItem({ fingerprint: 'fp-gone', receivedAt: T0 + 3 * HOUR })]);
    assert.equal(back.outcome, 'new-group');
    assert.notEqual(back.groupId, taker.groupId);
    assert.equal((await s.getGroup(taker.groupId))?.count, 1);
    assert.equal((await s.listGroups({ page: 1, pageSize: 5 })).total, 3);
  });
});
