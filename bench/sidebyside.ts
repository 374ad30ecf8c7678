// Kube Sentinel next to Alertmanager (issue #12), interleaved in one run: for every round and load,
// the bare node:https floor, Kube Sentinel (SQLite, synchronous=FULL, acknowledged after commit) and
// Alertmanager (memory only) get the same wrk settings and bodies back to back, so a busy moment on
// this shared 2-core machine hits all of them rather than one. Reported as ranges over the rounds.
import { mkdtempSync, readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort, start, waitFor } from '../test/support/proc.ts';
import { INGEST_TOKEN, startServer } from '../test/support/server-proc.ts';
import { DEBIAN_ALERTMANAGER, startAlertmanager } from './alertmanager.ts';
import { costOf, cpuMs, type CpuPerAlert, duringRun, keepKsRun, type MachineShares, noMachineShares, threadsText } from './cpu.ts';
import { addErrors, alertScript, noErrors, runWrk, wrkErrors, type WrkErrors, type WrkResult } from './wrk.ts';

export interface Load {
  /** What a probe's command line calls it (bench/profile.ts, bench/pg-statements.ts). */
  key: 'same' | 'new' | 'new64';
  name: string;
  batch: number;
  same: boolean;
}

export const LOADS: readonly Load[] = [
  { key: 'same', name: 'the same alert re-sent', batch: 1, same: true },
  { key: 'new', name: 'a new alert per request', batch: 1, same: false },
  { key: 'new64', name: '64 new alerts per request', batch: 64, same: false },
];

/** The load a probe's command line names by its key. */
export function loadByKey(key: string): Load {
  const load = LOADS.find((l) => l.key === key);
  if (!load) throw new Error(`unknown load ${key}: one of ${LOADS.map((l) => l.key).join(', ')}`);
  return load;
}

/** The settings: two wrk threads, 64 connections, for every target alike. */
export const WRK = { threads: 2, connections: 64 } as const;

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * After a Kube Sentinel run, the seconds until its search index had caught up with the groups written
 * (search-file.ts: nothing queued past what the file covers), up to 60 s. That indexing is deferred
 * past the run, so it counts: the second ratio takes the rate over the run plus this wait. (Other
 * background work, such as the dry-run remediation of every crash-looping bench alert, is not ingest
 * and is not waited for.)
 */
async function indexCaughtUp(dbPath: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    let lag = 1;
    const db = new DatabaseSync(dbPath, { readOnly: true, timeout: 1000 });
    try {
      db.prepare('ATTACH DATABASE ? AS search').run(`${dbPath}.search`);
      lag = (db.prepare('SELECT (SELECT max(seq) FROM search_queue) - (SELECT through FROM search.indexed WHERE complete = 1) AS lag')
        .get() as { lag: number | null }).lag ?? 1;
    } catch {
      // Busy, or the file not made yet: not caught up.
    } finally {
      db.close();
    }
    if (lag <= 0 || performance.now() - t0 > 60_000) return (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Seconds until the process has stayed under 5% of a core for a whole second, or Infinity when it
 * was still busy after `limitS`. After a load with new alerts Kube Sentinel keeps working: the leader
 * decides every queued remediation request (dry-run; the bench's alerts are crash-looping pods, so
 * after the first one they are skipped for cooldown). That is not ingest, but it must not run into the
 * next target's measurement either, which it did before (issue #12: it slowed the Alertmanager runs
 * after it).
 */
export async function untilIdle(pid: number, limitS = 120): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const before = cpuMs(pid);
    await new Promise((r) => setTimeout(r, 1000));
    if (cpuMs(pid) - before <= 50) return (performance.now() - t0) / 1000 - 1;
    if (performance.now() - t0 > limitS * 1000) return Infinity;
  }
}

/** The group committer's totals from a server's /metrics text: batches, items in them, seconds from each batch's start to its answer. */
export interface CommitTotals { batches: number; items: number; seconds: number }

export const NO_COMMITS: CommitTotals = { batches: 0, items: 0, seconds: 0 };

