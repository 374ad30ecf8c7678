// Kube Sentinel on PostgreSQL next to Alertmanager (issue #12), in `npm run bench`: the same three
// loads, wrk settings and bodies as the SQLite side-by-side (bench/sidebyside.ts), against one
// `role: webhook` replica and against three on one database, each run followed or preceded by
// Alertmanager (memory only) with the same settings, alternating who goes first per round. Every load
// gets a fresh database. With three replicas the 64 connections are split over three wrk processes,
// one per replica, each sending its own alerts (wrk numbers alerts per process, so shared bodies would
// collide and measure HA de-duplication rather than writing); their rates are summed.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INGEST_TOKEN, startServer, type ServerProc } from '../test/support/server-proc.ts';
import type { TestDatabases } from '../test/ha/pg.ts';
import { DEBIAN_ALERTMANAGER, startAlertmanager } from './alertmanager.ts';
import { LOADS, range, WRK, type Load } from './sidebyside.ts';
import { alertScript, runWrk, type WrkResult } from './wrk.ts';

/** `n` replicas of the built server with one role on one PostgreSQL database. */
export async function replicas(n: number, role: 'webhook' | 'dashboard', url: string): Promise<ServerProc[]> {
  return Promise.all(Array.from({ length: n }, () => startServer({
    config: { role, store: { type: 'postgres', url } }, env: { LOG_LEVEL: 'error', DATABASE_URL: url },
  })));
}

/** "PostgreSQL 15.20 (synchronous_commit=on)": the server the databases of `dbs` live on. */
export async function postgresDescription(dbs: TestDatabases): Promise<string> {
  const c = await dbs.create();
  const { Client } = await import('pg');
  const client = new Client({ connectionString: c.url });
  await client.connect();
  try {
    const v = (await client.query('SHOW server_version')).rows[0].server_version as string;
    const sync = (await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit as string;
    return `PostgreSQL ${v} (synchronous_commit=${sync})`;
  } finally {
    await client.end();
    await c.drop();
  }
}

/** 64 connections over `n` wrk processes: [22, 21, 21] for three. */
const split = (n: number): number[] => Array.from({ length: n }, (_, i) => Math.floor(WRK.connections / n) + (i < WRK.connections % n ? 1 : 0));

interface Run { alerts: number; p99: number; errors: number }

async function ingest(servers: ServerProc[], dir: string, load: Load, description: string, tag: string, seconds: number): Promise<Run> {
  const connections = split(servers.length);
  const runs: WrkResult[] = await Promise.all(servers.map((s, i) => {
    const own = join(dir, `replica-${i}`);
    mkdirSync(own, { recursive: true });
    const script = alertScript(own, { token: INGEST_TOKEN, batch: load.batch, same: load.same, path: '/api/v2/alerts', description: `replica ${i}: ${description}`, tag });
    // One replica gets exactly the SQLite side-by-side's settings; three share its 64 connections.
    const shape = servers.length === 1 ? WRK : { threads: 1, connections: connections[i] };
    return runWrk(`${s.url}/api/v2/alerts`, { script, seconds, ...shape });
  }));
  return {
    alerts: runs.reduce((sum, r) => sum + r.rps * load.batch, 0),
    p99: Math.max(...runs.map((r) => r.p99ms)),
    errors: runs.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
  };
}

export interface PgSideBySide {
  rounds: number;
  amVersion: string;
  /** Per load and topology: alerts/s per round for Kube Sentinel and the Alertmanager run next to it. */
  results: Array<{ load: Load; replicas: number; ks: number[]; am: number[]; ratio: number[]; p99: number[] }>;
  errors: { ks: number; am: number };
}

export async function pgSideBySide(opts: {
  dbs: TestDatabases; pki: { certFile: string; keyFile: string; ca: string }; description: string; seconds: number; rounds: number;
}): Promise<PgSideBySide> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-bench-pg-'));
  const am = await startAlertmanager(DEBIAN_ALERTMANAGER, opts.pki);
  const results: PgSideBySide['results'] = [1, 3].flatMap((n) => LOADS.map((load) => ({ load, replicas: n, ks: [], am: [], ratio: [], p99: [] })));
  const errors = { ks: 0, am: 0 };
  try {
    for (let round = 0; round < opts.rounds; round++) {
      for (const r of results) {
        const tag = `p${round}x${r.replicas}`;
        let ks: Run | undefined;
        let ref: WrkResult | undefined;
        const runKs = async () => {
          const db = await opts.dbs.create();
          const servers = await replicas(r.replicas, 'webhook', db.url);
          try {
            ks = await ingest(servers, dir, r.load, opts.description, tag, opts.seconds);
          } finally {
            await Promise.all(servers.map((s) => s.stop()));
            await db.drop();
          }
        };
        const runAm = async () => {
          const script = alertScript(dir, { token: INGEST_TOKEN, batch: r.load.batch, same: r.load.same, path: '/api/v2/alerts', description: opts.description, tag: `am${tag}` });
          ref = await runWrk(`${am.url}/api/v2/alerts`, { script, seconds: opts.seconds, ...WRK });
        };
        for (const step of round % 2 === 0 ? [runKs, runAm] : [runAm, runKs]) await step();
        const amAlerts = ref!.rps * r.load.batch;
        r.ks.push(ks!.alerts);
        r.am.push(amAlerts);
        r.ratio.push(ks!.alerts / amAlerts);
        r.p99.push(ks!.p99);
        errors.ks += ks!.errors;
        errors.am += ref!.non2xx + ref!.errors;
        console.log(`round ${round + 1} PostgreSQL, ${r.replicas} replica(s), ${r.load.name}: Kube Sentinel ${ks!.alerts.toFixed(0)} (p99 ${ks!.p99.toFixed(1)} ms), Alertmanager ${amAlerts.toFixed(0)} alerts/s`);
      }
    }
    return { rounds: opts.rounds, amVersion: am.version, results, errors };
  } finally {
    await am.stop();
  }
}

export function pgSideBySideTable(s: PgSideBySide): string {
  const rows = LOADS.map((load) => {
    const [one, three] = [1, 3].map((n) => s.results.find((r) => r.load === load && r.replicas === n)!);
    const show = (xs: number[]) => (load.batch === 1 ? `${range(xs)} req/s` : `${range(xs)} alerts/s`);
    const oneMet = Math.min(...one.ratio) >= 0.5 ? 'met' : 'MISSED';
    const threeMet = one.ks.every((x, i) => three.ks[i] > x) ? 'met' : 'MISSED';
    return `| ${load.name} | ${show([...one.am, ...three.am])} | ${show(one.ks)} | ${range(one.ratio, 2)}× | ${oneMet} | ${show(three.ks)} | ${range(three.ratio, 2)}× | ${threeMet} |`;
  });
  return [
    `| load (${s.rounds} interleaved round${s.rounds > 1 ? 's' : ''}, range) | Alertmanager ${s.amVersion} (memory only) | one replica | ÷ Alertmanager | target ≥ 0.5× | three replicas | ÷ Alertmanager | target: above one replica, every round |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
