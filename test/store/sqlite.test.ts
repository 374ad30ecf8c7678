import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AppError, LoadError } from '../../src/domain/errors.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { getGroup } from '../../src/store/sqlite/queries.ts';
import { Statements } from '../../src/store/sqlite/statements.ts';
import { MIGRATIONS, migrateTo } from '../../src/store/sqlite/migrations.ts';
import { claimCandidates } from '../../src/store/claim-order-schema.ts';
import { describeStoreContract } from './contract.ts';
import { assertRefusesWrites, makeItem, MINUTE, T0 } from './factory.ts';

function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ks-store-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describeStoreContract('sqlite', async (opts) => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteStore({ path: join(dir, 'db', 'ks.db'), ...opts });
  return { store, cleanup: async () => { await store.close(); cleanup(); } };
});

describe('SqliteStore (file behaviour)', () => {
  let dir: string;
  let cleanup: () => void;
  let path: string;
  const open = (opts: { readOnly?: boolean } = {}) => new SqliteStore({ path, maxOccurrences: 10, now: () => T0, ...opts });

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    path = join(dir, 'ks.db');
  });
  afterEach(() => cleanup());

  it('a second writer on the same file fails naming the lock file and the holder', async () => {
    const first = open();
    try {
      assert.throws(() => open(), (err: unknown) => {
        assert.ok(err instanceof LoadError);
        assert.equal(err.file, `${path}.lock`);
        assert.match(err.message, new RegExp(`in use by process ${process.pid} on .+ \\(since ${new Date(T0).toISOString()}\\)`));
        assert.match(err.message, /store\.type: postgres/);
        return true;
      });
    } finally {
      await first.close();
    }
    const again = open();
    await again.close();
  });

  it('another live process holding the lock keeps us out; once it dies we take over', async function () {
    this.timeout(10_000);
    // The child takes the lock exactly as a second kube-sentinel would, reports, then waits to be killed.
    const script = `
      import { SqliteStore } from ${JSON.stringify(new URL('../../src/store/sqlite/store.ts', import.meta.url).href)};
      new SqliteStore({ path: ${JSON.stringify(path)}, maxOccurrences: 5 });
      console.log('locked');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve(); });
        child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
      });
      assert.throws(() => open(), new RegExp(`in use by process ${child.pid} `));
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL'); // no cleanup runs: the kernel alone releases the lock
      await exited;
    }
    const store = open();
    await store.migrate();
    await store.close();
  });

  it('keeps data across close and reopen', async () => {
    const a = open();
    await a.migrate();
    const [r] = await a.record([makeItem({ signal: { occurrenceKey: 'k1' } })]);
    await a.putSettings({ enabled: true, dryRun: true, maxActionsPerHour: 3 });
    await a.close();

    const b = open();
    await b.migrate();
    assert.equal((await b.getGroup(r.groupId))?.count, 1);
    const [again] = await b.record([makeItem({ receivedAt: T0 + MINUTE, signal: { occurrenceKey: 'k1' } })]);
    assert.equal(again.outcome, 'redelivery', 'dedup memory survives a restart');
    assert.deepEqual(await b.getSettings(), { enabled: true, dryRun: true, maxActionsPerHour: 3, requireApproval: false });
    await b.close();
  });

  it('runs in WAL mode', async () => {
    const s = open();
    await s.migrate();
    const db = new DatabaseSync(path, { readOnly: true });
    assert.deepEqual({ ...db.prepare('PRAGMA journal_mode').get() }, { journal_mode: 'wal' });
    db.close();
    await s.close();
  });

  it('read-only mode needs no lock, sees the writer\'s commits and refuses every write', async () => {
    const writer = open();
    await writer.migrate();
    const reader = open({ readOnly: true });
    try {
      await reader.migrate();
      const [r] = await writer.record([makeItem()]);
      assert.equal((await reader.getGroup(r.groupId))?.count, 1);
      await assertRefusesWrites(reader);
      assert.equal((await writer.getGroup(r.groupId))?.count, 1);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('a read-only session refuses an unmigrated database instead of guessing', async () => {
    const writer = open();
    const reader = open({ readOnly: true });
    await assert.rejects(reader.migrate(), (err: unknown) => err instanceof LoadError && /start a writer/.test(err.message));
    await reader.close();
    await writer.close();
  });

  it('upgrades a version-5 database: inline reasons and full occurrence rows still read the same', async () => {
    const db = new DatabaseSync(path);
    migrateTo(db, 5);
    const why = { matched: 'crashloop-backoff', tried: [{ rule: 'oom-killed', failed: 'pattern' }] };
    db.prepare(`INSERT INTO error_groups (id, fingerprint, source, priority, rule, status, title, message, namespace,
      pod, container, workload, labels, count, first_seen, last_seen, why) VALUES (7, 'fp-old', 'alert', 'P1',
      'crashloop-backoff', 'firing', 't', 'old text', 'shop', 'web', 'api', 'Deployment/web', '{"v":"1"}', 1, ?, ?, ?)`)
      .run(T0, T0, JSON.stringify(why));
    db.prepare(`INSERT INTO occurrences (group_id, at, channel, message, count, labels)
      VALUES (7, ?, 'alertmanager', 'old text', 1, '{"v":"1"}')`).run(T0);
    db.close();
    const s = open();
    await s.migrate();
    const before = await s.getGroup(7);
    assert.deepEqual([before?.why, before?.occurrences.map((o) => [o.message, o.labels])], [why, [['old text', { v: '1' }]]]);
    await s.record([makeItem({ fingerprint: 'fp-old', receivedAt: T0 + MINUTE, signal: { occurrenceKey: 'k2', message: 'new text', labels: { v: '2' } } })]);
    const after = await s.getGroup(7);
    assert.deepEqual(after?.occurrences.map((o) => [o.message, o.labels]), [['new text', { v: '2' }], ['old text', { v: '1' }]]);
    assert.deepEqual(after?.why, makeItem().classification.reason);
    await s.close();
  });

  it('a detail read is one snapshot: a batch committed between its statements shows no newer occurrence with the older text', async () => {
    const writer = open();
    await writer.migrate();
    const item = (key: string, message: string, v: string) => makeItem({ fingerprint: 'fp', signal: { occurrenceKey: key, message, labels: { v } } });
    const [r] = await writer.record([item('k1', 'first', '1')]);
    // The reader's connection; the writer commits a batch that changes the group's text just before the
    // occurrences are read (SqliteStore.record() runs and commits synchronously).
    const db = new DatabaseSync(path, { readOnly: true });
    db.exec('PRAGMA query_only = ON'); // as the store's reader connection
    let raced: Promise<unknown> | null = null;
    const racy = new (class extends Statements {
      override get(sql: string) {
        if (!raced && sql.includes('FROM occurrences')) raced = writer.record([item('k2', 'second', '2')]);
        return super.get(sql);
      }
    })({ db });
    try {
      const seen = getGroup(racy, r.groupId, 5);
      assert.ok(raced);
      await raced;
      assert.deepEqual([seen?.message, seen?.occurrences.map((o) => [o.message, o.labels.v])], ['first', [['first', '1']]]);
      const now = getGroup(new Statements({ db }), r.groupId, 5);
      assert.deepEqual(now?.occurrences.map((o) => [o.message, o.labels.v]), [['second', '2'], ['first', '1']]);
    } finally {
      db.close();
      await writer.close();
    }
  });

  it('expiry and the remediation claim walk their indexes: no full scan, no sort of the backlog', () => {
    // Both run on the single writer (expiry every 30 s, a claim per request the leader works): a scan
    // or a sort there costs every ingest commit behind it in proportion to the table (issue #12).
    const db = new DatabaseSync(':memory:');
    try {
      migrateTo(db, MIGRATIONS.length);
      const plan = (sql: string, ...args: number[]) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
      const expiry = plan("UPDATE error_groups SET status = 'resolved', resolved_at = expires_at WHERE status = 'firing' AND expires_at < ?", T0);
      assert.match(expiry, /USING INDEX error_groups_expiry/);
      const claim = plan(claimCandidates('?1', '64', 'sqlite'), T0);
      assert.match(claim, /remediation_requests_claim_order/);
      assert.doesNotMatch(claim, /TEMP B-TREE/);
    } finally {
      db.close();
    }
  });

  it('an outcome check scheduled before V13 (no other groups column) is read as watching its own group only', async () => {
    const db = new DatabaseSync(path);
    migrateTo(db, MIGRATIONS.length - 1);
    db.prepare(`INSERT INTO remediation_verifications (request_id, group_id, rule, action, namespace, target, cooldown_key,
      expect, group_count, acted_at, deadline, state) VALUES (1, 2, 'crashloop', 'restart-pod', 'shop', 'Deployment/web', 'k',
      '{"kind":"pod-deleted","podName":"web-1","podUid":"u1"}', 3, ?, ?, 'open')`).run(T0, T0 + 60_000);
    db.close();
    const s = open();
    try {
      await s.migrate();
      const [v] = await s.openVerifications();
      assert.deepEqual([v.groupId, v.groupCount, v.others], [2, 3, []]);
    } finally {
      await s.close();
    }
  });

  it('refuses a database written by a newer schema, as a writer and read-only alike', async () => {
    const db = new DatabaseSync(path);
    db.exec('PRAGMA user_version = 99');
    db.close();
    for (const s of [open(), open({ readOnly: true })]) {
      await assert.rejects(s.migrate(), /schema version 99 is newer than this release understands/);
      await s.close();
    }
  });

  it('storage failures surface as store_unavailable (HTTP 503)', async () => {
    const s = open();
    await s.migrate();
    await s.close();
    await assert.rejects(s.ping(), (err: unknown) => err instanceof AppError && err.code === 'store_unavailable');
    await assert.rejects(s.record([makeItem()]), (err: unknown) => err instanceof AppError && err.status === 503);
  });

});
