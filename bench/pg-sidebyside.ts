// Kube Sentinel on PostgreSQL next to Alertmanager (issue #12), in `npm run bench`: the same three
// loads, wrk settings and bodies as the SQLite side-by-side (bench/sidebyside.ts), against one
// `role: webhook` replica and against three on one database, each run followed or preceded by
// Alertmanager (memory only) with the same settings, alternating who goes first per round. Every load
// gets a fresh database. With three replicas the 64 connections are split over three wrk processes,
// one per replica, each sending its own alerts: the replica's number is in their alertname (the tag),
// since wrk numbers alerts per process and a shared name would collide and measure HA de-duplication
// rather than writing (as it did before the fifteenth round); their rates are summed.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INGEST_TOKEN, startServer, type ServerProc } from '../test/support/server-proc.ts';
import type { TestDatabases } from '../test/ha/pg.ts';
import { DEBIAN_ALERTMANAGER, startAlertmanager } from './alertmanager.ts';
import { costOf, type CpuPerAlert, cpuSince, duringRun, keepKsRun, type MachineShares, noMachineShares, perAlert, processCpu, sampleCpu, sumPerAlert, threadsText } from './cpu.ts';
import { LOADS, machineCells, range, WRK, type Load } from './sidebyside.ts';
import { addErrors, alertScript, errorsText, noErrors, runWrk, wrkErrors, type WrkErrors, type WrkResult } from './wrk.ts';

/** `n` replicas of the built server with one role on one PostgreSQL database. */
export async function replicas(n: number, role: 'webhook' | 'dashboard', url: string): Promise<ServerProc[]> {
  return Promise.all(Array.from({ length: n }, () => startServer({
    config: { role, store: { type: 'postgres', url } }, env: { LOG_LEVEL: 'error', DATABASE_URL: url },
  })));
}

async function withClient<T>(url: string, fn: (query: (sql: string) => Promise<Array<Record<string, unknown>>>) => Promise<T>): Promise<T> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(async (sql) => (await client.query(sql)).rows);
  } finally {
    await client.end();
  }
}

/** "PostgreSQL 15.20 (synchronous_commit=on)": the server the databases of `dbs` live on. */
export async function postgresDescription(dbs: TestDatabases): Promise<string> {
  const c = await dbs.create();
  try {
    return await withClient(c.url, async (query) => {
      const v = (await query('SHOW server_version'))[0].server_version as string;
      const sync = (await query('SHOW synchronous_commit'))[0].synchronous_commit as string;
      return `PostgreSQL ${v} (synchronous_commit=${sync})`;
    });
  } finally {
    await c.drop();
  }
}

/**
 * The PostgreSQL processes a run's CPU is read from: the client backends of the run's database (the
 * replicas' connections) and the server's background processes (WAL writer, checkpointer, autovacuum;
 * they also serve any other database of the server). Processes that start and end within the run
 * (an autovacuum worker, a connection closed early) are not seen.
 */
async function postgresPids(url: string): Promise<{ backends: number[]; background: number[] }> {
  const rows = await withClient(url, (query) => query(`SELECT pid, backend_type = 'client backend' AND datname = current_database() AS ours,
    backend_type <> 'client backend' AS background FROM pg_stat_activity WHERE pid <> pg_backend_pid()`));
  return { backends: rows.filter((r) => r.ours).map((r) => Number(r.pid)), background: rows.filter((r) => r.background).map((r) => Number(r.pid)) };
}

/** CPU per alert of one Kube Sentinel run on PostgreSQL: the replicas, their backends, the server's background work. */
interface PgCpu { replicas: CpuPerAlert; backends: number; background: number }

/** Runs `measure` and reads what it cost in CPU per alert on every process involved. */
async function measureCpu(url: string, servers: ServerProc[], measure: () => Promise<Run>): Promise<{ run: Run; cpu: PgCpu }> {
  const pids = servers.map((s) => s.proc.child.pid!);
  const pg0 = await postgresPids(url);
  const own0 = pids.map(sampleCpu);
  const back0 = processCpu(pg0.backends, 'postgres');
  const bg0 = processCpu(pg0.background, 'postgres');
  const run = await measure();
  const pg1 = await postgresPids(url);
  const back1 = processCpu(new Set([...pg0.backends, ...pg1.backends]), 'postgres');
  const bg1 = processCpu(new Set([...pg0.background, ...pg1.background]), 'postgres');
  // A server on another host (KS_TEST_PG_URL) has no processes here to read: unknown, not zero.
  const alerts = run.alerts * run.seconds;
  const us = (ms: number): number => (back1.size === 0 ? Number.NaN : (ms * 1000) / alerts);
  return {
    run,
    cpu: {
      replicas: sumPerAlert(pids.map((pid, i) => perAlert(own0[i], sampleCpu(pid), alerts))),
      backends: us(cpuSince(back0, back1)),
      background: us(cpuSince(bg0, bg1)),
    },
  };
}

/** 64 connections over `n` wrk processes: [22, 21, 21] for three. */
const split = (n: number): number[] => Array.from({ length: n }, (_, i) => Math.floor(WRK.connections / n) + (i < WRK.connections % n ? 1 : 0));

interface Run { alerts: number; p99: number; errors: WrkErrors; seconds: number }

