// node bench/ha.ts: the Helm topology's read numbers on this machine, written to docs/benchmarks.md:
// loading 100k groups over three webhook replicas, then dashboard GET /api/errors p50/p99 at 100k
// groups (its own read-only replica, as in Helm). Ingest next to Alertmanager on PostgreSQL, one
// replica and three, is part of `npm run bench` (bench/pg-sidebyside.ts).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadGroups } from './groups.ts';
import { testPki } from '../test/support/pki.ts';
import { ROOT, which } from '../test/support/proc.ts';
import { READ_TOKEN } from '../test/support/server-proc.ts';
import { postgresAvailable, TestDatabases } from '../test/ha/pg.ts';
import { postgresDescription, replicas } from './pg-sidebyside.ts';
import { benchDescription, errorsText, runWrk, wrkErrors } from './wrk.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 100_000);
const description = benchDescription();

const dbs = new TestDatabases();

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
  const pg = `${await postgresDescription(dbs)} on the same machine`;
  const results: Array<[string, string]> = [];

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
  results.unshift([`load ${total} groups, 500-alert posts over three replicas`, `${(GROUPS / loadSeconds).toFixed(0)} alerts/s (${loadSeconds.toFixed(1)} s)`]);
  const get = getScript(dir);
  for (const [label, query] of [
    ['default listing (priority, lastSeen), page 1 of 50', ''],
    ['filtered (namespace + priority), page 1', '?namespace=ns-7&priority=P4'],
    ['text search q=, page 1', '?q=probe%2099'],
  ] as const) {
    const r = await runWrk(`${dashboard.url}/api/errors${query}`, { script: get, seconds: SECONDS, connections: 1 });
    results.push([`dashboard GET /api/errors at ${total} groups: ${label}`,
      `p50 ${r.p50ms.toFixed(1)} ms, p99 ${r.p99ms.toFixed(1)} ms (${r.rps.toFixed(0)} req/s, wrk errors: ${errorsText(wrkErrors(r))})`]);
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
      `p50 ${r.p50ms.toFixed(1)} ms, p99 ${r.p99ms.toFixed(1)} ms (${r.rps.toFixed(0)} req/s, wrk errors: ${errorsText(wrkErrors(r))})`]);
    console.log(results.at(-1)!.join(': '));
  }
  await dashboard.stop();
  await db.drop();
  await dbs.dispose();

  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${pg}, wrk -t1 -c1, ${SECONDS} s per run, 1-minute load average ${loadBefore.toFixed(1)} before and ${loadavg()[0].toFixed(1)} after`;
  const table = ['| measurement | result |', '| --- | --- |', ...results.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const section = `## High availability (node bench/ha.ts)\n\nMeasured ${new Date().toISOString().slice(0, 10)} on ${machine}.\n`
    + 'Servers: the built `dist/main.js` as three `role: webhook` replicas (the load) and one `role: dashboard` replica on one PostgreSQL database, '
    + 'TLS, default rules, ≈1.1 KB alerts. Dashboard latency is one client issuing requests back to back (wrk -c1). '
    + 'Ingest next to Alertmanager on PostgreSQL is in "Side by side with Alertmanager, PostgreSQL" (`npm run bench`).\n\n'
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
