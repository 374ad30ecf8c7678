// node bench/failover.ts [--trials 5] [--timings 15s/10s/2s]
// Leader failover of three `role: webhook` replicas (the built dist/main.js) on one PostgreSQL database,
// with the Lease on the fake Kubernetes API server: time from SIGKILL / SIGTERM of the leader to the
// first Lease write by a new holder that the API server accepted. Writes a section of docs/benchmarks.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config/duration.ts';
import { postgresAvailable, TestDatabases } from '../test/ha/pg.ts';
import { KubeFixture, LEASE, startReplica, type KubeCall, type LeaderTimings, type Replica } from '../test/support/kube-fixture.ts';
import { ROOT, builtServerPresent, waitFor } from '../test/support/proc.ts';

const SIGNALS = ['SIGKILL', 'SIGTERM'] as const;
type Signal = (typeof SIGNALS)[number];

const { values } = parseArgs({ options: { trials: { type: 'string', default: '5' }, timings: { type: 'string', default: '15s/10s/2s' } } });
const TRIALS = Number(values.trials);
const [leaseDuration, renewDeadline, retryPeriod] = values.timings.split('/');
const TIMINGS: LeaderTimings = { leaseDuration, renewDeadline, retryPeriod };
const LEASE_MS = parseDuration(leaseDuration) ?? NaN;
const RETRY_MS = parseDuration(retryPeriod) ?? NaN;
if (!(TRIALS >= 1) || !Number.isFinite(LEASE_MS) || !Number.isFinite(RETRY_MS)) {
  throw new Error('usage: node bench/failover.ts [--trials N] [--timings <lease_duration>/<renew_deadline>/<retry_period>]');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function summary(samples: number[]): { min: number; median: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return { min: s[0], median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, max: s[s.length - 1] };
}

class Cluster {
  readonly serving: Replica[] = [];
  private readonly fixture: KubeFixture;
  private readonly databaseUrl: string;
  private readonly startedAt = new Map<Replica, number>();
  private spawned = 0;

  constructor(opts: { fixture: KubeFixture; databaseUrl: string }) {
    this.fixture = opts.fixture;
    this.databaseUrl = opts.databaseUrl;
  }

  async spawn(): Promise<void> {
    const since = this.fixture.now();
    const r = await startReplica({ fixture: this.fixture, name: `ks-${this.spawned++}`, databaseUrl: this.databaseUrl, timings: TIMINGS });
    this.startedAt.set(r, since);
    this.serving.push(r);
  }

  /** A leader, and every follower has read the Lease at least once (its clock for the lease runs). */
  async settled(): Promise<Replica> {
    const holder = () => this.fixture.leaseHolder(LEASE.namespace, LEASE.name);
    const leader = await waitFor('a Lease holder among the replicas', async () => this.serving.find((r) => r.identity === holder()), 3 * LEASE_MS, 50);
    const observed = (r: Replica) => this.fixture.calls.some((c) =>
      c.replica === r.name && c.resource === 'leases' && c.method === 'GET' && c.status === 200 && c.at > this.startedAt.get(r)!);
    await waitFor('every follower observing the Lease', async () => this.serving.every((r) => r === leader || observed(r)), 4 * LEASE_MS, 50);
    return leader;
  }

  /** One failover: signal the leader at a random point of its renew cycle, time the takeover. */
  async trial(signal: Signal): Promise<number> {
    const leader = await this.settled();
    await this.fixture.nextAnswered((c) => c.replica === leader.name && c.holder === leader.identity);
    await sleep(Math.random() * RETRY_MS);
    const takeover = this.fixture.nextAnswered((c: KubeCall) =>
      c.holder !== null && c.holder !== '' && c.holder !== leader.identity && c.status < 300);
    const signalledAt = this.fixture.now();
    let exited: Promise<number | null>;
    if (signal === 'SIGKILL') {
      process.kill(leader.pid, 'SIGKILL');
      exited = leader.server.proc.exited;
    } else {
      exited = leader.server.stop('SIGTERM');
    }
    const t = await within(`a takeover after ${signal}`, takeover, 3 * LEASE_MS + 10 * RETRY_MS);
    this.serving.splice(this.serving.indexOf(leader), 1);
    const code = await exited;
    if (signal === 'SIGTERM' && code !== 0) throw new Error(`the leader exited with ${code} after SIGTERM`);
    await leader.server.stop('SIGKILL').catch(() => {});
    await this.spawn();
    return t.at - signalledAt;
  }

  async close(): Promise<void> {
    await Promise.all(this.serving.map((r) => r.server.stop('SIGKILL').catch(() => null)));
  }
}

function writeSection(results: Record<Signal, number[]>): void {
  const kill = summary(results.SIGKILL);
  const term = summary(results.SIGTERM);
  const overTypical = results.SIGKILL.filter((ms) => ms > LEASE_MS + RETRY_MS).length;
  const rows = [
    ['SIGKILL (lease expires)', String(results.SIGKILL.length), seconds(kill.min), seconds(kill.median), seconds(kill.max),
      `at most lease_duration + retry_period = ${seconds(LEASE_MS + RETRY_MS)} (${overTypical} trial(s) above)`],
    ['SIGTERM (Lease released)', String(results.SIGTERM.length), seconds(term.min), seconds(term.median), seconds(term.max),
      `at most one retry, retry_period = ${seconds(RETRY_MS)}`],
  ];
  const table = ['| signal to the leader | trials | min | median | max | expected |', '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const section = [
    '## Failover (node bench/failover.ts)',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}.`,
    'Three `role: webhook` replicas (the built `dist/main.js`) on one PostgreSQL database; the Lease lives on the fake',
    `Kubernetes API server. Timings lease_duration ${leaseDuration}, renew_deadline ${renewDeadline}, retry_period ${retryPeriod}.`,
    'Failover = from the signal to the first Lease write by a new holder that the API server accepted; each signal is',
    "sent at a random point of the leader's renew cycle, and a fresh replica replaces the old leader between trials.",
    '',
    table,
    '',
    'After SIGKILL a follower must wait out the lease it last saw renewed, timed by its own clock from when it saw',
    "the renewal (client-go's rule, so clock skew cannot make two leaders). Followers poll at a jittered interval",
    'within [retry_period/2, retry_period] (client-go: up to 2.2 × retry_period) and attempt exactly at the observed',
    'expiry, so they see the last renewal at most retry_period late: failover ≤ lease_duration + retry_period.',
    '',
  ].join('\n');
  const doc = join(ROOT, 'docs/benchmarks.md');
  let text = '';
  try { text = readFileSync(doc, 'utf8'); } catch { text = '# Benchmarks\n'; }
  const re = /## Failover \(node bench\/failover\.ts\)[\s\S]*?(?=\n## |$)/;
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(doc, text);
  console.log(`\n${table}\n\nwritten to ${doc}`);
}

async function main(): Promise<void> {
  if (!(await postgresAvailable())) throw new Error('PostgreSQL is needed (KS_TEST_PG_URL, default 127.0.0.1:5432)');
  if (!builtServerPresent()) throw new Error('build the server first: npm run build');
  const dir = mkdtempSync(join(tmpdir(), 'ks-failover-'));
  const dbs = new TestDatabases();
  const db = await dbs.create({ migrated: true });
  const fixture = new KubeFixture({ dir });
  await fixture.start();
  const cluster = new Cluster({ fixture, databaseUrl: db.url });
  try {
    await Promise.all([cluster.spawn(), cluster.spawn(), cluster.spawn()]);
    const results: Record<Signal, number[]> = { SIGKILL: [], SIGTERM: [] };
    // Interleaved, so drift in machine load touches both kinds alike.
    for (let i = 0; i < TRIALS; i++) {
      for (const signal of SIGNALS) {
        const ms = await cluster.trial(signal);
        results[signal].push(ms);
        console.log(`trial ${i + 1}/${TRIALS} ${signal}: new leader after ${seconds(ms)}`);
      }
    }
    writeSection(results);
  } finally {
    await cluster.close();
    await fixture.close();
    await db.drop();
    await dbs.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
