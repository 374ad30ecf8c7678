// node bench/ha.ts: the Helm topology's numbers on this machine, written to docs/benchmarks.md.
//   (f) ingest alerts/s on PostgreSQL, one webhook replica;  (g) the same with three replicas writing
//   (h) dashboard GET /api/errors p50/p99 at 100k groups (its own read-only replica, as in Helm)
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadGroups } from './groups.ts';
import { testPki } from '../test/support/pki.ts';
import { ROOT, which } from '../test/support/proc.ts';
import { INGEST_TOKEN, READ_TOKEN, startServer, type ServerProc } from '../test/support/server-proc.ts';
import { postgresAvailable, TestDatabases } from '../test/ha/pg.ts';
import { DEBIAN_ALERTMANAGER, startAlertmanager } from './alertmanager.ts';
import { alertScript, runWrk, type WrkResult } from './wrk.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 100_000);
const sample = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/prometheus-v2-alerts.json'), 'utf8'));
// ≈1.5 KB per alert, like bench/run.ts, so the two sections compare.
const description = `${sample[0].annotations.description} `.repeat(4).slice(0, 1100).replace(/"/g, "'");

const dbs = new TestDatabases();

async function replicas(n: number, role: 'webhook' | 'dashboard', url: string): Promise<ServerProc[]> {
  return Promise.all(Array.from({ length: n }, () => startServer({
    config: { role, store: { type: 'postgres', url } }, env: { LOG_LEVEL: 'error', DATABASE_URL: url },
  })));
}

/**
 * wrk against every replica at once, summed. Each replica's script carries its own description, so
 * the replicas write distinct groups (wrk numbers alerts per process, which would otherwise collide
 * and measure HA de-duplication instead of writing).
 */
async function ingest(servers: ServerProc[], dir: string, batch: number): Promise<{ alerts: number; p99: number; errors: number }> {
  const runs: WrkResult[] = await Promise.all(servers.map((s, i) => {
    const own = join(dir, `replica-${i}`);
    mkdirSync(own, { recursive: true });
    const script = alertScript(own, { token: INGEST_TOKEN, batch, path: '/api/v2/alerts', description: `replica ${i}: ${description}` });
    return runWrk(`${s.url}/api/v2/alerts`, { script, seconds: SECONDS, connections: batch > 1 ? 8 : 16 });
  }));
  return {
    alerts: runs.reduce((sum, r) => sum + r.rps * batch, 0),
    p99: Math.max(...runs.map((r) => r.p99ms)),
    errors: runs.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
  };
}

/** Seconds until autovacuum has processed error_groups, or null after `timeoutMs`. */
async function waitForAutovacuum(url: string, timeoutMs: number): Promise<number | null> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  const started = performance.now();
  try {
    while (performance.now() - started < timeoutMs) {
      // One pass during the load is not enough: it must have covered (nearly) every inserted row.
      const r = await client.query(`SELECT autovacuum_count, n_ins_since_vacuum FROM pg_stat_user_tables
        WHERE relname = 'error_groups'`);
      const row = r.rows[0] as { autovacuum_count: string; n_ins_since_vacuum: string } | undefined;
      if (row && Number(row.autovacuum_count) > 0 && Number(row.n_ins_since_vacuum) < 1000) return (performance.now() - started) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    return null;
  } finally {
    await client.end();
  }
}

function getScript(dir: string): string {
  const file = join(dir, 'get.lua');
  writeFileSync(file, `wrk.headers["Authorization"] = "Bearer ${READ_TOKEN}"\n`);
  return file;
}

async function main() {
  // Everything shares the machine's cores, so a busy machine shows in every number: record how busy.
  const loadBefore = loadavg()[0];
  if (!which('wrk')) throw new Error('wrk is required (apt-get install wrk)');
  if (!(await postgresAvailable())) throw new Error('PostgreSQL is required (KS_TEST_PG_URL, default 127.0.0.1:5432)');
  const pki = await testPki();
  const dir = mkdtempSync(join(tmpdir(), 'ks-bench-ha-'));
  const pg = await (async () => {
    const c = await dbs.create();
    const { Client } = await import('pg');
    const client = new Client({ connectionString: c.url });
    await client.connect();
    const v = (await client.query('SHOW server_version')).rows[0].server_version as string;
    const sync = (await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit as string;
    await client.end();
    await c.drop();
    return `PostgreSQL ${v} (synchronous_commit=${sync}) on the same machine`;
  })();

  // The reference (issue #12): one memory-only Alertmanager, measured right after each ingest run with
  // the same wrk settings and bodies as one replica gets, so a busy moment shows in both.
  const am = await startAlertmanager(DEBIAN_ALERTMANAGER, pki);
  const results: Array<[string, string]> = [];
  let round = 0;
  for (const [label, n] of [['one replica', 1], ['three replicas', 3]] as const) {
    for (const batch of [1, 64]) {
      const db = await dbs.create();
      const servers = await replicas(n, 'webhook', db.url);
      const r = await ingest(servers, dir, batch);
      await Promise.all(servers.map((s) => s.stop()));
      await db.drop();
      const amScript = alertScript(dir, { token: INGEST_TOKEN, batch, path: '/api/v2/alerts', description, tag: `am${round++}` });
      const ref = await runWrk(`${am.url}/api/v2/alerts`, { script: amScript, seconds: SECONDS, connections: batch > 1 ? 8 : 16 });
      const amAlerts = ref.rps * batch;
      results.push([`ingest, ${label}, ${batch} alert${batch > 1 ? 's' : ''}/request`,
        `${r.alerts.toFixed(0)} alerts/s (p99 ${r.p99.toFixed(1)} ms, ${r.errors} errors); Alertmanager ${am.version} right after: `
        + `${amAlerts.toFixed(0)} alerts/s, ratio ${(r.alerts / amAlerts).toFixed(2)}× (target ${n === 1 ? '≥ 0.5×' : 'above one replica'})`]);
      console.log(results.at(-1)!.join(': '));
    }
  }
  await am.stop();
  // BENCH_GROUPS=0: the ingest runs only, printed and not written to docs/benchmarks.md.
  if (GROUPS === 0) {
    await dbs.dispose();
    return;
  }

  const db = await dbs.create();
  const writers = await replicas(3, 'webhook', db.url);
  const loadSeconds = await loadGroups({ urls: writers.map((w) => w.url), ca: pki.ca, count: GROUPS, description, name: { prefix: 'Load', word: 'load' } });
  await Promise.all(writers.map((s) => s.stop()));
  // A dashboard at 100k groups is normally looked at long after autovacuum has processed the load;
  // the visibility map it sets is what lets count(*) run index-only. Wait for it (bounded), and say.
  // On a machine shared with other test databases autovacuum may be minutes away: then run the VACUUM
  // it would have run, and say so.
  const vacuumed = await waitForAutovacuum(db.url, 60_000);
  if (vacuumed === null) {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query('VACUUM (ANALYZE) error_groups');
    await client.end();
  }
  results.push(['vacuum of error_groups after the load', vacuumed !== null ? `autovacuum, after ${vacuumed.toFixed(0)} s`
    : 'autovacuum not within 60 s: VACUUM (ANALYZE) run by the bench']);
  const [dashboard] = await replicas(1, 'dashboard', db.url);
  const total = (await dashboard.client.get('/api/stats', READ_TOKEN)).body.total as number;
  results.push([`load ${total} groups, 500-alert posts over three replicas`, `${(GROUPS / loadSeconds).toFixed(0)} alerts/s (${loadSeconds.toFixed(1)} s)`]);
  const get = getScript(dir);
  for (const [label, query] of [
    ['default listing (priority, lastSeen), page 1 of 50', ''],
    ['filtered (namespace + priority), page 1', '?namespace=ns-7&priority=P4'],
    ['text search q=, page 1', '?q=probe%2099'],
  ] as const) {
    const r = await runWrk(`${dashboard.url}/api/errors${query}`, { script: get, seconds: SECONDS, connections: 1 });
    results.push([`dashboard GET /api/errors at ${total} groups: ${label}`,
      `p50 ${r.p50ms.toFixed(1)} ms, p99 ${r.p99ms.toFixed(1)} ms (${r.rps.toFixed(0)} req/s, ${r.non2xx + r.errors} errors)`]);
    console.log(results.at(-1)!.join(': '));
  }
  // The opt-in pg_trgm index (src/store/postgres/search-optin-schema.ts): what q= gains with it.
  {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const t0 = performance.now();
    await client.query('CREATE INDEX error_group_search_trgm ON error_group_search USING gin (text gin_trgm_ops)');
    await client.end();
    const built = (performance.now() - t0) / 1000;
    const r = await runWrk(`${dashboard.url}/api/errors?q=probe%2099`, { script: get, seconds: SECONDS, connections: 1 });
    results.push([`dashboard GET /api/errors at ${total} groups: text search q= with the opt-in pg_trgm index (built in ${built.toFixed(1)} s)`,
      `p50 ${r.p50ms.toFixed(1)} ms, p99 ${r.p99ms.toFixed(1)} ms (${r.rps.toFixed(0)} req/s, ${r.non2xx + r.errors} errors)`]);
    console.log(results.at(-1)!.join(': '));
  }
  await dashboard.stop();
  await db.drop();
  await dbs.dispose();

  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${pg}, wrk 1 thread per replica, ${SECONDS} s per run, 1-minute load average ${loadBefore.toFixed(1)} before and ${loadavg()[0].toFixed(1)} after`;
  const table = ['| measurement | result |', '| --- | --- |', ...results.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const section = `## High availability (node bench/ha.ts)\n\nMeasured ${new Date().toISOString().slice(0, 10)} on ${machine}.\n`
    + 'Servers: the built `dist/main.js` as `role: webhook` replicas and one `role: dashboard` replica on one PostgreSQL database, '
    + 'TLS, default rules, ≈1.5 KB alerts. With three replicas, three wrk processes run at once (one per replica, distinct alerts) and their rates are summed; '
    + 'every process — replicas, wrk and PostgreSQL — shares the same cores, so on a small machine the three-replica figure measures CPU contention as much as the database. '
    + 'Dashboard latency is one client issuing requests back to back (wrk -c1).\n\n'
    + `${table}\n`;
  console.log(`\n${section}`);
  const doc = join(ROOT, 'docs/benchmarks.md');
  let text = '';
  try { text = readFileSync(doc, 'utf8'); } catch { text = '# Benchmarks\n'; }
  const re = /## High availability \(node bench\/ha\.ts\)[\s\S]*?(?=\n## |$)/;
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(doc, text);
}

main().then(() => process.exit(0), async (err) => {
  console.error(err);
  await dbs.dispose().catch(() => {});
  process.exit(1);
});
