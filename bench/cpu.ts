// CPU time per alert, by thread (issue #12). On this 2-core machine every target shares the cores
// with wrk: CPU time per alert says where the time goes (it moves with a busy machine too: contended
// cores run slower), and duringRun() says whether the cores or one thread were the limit. From Linux /proc (10 ms ticks): a
// process's total, and per thread by its name. Kube Sentinel names its store threads (sqlite-*, pg-store; see
// src/store/threads.ts); V8's helpers (parallel GC, compilers) are V8Worker, libuv's pool is
// libuv-worker.
import { readdirSync, readFileSync } from 'node:fs';

/** CPU ms of one process: the total (threads that ended included) and per kind of thread. */
export interface CpuSample {
  total: number;
  byThread: Map<string, number>;
}

const KINDS: Record<string, string> = { MainThread: 'main', V8Worker: 'V8 helpers', 'libuv-worker': 'libuv pool' };

/** user + system ticks of a /proc stat line, in ms; the name is the text in parentheses. */
function parseStat(line: string): { name: string; ms: number } {
  const close = line.lastIndexOf(')');
  const f = line.slice(close + 2).split(' ');
  return { name: line.slice(line.indexOf('(') + 1, close), ms: (Number(f[11]) + Number(f[12])) * 10 };
}

/** CPU time (user + system) the process has used, in ms. */
export function cpuMs(pid: number): number {
  return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ms;
}

export function sampleCpu(pid: number): CpuSample {
  const byThread = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let line: string;
    try {
      line = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const { name, ms } = parseStat(line);
    const kind = KINDS[name] ?? (name.startsWith('sqlite-') || name === 'pg-store' ? name : 'other');
    byThread.set(kind, (byThread.get(kind) ?? 0) + ms);
  }
  return { total: cpuMs(pid), byThread };
}

/**
 * µs of CPU per alert between two samples. A thread that ended meanwhile takes its time out of its
 * kind (which can then show less than it used) into 'other': the process total is always right.
 */
export interface CpuPerAlert {
  total: number;
  byThread: Map<string, number>;
}

export function perAlert(before: CpuSample, after: CpuSample, alerts: number): CpuPerAlert {
  const us = (ms: number): number => (ms * 1000) / alerts;
  const byThread = new Map<string, number>();
  let named = 0;
  for (const [kind, ms] of after.byThread) {
    if (kind === 'other') continue;
    const d = ms - (before.byThread.get(kind) ?? 0);
    named += d;
    byThread.set(kind, us(d));
  }
  const total = after.total - before.total;
  byThread.set('other', us(total - named));
  return { total: us(total), byThread };
}

/** CPU per alert of the process at pid over `measure`, which resolves with how many alerts it sent. */
export async function costOf(pid: number, measure: () => Promise<number>): Promise<CpuPerAlert> {
  const before = sampleCpu(pid);
  const alerts = await measure();
  return perAlert(before, sampleCpu(pid), alerts);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** "main 48, sqlite-store 40, …": each thread's median over the rounds, largest first, those ≥ 1 µs. */
export function threadsText(xs: CpuPerAlert[]): string {
  const kinds = new Set(xs.flatMap((x) => [...x.byThread.keys()]));
  return [...kinds].map((k) => [k, median(xs.map((x) => x.byThread.get(k) ?? 0))] as const)
    .filter(([, v]) => v >= 1).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
}

/** CPU ms of each process now (its /proc stat) that is called `name`; one gone, or another program, is left out. */
export function processCpu(pids: Iterable<number>, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (stat.name === name) out.set(pid, stat.ms);
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU ms the processes of `after` used since `before`; one that appeared meanwhile counts from 0. */
export function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
  return ms;
}

/** Per-alert figures of several processes added up (replicas of one run). */
export function sumPerAlert(xs: CpuPerAlert[]): CpuPerAlert {
  const byThread = new Map<string, number>();
  for (const x of xs) for (const [k, v] of x.byThread) byThread.set(k, (byThread.get(k) ?? 0) + v);
  return { total: xs.reduce((s, x) => s + x.total, 0), byThread };
}

/** The whole machine's CPU ticks so far (/proc/stat): idle (with I/O wait) and all. */
interface MachineTicks {
  idle: number;
  total: number;
}

function machineTicks(): MachineTicks {
  // user nice system idle iowait irq softirq steal; guest time is already inside user and nice.
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
}

/** Share of the machine's CPU time that was idle (I/O wait included) between two readings. */
function idleShare(before: MachineTicks, after: MachineTicks): number {
  const total = after.total - before.total;
  return total > 0 ? (after.idle - before.idle) / total : NaN;
}

/** ns a thread has run, and waited runnable for a core, so far (/proc/…/schedstat). */
interface ThreadSched {
  runNs: number;
  waitNs: number;
}

/** The scheduler's totals of the process's main thread (its thread id is the pid); null where the kernel keeps none. */
function mainSched(pid: number): ThreadSched | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { runNs: run, waitNs: wait };
  } catch {
    return null;
  }
}

/** Shares of a run's wall time that a main thread ran and waited runnable for a core. */
export interface MainShare {
  running: number;
  waiting: number;
}

/**
 * Over `measure`: the machine's idle share, and for each process in `pids` the shares of the wall time
 * its main thread ran and waited runnable for a core (a process without schedstat is left out).
 */
export async function duringRun<T>(measure: () => Promise<T>, pids: readonly number[] = []): Promise<{ value: T; idle: number; main: MainShare[] }> {
  const m0 = machineTicks();
  const s0 = pids.map(mainSched);
  const t0 = process.hrtime.bigint();
  const value = await measure();
  const wallNs = Number(process.hrtime.bigint() - t0);
  const main: MainShare[] = [];
  pids.forEach((pid, i) => {
    const before = s0[i];
    const after = mainSched(pid);
    if (before && after) main.push({ running: (after.runNs - before.runNs) / wallNs, waiting: (after.waitNs - before.waitNs) / wallNs });
  });
  return { value, idle: idleShare(m0, machineTicks()), main };
}

/** The busiest of several main threads (running + waiting), or null for none. */
function busiest(xs: readonly MainShare[]): MainShare | null {
  let best: MainShare | null = null;
  for (const x of xs) if (!best || x.running + x.waiting > best.running + best.waiting) best = x;
  return best;
}

/**
 * What a side by side keeps of duringRun() per round: the machine's idle share under each target, and
 * Kube Sentinel's HTTP (main) thread — with several replicas, the busiest one's.
 */
export interface MachineShares {
  ksIdle: number[];
  amIdle: number[];
  running: number[];
  waiting: number[];
}

export const noMachineShares = (): MachineShares => ({ ksIdle: [], amIdle: [], running: [], waiting: [] });

/** Keeps one Kube Sentinel run of duringRun() (its `pids`: the replicas). */
export function keepKsRun(m: MachineShares, during: { idle: number; main: MainShare[] }): void {
  m.ksIdle.push(during.idle);
  const top = busiest(during.main);
  if (!top) return;
  m.running.push(top.running);
  m.waiting.push(top.waiting);
}
