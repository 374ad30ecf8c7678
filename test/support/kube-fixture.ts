// A fake Kubernetes API shared by several server processes, with one recording proxy per process in
// front of it. The fake alone cannot tell its callers apart (every replica speaks the same client with
// the same anonymous user), so each replica gets its own kubeconfig pointing at its own proxy port: a
// call's origin is then a fact of the connection, not a header the caller could get wrong.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { namespace, seedDeployment } from '../fakes/kube-api-fixtures.ts';
import { READ_TOKEN, startServer, type ServerProc } from './server-proc.ts';

export interface KubeCall {
  /** The replica whose proxy received the call. */
  replica: string;
  method: string;
  path: string;
  mutating: boolean;
  resource: string;
  name: string;
  /** Lease writes: the holderIdentity the caller tried to write ('' = release). */
  holder: string | null;
  /** When the proxy received the request (fixture clock). */
  at: number;
  /** The fake's answer; 0 while in flight or when the fake never answered. */
  status: number;
  doneAt: number | null;
}

export interface CrashLoopTarget {
  namespace: string;
  app: string;
  pod: string;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** `/api/v1/namespaces/{ns}/{resource}[/{name}]`, `/apis/{g}/{v}/namespaces/{ns}/{resource}[/{name}]`, `/api/v1/namespaces/{name}`. */
function describePath(path: string): { resource: string; name: string } {
  const parts = path.split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
  const at = parts.indexOf('namespaces');
  if (at < 0) return { resource: '', name: '' };
  if (parts.length <= at + 2) return { resource: 'namespaces', name: parts[at + 1] ?? '' };
  return { resource: parts[at + 2], name: parts[at + 3] ?? '' };
}

function leaseHolder(resource: string, method: string, body: string): string | null {
  if (resource !== 'leases' || (method !== 'PUT' && method !== 'POST')) return null;
  try {
    return String(JSON.parse(body)?.spec?.holderIdentity ?? '');
  } catch {
    return null;
  }
}

/**
 * A call the proxy stops (DESIGN §6a crash tests): `before` never forwards it (the write never lands),
 * `after` forwards it and withholds the answer (the write landed, its sender never learns). Held
 * calls are dropped, never released: the sender is killed meanwhile.
 */
export interface Hold {
  match: (c: KubeCall) => boolean;
  phase: 'before' | 'after';
  /** Resolves with the call once it is held. */
  held: Promise<KubeCall>;
  /**
   * For a `before` hold: send the held call on to the API now (a frozen leader's write arriving late)
   * and answer its sender if it is still connected; resolves with the API's status.
   */
  release(): Promise<number>;
}

interface Waiter {
  match: (c: KubeCall) => boolean;
  resolve: (c: KubeCall) => void;
}

export class KubeFixture {
  readonly api: FakeKubeApi;
  readonly calls: KubeCall[] = [];
  readonly now: () => number;
  private readonly dir: string;
  private readonly proxies: http.Server[] = [];
  private readonly agent = new http.Agent({ keepAlive: true });
  private waiters: Waiter[] = [];
  private holds: Array<Hold & { resolve: (c: KubeCall) => void }> = [];
  private seeded = 0;

  constructor(opts: { dir: string; now?: () => number }) {
    this.dir = opts.dir;
    this.now = opts.now ?? (() => performance.now());
    this.api = new FakeKubeApi();
  }

  async start(): Promise<void> {
    await this.api.start();
  }

  /** `count` Deployments in `ns`, each with one crash-looping pod: one distinct target per remediation. */
  seedCrashLoops(ns: string, count: number): CrashLoopTarget[] {
    if (!this.api.objects.find('namespaces', '', ns)) this.api.objects.seed(namespace(ns));
    return Array.from({ length: count }, () => {
      const app = `app-${String(++this.seeded).padStart(4, '0')}`;
      const { pods } = seedDeployment(this.api, ns, app, { replicas: 1, podHealth: 'crashloop' });
      return { namespace: ns, app, pod: pods[0].metadata.name as string };
    });
  }