async function ingest(servers: ServerProc[], dir: string, load: Load, description: string, tag: string, seconds: number): Promise<Run> {
  const connections = split(servers.length);
  const runs: WrkResult[] = await Promise.all(servers.map((s, i) => {
    const own = join(dir, `replica-${i}`);
    mkdirSync(own, { recursive: true });
    const script = alertScript(own, { token: INGEST_TOKEN, batch: load.batch, same: load.same, path: '/api/v2/alerts', description: `replica ${i}: ${description}`, tag: `${tag}r${i}` });
    // One replica gets exactly the SQLite side-by-side's settings; three share its 64 connections.
    const shape = servers.length === 1 ? WRK : { threads: 1, connections: connections[i] };
    return runWrk(`${s.url}/api/v2/alerts`, { script, seconds, ...shape });
  }));
  return {
    alerts: runs.reduce((sum, r) => sum + r.rps * load.batch, 0),
    p99: Math.max(...runs.map((r) => r.p99ms)),
    errors: addErrors(noErrors(), runs.map(wrkErrors)),
    seconds,
  };
}

export interface PgSideBySide {
  rounds: number;
  amVersion: string;
  /** Per load and topology: alerts/s per round for Kube Sentinel and the Alertmanager run next to it, and their CPU per alert. */
  results: Array<{
    load: Load; replicas: number; ks: number[]; am: number[]; ratio: number[]; p99: number[]; cpu: PgCpu[]; amCpu: CpuPerAlert[];
    /** Over the wrk runs: the machine's idle share under each target; the busiest replica's main thread (cpu.ts duringRun()). */
    machine: MachineShares;
  }>;
  errors: { ks: WrkErrors; am: WrkErrors };
}

export async function pgSideBySide(opts: {
  dbs: TestDatabases; pki: { certFile: string; keyFile: string; ca: string }; description: string; seconds: number; rounds: number;
}): Promise<PgSideBySide> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-bench-pg-'));
  const am = await startAlertmanager(DEBIAN_ALERTMANAGER, opts.pki);
  const results: PgSideBySide['results'] = [1, 3].flatMap((n) => LOADS.map((load) => ({
    load, replicas: n, ks: [], am: [], ratio: [], p99: [], cpu: [], amCpu: [], machine: noMachineShares(),
  })));
  const errors = { ks: noErrors(), am: noErrors() };
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
            const measured = await measureCpu(db.url, servers, async () => {
              const during = await duringRun(() => ingest(servers, dir, r.load, opts.description, tag, opts.seconds), servers.map((s) => s.proc.child.pid!));
              keepKsRun(r.machine, during);
              return during.value;
            });
            ks = measured.run;
            r.cpu.push(measured.cpu);
          } finally {
            await Promise.all(servers.map((s) => s.stop()));
            await db.drop();
          }
        };
        const runAm = async () => {
          const script = alertScript(dir, { token: INGEST_TOKEN, batch: r.load.batch, same: r.load.same, path: '/api/v2/alerts', description: opts.description, tag: `am${tag}` });
          r.amCpu.push(await costOf(am.proc.child.pid!, async () => {
            const during = await duringRun(() => runWrk(`${am.url}/api/v2/alerts`, { script, seconds: opts.seconds, ...WRK }));
            r.machine.amIdle.push(during.idle);
            ref = during.value;
            return ref.rps * opts.seconds * r.load.batch;
          }));
        };
        for (const step of round % 2 === 0 ? [runKs, runAm] : [runAm, runKs]) await step();
        const amAlerts = ref!.rps * r.load.batch;
        r.ks.push(ks!.alerts);
        r.am.push(amAlerts);
        r.ratio.push(ks!.alerts / amAlerts);
        r.p99.push(ks!.p99);
        addErrors(errors.ks, [ks!.errors]);
        addErrors(errors.am, [wrkErrors(ref!)]);
        console.log(`round ${round + 1} PostgreSQL, ${r.replicas} replica(s), ${r.load.name}: Kube Sentinel ${ks!.alerts.toFixed(0)} (p99 ${ks!.p99.toFixed(1)} ms, wrk errors ${errorsText(ks!.errors)}), Alertmanager ${amAlerts.toFixed(0)} alerts/s; CPU µs/alert: ${cpuText(r.cpu.at(-1)!)}, Alertmanager ${r.amCpu.at(-1)!.total.toFixed(0)}`);
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

const cpuText = (c: PgCpu): string =>
  `replicas ${c.replicas.total.toFixed(0)} (${threadsText([c.replicas])}), PostgreSQL backends ${c.backends.toFixed(0)}, PostgreSQL background ${c.background.toFixed(0)}`;

/** CPU per alert by process, per load and topology: ranges over the rounds (the threads: medians). */
export function pgCpuTable(s: PgSideBySide): string {
  const rows = s.results.map((r) => {
    const all = r.cpu.map((c) => c.replicas.total + c.backends + c.background);
    const pg = (xs: number[]) => (xs.some(Number.isNaN) ? 'not read (the server is not on this machine)' : range(xs));
    return `| ${r.load.name} | ${r.replicas} | ${range(r.amCpu.map((c) => c.total))} | ${pg(all)} | ${range(r.cpu.map((c) => c.replicas.total))} (${threadsText(r.cpu.map((c) => c.replicas))}) | ${pg(r.cpu.map((c) => c.backends))} | ${pg(r.cpu.map((c) => c.background))} |`;
  });
  return [
    '| load | replicas | Alertmanager | Kube Sentinel and PostgreSQL, all | the replicas (by thread, median) | PostgreSQL backends of the run | PostgreSQL background (WAL writer, checkpointer, autovacuum) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The machine during the same runs (sidebyside.ts machineTable()): with three replicas, the busiest one's main thread. */
export function pgMachineTable(s: PgSideBySide): string {
  const rows = s.results.map((r) => `| ${r.load.name} | ${r.replicas} | ${machineCells(r.machine)} |`);
  return [
    '| load | replicas | machine idle (with I/O wait), Alertmanager\'s run | the same, Kube Sentinel\'s run | the busiest replica\'s HTTP thread running | … waiting for a core | … either (busy) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
