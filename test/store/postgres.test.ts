// The PostgreSQL adapter: the shared Store contract on a real server, plus what only a shared,
// networked database has — concurrent migrations and writers, NOTIFY, read-only sessions, outages.
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { Client } from 'pg';
import { AppError, LoadError } from '../../src/domain/errors.ts';
import { PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/store.ts';
import { SCHEMA_VERSION } from '../../src/store/postgres/migrations.ts';
import { createPool, transaction, watchStalls, type Tx } from '../../src/store/postgres/session.ts';
import { arrayText, textArray } from '../../src/store/postgres/record.ts';
import type { RecordItem, StoreChange } from '../../src/store/types.ts';
import { postgresAvailable, TestDatabases, type TestDatabase } from '../ha/pg.ts';
import { requireComponent, waitFor } from '../support/proc.ts';
import { describeStoreContract } from './contract.ts';
import { assertRefusesWrites, makeItem, MINUTE, restartPod, T0 } from './factory.ts';

const dbs = new TestDatabases();
const isUnavailable = (err: unknown) => err instanceof AppError && err.code === 'store_unavailable' && err.status === 503;

describe('PostgresStore', function () {
  before(async function () {
    requireComponent(this, 'PostgreSQL at 127.0.0.1:5432 (KS_TEST_PG_URL)', await postgresAvailable());
  });
  after(() => dbs.dispose());

  describeStoreContract('postgres', async (opts) => {
    const db = await dbs.create({ migrated: true });
    const store = new PostgresStore({ url: db.url, ...opts, poolMax: 4 });
    return { store, cleanup: async () => { await store.close(); await db.drop(); } };
  });

  describe('PostgresStore (shared database)', () => {
    let db: TestDatabase;
    const opened: PostgresStore[] = [];
    const open = (o: Partial<PostgresStoreOptions> = {}) => {
      const s = new PostgresStore({ url: db.url, maxOccurrences: 10, poolMax: 3, ...o });
      opened.push(s);
      return s;
    };
    beforeEach(async () => { db = await dbs.create(); });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
      await db.drop();
    });

    it('three replicas migrating one empty database at once: one applies, all succeed', async () => {
      await Promise.all([open(), open(), open()].map((s) => s.migrate()));
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        // One row per migration, each applied once.
        assert.deepEqual((await c.query('SELECT version FROM kube_sentinel_schema ORDER BY version')).rows,
          Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
      } finally {
        await c.end();
      }
      await open().migrate();
    });

    it('refuses a database written by a newer schema, and a read-only session refuses an unmigrated one', async () => {
      await assert.rejects(open({ readOnly: true }).migrate(), (err: unknown) => err instanceof LoadError && /start a writer/.test(err.message));
      const writer = open();
      await writer.migrate();
      const c = new Client({ connectionString: db.url });
      await c.connect();
      await c.query('INSERT INTO kube_sentinel_schema (version) VALUES (99)');
      await c.end();
      await assert.rejects(writer.migrate(), /schema version 99 is newer/);
      await assert.rejects(open({ readOnly: true }).migrate(), /schema version 99 is newer/);
    });

    it('read-only mode sees the writer\'s commits and refuses every write', async () => {
      const writer = open();
      await writer.migrate();
      const reader = open({ readOnly: true });
      await reader.migrate();
      const [r] = await writer.record([makeItem()]);
      assert.equal((await reader.getGroup(r.groupId))?.count, 1);
      await assertRefusesWrites(reader, [['record([])', () => reader.record([])]]);
    });

    it('hostile text and timestamps are stored instead of failing the batch for everyone in it', async () => {
      const s = open();
      await s.migrate();
      const hostile = makeItem({
        fingerprint: 'fp-nul',
        expiresAt: Number.POSITIVE_INFINITY,
        signal: { message: 'bad\u0000byte', occurrenceKey: 'k\u0000', labels: { a: 'x\u0000y' }, endsAt: -1e300, state: 'resolved' },
      });
      const [h, ok] = await s.record([hostile, makeItem({ fingerprint: 'fp-ok' })]);
      const g = await s.getGroup(h.groupId);
      assert.equal(g?.message, 'bad\uFFFDbyte');
      assert.deepEqual(g?.labels, { a: 'x\u0000y' }, 'JSON documents keep the character escaped');
      assert.equal(g?.resolvedAt, new Date(-8.64e15).toISOString());
      assert.equal((await s.getGroup(ok.groupId))?.count, 1);
      const [again] = await s.record([hostile]);
      assert.equal(again.outcome, 'redelivery', 'the cleaned key still deduplicates');
    });

    it('values sent in an array\'s text form (the read\'s literals) come back exactly, and a batch of them deduplicates', async () => {
      const s = open();
      await s.migrate();
      const nasty = ['plain', '', 'NULL', 'a"b', 'back\\slash\\', "it's", "'); DROP TABLE error_groups; --", '{a,b}', 'x,y',
        'E\'\\x41\'', 'line\nbreak\ttab', 'ünïcødé ✓ 𝄞', '$1', '"', '\\', 'x'.repeat(5000)];
      const client = new Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ v: string[] }>(`SELECT ${textArray(nasty)} AS v`);
        assert.deepEqual(rows[0].v, nasty);
        // The helper's text form as parameters, with NULLs and numbers too (the write now sends binary
        // arrays: postgres-commit.test.ts).
        const texts = [...nasty, null];
        const numbers = [0, -1, 1_700_000_000_000, Number.MAX_SAFE_INTEGER, null];
        const typed = await client.query<{ t: Array<string | null>; n: Array<string | null> }>('SELECT $1::text[] AS t, $2::bigint[] AS n',
          [arrayText(texts), arrayText(numbers)]);
        assert.deepEqual(typed.rows[0].t, texts);
        assert.deepEqual(typed.rows[0].n, numbers.map((x) => (x === null ? null : String(x))));
        assert.deepEqual((await client.query<{ e: string[] }>('SELECT $1::text[] AS e', [arrayText([])])).rows[0].e, []);
      } finally {
        await client.end();
      }
      const batch = nasty.map((f) => makeItem({ fingerprint: f, signal: { occurrenceKey: `${f}|${f}` } }));
      const first = await s.record(batch);
      assert.deepEqual(first.map((r) => r.outcome), nasty.map(() => 'new-group'));
      const again = await s.record(batch);
      assert.deepEqual(again.map((r) => r.outcome), nasty.map(() => 'redelivery'), 'every key was read back and matched');
      assert.deepEqual(again.map((r) => r.groupId), first.map((r) => r.groupId));
    });

    it('an unreachable or closed database is store_unavailable (HTTP 503), quickly', async () => {
      const gone = new PostgresStore({ url: 'postgres://postgres@127.0.0.1:1/none', maxOccurrences: 5, connectTimeoutMs: 1000 });
      const started = Date.now();
      await assert.rejects(gone.ping(), isUnavailable);
      await assert.rejects(gone.record([makeItem()]), isUnavailable);
      assert.ok(Date.now() - started < 3000);
      await gone.close();
      const s = open();
      await s.migrate();
      await s.close();
      await assert.rejects(s.ping(), isUnavailable);
      await assert.rejects(s.record([makeItem()]), isUnavailable);
    });

    it('a connection whose answers stop arriving (a silently dropped path) fails as store_unavailable, not forever', async function () {
      this.timeout(20_000);
      // A loopback proxy to the database that, once frozen, swallows the server's replies.
      let frozen = false;
      const sockets = new Set<Socket>();
      const proxy = createServer((client) => {
        const upstream = connect(5432, '127.0.0.1');
        for (const s of [client, upstream]) { sockets.add(s); s.on('error', () => {}); s.on('close', () => { client.destroy(); upstream.destroy(); }); }
        client.on('data', (d) => upstream.write(d));
        upstream.on('data', (d) => { if (!frozen) client.write(d); });
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const url = new URL(db.url);
      url.host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const s = open({ url: url.toString(), statementTimeoutMs: 500, poolMax: 1 });
      try {
        await s.migrate(); // leaves its connection idle in the pool: the next statement is sent on it
        frozen = true;
        const started = Date.now();
        await assert.rejects(s.ping(), isUnavailable);
        const waited = Date.now() - started;
        assert.ok(waited >= 5_000 && waited < 8_000, `failed after ${waited} ms (bound: statement_timeout + 5 s, checked every second)`);
        frozen = false;
        await s.ping(); // a fresh connection works again
      } finally {
        for (const sock of sockets) sock.destroy();
        await new Promise((r) => proxy.close(r));
      }
    });

    it('a transaction with a longer statement timeout (housekeeping) is not cut off by the stall watch', async () => {
      // Statement timeout 100 ms, and silence cut after 100 + 200 ms, checked every 50 ms.
      const pool = createPool({ url: db.url, readOnly: false, poolMax: 2, statementTimeoutMs: 100, connectTimeoutMs: 3000, applicationName: 't' });
      const stalls = watchStalls(pool, 100, { everyMs: 50, slackMs: 200 });
      const retry = { attempts: 1, sleep: async () => {}, random: () => 0 };
      const sleepy = async (tx: Tx) => {
        await tx.query('SELECT pg_sleep(1)');
        return (await tx.query('SHOW statement_timeout')).rows[0].statement_timeout as string;
      };
      try {
        // A longer timeout the watch was not told of: the connection is given up as stalled.
        await assert.rejects(transaction(pool, retry, async (tx) => { await tx.query('SET LOCAL statement_timeout = 20000'); return sleepy(tx); }), isUnavailable);
        assert.equal(await transaction(pool, retry, sleepy, { statementTimeout: { ms: 20_000, stalls } }), '20s');
      } finally {
        stalls.stop();
        await pool.end();
      }
    });

    it('announces commits to other instances only, after commit, never for a rolled-back batch', async () => {
      const a = open();
      await a.migrate();
      const b = open({ readOnly: true });
      const seenByA: StoreChange[] = [];
      const seenByB: StoreChange[] = [];
      a.subscribe((c) => seenByA.push(c));
      b.subscribe((c) => seenByB.push(c));
      await waitFor('LISTEN connections', async () => a.listening && b.listening, 5000, 10);

      const bad = makeItem({ fingerprint: 'fp-bad' });
      (bad.signal.labels as Record<string, unknown>).self = bad.signal.labels;
      await assert.rejects(a.record([bad]));
      const [plain, acting] = await a.record([
        makeItem({ fingerprint: 'fp-1' }),
        makeItem({ fingerprint: 'fp-2', classification: { remediation: restartPod() } }),
      ]);
      await waitFor('notification', async () => seenByB.length >= 1, 5000, 10);
      assert.deepEqual(seenByB[0], { groupIds: [plain.groupId, acting.groupId], remediationQueued: true });

      const entry = { requestId: acting.remediationRequestId, groupId: acting.groupId, at: T0, rule: 'crashloop-backoff',
        action: 'restart-pod' as const, namespace: 'shop', target: 'Pod/web-1', outcome: 'acted' as const, reason: 'ok',
        message: 'x'.repeat(20_000), actor: 'leader-1', cooldownKey: 'k' };
      const auditId = await a.appendAudit(entry);
      await a.putSettings({ enabled: false, dryRun: true, maxActionsPerHour: 2 });
      await waitFor('audit and settings', async () => seenByB.some((c) => c.settings) && seenByB.some((c) => c.audit), 5000, 10);
      const audit = seenByB.find((c) => c.audit)?.audit?.[0];
      assert.equal(audit?.id, auditId);
      assert.equal(audit?.outcome, 'acted');
      assert.ok(audit!.message.length < 8000, 'long text is shortened to fit a NOTIFY payload');
      assert.deepEqual(seenByB.find((c) => c.settings)?.settings, { enabled: false, dryRun: true, maxActionsPerHour: 2 });
      assert.deepEqual(seenByA, [], 'a store never hears its own announcements');
    });

    it('the LISTEN connection comes back by itself after being killed, and says so', async () => {
      const a = open();
      await a.migrate();
      const b = open({ notifier: { backoff: { initialMs: 10, maxMs: 50 } } });
      const seen: StoreChange[] = [];
      b.subscribe((c) => seen.push(c));
      await waitFor('LISTEN', async () => b.listening, 5000, 10);
      const admin = new Client({ connectionString: db.url });
      await admin.connect();
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE '%(listen)' AND datname = $1", [db.name]);
      await admin.end();
      await waitFor('resync after reconnect', async () => seen.some((c) => c.remediationQueued && c.groupIds.length === 0), 5000, 10);
      const [r] = await a.record([makeItem()]);
      await waitFor('notifications again', async () => seen.some((c) => c.groupIds.includes(r.groupId)), 5000, 10);
    });

    it('six writers on overlapping fingerprints and HA-duplicated alerts: no deadlock, no retry, exact counts', async function () {
      this.timeout(30_000);
      await open().migrate();
      const FINGERPRINTS = 24;
      const KEYS = 25;
      const all: RecordItem[] = [];
      for (let f = 0; f < FINGERPRINTS; f++) {
        for (let k = 0; k < KEYS; k++) {
          all.push(makeItem({ fingerprint: `fp-${f}`, receivedAt: T0 + k * MINUTE, signal: { occurrenceKey: `fp-${f}/k-${k}` } }));
        }
      }
      let seed = 42;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const retries: unknown[] = [];
      const writers = Array.from({ length: 6 }, () => open({ poolMax: 2, onRetry: (info) => retries.push(info) }));
      // Every writer delivers every alert (as Alertmanager HA peers do), each in its own random order.
      const outcomes = await Promise.all(writers.map(async (w) => {
        const mine = [...all].sort(() => random() - 0.5);
        const results = [];
        for (let i = 0; i < mine.length; i += 40) results.push(...await w.record(mine.slice(i, i + 40)));
        return results;
      }));
      const flat = outcomes.flat();
      assert.deepEqual(retries, []);
      assert.equal(flat.reduce((n, r) => n + r.countDelta, 0), FINGERPRINTS * KEYS, 'each occurrence counted once');
      assert.equal(flat.filter((r) => r.outcome === 'new-group').length, FINGERPRINTS);
      assert.equal(flat.filter((r) => r.outcome === 'redelivery').length, 5 * FINGERPRINTS * KEYS);
      const { groups, total } = await writers[0].listGroups({ page: 1, pageSize: 100 });
      assert.equal(total, FINGERPRINTS);
      assert.deepEqual(new Set(groups.map((g) => g.count)), new Set([KEYS]));
      assert.equal((await writers[0].stats(T0 + 30 * MINUTE)).occurrencesLastHour, FINGERPRINTS * KEYS);
    });

    it('an old and a new leader overlapping: shared cooldown skips racing batch claims decide every request once', async function () {
      this.timeout(30_000);
      const [a, b] = [open(), open()];
      await a.migrate();
      const N = 300;
      for (let i = 0; i < N; i += 100) {
        await a.record(Array.from({ length: 100 }, (_, j) => makeItem({
          fingerprint: `fp-s${i + j}`, receivedAt: T0 + i + j, signal: { occurrenceKey: `s${i + j}`, pod: 'web-1' },
          // Each its own grace: alike for a cooldown skip, but not one request shared at ingest.
          classification: { remediation: { ...restartPod(), params: { grace: String(i + j) } } },
        })));
      }
      const now = T0 + MINUTE;
      const like = (await a.claimRequest('a', now, 60_000))!;
      const entry = (requestId: number | null, actor: string) => ({
        requestId, groupId: null, at: now, rule: like.rule, action: like.action, namespace: like.namespace, target: 'Pod/web-1',
        outcome: 'skipped' as const, reason: 'cooldown', message: 'cooldown', actor, cooldownKey: 'k',
      });
      const shared = async () => {
        for (let done = 1; done > 0;) done = (await a.skipAlike('a', { like: like.id, now, limit: 25, audit: entry(null, 'a') })).length;
      };
      const oneByOne = async () => {
        for (let claimed = await b.claimRequests('b', now, 60_000, 10); claimed.length > 0; claimed = await b.claimRequests('b', now, 60_000, 10)) {
          await b.finishDecided('b', claimed.map((r) => ({ id: r.id, audit: entry(r.id, 'b') })));
        }
      };
      await Promise.all([shared(), oneByOne(), shared(), oneByOne()]);
      const { entries, total } = await a.listHistory({ page: 1, pageSize: 500 });
      assert.equal(total, N - 1, 'every request but the one the skips are alike');
      assert.equal(new Set(entries.map((e) => e.requestId)).size, N - 1, 'each decided once');
      assert.ok(entries.some((e) => e.actor === 'a') && entries.some((e) => e.actor === 'b'), 'both took part');
      assert.equal((await a.listRequests({ state: 'done', page: 1, pageSize: 1 })).total, N - 1);
    });

    it('ingest shares a request another transaction holds (a claim in progress) without waiting for it', async function () {
      this.timeout(15_000);
      const a = open();
      await a.migrate();
      const item = (n: number) => makeItem({
        fingerprint: `fp-h${n}`, receivedAt: T0 + n, signal: { occurrenceKey: `h${n}`, pod: 'web-1' }, classification: { remediation: restartPod() },
      });
      const [first] = await a.record([item(0)]);
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query('BEGIN');
        await c.query('SELECT id FROM remediation_requests WHERE id = $1 FOR UPDATE', [first.remediationRequestId]);
        const [second] = await a.record([item(1)]);
        assert.equal(second.remediationRequestId, first.remediationRequestId);
        await c.query('COMMIT');
      } finally {
        await c.end();
      }
    });

    it('a batch of keys it recorded lately skips the shareable read with BEGIN, and reads them when a group needs it', async () => {
      const a = open();
      await a.migrate();
      // A Kubernetes Event: the same occurrence key, its count rising (each rise is a new occurrence).
      const event = (fingerprint: string, count: number) => makeItem({
        fingerprint, receivedAt: T0 + count, classification: { remediation: restartPod() },
        signal: { source: 'event', occurrenceKey: `ev-${fingerprint}`, occurrenceCount: count, pod: 'web-1' },
      });
      const [first] = await a.record([event('fp-e1', 1)]);
      assert.equal((await a.claimRequest('leader', T0 + MINUTE, 60_000))?.id, first.remediationRequestId, 'claimed: no longer its own pending');
      const [other] = await a.record([event('fp-e2', 1)]);
      const [again] = await a.record([event('fp-e1', 3)]);
      assert.equal(again.countDelta, 2);
      assert.equal(again.remediationRequestId, other.remediationRequestId, 'shares the request queued for its pod meanwhile');
    });

    it('once marked shared, a request is neither written nor locked by the batches that share it', async () => {
      const a = open();
      await a.migrate();
      const item = (n: number) => makeItem({
        fingerprint: `fp-x${n}`, receivedAt: T0 + n, signal: { occurrenceKey: `x${n}`, pod: 'web-1' }, classification: { remediation: restartPod() },
      });
      const [first] = await a.record([item(0)]);
      await a.record([item(1)]);
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        const row = async () => (await c.query('SELECT xmin::text, xmax::text, shared FROM remediation_requests WHERE id = $1',
          [first.remediationRequestId])).rows[0];
        const marked = await row();
        assert.equal(marked.shared, 1);
        const [later] = await a.record([item(2)]);
        assert.equal(later.remediationRequestId, first.remediationRequestId);
        assert.deepEqual(await row(), marked, 'no new row version, no lock left behind');
      } finally {
        await c.end();
      }
    });

    it('a request retargeted to another pod while a shared cooldown skip waits for its lock is not skipped', async () => {
      const a = open();
      await a.migrate();
      const item = (n: number) => makeItem({
        fingerprint: `fp-r${n}`, receivedAt: T0 + n, signal: { occurrenceKey: `r${n}`, pod: 'web-1' },
        classification: { remediation: { ...restartPod(), params: { grace: String(n) } } }, // alike, not shared
      });
      await a.record([item(0)]);
      const [y] = await a.record([item(1)]);
      const like = (await a.claimRequest('a', T0 + MINUTE, 60_000))!;
      // Ingest's retarget, as another transaction: it holds the row's lock while the skip starts.
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query('BEGIN');
        await c.query("UPDATE remediation_requests SET pod = 'web-9' WHERE id = $1", [y.remediationRequestId]);
        const skipped = a.skipAlike('a', { like: like.id, now: T0 + MINUTE, limit: 10, audit: {
          requestId: null, groupId: null, at: T0 + MINUTE, rule: like.rule, action: like.action, namespace: like.namespace, target: 'Pod/web-1',
          outcome: 'skipped', reason: 'cooldown', message: 'cooldown', actor: 'a', cooldownKey: 'k',
        } });
        await new Promise((r) => setTimeout(r, 300));
        await c.query('COMMIT');
        assert.deepEqual(await skipped, [], 'it no longer names the pod the skip is about');
      } finally {
        await c.end();
      }
      const after = (await a.getRequest(y.remediationRequestId!))!;
      assert.deepEqual([after.state, after.pod], ['pending', 'web-9']);
    });
  });
});
