// Where a PostgreSQL record() batch spends its time (issue #12): statements (round trips) per batch
// and wall time per statement, for batches of 1, 20, 64 and 500 new alerts and of re-sent ones, on a
// database that already holds `groups` groups; per alert, the CPU of the store's PostgreSQL backends
// and of this process (the store's work, which a server runs on its store thread) and the WAL written. Items are
// built like the server builds them, before the clock starts.
//   node bench/pg-record.ts [groups=20000]
import pg from 'pg';
import { loadRulesFile } from '../src/classify/load.ts';
import { defaultRulesPath } from '../src/classify/defaults.ts';
import { parseAlerts } from '../src/ingest/alerts.ts';
import { toRecordItem } from '../src/pipeline.ts';
import { PostgresStore } from '../src/store/postgres/store.ts';
import type { RecordItem } from '../src/store/types.ts';
import { TestDatabases } from '../test/ha/pg.ts';
import { cpuMs } from './cpu.ts';
import { benchDescription } from './wrk.ts';

const GROUPS = Number(process.argv[2] ?? 20_000);
const description = benchDescription();
const rules = await loadRulesFile(defaultRulesPath());

function items(names: string[], now: number): RecordItem[] {
  const parsed = parseAlerts(names.map((name) => ({
    labels: { alertname: name, namespace: 'bench', pod: 'web-7d9f8b6c5-x2k4q', container: 'app', severity: 'warning' },
    annotations: { summary: 'bench alert', description },
    startsAt: '2026-11-21T22:27:44.426Z', endsAt: '2099-01-01T00:00:00Z', generatorURL: 'http://prometheus:9090/graph',
  })), now);
  if (!('signals' in parsed)) throw new Error('parse failed');
  return parsed.signals.map((s) => toRecordItem(s, rules, now)!);
}

// Every statement a pooled client sends, timed from send to answer, keyed by its first words.
const timings = new Map<string, { ms: number; n: number }>();
let measuring = false;
const query = pg.Client.prototype.query as (...a: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...a: unknown[]) {
  const text = typeof a[0] === 'string' ? a[0] : (a[0] as { text?: string }).text ?? '';
  const out = query.apply(this, a);
  if (measuring && out instanceof Promise) {
    const t0 = performance.now();
    const key = text.replace(/\s+/g, ' ').slice(0, 56);
    void out.then(() => {
      const e = timings.get(key) ?? { ms: 0, n: 0 };
      e.ms += performance.now() - t0;
      e.n++;
      timings.set(key, e);
    }, () => {});
  }
  return out;
} as typeof pg.Client.prototype.query;

const dbs = new TestDatabases();
const db = await dbs.create({ migrated: true });
const store = new PostgresStore({ url: db.url, maxOccurrences: 50 });
const admin = new pg.Client({ connectionString: db.url });
await admin.connect();
/** CPU time in ms of this database's backends other than the admin connection's (Linux /proc). */
async function backendCpuMs(): Promise<number> {
  const pids = (await admin.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)).rows;
  return pids.reduce((ms, { pid }) => ms + cpuMs(pid), 0);
}
const walLsn = async (): Promise<string> => (await admin.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
let n = 0;
let now = Date.parse('2026-12-06T00:00:00Z');
const fresh = (k: number): string[] => Array.from({ length: k }, () => `Bench_pg_${n++}`);
try {
  while (n < GROUPS) await store.record(items(fresh(500), now += 10));
  for (const [label, size, resend] of [['1 new', 1, false], ['20 new', 20, false], ['64 new', 64, false], ['500 new', 500, false], ['1 re-sent', 1, true], ['64 re-sent', 64, true]] as const) {
    // Enough alerts per size for the backends' 10 ms CPU ticks to add up.
    const rounds = Math.max(5, Math.min(400, Math.ceil(4000 / size)));
    const batches = Array.from({ length: rounds }, () => items(fresh(size), now += 10));
    if (resend) for (const b of batches) await store.record(b);
    const run = resend ? batches.map((b) => items(b.map((i) => i.signal.title), now += 10)) : batches;
    timings.clear();
    const [cpu0, lsn0, own0] = [await backendCpuMs(), await walLsn(), process.cpuUsage()];
    measuring = true;
    const t0 = performance.now();
    for (const b of run) await store.record(b);
    const ms = (performance.now() - t0) / rounds;
    measuring = false;
    const own = process.cpuUsage(own0);
    const [cpu1, lsn1] = [await backendCpuMs(), await walLsn()];
    const wal = Number((await admin.query('SELECT pg_wal_lsn_diff($1, $2) AS d', [lsn1, lsn0])).rows[0].d);
    const alerts = rounds * size;
    await new Promise((r) => setTimeout(r, 10));
    const statements = [...timings.values()].reduce((s, e) => s + e.n, 0) / rounds;
    console.log(`${label}: ${ms.toFixed(2)} ms per batch, ${statements.toFixed(1)} statements per batch; per alert: backends `
      + `${((cpu1 - cpu0) * 1000 / alerts).toFixed(0)} µs CPU, this process ${((own.user + own.system) / alerts).toFixed(0)} µs CPU, WAL ${(wal / alerts / 1024).toFixed(2)} KiB`);
    for (const [k, e] of [...timings].sort((a, b) => b[1].ms - a[1].ms)) {
      console.log(`  ${(e.ms / rounds).toFixed(2).padStart(7)} ms  ${(e.n / rounds).toFixed(1).padStart(4)}×  ${k}`);
    }
  }
} finally {
  await admin.end();
  await store.close();
  await db.drop();
  await dbs.dispose();
}
