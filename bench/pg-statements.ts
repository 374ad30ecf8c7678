// Where PostgreSQL spends its time under one side-by-side load (issue #12), statement by statement.
//   node bench/pg-statements.ts [new|same|new64] [seconds=10]
// Starts a throwaway PostgreSQL (initdb in a temporary directory, 127.0.0.1 on a free port, trust
// authentication for as long as it runs, durable commits as the system server has them) with
// pg_stat_statements, one `role: webhook` replica of the built server (`npm run build` first) on it,
// warms it up for 3 s, then drives wrk -t2 -c64 with the bench's alerts and prints the statements by
// total execution time: during the run, and what ran after it until the replica was idle (the
// leader's remediation decisions, the notifier). With them, the replica's group-commit batches over
// the run (from its /metrics): how many, their size and their time from start to answer, next to
// the backend's statement time per batch; the difference is round trips, thread hand-overs and
// waiting for a core. track=all: statements that triggers run (and the
// foreign-key checks) are listed too, marked "nested"; their time is also inside the statement that
// fired them, so the totals count top-level statements only. Times are wall time in the backend, not
// CPU. Needs root (the server runs as the postgres user), PostgreSQL's server binaries (Debian's
// postgresql package) and wrk.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Postgres, startPostgres } from '../test/cluster/real/postgres.ts';
import { databaseUrl } from '../test/ha/pg.ts';
import { freePort } from '../test/support/proc.ts';
import { INGEST_TOKEN, type ServerProc, startServer } from '../test/support/server-proc.ts';
import { type CommitTotals, commitsText, commitTotals, loadByKey, untilIdle, WRK } from './sidebyside.ts';
import { alertScript, benchDescription, errorsText, runWrk, wrkErrors } from './wrk.ts';

const load = loadByKey(process.argv[2] ?? 'new');
const seconds = Number(process.argv[3] ?? 10);
if (!Number.isInteger(seconds) || seconds <= 0) throw new Error(`seconds must be a positive integer, not ${process.argv[3]}`);
const description = benchDescription();

const dir = mkdtempSync(join(tmpdir(), 'ks-pg-statements-'));
chmodSync(dir, 0o755); // the server runs as the postgres user, below this directory
let postgres: Postgres | undefined;
let server: ServerProc | undefined;
let admin: pg.Client | undefined;
try {
  postgres = await startPostgres(join(dir, 'pg'), await freePort(), {
    fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on', shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all',
  });
  admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query('CREATE EXTENSION pg_stat_statements');
  await admin.query('CREATE DATABASE ks');
  mkdirSync(join(dir, 'server'));
  const url = databaseUrl('ks', postgres.url);
  server = await startServer({ dir: join(dir, 'server'), config: { role: 'webhook', store: { type: 'postgres', url } }, env: { LOG_LEVEL: 'error' } });
  const script = (tag: string) => alertScript(dir, { token: INGEST_TOKEN, batch: load.batch, path: '/api/v2/alerts', description, tag, same: load.same });
  await runWrk(`${server.url}/api/v2/alerts`, { script: script('warm'), seconds: 3, ...WRK });
  if (!Number.isFinite(await untilIdle(server.proc.child.pid!))) console.log('(the replica was still busy 120 s after the warm-up)');
  const commits = async (): Promise<CommitTotals> => commitTotals((await server!.client.get('/metrics')).text);
  const before = await commits();
  await admin.query('SELECT pg_stat_statements_reset()');
  const w = await runWrk(`${server.url}/api/v2/alerts`, { script: script('run'), seconds, ...WRK });
  const alerts = w.rps * load.batch * seconds;
  console.log(`${load.key}: ${w.rps.toFixed(0)} req/s for ${seconds} s, ${alerts.toFixed(0)} alerts; wrk errors: ${errorsText(wrkErrors(w))}`);
  const statementMs = await report(admin, `during the run (µs per alert: of the run's ${alerts.toFixed(0)} alerts)`, alerts);
  // Read after the report: the scrape runs statements of its own. A batch's time from its start to its
  // answer, next to what the statements took in the backends: the rest is the round trips, the thread
  // hand-overs and waiting for a core. The statements include the leader's and the notifier's.
  const after = await commits();
  console.log(`\ncommits during the run: ${commitsText(before, after)}`);
  const batches = after.batches - before.batches;
  if (batches > 0) console.log(`top-level statements (ingest, leader, notifier) per batch: ${(statementMs / batches).toFixed(2)} ms in the backends`);
  await admin.query('SELECT pg_stat_statements_reset()');
  const idle = await untilIdle(server.proc.child.pid!);
  await report(admin, `after the run, until the replica was idle (${Number.isFinite(idle) ? `${idle.toFixed(1)} s` : 'still busy after 120 s'}; µs per alert of the run)`, alerts);
} finally {
  await server?.stop();
  await admin?.end().catch(() => {});
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** Prints the statements by time; returns the top-level statements' total in ms. */
async function report(admin: pg.Client, title: string, alerts: number): Promise<number> {
  const ours = "dbid = (SELECT oid FROM pg_database WHERE datname = 'ks')";
  const total = (await admin.query(`SELECT coalesce(sum(total_exec_time), 0) AS ms, coalesce(sum(calls), 0) AS calls
    FROM pg_stat_statements WHERE ${ours} AND toplevel`)).rows[0];
  console.log(`\n== ${title}: top-level statements ${Number(total.ms).toFixed(0)} ms in ${total.calls} calls`);
  console.log('   calls    total ms  µs/alert  statement');
  const top = await admin.query(`SELECT calls, total_exec_time AS ms, toplevel, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q
    FROM pg_stat_statements WHERE ${ours} ORDER BY total_exec_time DESC LIMIT 15`);
  for (const r of top.rows) {
    const us = (Number(r.ms) * 1000 / alerts).toFixed(1);
    console.log(`${String(r.calls).padStart(8)}  ${Number(r.ms).toFixed(1).padStart(9)}  ${us.padStart(8)}  ${r.toplevel ? '' : '(nested) '}${r.q}`);
  }
  return Number(total.ms);
}