export function commitTotals(metrics: string): CommitTotals {
  const sumCount = (name: string): [number, number] => {
    const m = new RegExp(`^${name}_sum(?:\\{[^}]*\\})? ([\\d.e+-]+)\\n${name}_count(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(metrics);
    return m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  };
  const [items, batches] = sumCount('kube_sentinel_store_batch_items');
  const [seconds] = sumCount('kube_sentinel_store_commit_seconds');
  return { batches, items, seconds };
}

/** What the committer did between two readings: "1587 batches, 32.0 items per batch, 4.0 ms each from start to answer". */
export function commitsText(before: CommitTotals, after: CommitTotals): string {
  const batches = after.batches - before.batches;
  if (Number.isNaN(batches)) return 'the group committer\'s metrics were not found';
  if (!(batches > 0)) return 'no batches';
  const items = (after.items - before.items) / batches;
  const ms = (1000 * (after.seconds - before.seconds)) / batches;
  return `${batches} batches, ${items.toFixed(1)} items per batch, ${ms.toFixed(1)} ms each from its start to its answer`;
}

export interface SideBySide {
  rounds: number;
  amVersion: string;
  /**
   * Per load: alerts/s per round for each target, Kube Sentinel ÷ Alertmanager per round, and the
   * same ratio with Kube Sentinel's rate taken over its run plus its search index's catch-up (s).
   * CPU per alert (cpu.ts): Kube Sentinel's from the start of its run until its index caught up,
   * Alertmanager's and the bare server's over their runs.
   */
  results: Array<{
    load: Load; bare: number[]; ks: number[]; am: number[]; ratio: number[]; settled: number[]; catchUp: number[]; idle: number[];
    cpu: { ks: CpuPerAlert[]; am: CpuPerAlert[]; bare: CpuPerAlert[] };
    /**
     * Over each wrk run: the machine's idle share under each target, and the shares of Kube Sentinel's
     * run its HTTP (main) thread ran and waited runnable for a core (cpu.ts duringRun()).
     */
    machine: MachineShares;
  }>;
  rss: { ks: number; am: number };
  errors: { ks: WrkErrors; am: WrkErrors; bare: WrkErrors };
}

/** "24–28%" from shares (0–1); what could not be read (NaN) is left out, "n/a" when nothing was. */
function percentRange(xs: number[]): string {
  const ok = xs.filter(Number.isFinite);
  return ok.length ? `${range(ok.map((x) => 100 * x))}%` : 'n/a';
}

export const range = (xs: number[], digits = 0): string => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo.toFixed(digits) === hi.toFixed(digits) ? lo.toFixed(digits) : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
};

export async function sideBySide(opts: { pki: { certFile: string; keyFile: string; ca: string }; description: string; seconds: number; rounds: number }): Promise<SideBySide> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-bench-sbs-'));
  const barePort = await freePort();
  const bare = start(process.execPath, [join(ROOT, 'bench/bare.ts'), opts.pki.certFile, opts.pki.keyFile, String(barePort)]);
  await waitFor('bare server', async () => bare.output().includes('ready'));
  const ks = await startServer({ env: { LOG_LEVEL: 'error' } });
  const am = await startAlertmanager(DEBIAN_ALERTMANAGER, opts.pki);
  const results: SideBySide['results'] = LOADS.map((load) => ({
    load, bare: [], ks: [], am: [], ratio: [], settled: [], catchUp: [], idle: [], cpu: { ks: [], am: [], bare: [] },
    machine: noMachineShares(),
  }));
  const errors = { ks: noErrors(), am: noErrors(), bare: noErrors() };
  try {
    for (let round = 0; round < opts.rounds; round++) {
      for (const r of results) {
        const { batch, same } = r.load;
        const script = alertScript(dir, { token: INGEST_TOKEN, batch, path: '/api/v2/alerts', description: opts.description, tag: `r${round}`, same });
        const run = async (url: string): Promise<WrkResult> => runWrk(`${url}/api/v2/alerts`, { script, seconds: opts.seconds, ...WRK });
        const alerts = (w: WrkResult): number => w.rps * opts.seconds * batch;
        const got: Record<'ks' | 'am', WrkResult | undefined> = { ks: undefined, am: undefined };
        let catchUp = 0;
        let idle = 0;
        const runKs = async () => {
          r.cpu.ks.push(await costOf(ks.proc.child.pid!, async () => {
            const during = await duringRun(() => run(ks.url), [ks.proc.child.pid!]);
            got.ks = during.value;
            keepKsRun(r.machine, during);
            catchUp = await indexCaughtUp(join(ks.dir, 'ks.db'));
            return alerts(got.ks);
          }));
          idle = await untilIdle(ks.proc.child.pid!);
        };
        const runAm = async () => {
          r.cpu.am.push(await costOf(am.proc.child.pid!, async () => {
            const during = await duringRun(() => run(am.url));
            r.machine.amIdle.push(during.idle);
            return alerts(got.am = during.value);
          }));
        };
        // Alternate who goes first, so neither always inherits the other's leftovers (GC, page cache).
        for (const step of round % 2 === 0 ? [runKs, runAm] : [runAm, runKs]) await step();
        r.settled.push((got.ks!.rps * opts.seconds / (opts.seconds + catchUp)) / got.am!.rps);
        r.catchUp.push(catchUp);
        r.idle.push(idle);
        let b!: WrkResult;
        r.cpu.bare.push(await costOf(bare.child.pid!, async () => alerts(b = await run(`https://127.0.0.1:${barePort}`))));
        r.ks.push(got.ks!.rps * batch);
        r.am.push(got.am!.rps * batch);
        r.bare.push(b.rps * batch);
        r.ratio.push((got.ks!.rps) / (got.am!.rps));
        addErrors(errors.ks, [wrkErrors(got.ks!)]);
        addErrors(errors.am, [wrkErrors(got.am!)]);
        addErrors(errors.bare, [wrkErrors(b)]);
        console.log(`round ${round + 1} ${r.load.name}: Kube Sentinel ${(got.ks!.rps * batch).toFixed(0)} (search index caught up ${catchUp.toFixed(1)} s after, ${idleText([idle])}), Alertmanager ${(got.am!.rps * batch).toFixed(0)}, bare ${(b.rps * batch).toFixed(0)} alerts/s; CPU µs/alert: Kube Sentinel ${r.cpu.ks.at(-1)!.total.toFixed(0)} (${threadsText([r.cpu.ks.at(-1)!])}), Alertmanager ${r.cpu.am.at(-1)!.total.toFixed(0)}, bare ${r.cpu.bare.at(-1)!.total.toFixed(0)}`);
      }
    }
    return {
      rounds: opts.rounds, amVersion: am.version, results, errors,
      rss: { ks: rssMiB(ks.proc.child.pid!), am: rssMiB(am.proc.child.pid!) },
    };
  } finally {
    await ks.stop();
    await am.stop();
    await bare.kill();
  }
}

