// The hostile-input suite: the corpus in hostile-corpus.ts against the real listeners, on both stores
// and both roles. Every case gets its documented 4xx with the JSON envelope (never a 5xx, never a
// hang, never an error-level log line), and a known alert's count is the same afterwards.
import assert from 'node:assert/strict';
import { PostgresStore } from '../../src/store/postgres/store.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import type { Store } from '../../src/store/types.ts';
import { postgresAvailable, TestDatabases } from '../ha/pg.ts';
import { requireComponent } from '../support/proc.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostileCorpus, type HostileCase } from './hostile-corpus.ts';
import { http, rawRequest, type RawReply } from './raw-client.ts';
import { TOKENS, startStack, type Stack } from './stack.ts';

const KNOWN = '[{"labels":{"alertname":"KubePodCrashLooping","namespace":"known","pod":"web-1"},"annotations":{"summary":"CrashLoopBackOff"}}]';
const dbs = new TestDatabases();

/** What the read-only dashboard role answers instead, for the cases that would write. */
function forDashboard(c: HostileCase): [number, string] {
  const settingsWrite = c.name.startsWith('POST /api/settings');
  if (c.kind === 'ingest-body' || c.kind === 'admission-body' || c.kind === 'admin-write' || settingsWrite) return [403, 'read_only_role'];
  return [c.status, c.code];
}

async function knownState(s: Stack): Promise<{ total: number; count: number }> {
  const list = await rawRequest(http('GET', '/api/errors?namespace=known', [`Authorization: Bearer ${TOKENS.read}`]), { port: s.port });
  const all = await rawRequest(http('GET', '/api/errors?page_size=500', [`Authorization: Bearer ${TOKENS.read}`]), { port: s.port });
  return { total: all.json.total, count: list.json.errors[0]?.count ?? 0 };
}

function runCorpus(label: string, role: 'all' | 'dashboard', makeStore: () => Promise<{ store: Store; drop(): Promise<void> }>) {
  describe(`${label}, role ${role}`, function () {
    this.timeout(120_000);
    let s: Stack;
    let drop: () => Promise<void>;
    let before0: { total: number; count: number };
    before(async function () {
      if (label === 'PostgreSQL') requireComponent(this, 'PostgreSQL at 127.0.0.1:5432 (KS_TEST_PG_URL)', await postgresAvailable());
      const made = await makeStore();
      drop = made.drop;
      if (role === 'dashboard') {
        // The dashboard reads what a webhook replica wrote: seed through a writer on the same store.
        const writer = await startStack({ store: made.store, config: { web: { body_limit: '64kb' } } });
        await rawRequest(http('POST', '/api/v2/alerts', [`Authorization: Bearer ${TOKENS.ingest}`, 'Content-Type: application/json'], KNOWN), { port: writer.port });
        await writer.t.app.close();
        s = await startStack({ config: { role, web: { body_limit: '64kb' } }, store: made.store });
      } else {
        s = await startStack({ store: made.store, config: { web: { body_limit: '64kb' } } });
        const r = await rawRequest(http('POST', '/api/v2/alerts', [`Authorization: Bearer ${TOKENS.ingest}`, 'Content-Type: application/json'], KNOWN), { port: s.port });
        assert.equal(r.status, 200);
      }
      before0 = await knownState(s);
      assert.equal(before0.count, 1);
    });
    after(async () => { await s?.close(); await drop?.(); });

    it('answers every hostile case with its documented 4xx, the envelope and the security headers', async () => {
      const corpus = hostileCorpus();
      assert.ok(corpus.length >= 200, `corpus has ${corpus.length} cases`);
      const wrong: string[] = [];
      const statuses = new Map<number, number>();
      for (const c of corpus) {
        const [status, code] = role === 'dashboard' ? forDashboard(c) : [c.status, c.code];
        let r: RawReply;
        try {
          r = await rawRequest(c.bytes({ main: s.port, admission: s.admissionPort }), { port: c.listener === 'admission' ? s.admissionPort : s.port, timeoutMs: 5000 });
        } catch (err) {
          wrong.push(`${c.name}: ${(err as Error).message}`);
          continue;
        }
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        const envelope = r.json?.error && typeof r.json.error.message === 'string' && Array.isArray(r.json.error.details);
        if (r.status !== status || r.json?.error?.code !== code || !envelope) {
          wrong.push(`${c.name}: got ${r.status} ${r.body.slice(0, 160)}; want ${status} ${code}`);
        }
        const secured = r.headers['strict-transport-security'] === 'max-age=31536000' && r.headers['x-content-type-options'] === 'nosniff'
          && r.headers['cache-control'] === 'no-store';
        if (!secured) wrong.push(`${c.name}: missing security headers ${JSON.stringify(r.headers)}`);
      }
      assert.deepEqual(wrong, [], `${wrong.length} of ${corpus.length} cases answered otherwise`);
      assert.ok([...statuses.keys()].every((st) => st >= 400 && st < 500), JSON.stringify([...statuses]));
    });

    it('changed nothing: the known alert\'s count and the number of groups are the same', async () => {
      assert.deepEqual(await knownState(s), before0);
    });

    it('logged no error (and no stack trace) for any of it', () => {
      const bad = s.t.logs.filter((l) => /"level":"(error|fatal)"/.test(l) || l.includes('"stack"'));
      assert.deepEqual(bad, []);
    });
  });
}

describe('hostile input', () => {
  after(() => dbs.dispose());
  const sqlite = async () => ({ store: new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'ks-hostile-')), 'ks.db'), maxOccurrences: 20 }) as Store, drop: async () => {} });
  const postgres = async () => {
    const db = await dbs.create({ migrated: true });
    return { store: new PostgresStore({ url: db.url, maxOccurrences: 20, poolMax: 4 }) as Store, drop: () => db.drop() };
  };
  runCorpus('SQLite', 'all', sqlite);
  runCorpus('PostgreSQL', 'all', postgres);
  runCorpus('SQLite', 'dashboard', sqlite);
  runCorpus('PostgreSQL', 'dashboard', postgres);
});