  /** Starts `replica`'s own proxy and writes a kubeconfig pointing at it; returns the file. */
  async kubeconfigFor(replica: string): Promise<string> {
    const server = http.createServer((req, res) => void this.forward(replica, req, res));
    server.on('clientError', (_e, socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.proxies.push(server);
    const port = (server.address() as AddressInfo).port;
    const file = join(this.dir, `kubeconfig-${replica}`);
    writeFileSync(file, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'fake',
      // client-node refuses a plain-http server unless TLS verification is explicitly off.
      clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: replica, user: {} }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: replica } }],
    }));
    return file;
  }

  private async forward(replica: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const { resource, name } = describePath(path);
    const call: KubeCall = {
      replica, method, path, mutating: MUTATING.has(method), resource, name,
      holder: leaseHolder(resource, method, body.toString('utf8')), at: this.now(), status: 0, doneAt: null,
    };
    this.calls.push(call);
    const hold = this.takeHold(call);
    const headers = { ...req.headers, host: new URL(this.api.url).host };
    const send = (withhold: boolean) => new Promise<number>((done) => {
      const upstream = http.request(`${this.api.url}${path}`, { method, headers, agent: this.agent }, (up) => {
        const out: Buffer[] = [];
        up.on('data', (c: Buffer) => out.push(c));
        up.on('end', () => {
          call.status = up.statusCode ?? 0;
          call.doneAt = this.now();
          done(call.status);
          if (withhold) {
            hold!.resolve(call);
            return;
          }
          if (!res.destroyed) {
            res.writeHead(call.status, up.headers);
            res.end(Buffer.concat(out));
          }
          this.settle(call);
        });
      });
      upstream.on('error', () => {
        call.doneAt = this.now();
        done(0);
        if (!res.headersSent && !res.destroyed) res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
    if (hold?.phase === 'before') {
      hold.release = () => send(false);
      hold.resolve(call);
      return;
    }
    void send(hold !== undefined);
  }

  private settle(call: KubeCall): void {
    const ready = this.waiters.filter((w) => w.match(call));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(call);
  }

  /** Stops the next call matching `match` at the proxy (see Hold). */
  hold(match: (c: KubeCall) => boolean, phase: Hold['phase']): Hold {
    let resolve!: (c: KubeCall) => void;
    const held = new Promise<KubeCall>((r) => { resolve = r; });
    const h = { match, phase, held, resolve, release: () => Promise.reject(new Error('nothing held yet')) as Promise<number> };
    this.holds.push(h);
    return h;
  }

  private takeHold(call: KubeCall) {
    const h = this.holds.find((x) => x.match(call));
    if (h) this.holds = this.holds.filter((x) => x !== h);
    return h;
  }

  /** Resolves as soon as a call matching `match` has been answered (the moment it is, not polled). */
  nextAnswered(match: (c: KubeCall) => boolean): Promise<KubeCall> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  mutationsBy(replica: string, since = -Infinity): KubeCall[] {
    return this.calls.filter((c) => c.replica === replica && c.mutating && c.at >= since);
  }

  /** Lease writes the fake accepted (acquisitions, renewals, releases), in arrival order. */
  leaseWrites(): KubeCall[] {
    return this.calls.filter((c) => c.holder !== null && c.status >= 200 && c.status < 300);
  }

  /** The current holder according to the fake ('' when released, null when there is no Lease yet). */
  leaseHolder(ns: string, name: string): string | null {
    const l = this.api.objects.find('leases', ns, name);
    return l ? String(l.spec?.holderIdentity ?? '') : null;
  }

  async close(): Promise<void> {
    for (const p of this.proxies) p.closeAllConnections();
    await Promise.all(this.proxies.map((p) => new Promise<void>((r) => p.close(() => r()))));
    this.agent.destroy();
    await this.api.stop();
  }
}

export interface LeaderTimings {
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
}

export const LEASE = { namespace: 'kube-sentinel', name: 'kube-sentinel-leader' } as const;

export interface Replica {
  /** POD_NAME, also the proxy name its Kubernetes calls are recorded under. */
  name: string;
  server: ServerProc;
  /** Its Lease identity: POD_NAME plus the random suffix the server adds. */
  identity: string;
  pid: number;
}

/** One `role: webhook` server process on the shared database, talking to the fake through its own proxy. */
export async function startReplica(opts: {
  fixture: KubeFixture; name: string; databaseUrl: string; timings: LeaderTimings; logLevel?: string;
  /** Extra top-level config keys (e.g. rules_file). */
  config?: Record<string, unknown>;
}): Promise<Replica> {
  const kubeconfig = await opts.fixture.kubeconfigFor(opts.name);
  const server = await startServer({
    config: {
      role: 'webhook',
      store: { type: 'postgres', url: opts.databaseUrl },
      kubernetes: { in_cluster: false, kubeconfig },
      leader_election: {
        enabled: true, lease_name: LEASE.name, namespace: LEASE.namespace,
        lease_duration: opts.timings.leaseDuration, renew_deadline: opts.timings.renewDeadline, retry_period: opts.timings.retryPeriod,
      },
      remediation: { enabled: true, dry_run: false, max_actions_per_hour: 100_000, max_attempts: 3 },
      ...opts.config,
    },
    env: { POD_NAME: opts.name, POD_NAMESPACE: LEASE.namespace, LOG_LEVEL: opts.logLevel ?? 'warn' },
  });
  const stats = await server.client.get('/api/stats', READ_TOKEN);
  const identity = stats.body?.identity;
  if (typeof identity !== 'string' || !identity.startsWith(`${opts.name}_`)) {
    await server.stop('SIGKILL');
    throw new Error(`replica ${opts.name}: unexpected identity in /api/stats: ${stats.text}`);
  }
  return { name: opts.name, server, identity, pid: server.proc.child.pid! };
}

