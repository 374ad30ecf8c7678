// The end of a PostgreSQL batch (src/store/postgres/record.ts): the write statement and its binary
// parameters, the trim of occurrences past the cap, the NOTIFY and COMMIT. What must hold however
// they are sent: a statement that fails fails the batch with its own error and commits and announces
// nothing, a deadlock retries the whole batch, the announcement names every changed group in payloads
// PostgreSQL accepts, the trim keeps exactly the newest rows, also for a group new in the batch, and
// every parameter value arrives as it was.
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { binaryArray } from '../../src/store/postgres/binary-array.ts';
import { decodeChange } from '../../src/store/postgres/notify-payload.ts';
import { PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/store.ts';
import { postgresAvailable, TestDatabases, type TestDatabase } from '../ha/pg.ts';
import { requireComponent, waitFor } from '../support/proc.ts';
import { makeItem, MINUTE, restartPod, T0 } from './factory.ts';

const dbs = new TestDatabases();

describe('PostgresStore: the end of a batch', function () {
  let db: TestDatabase;
  let admin: Client;
  let payloads: string[];
  const opened: PostgresStore[] = [];
  const open = async (o: Partial<PostgresStoreOptions> = {}) => {
    const s = new PostgresStore({ url: db.url, maxOccurrences: 10, poolMax: 1, ...o });
    opened.push(s);
    await s.migrate();
    return s;
  };

  before(async function () {
    requireComponent(this, 'PostgreSQL at 127.0.0.1:5432 (KS_TEST_PG_URL)', await postgresAvailable());
  });
  after(() => dbs.dispose());
  beforeEach(async () => {
    db = await dbs.create({ migrated: true });
    admin = new Client({ connectionString: db.url });
    await admin.connect();
    // The raw payloads, as every replica's LISTEN connection receives them.
    payloads = [];
    admin.on('notification', (n) => payloads.push(n.payload ?? ''));
    await admin.query('LISTEN kube_sentinel_changes');
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await admin.end();
    await db.drop();
  });

  const groupsNamed = async (fingerprints: string[]): Promise<number> =>
    (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM error_groups WHERE fingerprint = ANY($1)', [fingerprints])).rows[0].n;

  it('a statement failing in the write fails the batch with its own error, commits and announces nothing, and the connection goes on', async () => {
    // The group insert fails for one fingerprint.
    await admin.query(`CREATE FUNCTION ks_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.fingerprint = 'fp-refused' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER ks_test_refuse BEFORE INSERT ON error_groups FOR EACH ROW EXECUTE FUNCTION ks_test_refuse()`);
    const s = await open({ maxOccurrences: 1 });
    // fp-full exists; its next occurrence is in the batch that fails, so its count must not move.
    await s.record([makeItem({ fingerprint: 'fp-full', signal: { occurrenceKey: 'k0' } })]);
    await waitFor('the first batch\'s announcement', async () => payloads.length === 1, 5000, 10);
    payloads.length = 0;
    await assert.rejects(s.record([
      makeItem({ fingerprint: 'fp-full', signal: { occurrenceKey: 'k1' } }),
      makeItem({ fingerprint: 'fp-kept-out' }),
      makeItem({ fingerprint: 'fp-refused' }),
    ]), /refused by the test/);
    assert.equal(await groupsNamed(['fp-kept-out', 'fp-refused']), 0, 'nothing of the failed batch was committed');
    assert.equal((await admin.query('SELECT count FROM error_groups WHERE fingerprint = $1', ['fp-full'])).rows[0].count, '1');

    // The same (only) connection records the next batch; its announcement is the first one heard.
    const [next] = await s.record([makeItem({ fingerprint: 'fp-next' })]);
    await waitFor('the next batch\'s announcement', async () => payloads.length > 0, 5000, 10);
    assert.deepEqual(payloads.map((p) => decodeChange(p)?.change), [{ groupIds: [next.groupId], remediationQueued: false }]);
  });

  it('a deadlock reported by the write still rolls back and retries the whole batch, which then counts once', async () => {
    // The first write deadlocks (a sequence is not rolled back, so only the first attempt sees 1).
    await admin.query(`CREATE SEQUENCE ks_test_once;
      CREATE FUNCTION ks_test_deadlock() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF nextval('ks_test_once') = 1 THEN RAISE EXCEPTION 'deadlock by the test' USING ERRCODE = '40P01'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER ks_test_deadlock BEFORE INSERT ON error_groups FOR EACH ROW EXECUTE FUNCTION ks_test_deadlock()`);
    const retries: unknown[] = [];
    const s = await open({ onRetry: (info) => retries.push(info) });
    const [r] = await s.record([makeItem({ fingerprint: 'fp-retried' })]);
    assert.deepEqual(retries, [{ code: '40P01', attempt: 1 }]);
    assert.equal(r.outcome, 'new-group');
    assert.equal((await s.getGroup(r.groupId))?.count, 1);
  });

  it('the announcement: every changed group in payloads under 8000 bytes, the queued flag once, nothing for a stale batch', async () => {
    const s = await open();
    const items = Array.from({ length: 450 }, (_, i) => makeItem({ fingerprint: `fp-${i}` }));
    items.push(makeItem({ fingerprint: 'fp-acting', classification: { remediation: restartPod() } }));
    const results = await s.record(items);
    await waitFor('two payloads', async () => payloads.length >= 2, 5000, 10);
    assert.equal(payloads.length, 2, '451 ids split at 400 per payload');
    for (const p of payloads) assert.ok(Buffer.byteLength(p) < 8000, `payload of ${Buffer.byteLength(p)} bytes`);
    const changes = payloads.map((p) => decodeChange(p)!);
    assert.ok(changes.every((c) => c.origin === s.origin), 'each payload names its origin, so the writer skips its own');
    assert.deepEqual(changes.flatMap((c) => c.change.groupIds).sort((a, b) => a - b), results.map((r) => r.groupId).sort((a, b) => a - b));
    assert.deepEqual(changes.map((c) => c.change.remediationQueued).sort(), [false, true], 'the flag rides on one payload');

    // A firing copy of a resolved key is stale: it changes nothing and announces nothing.
    await s.record([makeItem({ fingerprint: 'fp-0', signal: { occurrenceKey: 'key-fp-0', state: 'resolved', endsAt: T0 } })]);
    await waitFor('the resolution\'s payload', async () => payloads.length === 3, 5000, 10);
    const [stale] = await s.record([makeItem({ fingerprint: 'fp-0', receivedAt: T0 + MINUTE, signal: { occurrenceKey: 'key-fp-0' } })]);
    assert.equal(stale.outcome, 'stale');
    const [after] = await s.record([makeItem({ fingerprint: 'fp-after' })]);
    await waitFor('the next payload', async () => payloads.length === 4, 5000, 10);
    assert.deepEqual(decodeChange(payloads[3])?.change.groupIds, [after.groupId], 'the stale batch sent no payload before this one');
  });

  it('a new group that brings more occurrences than the cap in its first batch keeps the newest max rows', async () => {
    const s = await open({ maxOccurrences: 3 });
    const batch = Array.from({ length: 5 }, (_, i) => makeItem({ fingerprint: 'fp-burst', receivedAt: T0 + i * MINUTE,
      signal: { occurrenceKey: `k${i}`, message: `m${i}` } }));
    const [r] = await s.record(batch);
    const g = await s.getGroup(r.groupId, { occurrences: 100 });
    assert.equal(g?.count, 5);
    assert.deepEqual(g?.occurrences.map((o) => o.message), ['m4', 'm3', 'm2']);
    // And one more occurrence on the existing group: still three rows.
    await s.record([makeItem({ fingerprint: 'fp-burst', receivedAt: T0 + 9 * MINUTE, signal: { occurrenceKey: 'k9', message: 'm9' } })]);
    assert.deepEqual((await s.getGroup(r.groupId, { occurrences: 100 }))?.occurrences.map((o) => o.message), ['m9', 'm4', 'm3']);
  });

  it('the write\'s parameters, binary arrays, come back exactly: hostile text, NULLs, the integer ranges, empty arrays', async () => {
    const texts = ['plain', '', 'NULL', 'a"b', 'back\\slash\\', "it's", '{a,b}', 'x,y', 'line\nbreak', 'ünïcødé ✓ 𝄞', null, 'x'.repeat(5000), 'lone \uD800 surrogate'];
    const numbers = [0, -1, 1_700_000_000_000, -8.64e15, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, null];
    // A lone surrogate comes back as U+FFFD: UTF-8 has no encoding for it.
    const bin = await admin.query<{ t: Array<string | null>; n: Array<string | null>; i: number[]; e: string[]; eb: string[]; ei: number[] }>(
      'SELECT $1::text[] AS t, $2::bigint[] AS n, $3::int[] AS i, $4::text[] AS e, $5::bigint[] AS eb, $6::int[] AS ei',
      [binaryArray(texts, 't'), binaryArray(numbers, 'b'), binaryArray([0, 1, -(2 ** 31), 2 ** 31 - 1], 'i'),
        binaryArray([], 't'), binaryArray([], 'b'), binaryArray([], 'i')]);
    assert.deepEqual(bin.rows[0].t, [...texts.slice(0, -1), 'lone \uFFFD surrogate']);
    assert.deepEqual(bin.rows[0].n, numbers.map((x) => (x === null ? null : String(x))));
    assert.deepEqual(bin.rows[0].i, [0, 1, -(2 ** 31), 2 ** 31 - 1]);
    assert.deepEqual([bin.rows[0].e, bin.rows[0].eb, bin.rows[0].ei], [[], [], []]);
    // What is not an integer of the column's width fails loudly before anything is sent.
    for (const [v, kind] of [[1.5, 'b'], [Number.NaN, 'b'], [2 ** 53, 'b'], [2 ** 31, 'i'], ['7x', 'i'], ['', 'b'], ['12', 'b'], [true, 'i']] as const) {
      assert.throws(() => binaryArray([v], kind), TypeError, `${String(v)} as ${kind}`);
    }
  });
});
