// node bench/failover.ts [--trials 5] [--timings 15s/10s/2s]
// Leader failover of three `role: webhook` replicas (the built dist/main.js) on one PostgreSQL database,
// with the Lease on a real kube-apiserver (the cluster suites' control plane, in a loopback-only network
// namespace it re-executes itself in; needs root and test/cluster/build-control-plane.sh): time from
// SIGKILL / SIGTERM of the leader to the first Lease write by a new holder that the apiserver accepted,
// read from its audit log. Writes a section of docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config/duration.ts';
import { startClusterEnv, stopClusterEnv, type ClusterEnv } from '../test/cluster/real/env.ts';
import { KS_NAMESPACE, installChartRbac, serviceAccountCredentials } from '../test/cluster/real/sentinel.ts';
import { TestDatabases } from '../test/ha/pg.ts';
import { ROOT, builtServerPresent, waitFor } from '../test/support/proc.ts';
import { READ_TOKEN, startServer, type ServerProc } from '../test/support/server-proc.ts';

if (!process.env.KS_IN_NETNS) {
  // Everything below talks only to loopback; a fresh network namespace makes that a fact.
  const r = spawnSync('unshare', ['--net', '--fork', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, KS_IN_NETNS: '1' } });
  process.exit(r.status ?? 1);
}

interface Replica {
  name: string;
  server: ServerProc;
  identity: string;
  credentialId: string;
  pid: number;
}

const SIGNALS = ['SIGKILL', 'SIGTERM'] as const;
type Signal = (typeof SIGNALS)[number];

const { values } = parseArgs({ options: { trials: { type: 'string', default: '5' }, timings: { type: 'string', default: '15s/10s/2s' } } });
const TRIALS = Number(values.trials);
const [leaseDuration, renewDeadline, retryPeriod] = values.timings.split('/');
const TIMINGS = { lease_duration: leaseDuration, renew_deadline: renewDeadline, retry_period: retryPeriod };
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
  private readonly env: ClusterEnv;
  private readonly databaseUrl: string;
  private readonly leaseName: string;
  private readonly startedAt = new Map<Replica, number>();
  private spawned = 0;

  constructor(opts: { env: ClusterEnv; databaseUrl: string; leaseName: string }) {
    this.env = opts.env;
    this.databaseUrl = opts.databaseUrl;
    this.leaseName = opts.leaseName;
  }

  async spawn(): Promise<void> {
    const since = Date.now();
    const name = `ks-${this.spawned++}`;
    const cred = await serviceAccountCredentials(this.env);
    const server = await startServer({
      config: {
        role: 'webhook',
        store: { type: 'postgres', url: this.databaseUrl },
        kubernetes: { in_cluster: false, kubeconfig: cred.kubeconfig },
        leader_election: { enabled: true, namespace: KS_NAMESPACE, lease_name: this.leaseName, ...TIMINGS },
      },
      env: { POD_NAME: name, POD_NAMESPACE: KS_NAMESPACE },
    });
    const identity = (await server.client.get('/api/stats', READ_TOKEN)).body?.identity;
    const r: Replica = { name, server, identity, credentialId: cred.credentialId, pid: server.proc.child.pid! };
    this.startedAt.set(r, since);
    this.serving.push(r);
  }

  private async holder(): Promise<string> {
    const l = await this.env.cp.admin.find(`/apis/coordination.k8s.io/v1/namespaces/${KS_NAMESPACE}/leases/${this.leaseName}`);
    return l?.spec?.holderIdentity ?? '';
  }

  /** Lease writes the apiserver accepted, with the writer's replica. */
  private leaseWrites() {
    return this.env.cp.writes().filter((w) => w.objectRef.resource === 'leases' && w.objectRef.name === this.leaseName && w.code < 300);
  }

  /** A leader, and every follower has read the Lease at least once (its clock for the lease runs). */
  async settled(): Promise<Replica> {
    const leader = await waitFor('a Lease holder among the replicas', async () => {
      const h = await this.holder();
      return this.serving.find((r) => r.identity === h);
    }, 3 * LEASE_MS, 50);
    const observed = (r: Replica) => this.env.cp.calls().some((c) =>
      c.credentialId === r.credentialId && c.objectRef.resource === 'leases' && c.verb === 'get' && c.code === 200 && c.at > this.startedAt.get(r)!);
    await waitFor('every follower observing the Lease', async () => this.serving.every((r) => r === leader || observed(r)), 4 * LEASE_MS, 50);
    return leader;
  }

  /** One failover: signal the leader at a random point of its renew cycle, time the takeover. */
  async trial(signal: Signal): Promise<number> {
    const leader = await this.settled();
    const before = this.leaseWrites().length;
    await waitFor('a renewal by the leader', async () => this.leaseWrites().slice(before).some((w) => w.credentialId === leader.credentialId), 3 * RETRY_MS, 10);
    await sleep(Math.random() * RETRY_MS);
    const signalledAt = Date.now();
    let exited: Promise<number | null>;
    if (signal === 'SIGKILL') {
      process.kill(leader.pid, 'SIGKILL');
      exited = leader.server.proc.exited;
    } else {
      exited = leader.server.stop('SIGTERM');
    }
    const others = new Set(this.serving.filter((r) => r !== leader).map((r) => r.credentialId));
    const t = await within(`a takeover after ${signal}`, waitFor('a Lease write by a new holder', async () =>
      this.leaseWrites().find((w) => w.at >= signalledAt && others.has(w.credentialId)), 3 * LEASE_MS + 10 * RETRY_MS, 10), 3 * LEASE_MS + 10 * RETRY_MS);
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
    'Three `role: webhook` replicas (the built `dist/main.js`) on one PostgreSQL database; the Lease lives on a real',
    'kube-apiserver v1.36.3 (the cluster suites\' control plane), each replica authenticated as the chart\'s ServiceAccount.',
    `Timings lease_duration ${leaseDuration}, renew_deadline ${renewDeadline}, retry_period ${retryPeriod}.`,
    'Failover = from the signal to the first Lease write by a new holder that the apiserver accepted (its audit log); each signal is',
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
  if (!builtServerPresent()) throw new Error('build the server first: npm run build');
  const env = await startClusterEnv();
  const dbs = new TestDatabases();
  const db = await dbs.create({ migrated: true });
  const { leaseName } = await installChartRbac(env);
  const cluster = new Cluster({ env, databaseUrl: db.url, leaseName });
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
    await db.drop();
    await dbs.dispose();
    await stopClusterEnv();
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