/** "0–104 s", or how many rounds it was still busy after untilIdle()'s limit. */
function idleText(xs: number[]): string {
  const done = xs.filter(Number.isFinite);
  const busy = xs.length - done.length;
  const parts = [...(done.length > 0 ? [`idle ${range(done)} s after`] : []), ...(busy > 0 ? [`still busy 120 s after (${busy}×)`] : [])];
  return parts.join(', ');
}

export function sideBySideTable(s: SideBySide): string {
  // Single-alert loads in requests/s, the batched one in alerts/s (requests × 64), like the issue.
  const rows = s.results.map((r) => {
    const k = r.load.batch;
    const show = (xs: number[]) => (k === 1 ? `${range(xs)} req/s` : `${range(xs)} alerts/s`);
    const verdict = Math.min(...r.ratio, ...r.settled) >= 1 ? 'met' : 'MISSED';
    return `| ${r.load.name} | ${show(r.bare)} | ${show(r.am)} | ${show(r.ks)} | ${range(r.ratio, 2)}× | ${range(r.settled, 2)}× (${range(r.catchUp, 1)} s) | ${idleText(r.idle)} | ${verdict} |`;
  });
  return [
    `| load (${s.rounds} interleaved rounds, range) | bare node:https floor | Alertmanager ${s.amVersion} (memory only) | Kube Sentinel (SQLite, durable) | Kube Sentinel ÷ Alertmanager | the same, Kube Sentinel's run counted until its search index caught up (that wait) | Kube Sentinel's work after the run (remediation decisions; waited for, not counted) | target ≥ 1.0× |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    `| RSS after the run | — | ${s.rss.am.toFixed(0)} MiB | ${s.rss.ks.toFixed(0)} MiB | | | | |`,
  ].join('\n');
}

/**
 * Where the CPU goes, per alert, by thread: it holds up on a busy machine, where rates do not. Whether
 * the cores or one thread limited a run is machineTable()'s question.
 */
export function cpuTable(s: SideBySide): string {
  const rows = s.results.map((r) => {
    const tot = (xs: CpuPerAlert[]) => range(xs.map((x) => x.total));
    const eff = r.cpu.am.map((a, i) => a.total / r.cpu.ks[i].total);
    return `| ${r.load.name} | ${tot(r.cpu.bare)} | ${tot(r.cpu.am)} | ${tot(r.cpu.ks)} | ${threadsText(r.cpu.ks)} | ${range(eff, 2)}× |`;
  });
  return [
    `| load (${s.rounds} rounds, range) | bare node:https | Alertmanager | Kube Sentinel, its run until its search index caught up | Kube Sentinel by thread (median) | Alertmanager's CPU per alert ÷ Kube Sentinel's |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/**
 * From the same runs: how much of the machine stayed idle under each target, and how much of Kube
 * Sentinel's run its HTTP thread spent running or runnable but waiting for a core.
 */
export function machineTable(s: SideBySide): string {
  const rows = s.results.map((r) => `| ${r.load.name} | ${machineCells(r.machine)} |`);
  return [
    `| load (${s.rounds} rounds, range) | machine idle (with I/O wait), Alertmanager's run | the same, Kube Sentinel's run | Kube Sentinel's HTTP thread running | … waiting for a core | … either (busy) |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** A machine table's cells (both side by sides): idle under Alertmanager and Kube Sentinel; its HTTP thread running, waiting, either. */
export function machineCells(m: MachineShares): string {
  const busy = m.running.map((x, i) => x + m.waiting[i]);
  return [m.amIdle, m.ksIdle, m.running, m.waiting, busy].map(percentRange).join(' | ');
}
